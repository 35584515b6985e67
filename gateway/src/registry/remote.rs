//! One registry, reached through oci-client: manifests and blobs in and
//! out, with sizes capped and digests checked here whatever the client
//! checked.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciEnvelope, OciErrorCode};
use oci_client::manifest::{OciDescriptor, OciImageIndex};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use super::documents::{
    Answer, DocumentError, DocumentGet, Documents, MAX_DOCUMENT_BYTES, error_chain, excerpt,
};
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
    documents: Documents,
    /// The `Authorization` header for the one repository a `Remote` is
    /// made for, negotiated on the first document read (a pull reads
    /// several: the manifest, the signatures' and the referrers').
    negotiated: tokio::sync::OnceCell<Option<http::HeaderValue>>,
}

/// How a client is set up: TLS roots and the hosts that may be reached
/// over plain HTTP.
pub(super) struct Transport {
    roots: Vec<Certificate>,
    /// For manifests and referrer indexes (`documents.rs`): set up like
    /// the client oci-client builds from the same settings.
    documents: reqwest::Client,
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
        let documents = reqwest::Client::builder()
            .tls_certs_only(
                certificates
                    .iter()
                    .filter_map(|der| reqwest::Certificate::from_der(der).ok()),
            )
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .user_agent(concat!("warden/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| RegistryError::Client {
                why: error_chain(&error),
            })?;
        Ok(Self {
            documents,
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
        let plain_http = self.plain_http(&registry).await;
        let protocol = if plain_http {
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
        Remote {
            client,
            auth,
            documents: Documents::new(self.documents.clone(), plain_http, self.timeout),
            negotiated: tokio::sync::OnceCell::new(),
        }
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
        let oci = reference.as_oci();
        let target = oci.digest().or(oci.tag()).unwrap_or("latest");
        let path = format!("/v2/{}/manifests/{target}", oci.repository());
        let Some(body) = self
            .document(reference, "manifest", path, &[], MANIFEST_TYPES.join(", "))
            .await?
        else {
            return Ok(None);
        };
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

    /// GETs the document at `path` of `reference`'s registry, with the
    /// credentials oci-client negotiated; `None` when the registry has no
    /// such document.
    async fn document(
        &self,
        reference: &OciReference,
        what: &'static str,
        target: String,
        query: &[(&str, &str)],
        accept: String,
    ) -> Result<Option<Bytes>, RegistryError> {
        let get = DocumentGet {
            registry: reference.as_oci().resolve_registry(),
            target,
            query,
            accept,
            authorization: self.cached_authorization(reference).await?,
        };
        let shown = || reference.to_string();
        match self.documents.get(&get).await {
            Ok(Answer::Found(body)) => Ok(Some(body)),
            Ok(Answer::Status(status, body)) => match status.as_u16() {
                401 | 403 => Err(RegistryError::Unauthorized { reference: shown() }),
                404 if !names_missing_repository_or_access(&body) => Ok(None),
                _ => Err(RegistryError::Refused {
                    reference: shown(),
                    why: format!("the {what} request answered {status}: {}", excerpt(&body)),
                }),
            },
            Err(DocumentError::TooLarge) => Err(RegistryError::DocumentTooLarge {
                reference: shown(),
                what,
                limit: MAX_DOCUMENT_BYTES,
            }),
            Err(DocumentError::Timeout(ms)) => Err(RegistryError::Timeout {
                reference: shown(),
                ms,
            }),
            Err(error) => Err(RegistryError::Unreachable {
                reference: shown(),
                why: error.to_string(),
            }),
        }
    }

    /// [`Self::authorization`], negotiated once.
    async fn cached_authorization(
        &self,
        reference: &OciReference,
    ) -> Result<Option<http::HeaderValue>, RegistryError> {
        self.negotiated
            .get_or_try_init(|| self.authorization(reference))
            .await
            .cloned()
    }

    /// The `Authorization` header for pulling from `reference`'s
    /// repository: oci-client answers the registry's challenge (fetching a
    /// bearer token when it asks for one); basic credentials go as they are.
    async fn authorization(
        &self,
        reference: &OciReference,
    ) -> Result<Option<http::HeaderValue>, RegistryError> {
        let token = self
            .client
            .auth(reference.as_oci(), &self.auth, RegistryOperation::Pull)
            .await
            .map_err(|error| classify(reference, error))?;
        let value = match (token, &self.auth) {
            (Some(token), _) => format!("Bearer {token}"),
            (None, RegistryAuth::Basic(user, password)) => {
                use base64::Engine as _;
                let pair = format!("{user}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            (None, _) => return Ok(None),
        };
        let mut value =
            http::HeaderValue::from_str(&value).map_err(|_| RegistryError::Unauthorized {
                reference: reference.to_string(),
            })?;
        value.set_sensitive(true);
        Ok(Some(value))
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
        match self.referrer_index(pinned, artifact_type).await {
            Ok(None) => Vec::new(),
            Ok(Some(index)) => index
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

    /// The index of what refers to `pinned`: the referrers API's answer, or
    /// where the registry has no such API (404), the index tagged with the
    /// digest (`sha256-<hex>`), the OCI 1.1 fallback.
    async fn referrer_index(
        &self,
        pinned: &OciReference,
        artifact_type: &str,
    ) -> Result<Option<OciImageIndex>, RegistryError> {
        let oci = pinned.as_oci();
        let Some(digest) = oci.digest() else {
            return Ok(None);
        };
        let repository = oci.repository();
        let accept = oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned();
        let api = format!("/v2/{repository}/referrers/{digest}");
        let query = [("artifactType", artifact_type)];
        let body = match self
            .document(pinned, "referrers index", api, &query, accept.clone())
            .await?
        {
            Some(body) => body,
            None => {
                let tag = digest.replace(':', "-");
                let fallback = format!("/v2/{repository}/manifests/{tag}");
                match self
                    .document(pinned, "referrers index", fallback, &[], accept)
                    .await?
                {
                    Some(body) => body,
                    None => return Ok(None),
                }
            }
        };
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|error| RegistryError::Refused {
                reference: pinned.to_string(),
                why: format!("the referrers index is not an OCI image index: {error}"),
            })
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

/// Whether a 404's OCI error envelope says the repository is unknown or
/// access was denied, which is not "no such manifest".
fn names_missing_repository_or_access(body: &[u8]) -> bool {
    serde_json::from_slice::<OciEnvelope>(body).is_ok_and(|envelope| {
        envelope.errors.iter().any(|entry| {
            matches!(
                entry.code,
                OciErrorCode::NameUnknown | OciErrorCode::Unauthorized | OciErrorCode::Denied
            )
        })
    })
}

/// `sha256:<hex>` of `data`.
pub(super) fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_404_naming_the_repository_or_access_is_not_a_missing_manifest() {
        assert!(names_missing_repository_or_access(
            br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#
        ));
        assert!(!names_missing_repository_or_access(
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
        ));
        assert!(!names_missing_repository_or_access(b"404 page not found"));
    }

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
