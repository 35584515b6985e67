//! The HTTP transport: a hyper server routing `/mcp` and the probes.

mod call_stream;
mod connection;
mod event_stream;
mod health;
mod listen;
pub mod mcp_endpoint;
mod oauth;
pub mod replay;
pub mod response;
pub mod sse;
mod stateless;
mod stream_state;
pub mod unsent;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::Instrument;

use response::Body;

use crate::app::Gateway;
use crate::auth::ClientIdentity;
use crate::lifecycle::{self, DrainOutcome};
use crate::telemetry::metrics;
use crate::tls;
use connection::{Activity, Builders, Connections, SendCheck, Version};
use unsent::Unsent;

/// The MCP endpoint's path.
pub const MCP_PATH: &str = "/mcp";

/// How often idle sessions, and quota counters of callers not seen lately,
/// are swept.
const SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Routes one HTTP request.
pub async fn route(gateway: &Arc<Gateway>, request: Request<Incoming>) -> Response<Body> {
    match request.uri().path() {
        MCP_PATH => mcp_endpoint::handle(gateway, request).await,
        "/livez" => health::live(),
        "/readyz" => health::ready(gateway),
        "/healthz" => health::health(gateway),
        path if oauth::is_metadata_path(path) => oauth::metadata(gateway.auth.load().jwt(), path),
        _ => response::http_refusal(
            StatusCode::NOT_FOUND,
            &format!("no such endpoint; MCP is served at {MCP_PATH}"),
        ),
    }
}

/// The operator's listener: metrics and the probes, with connections of
/// its own, so a flood of clients on the MCP listener cannot starve a
/// liveness probe into restarting a healthy process.
fn admin_route(gateway: &Gateway, request: &Request<Incoming>) -> Response<Body> {
    match request.uri().path() {
        "/metrics" => response::prometheus(metrics::render(&gateway.live_state())),
        "/livez" => health::live(),
        "/readyz" => health::ready(gateway),
        "/healthz" => health::health(gateway),
        _ => response::text(
            StatusCode::NOT_FOUND,
            "this listener serves /metrics, /livez, /readyz and /healthz\n",
        ),
    }
}

/// Serves Prometheus metrics at `/metrics` and the probes (`/livez`,
/// `/readyz`, `/healthz`) on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let connections = accept_loop(&gateway, listener, shutdown, Router::Admin).await;
    // A scrape is quick; a scraper that hangs does not hold up the exit.
    let _ = tokio::time::timeout(lifecycle::FLUSH_AFTER_CANCEL, connections.shutdown()).await;
}

/// Serves HTTP on `listener` until `shutdown` resolves, then drains: the
/// listener closes, `/readyz` fails, and requests in flight get
/// `server.drain_timeout_secs` to finish before the calls still running are
/// cancelled. Returns how the drain ended.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> DrainOutcome {
    if let Ok(address) = listener.local_addr() {
        let _ = gateway.served_on.set(address);
    }
    // Sessions belong to the MCP listener; it alone sweeps them.
    let sweeper = {
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(SESSION_SWEEP_INTERVAL);
            loop {
                interval.tick().await;
                gateway.mcp.sessions().sweep();
                gateway.mcp.tasks().sweep();
                gateway.mcp.limits().forget_idle();
                for tool in gateway.mcp.catalog().tools() {
                    tool.rates.forget_idle();
                }
            }
        })
    };
    let cluster_sync = crate::app::spawn_cluster_sync(&gateway);
    let connections = accept_loop(&gateway, listener, shutdown, Router::Mcp).await;
    sweeper.abort();
    let lifecycle = gateway.mcp.lifecycle();
    lifecycle.begin_drain();
    let deadline = Duration::from_secs(gateway.settings.drain_timeout_secs);
    tracing::info!(
        connections = connections.count(),
        deadline_secs = deadline.as_secs(),
        "shutting down: waiting for requests in flight"
    );
    // Tasks run on after their requests: the drain waits for them too, and
    // those still running at the deadline end as failed by the shutdown.
    let work = async {
        connections.shutdown().await;
        gateway.mcp.tasks().all_ended().await;
    };
    lifecycle.drain(work, async {}, deadline).await;
    crate::app::stop_cluster_sync(&gateway, cluster_sync).await;
    lifecycle.outcome()
}

/// Which endpoints a listener offers.
#[derive(Clone, Copy)]
enum Router {
    /// `/mcp` and the probes.
    Mcp,
    /// `/metrics` and the probes.
    Admin,
}

/// Accepts connections until `shutdown` resolves, then closes the listener
/// and hands back the open connections, to be told to finish their current
/// requests.
async fn accept_loop(
    gateway: &Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    router: Router,
) -> Connections {
    let connections = Connections::default();
    let limits = &gateway.http;
    let open_connections = Arc::new(Semaphore::new(limits.max_connections as usize));
    let builders = Builders::new(limits);
    let first_bytes_limit = Duration::from_millis(limits.header_read_timeout_ms);
    tokio::pin!(shutdown);
    loop {
        // At the connection cap, new clients wait in the kernel's backlog.
        let place = tokio::select! {
            place = Arc::clone(&open_connections).acquire_owned() => match place {
                Ok(place) => place,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Running out of file descriptors must not end the server.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let tls = match (router, &gateway.tls) {
            (Router::Mcp, Some(tls)) => Some(tls.acceptor()),
            _ => None,
        };
        let (gateway, builders, draining) = (
            Arc::clone(gateway),
            builders.clone(),
            connections.draining(),
        );
        connections.spawn(async move {
            let Some(acceptor) = tls else {
                // A client that sends nothing is held no longer than one
                // that stalls in its headers.
                let Some(version) = connection::sniff(&stream, first_bytes_limit).await else {
                    tracing::debug!(%peer, "connection closed: no request began in time");
                    return;
                };
                let io = TokioIo::new(stream);
                serve_one(
                    io,
                    version,
                    &builders,
                    (gateway, peer, router, None),
                    draining,
                )
                .await;
                drop(place);
                return;
            };
            // The handshake gets the time the headers would: a client that
            // stalls in it is a slowloris too.
            let stream =
                match tokio::time::timeout(first_bytes_limit, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
            let session = stream.get_ref().1;
            let identity = tls::client_identity(session);
            let version = connection::negotiated(session.alpn_protocol());
            let io = TokioIo::new(stream);
            serve_one(
                io,
                version,
                &builders,
                (gateway, peer, router, identity),
                draining,
            )
            .await;
            drop(place);
        });
    }
    connections
}

/// What a connection's requests are served with: the application, the
/// peer, the routes, and the TLS client's identity.
type Serving = (Arc<Gateway>, SocketAddr, Router, Option<ClientIdentity>);

/// Serves one connection in `version` until it ends.
async fn serve_one<I>(
    io: TokioIo<I>,
    version: Version,
    builders: &Builders,
    (gateway, peer, router, identity): Serving,
    draining: tokio_util::sync::CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(connection_unsent(&gateway)));
    let service = service(gateway, peer, router, identity, Arc::clone(&activity));
    let sending = SendCheck {
        timeout: builders.send_timeout,
    };
    let ended = match version {
        Version::Http1 => {
            let connection = builders.http1.serve_connection(io, service);
            connection::drive(
                connection,
                |connection| connection.graceful_shutdown(),
                draining,
                &activity,
                (None, sending),
            )
            .await
        }
        Version::Http2 => {
            let connection = builders.http2.serve_connection(io, service);
            connection::drive(
                connection,
                |connection| connection.graceful_shutdown(),
                draining,
                &activity,
                (Some(builders.idle), sending),
            )
            .await
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%peer, ?version, %error, "connection ended with an error");
    }
}

/// Serves the MCP routes on one plain HTTP/1.1 connection over `io` (any
/// byte stream): what the listener does for each accepted TCP connection,
/// without the listener. The fuzz targets feed requests through it. Unlike
/// the listener's connections, a peer may close its sending side once its
/// requests are written and still read every answer (half close).
pub async fn serve_connection<I>(gateway: Arc<Gateway>, io: I, peer: SocketAddr)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = Builders::new(&gateway.http).http1;
    builder.half_close(true);
    let activity = Arc::new(Activity::new(connection_unsent(&gateway)));
    let connection = builder.serve_connection(
        TokioIo::new(io),
        service(gateway, peer, Router::Mcp, None, activity),
    );
    if let Err(error) = connection.await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// A new connection's count of its unsent responses.
pub(super) fn connection_unsent(gateway: &Gateway) -> Arc<Unsent> {
    Unsent::new(
        gateway.http.max_unsent_bytes_per_connection,
        &gateway.unsent_held,
    )
}

fn service(
    gateway: Arc<Gateway>,
    peer: SocketAddr,
    router: Router,
    identity: Option<ClientIdentity>,
    activity: Arc<Activity>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone {
    service_fn(move |mut request: Request<Incoming>| {
        let gateway = Arc::clone(&gateway);
        let activity = Arc::clone(&activity);
        if let Some(identity) = &identity {
            request.extensions_mut().insert(identity.clone());
        }
        request
            .extensions_mut()
            .insert(Arc::clone(&activity.unsent));
        // Boxed: hyper keeps room for the service's future in every
        // connection from its start, and unboxed that room is the size of
        // the whole request handling (about 7 KB), idle connections too.
        Box::pin(async move {
            let served = activity.start_request();
            let http2 = request.version() == hyper::Version::HTTP_2;
            let span = tracing::debug_span!("request", %peer, method = %request.method(), path = %request.uri().path());
            let mut response = match router {
                Router::Mcp => route(&gateway, request).instrument(span).await,
                Router::Admin => admin_route(&gateway, &request),
            };
            if served >= gateway.http.max_requests_per_connection {
                if http2 {
                    // GOAWAY: the streams open finish, new ones go elsewhere.
                    activity.spend_budget();
                } else {
                    // hyper closes the connection after a response that says so.
                    response
                        .headers_mut()
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                }
            }
            response.body_mut().count_on(&activity.unsent);
            metrics::record_http(response.status().as_u16());
            Ok::<_, Infallible>(response)
        })
    })
}
