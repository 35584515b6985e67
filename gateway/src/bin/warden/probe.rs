//! `warden probe`: an HTTP health check by the binary itself, for container
//! images that carry no shell or curl (`HEALTHCHECK CMD warden probe`).

use std::time::Duration;

use anyhow::{Context as _, bail};
use http_body_util::Empty;
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// Connecting and answering together must not take longer than this.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// GETs `url` (plain `http://host:port/path`) and succeeds on a 2xx answer.
pub async fn run(url: &str) -> anyhow::Result<()> {
    let uri: hyper::Uri = url
        .parse()
        .with_context(|| format!("`{url}` is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        bail!("`{url}`: only http:// URLs can be probed");
    }
    let Some(authority) = uri.authority().cloned() else {
        bail!("`{url}` has no host");
    };
    let port = authority.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let status = tokio::time::timeout(PROBE_TIMEOUT, async {
        let stream = tokio::net::TcpStream::connect((authority.host(), port))
            .await
            .with_context(|| format!("cannot connect to {authority}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = Request::get(path)
            .header(hyper::header::HOST, authority.as_str())
            .body(Empty::<Bytes>::new())?;
        anyhow::Ok(sender.send_request(request).await?.status())
    })
    .await
    .with_context(|| format!("{url} did not answer within {PROBE_TIMEOUT:?}"))??;
    if !status.is_success() {
        bail!("{url} answered {status}");
    }
    Ok(())
}
