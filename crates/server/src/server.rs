//! Connections: accept, allow-list, TLS, HTTP/1.1, graceful shutdown.
//!
//! Each accepted connection is its own task. The allow-list is decided at
//! accept time (a refused client still gets an HTTP 403, so that it learns
//! why); TLS handshakes are bounded by the request timeout; hyper reads
//! request heads under the same timeout, which is what cuts off a client
//! that trickles its headers. On shutdown the listener closes, connections
//! finish the request they are on and close.

use crate::events::{
    guard, Connected, ConnectionRequest, Disconnected, SslClientAuthentication,
    SslConnectionRequest, SslStatus,
};
use crate::state::State;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// The largest request head (start line and headers), in bytes: beyond
/// it the HTTP layer answers 431 and closes the connection. (It also
/// answers 431 beyond 100 header lines: hyper's default, which keeps
/// the headers on the stack.)
pub const MAX_HEAD: usize = 64 * 1024;

/// What the handler knows of the connection a request came on.
#[derive(Debug)]
pub struct ConnInfo {
    pub id: u64,
    pub remote: SocketAddr,
    /// The allow-list admits the address.
    pub allowed: bool,
}

/// Serve `listener` until `stop` turns true, then drain. `metrics_only`
/// serves nothing but `/metrics` (and `/healthz`), without credentials.
pub async fn serve(
    state: Arc<State>,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    metrics_only: bool,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(state.settings.max_connections));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => Some(r),
            _ = stop.wait_for(|s| *s) => None,
        };
        let (stream, remote) = match accepted {
            None => break,
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                // EMFILE and friends: back off instead of spinning.
                state.error(0, "QBC_ACCEPT", &format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream); // over max_connections: closed at once
            continue;
        };
        let Some(client_slot) = state.admit(remote.ip()) else {
            drop(stream); // over max_connections_per_client
            continue;
        };
        let _ = stream.set_nodelay(true);
        let allowed = state.live().allows(remote.ip());
        let id = state.next_conn.fetch_add(1, Ordering::Relaxed);
        let info = Arc::new(ConnInfo {
            id,
            remote,
            allowed,
        });
        let state = state.clone();
        let watcher = graceful.watcher();
        let stop = stop.clone();
        tokio::spawn(async move {
            // Decided here, not in the accept loop: a handler that takes
            // its time holds up this connection only.
            let mut ev = ConnectionRequest {
                remote,
                allowed,
                accept: true,
            };
            if !decide(&state, 0, "connection_request", || {
                state.events.connection_request(&mut ev);
                ev.accept
            }) {
                return;
            }
            state
                .metrics
                .connections_total
                .fetch_add(1, Ordering::Relaxed);
            state
                .metrics
                .connections_open
                .fetch_add(1, Ordering::Relaxed);
            // Counted down however the task ends.
            let _open = OpenConnection(state.clone());
            let _ = guard("connected", || {
                state.events.connected(&Connected {
                    connection_id: id,
                    remote,
                })
            });
            let (code, description) = match (&state.tls, metrics_only) {
                (Some(tls), false) => {
                    match tokio::time::timeout(
                        state.live().request_timeout,
                        handshake(&state, id, remote, tls.config.clone(), stream),
                    )
                    .await
                    {
                        Ok(Err(Handshake::Refused)) => {
                            (1, "refused before the TLS handshake".to_string())
                        }
                        Ok(Ok(tls_stream)) => {
                            let stopping = *stop.borrow();
                            if stopping || !after_handshake(&state, &info, &tls_stream) {
                                (1, "refused after the TLS handshake".to_string())
                            } else {
                                http(
                                    state.clone(),
                                    info.clone(),
                                    tls_stream,
                                    watcher,
                                    metrics_only,
                                )
                                .await
                            }
                        }
                        Ok(Err(Handshake::Failed(e))) => {
                            let _ = guard("ssl_status", || {
                                state.events.ssl_status(&SslStatus {
                                    connection_id: id,
                                    message: format!("handshake failed: {e}"),
                                })
                            });
                            (2, format!("TLS handshake failed: {e}"))
                        }
                        Err(_) => (3, "TLS handshake timed out".to_string()),
                    }
                }
                _ => http(state.clone(), info.clone(), stream, watcher, metrics_only).await,
            };
            let _ = guard("disconnected", || {
                state.events.disconnected(&Disconnected {
                    connection_id: id,
                    status_code: code,
                    description,
                })
            });

            drop(slot);
            drop(client_slot);
        });
    }
    drop(listener);
    // In-flight requests finish; a backend call is bounded by its timeout.
    let live = state.live();
    let grace = live.backend_timeout + live.request_timeout;
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(grace) => {}
    }
}

struct OpenConnection(Arc<State>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .metrics
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Run a handler that decides whether a connection goes on. One that
/// panics refuses it, and the Error event says which; the server goes on.
fn decide(state: &State, id: u64, event: &'static str, handler: impl FnOnce() -> bool) -> bool {
    guard(event, handler).unwrap_or_else(|event| {
        state.error(
            id,
            crate::http::code::EVENT,
            &format!("the {event} event handler failed; connection refused"),
        );
        false
    })
}

enum Handshake {
    /// The `ssl_connection_request` handler said no (or failed).
    Refused,
    Failed(std::io::Error),
}

/// Read the client's hello, let the `ssl_connection_request` handler see
/// it and decide, then complete the handshake.
async fn handshake(
    state: &State,
    id: u64,
    remote: SocketAddr,
    config: Arc<rustls::ServerConfig>,
    stream: tokio::net::TcpStream,
) -> Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>, Handshake> {
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream)
        .await
        .map_err(Handshake::Failed)?;
    let hello = start.client_hello();
    let mut ev = SslConnectionRequest {
        connection_id: id,
        remote,
        server_name: hello.server_name().map(str::to_string),
        cipher_suites: hello
            .cipher_suites()
            .iter()
            .map(|c| format!("{c:?}"))
            .collect(),
        accept: true,
    };
    if !decide(state, id, "ssl_connection_request", || {
        state.events.ssl_connection_request(&mut ev);
        ev.accept
    }) {
        return Err(Handshake::Refused);
    }
    start.into_stream(config).await.map_err(Handshake::Failed)
}

/// The client certificate and the negotiated parameters; false closes the
/// connection.
fn after_handshake<IO>(
    state: &State,
    info: &ConnInfo,
    stream: &tokio_rustls::server::TlsStream<IO>,
) -> bool {
    let conn = stream.get_ref().1;
    let _ = guard("ssl_status", || {
        state.events.ssl_status(&SslStatus {
            connection_id: info.id,
            message: format!(
                "handshake done: {:?}, {:?}",
                conn.protocol_version(),
                conn.negotiated_cipher_suite().map(|s| s.suite())
            ),
        })
    });
    let Some(tls) = &state.tls else {
        return true;
    };
    if !tls.client_auth {
        return true;
    }
    let Some(cert) = conn.peer_certificates().and_then(|c| c.first()) else {
        return false; // the verifier requires one; be sure
    };
    let subject = crate::tls::subject_of(cert.as_ref()).unwrap_or_default();
    let accept = match &tls.client_subject {
        Some(want) => crate::tls::subject_matches(cert.as_ref(), want),
        None => true,
    };
    let mut ev = SslClientAuthentication {
        connection_id: info.id,
        subject,
        certificate: cert.as_ref().to_vec(),
        accept,
    };
    ev.accept = decide(state, info.id, "ssl_client_authentication", || {
        state.events.ssl_client_authentication(&mut ev);
        ev.accept
    });
    if !ev.accept {
        state.error(
            info.id,
            "QBC_CLIENT_CERT",
            &format!("client certificate `{}` refused", ev.subject),
        );
    }
    ev.accept
}

pub(crate) async fn http<IO>(
    state: Arc<State>,
    info: Arc<ConnInfo>,
    io: IO,
    watcher: hyper_util::server::graceful::Watcher,
    metrics_only: bool,
) -> (i32, String)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = state.live().request_timeout;
    let service = service_fn(move |req| {
        let state = state.clone();
        let info = info.clone();
        async move {
            Ok::<_, std::convert::Infallible>({
                let router = if metrics_only {
                    &state.metrics_router
                } else {
                    &state.router
                };
                crate::http::handle(state.clone(), info, router, req).await
            })
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(header_timeout))
        .keep_alive(true)
        // A client that shuts its sending side once its request is out
        // (`nc -N`, scripts, the fuzzing harness) still gets its answer.
        .half_close(true)
        // The request head (start line and headers) is at most 64 KiB, as
        // PROTOCOL.md §3 says; the read buffer alone would let a head run
        // past it by up to a read's worth.
        .max_header_size(MAX_HEAD)
        .max_buf_size(64 * 1024);
    let io = crate::deadline::Deadline::new(io, header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    match watcher.watch(conn).await {
        Ok(()) => (0, "OK".into()),
        Err(e) => (4, e.to_string()),
    }
}
