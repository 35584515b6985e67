//! HTTPS on the MCP listener: rustls (TLS 1.2 and 1.3 only), certificates
//! read from PEM files and replaced on reload without touching the
//! connections already open; with a client CA, mutual TLS, whose verified
//! certificate names the caller.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

use crate::auth::ClientIdentity;
use crate::config::TlsConfig;

/// Why TLS could not be set up from the configured files.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the certificates or key (a key that does not match
    /// the certificate, an unsupported algorithm...).
    #[error("TLS setup refused: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA file holds no certificate a verifier can use.
    #[error("tls.client_ca_file: {0}")]
    ClientCa(String),
}

/// TLS settings read and checked, not yet in use.
pub struct PreparedTls(Arc<rustls::ServerConfig>);

/// The current TLS settings; new connections take the latest.
pub struct Tls {
    config: ArcSwap<rustls::ServerConfig>,
}

impl Tls {
    /// Reads the files `tls` names.
    pub fn new(tls: &TlsConfig) -> Result<Self, TlsError> {
        Ok(Self {
            config: ArcSwap::from_pointee(server_config(tls)?),
        })
    }

    /// Reads the files again (renewed certificates), for [`install`]:
    /// nothing changes until then.
    ///
    /// [`install`]: Self::install
    pub fn prepare(tls: &TlsConfig) -> Result<PreparedTls, TlsError> {
        server_config(tls).map(|config| PreparedTls(Arc::new(config)))
    }

    /// Serves new connections with `prepared`; open ones keep theirs.
    pub fn install(&self, prepared: PreparedTls) {
        self.config.store(prepared.0);
    }

    /// An acceptor with the settings of the moment.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.load_full())
    }
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    crate::certificates::read_pem_certificates(path).map_err(|error| file_error(path, error))
}

/// The rustls settings for `tls`.
fn server_config(tls: &TlsConfig) -> Result<rustls::ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certificates(&tls.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|error| {
        file_error(&tls.key_file, format!("no usable PEM private key: {error}"))
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let builder = match &tls.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in certificates(path)? {
                roots
                    .add(certificate)
                    .map_err(|error| file_error(path, error))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| TlsError::ClientCa(error.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key)?;
    // HTTP/2 first: clients (and the ingresses in front of Warden) that
    // speak it get it; the others keep HTTP/1.1.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The caller a verified client certificate names: its subject's common
/// name, else the whole subject.
pub fn client_identity(connection: &rustls::ServerConnection) -> Option<ClientIdentity> {
    let leaf = connection.peer_certificates()?.first()?;
    let (_, certificate) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let subject = certificate.subject();
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|name| name.as_str().ok())
        .map(str::to_owned);
    Some(ClientIdentity(
        common_name.unwrap_or_else(|| subject.to_string()),
    ))
}
