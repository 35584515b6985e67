//! CA certificates read from PEM files: the one reading of a `ca_file` or
//! certificate chain shared by the TLS listener, JWKS fetches, tools'
//! outbound grants and registries.

use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Why a PEM certificate file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CertificateFileError {
    /// The file could not be read, or a PEM section is damaged.
    #[error("{0}")]
    Unreadable(String),
    /// The file holds no `CERTIFICATE` section.
    #[error("no PEM certificate in it")]
    Empty,
}

/// Every certificate in the PEM file at `path`; at least one.
pub fn read_pem_certificates(
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, CertificateFileError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|error| CertificateFileError::Unreadable(error.to_string()))?;
    if certificates.is_empty() {
        return Err(CertificateFileError::Empty);
    }
    Ok(certificates)
}
