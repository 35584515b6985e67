//! Raw exchanges with a server: event streams and bytes on a socket.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An open `GET /mcp` event stream, read event by event.
pub struct EventStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: hyper::body::Incoming,
    buffered: String,
}

impl EventStream {
    /// Sends `GET /mcp` with `headers` and keeps the response body open.
    pub async fn open(addr: SocketAddr, headers: &[(&str, &str)]) -> Self {
        Self::request(addr, Method::GET, headers, Bytes::new()).await
    }

    /// Sends `method /mcp` with `headers` and `body`, and keeps the
    /// response body open.
    pub async fn request(
        addr: SocketAddr,
        method: Method,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("host", addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = sender
            .send_request(request.body(Full::new(body)).expect("request"))
            .await
            .expect("send to /mcp");
        let (parts, body) = response.into_parts();
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
            buffered: String::new(),
        }
    }

    /// The next event that is not a comment, as its lines; `None` when the
    /// server ended the stream. Panics when nothing comes `within`.
    pub async fn next_event(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, async {
            loop {
                while let Some(end) = self.buffered.find("\n\n") {
                    let event: String = self.buffered.drain(..end + 2).collect();
                    let event = event.trim_end().to_owned();
                    if !event.lines().all(|line| line.starts_with(':')) {
                        return Some(event);
                    }
                }
                match self.body.frame().await {
                    None => return None,
                    Some(Err(error)) => panic!("event stream broke: {error}"),
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            self.buffered.push_str(&String::from_utf8_lossy(data));
                        }
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no event within {within:?}; buffered: {:?}", self.buffered))
    }
}

/// Sends raw bytes and returns what the server answers until it closes the
/// connection or goes quiet for `quiet`.
pub async fn exchange(addr: SocketAddr, request: &[u8], quiet: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    read_until_quiet(&mut stream, quiet).await
}

pub async fn read_until_quiet(stream: &mut TcpStream, quiet: Duration) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(Ok(read)) = tokio::time::timeout(quiet, stream.read(&mut buffer)).await {
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}
