//! Which scheme reaches a registry that may be spoken to over plain HTTP
//! (a loopback one, or one listed in `registry.insecure`): HTTPS when it
//! completes a TLS handshake, plain HTTP only when it does not speak TLS at
//! all, as Docker decides for insecure registries. A registry that speaks
//! TLS with a certificate Warden does not trust is not downgraded: the
//! HTTPS request then fails and says why.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub(super) struct SchemeProbe {
    connector: TlsConnector,
    timeout: Duration,
    /// Per registry host: whether it speaks TLS.
    known: Mutex<HashMap<String, bool>>,
}

impl SchemeProbe {
    pub(super) fn new(roots: &[CertificateDer<'static>], timeout: Duration) -> Self {
        let mut store = rustls::RootCertStore::empty();
        // A root the store cannot use is skipped, as reqwest skips it.
        let _ = store.add_parsable_certificates(roots.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(store).with_no_client_auth());
        let config = config.unwrap_or_else(|_| {
            // The ring provider supports the default versions; this branch
            // only keeps the type total.
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        });
        Self {
            connector: TlsConnector::from(Arc::new(config)),
            timeout,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `registry` (`host[:port]`) speaks TLS on its port (443 when
    /// none is written). A registry that cannot be reached is taken to
    /// speak TLS, so the request that follows reports it unreachable.
    pub(super) async fn speaks_tls(&self, registry: &str) -> bool {
        if let Some(known) = self
            .known
            .lock()
            .ok()
            .and_then(|known| known.get(registry).copied())
        {
            return known;
        }
        let answer = self.probe(registry).await;
        if let Ok(mut known) = self.known.lock() {
            known.insert(registry.to_owned(), answer);
        }
        answer
    }

    async fn probe(&self, registry: &str) -> bool {
        let (host, port) = split_host_port(registry);
        let Ok(name) = ServerName::try_from(host.to_owned()) else {
            return true;
        };
        let handshake = async {
            let tcp = TcpStream::connect((host, port)).await.ok()?;
            Some(self.connector.connect(name, tcp).await)
        };
        match tokio::time::timeout(self.timeout, handshake).await {
            Ok(Some(Ok(_))) | Ok(None) | Err(_) => true,
            Ok(Some(Err(error))) => {
                let speaks_tls = matches!(
                    error
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
                    Some(
                        rustls::Error::InvalidCertificate(_)
                            | rustls::Error::NoCertificatesPresented
                            | rustls::Error::AlertReceived(_)
                            | rustls::Error::PeerIncompatible(_)
                    )
                );
                tracing::debug!(%registry, %error, speaks_tls, "probed the registry's scheme");
                speaks_tls
            }
        }
    }
}

/// `host:port`, `[v6]:port`, or a host alone (port 443).
pub(super) fn split_host_port(registry: &str) -> (&str, u16) {
    if let Some(rest) = registry.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host, port.unwrap_or(443));
    }
    match registry.rsplit_once(':') {
        Some((host, port)) => match port.parse() {
            Ok(port) => (host, port),
            Err(_) => (registry, 443),
        },
        None => (registry, 443),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_are_split() {
        assert_eq!(split_host_port("ghcr.io"), ("ghcr.io", 443));
        assert_eq!(split_host_port("127.0.0.1:5000"), ("127.0.0.1", 5000));
        assert_eq!(split_host_port("[::1]:5000"), ("::1", 5000));
        assert_eq!(split_host_port("[::1]"), ("::1", 443));
    }
}
