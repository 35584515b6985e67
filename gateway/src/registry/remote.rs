//! One registry, reached through oci-client: manifests and blobs in and
//! out, with sizes capped and digests checked here whatever the client
//! checked.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use super::error::RegistryError;
use super::scheme::{SchemeProbe, split_host_port};
use crate::config::{OciReference, RegistryConfig};

/// Manifest media types Warden reads.
pub(super) const MANIFEST_TYPES: &[&str] = &[
    oci_client::manifest::OCI_IMAGE_MEDIA_TYPE,
    oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE,
    oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE,
];

/// Most bytes reserved before a layer's first bytes arrive.
const INITIAL_BLOB_CAPACITY: u64 = 8 << 20;

/// Longest wait for the TLS handshake that decides a registry's scheme.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A client for the registry of one reference.
pub(super) struct Remote {
    client: Client,
    auth: RegistryAuth,
}

/// How a client is set up: TLS roots and the hosts that may be reached
/// over plain HTTP.
pub(super) struct Transport {
    roots: Vec<Certificate>,
    insecure: Vec<String>,
    timeout: Duration,
    probe: SchemeProbe,
}

impl Transport {
    pub(super) fn new(config: &RegistryConfig) -> Result<Self, RegistryError> {
        // rustls through reqwest uses the process's default provider; ring
        // is the one Warden's TLS already uses. A second install fails
        // harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut certificates: Vec<CertificateDer<'static>> =
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec();
        if let Some(path) = &config.ca_file {
            let own = crate::certificates::read_pem_certificates(path).map_err(|error| {
                RegistryError::CaFile {
                    path: path.clone(),
                    why: error.to_string(),
                }
            })?;
            certificates.extend(own);
        }
        let timeout = Duration::from_millis(config.timeout_ms);
        Ok(Self {
            roots: certificates
                .iter()
                .map(|der| Certificate {
                    encoding: CertificateEncoding::Der,
                    data: der.to_vec(),
                })
                .collect(),
            insecure: config.insecure.clone(),
            timeout,
            // A TLS handshake takes milliseconds; a registry that does
            // not finish one soon is taken to speak TLS, and the request
            // that follows reports what is wrong.
            probe: SchemeProbe::new(&certificates, timeout.min(PROBE_TIMEOUT)),
        })
    }

    /// Whether `registry` is reached over plain HTTP: it may be (it is on
    /// loopback, or listed as insecure) and it does not speak TLS.
    async fn plain_http(&self, registry: &str) -> bool {
        let may = self.insecure.iter().any(|host| host == registry) || is_loopback(registry);
        may && !self.probe.speaks_tls(registry).await
    }

    pub(super) async fn remote(&self, reference: &OciReference, auth: RegistryAuth) -> Remote {
        let registry = reference.as_oci().resolve_registry().to_owned();
        let protocol = if self.plain_http(&registry).await {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            tls_certs_only: self.roots.clone(),
            connect_timeout: Some(self.timeout),
            read_timeout: Some(self.timeout),
            // An index names per-platform manifests; a component has none.
            platform_resolver: None,
            user_agent: concat!("warden/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        });
        Remote { client, auth }
    }
}

/// `localhost`, `127.0.0.0/8` or `[::1]`, with or without a port.
fn is_loopback(registry: &str) -> bool {
    let (host, _) = split_host_port(registry);
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Remote {
    /// The manifest `reference` names and its digest; `None` when the
    /// registry has no such manifest.
    pub(super) async fn manifest(
        &self,
        reference: &OciReference,
    ) -> Result<Option<(Bytes, String)>, RegistryError> {
        match self
            .client
            .pull_manifest_raw(reference.as_oci(), &self.auth, MANIFEST_TYPES)
            .await
        {
            Ok((body, _)) => {
                // The digest is the content's, whatever headers said.
                let digest = sha256_digest(&body);
                if let Some(wanted) = reference.digest()
                    && wanted != digest
                {
                    return Err(RegistryError::DigestMismatch {
                        reference: reference.to_string(),
                        what: "manifest",
                        expected: wanted.to_owned(),
                        got: digest,
                    });
                }
                Ok(Some((body, digest)))
            }
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(classify(reference, error)),
        }
    }

    /// The blob `descriptor` names, refused past `max_bytes` (announced or
    /// received) and checked against its digest.
    pub(super) async fn blob(
        &self,
        reference: &OciReference,
        descriptor: &OciDescriptor,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let too_large = |size: u64| RegistryError::TooLarge {
            reference: reference.to_string(),
            size,
            limit: max_bytes,
        };
        let announced = u64::try_from(descriptor.size).unwrap_or(0);
        if announced > max_bytes {
            return Err(too_large(announced));
        }
        let mut stream = self
            .client
            .pull_blob_stream(reference.as_oci(), descriptor)
            .await
            .map_err(|error| classify(reference, error))?;
        if let Some(length) = stream.content_length
            && length > max_bytes
        {
            return Err(too_large(length));
        }
        // What the manifest announces is only a hint: reserve a little.
        let mut bytes =
            Vec::with_capacity(usize::try_from(announced.min(INITIAL_BLOB_CAPACITY)).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(
                    |e| match e.get_ref().and_then(|inner| inner.downcast_ref()) {
                        // oci-client checks the digest as the last bytes arrive.
                        Some(DigestError::VerificationError { expected, actual }) => {
                            RegistryError::DigestMismatch {
                                reference: reference.to_string(),
                                what: "layer",
                                expected: expected.clone(),
                                got: actual.clone(),
                            }
                        }
                        _ => RegistryError::Unreachable {
                            reference: reference.to_string(),
                            why: format!("the download of {} broke off: {e}", descriptor.digest),
                        },
                    },
                )?;
            let received = bytes.len() as u64 + chunk.len() as u64;
            if received > max_bytes {
                return Err(too_large(received));
            }
            bytes.extend_from_slice(&chunk);
        }
        let digest = sha256_digest(&bytes);
        if digest != descriptor.digest {
            return Err(RegistryError::DigestMismatch {
                reference: reference.to_string(),
                what: "layer",
                expected: descriptor.digest.clone(),
                got: digest,
            });
        }
        Ok(bytes)
    }

    /// The digests of the manifests of `artifact_type` that refer to the
    /// manifest `pinned` names (OCI 1.1 referrers, through the API or its
    /// tag fallback), at most `limit`. A registry without either has none.
    pub(super) async fn referrers(
        &self,
        pinned: &OciReference,
        artifact_type: &str,
        limit: usize,
    ) -> Vec<String> {
        match self
            .client
            .pull_referrers(pinned.as_oci(), Some(artifact_type))
            .await
        {
            Ok(index) => index
                .manifests
                .into_iter()
                .filter(|entry| entry.artifact_type.as_deref() == Some(artifact_type))
                .map(|entry| entry.digest)
                .filter(|digest| crate::config::check_digest(digest).is_ok())
                .take(limit)
                .collect(),
            Err(error) => {
                tracing::debug!(reference = %pinned, %error, "no referrers listed");
                Vec::new()
            }
        }
    }

    /// Authenticates for pushing to `reference`'s repository.
    pub(super) async fn begin_push(&self, reference: &OciReference) -> Result<(), RegistryError> {
        self.client
            .auth(reference.as_oci(), &self.auth, RegistryOperation::Push)
            .await
            .map(|_| ())
            .map_err(|error| classify(reference, error))
    }

    /// Uploads `data` unless the registry has it already.
    pub(super) async fn push_blob(
        &self,
        reference: &OciReference,
        data: Vec<u8>,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&data);
        let exists = self
            .client
            .blob_exists(reference.as_oci(), &digest)
            .await
            .unwrap_or(false);
        if !exists {
            self.client
                .push_blob(reference.as_oci(), data, &digest)
                .await
                .map_err(|error| classify(reference, error))?;
        }
        Ok(digest)
    }

    /// Puts `manifest` at `reference` (a tag or its own digest).
    pub(super) async fn push_manifest(
        &self,
        reference: &OciReference,
        manifest: Vec<u8>,
        media_type: &'static str,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&manifest);
        self.client
            .push_manifest_raw(
                reference.as_oci(),
                manifest,
                http::HeaderValue::from_static(media_type),
            )
            .await
            .map_err(|error| classify(reference, error))?;
        Ok(digest)
    }
}

/// `sha256:<hex>` of `data`.
pub(super) fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn is_not_found(error: &OciDistributionError) -> bool {
    match error {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => {
            envelope.errors.iter().any(|e| {
                matches!(
                    e.code,
                    OciErrorCode::ManifestUnknown | OciErrorCode::NotFound
                )
            }) && !envelope.errors.iter().any(|e| {
                matches!(
                    e.code,
                    OciErrorCode::NameUnknown | OciErrorCode::Unauthorized | OciErrorCode::Denied
                )
            })
        }
        OciDistributionError::ServerError { code: 404, .. } => true,
        _ => false,
    }
}

/// What went wrong, in terms an operator acts on; never a credential.
pub(super) fn classify(reference: &OciReference, error: OciDistributionError) -> RegistryError {
    let reference = reference.to_string();
    match error {
        OciDistributionError::RequestError(e) => RegistryError::Unreachable {
            reference,
            why: error_chain(&e),
        },
        OciDistributionError::AuthenticationFailure(_)
        | OciDistributionError::UnauthorizedError { .. } => {
            RegistryError::Unauthorized { reference }
        }
        OciDistributionError::RegistryError { envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)) =>
        {
            RegistryError::Unauthorized { reference }
        }
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => RegistryError::Unauthorized { reference },
        other => RegistryError::Refused {
            reference,
            why: other.to_string(),
        },
    }
}

/// An error's chain of causes, which says whether the connection was
/// refused, timed out or failed TLS.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognised() {
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "ghcr.io",
            "10.0.0.1:5000",
            "localhost.example:5000",
            "[::2]:1",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
