//! Events, as the seed's QBConnector fires them.
//!
//! Implement [`Events`] (every method has a default that does nothing) and
//! give it to the [`crate::Connector`]. Events that carry `accept` let the
//! handler decide: `connection_request` (refuse a client before anything is
//! read), `ssl_client_authentication` (refuse a certificate that verified),
//! `authorization` (the seed's hook: accept unknown users, or refuse known
//! ones). Methods run on the server's tasks: keep them short.

use std::net::SocketAddr;
use std::time::Duration;

/// A client wants to connect. Fired before TLS and before any byte is read.
#[derive(Debug)]
pub struct ConnectionRequest {
    pub remote: SocketAddr,
    /// False when the allow-list refuses the address (such a client gets
    /// 403 to every request, so that it learns why).
    pub allowed: bool,
    /// True; set it to false to close the connection at once.
    pub accept: bool,
}

#[derive(Debug)]
pub struct Connected {
    pub connection_id: u64,
    pub remote: SocketAddr,
}

#[derive(Debug)]
pub struct Disconnected {
    pub connection_id: u64,
    /// 0 when the connection ended normally.
    pub status_code: i32,
    pub description: String,
}

/// The client presented a certificate that chains to the client CA.
#[derive(Debug)]
pub struct SslClientAuthentication {
    pub connection_id: u64,
    pub subject: String,
    /// DER of the client's certificate.
    pub certificate: Vec<u8>,
    /// True unless a configured required subject does not match.
    pub accept: bool,
}

#[derive(Debug)]
pub struct SslStatus {
    pub connection_id: u64,
    pub message: String,
}

/// One HTTP request header (Authorization's value is never shown).
#[derive(Debug)]
pub struct Header<'a> {
    pub connection_id: u64,
    pub name: &'a str,
    pub value: &'a str,
}

/// The seed's Authorization event.
#[derive(Debug)]
pub struct Authorization<'a> {
    pub connection_id: u64,
    /// Index into the configured users, or -1 when the name is unknown.
    pub user_index: i64,
    pub user: &'a str,
    pub password: &'a str,
    /// True when the user is known and the password matches. A handler may
    /// set it either way; an accepted unknown user gets the default
    /// connection settings.
    pub accept: bool,
}

/// A request passed authentication and validation and goes to the backend.
#[derive(Debug)]
pub struct Request<'a> {
    pub connection_id: u64,
    pub user: &'a str,
    pub company_file: &'a str,
    pub request_types: &'a [String],
    pub body: &'a [u8],
}

/// The server answers a request (success or error).
#[derive(Debug)]
pub struct Response<'a> {
    pub connection_id: u64,
    pub http_status: u16,
    pub body: &'a [u8],
    pub duration: Duration,
}

#[derive(Debug)]
pub struct Error<'a> {
    pub connection_id: u64,
    /// The HRESULT or connector code sent in `X-QB-Error-Code`.
    pub code: &'a str,
    pub description: &'a str,
}

/// Something worth an operator's attention: a lockout, a session opened
/// or expired, shutdown.
#[derive(Debug)]
pub struct Status<'a> {
    pub connection_id: u64,
    pub message: &'a str,
}

/// One line per request for the audit log.
#[derive(Debug)]
pub struct Audit<'a> {
    pub remote: SocketAddr,
    pub user: &'a str,
    pub company_file: &'a str,
    pub request_types: &'a [String],
    pub http_status: u16,
    /// Status codes of the qbXML responses, in order.
    pub status_codes: &'a [u32],
    pub error_code: &'a str,
    pub duration: Duration,
}

#[allow(unused_variables)]
pub trait Events: Send + Sync + 'static {
    fn connection_request(&self, e: &mut ConnectionRequest) {}
    fn connected(&self, e: &Connected) {}
    fn disconnected(&self, e: &Disconnected) {}
    fn ssl_client_authentication(&self, e: &mut SslClientAuthentication) {}
    fn ssl_status(&self, e: &SslStatus) {}
    fn header(&self, e: &Header<'_>) {}
    fn authorization(&self, e: &mut Authorization<'_>) {}
    fn request(&self, e: &Request<'_>) {}
    fn response(&self, e: &Response<'_>) {}
    fn error(&self, e: &Error<'_>) {}
    fn status(&self, e: &Status<'_>) {}
    fn audit(&self, e: &Audit<'_>) {}
}

/// No handlers.
pub struct NoEvents;
impl Events for NoEvents {}

/// Logs every event with `tracing`: audit lines at INFO under the target
/// `qbconnector::audit`, per-connection events at DEBUG, errors at WARN.
pub struct TracingEvents;

impl Events for TracingEvents {
    fn connection_request(&self, e: &mut ConnectionRequest) {
        tracing::debug!(remote = %e.remote, allowed = e.allowed, "connection request");
    }
    fn connected(&self, e: &Connected) {
        tracing::debug!(conn = e.connection_id, remote = %e.remote, "connected");
    }
    fn disconnected(&self, e: &Disconnected) {
        tracing::debug!(conn = e.connection_id, status = e.status_code, description = %e.description, "disconnected");
    }
    fn ssl_client_authentication(&self, e: &mut SslClientAuthentication) {
        tracing::info!(conn = e.connection_id, subject = ?e.subject, accept = e.accept, "client certificate");
    }
    fn ssl_status(&self, e: &SslStatus) {
        tracing::debug!(conn = e.connection_id, "{}", e.message);
    }
    fn header(&self, e: &Header<'_>) {
        tracing::trace!(conn = e.connection_id, "{}: {}", e.name, e.value);
    }
    fn authorization(&self, e: &mut Authorization<'_>) {
        tracing::debug!(conn = e.connection_id, user = ?e.user, index = e.user_index, accept = e.accept, "authorization");
    }
    fn error(&self, e: &Error<'_>) {
        tracing::warn!(conn = e.connection_id, code = %e.code, "{:?}", e.description);
    }
    fn status(&self, e: &Status<'_>) {
        tracing::info!(conn = e.connection_id, "{:?}", e.message);
    }
    fn audit(&self, e: &Audit<'_>) {
        tracing::info!(
            target: "qbconnector::audit",
            client = %e.remote,
            // Debug form: quoted and escaped, so a user name with a newline
            // cannot forge a line of its own.
            user = ?e.user,
            company = ?e.company_file,
            requests = %e.request_types.join(","),
            http = e.http_status,
            statuses = %e.status_codes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","),
            error = %e.error_code,
            ms = format_args!("{:.3}", e.duration.as_secs_f64() * 1000.0),
            "request"
        );
    }
}
