//! Events, as the seed's QBConnector fires them.
//!
//! Implement [`Events`] (every method has a default that does nothing) and
//! give it to the [`crate::Connector`]. Some events let the handler steer:
//! `connection_request` and `ssl_connection_request` (refuse a client
//! before anything is read, or before the TLS handshake completes),
//! `ssl_client_authentication` (refuse a certificate that verified),
//! `authorization` (the seed's hook: accept unknown users, or refuse known
//! ones, and choose the QuickBooks connection settings), `request`
//! (refuse it, or send other qbXML), `response` (send another answer).
//! docs/PROTOCOL.md §11 has them in order. Methods run on the server's
//! tasks, and the request waits for them: keep them short.
//!
//! A handler that panics is contained ([`guard`]): the request it was
//! deciding or reporting on is refused with `500 QBC_EVENT` (the Error
//! event says which handler failed), a connection whose
//! `connection_request` or `ssl_client_authentication` handler failed is
//! closed, and the server goes on serving. A panic in `connected`,
//! `disconnected`, `ssl_status`, `error` or `status` is logged and
//! otherwise ignored: there is no request to refuse.

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

/// A client starts TLS: fired with what its hello says, before the
/// handshake completes. Set `accept` to false to close the connection.
#[derive(Debug)]
pub struct SslConnectionRequest {
    pub connection_id: u64,
    pub remote: SocketAddr,
    /// The host name the client asked for (SNI), if it sent one.
    pub server_name: Option<String>,
    /// The cipher suites the client offers, by name.
    pub cipher_suites: Vec<String>,
    /// True; set it to false to refuse the connection.
    pub accept: bool,
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
    /// set it either way.
    pub accept: bool,
    /// The QuickBooks connection settings this request will use, as the
    /// server side decides them: the user's own, or for a name that is
    /// not configured `DefaultConnectionString`'s. A handler may change
    /// them (another company file, for example); settings a client sends
    /// in `X-QB-Connection` still fill only what these leave open.
    pub connection: crate::ConnectionString,
}

/// A request passed authentication and validation and goes to the backend.
/// The handler may let it go on, refuse it (`refuse`), or send other qbXML
/// in its place (`replace`).
#[derive(Debug)]
pub struct Request<'a> {
    pub connection_id: u64,
    pub user: &'a str,
    pub company_file: &'a str,
    pub request_types: &'a [String],
    /// The request as the backend gets it: the validated text in UTF-8
    /// (`RequestSet::xml()`). A body sent in ISO-8859-1 or windows-1252
    /// is here decoded and re-declared, and a byte-order mark is gone.
    pub body: &'a [u8],
    /// Set it to refuse the request: the client gets this answer and the
    /// backend is not reached.
    pub refuse: Option<Refuse>,
    /// Set it to send this qbXML instead. It is parsed, validated and
    /// held to the read-only rule as a client's body would be, and what
    /// it fails gets the answer a client's body would get.
    pub replace: Option<Vec<u8>>,
}

/// How a handler refuses a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refuse {
    /// 400–599; anything else is sent as 403.
    pub status: u16,
    /// `X-QB-Error-Code`; empty: `QBC_REFUSED`.
    pub code: String,
    pub message: String,
}

impl Refuse {
    /// 403 `QBC_REFUSED` with this message.
    pub fn new(message: impl Into<String>) -> Refuse {
        Refuse {
            status: 403,
            code: String::new(),
            message: message.into(),
        }
    }
}

/// The server answers a request (success or error). The handler may send
/// another body (`replace`); the status and headers stay, and the audit
/// line says the answer was replaced.
#[derive(Debug)]
pub struct Response<'a> {
    pub connection_id: u64,
    pub http_status: u16,
    pub body: &'a [u8],
    pub duration: Duration,
    pub replace: Option<Vec<u8>>,
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
    /// A `request` handler sent other qbXML in the client's place.
    pub request_replaced: bool,
    /// A `response` handler replaced the answer.
    pub response_replaced: bool,
}

#[allow(unused_variables)]
pub trait Events: Send + Sync + 'static {
    fn connection_request(&self, e: &mut ConnectionRequest) {}
    fn connected(&self, e: &Connected) {}
    fn disconnected(&self, e: &Disconnected) {}
    fn ssl_connection_request(&self, e: &mut SslConnectionRequest) {}
    fn ssl_client_authentication(&self, e: &mut SslClientAuthentication) {}
    fn ssl_status(&self, e: &SslStatus) {}
    fn header(&self, e: &Header<'_>) {}
    fn authorization(&self, e: &mut Authorization<'_>) {}
    fn request(&self, e: &mut Request<'_>) {}
    fn response(&self, e: &mut Response<'_>) {}
    fn error(&self, e: &Error<'_>) {}
    fn status(&self, e: &Status<'_>) {}
    fn audit(&self, e: &Audit<'_>) {}
}

/// Run an event handler, containing a panic in it: the owner's code
/// must neither take a server task down (the accept loop, a connection)
/// nor leave a client without an answer. `Err` names the event.
pub fn guard<R>(event: &'static str, f: impl FnOnce() -> R) -> Result<R, &'static str> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| {
        tracing::error!(event, "an event handler panicked");
        event
    })
}

/// No handlers.
pub struct NoEvents;
impl Events for NoEvents {}

/// Logs every event with `tracing`: audit lines at INFO under the target
/// `qbconnector::audit`, per-connection events at DEBUG, errors at WARN.
///
/// Every line is bounded, whatever the request: texts that come from a
/// client (user and company names, error details, header values) are
/// cut at [`MAX_FIELD`] characters, and the request types and status
/// codes of a message set are written as counts of each, at most
/// [`MAX_KINDS`] kinds (a 10,000-request set is one short line).
pub struct TracingEvents;

/// The longest client-given text a log line quotes, in characters.
pub const MAX_FIELD: usize = 256;
/// The most distinct request types or status codes an audit line lists.
pub const MAX_KINDS: usize = 16;

/// `s` cut to `max` characters, with `…` and the count of the rest.
pub fn brief(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((at, _)) => {
            std::borrow::Cow::Owned(format!("{}…(+{} chars)", &s[..at], s[at..].chars().count()))
        }
    }
}

/// Items as `name` or `name×count`, in order of first appearance, at
/// most [`MAX_KINDS`] kinds: `CustomerQueryRq×200,InvoiceAddRq`.
pub fn counts<T: std::fmt::Display + PartialEq>(items: &[T]) -> String {
    let mut kinds: Vec<(&T, usize)> = Vec::new();
    let mut more = 0usize;
    for it in items {
        if let Some(k) = kinds.iter_mut().find(|(k, _)| *k == it) {
            k.1 += 1;
        } else if kinds.len() < MAX_KINDS {
            kinds.push((it, 1));
        } else {
            more += 1;
        }
    }
    let mut out = String::new();
    for (k, n) in kinds {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&brief(&k.to_string(), 64));
        if n > 1 {
            out.push_str(&format!("×{n}"));
        }
    }
    if more > 0 {
        out.push_str(&format!(",…(+{more} more)"));
    }
    out
}

impl Events for TracingEvents {
    fn connection_request(&self, e: &mut ConnectionRequest) {
        tracing::debug!(remote = %e.remote, allowed = e.allowed, "connection request");
    }
    fn connected(&self, e: &Connected) {
        tracing::debug!(conn = e.connection_id, remote = %e.remote, "connected");
    }
    fn disconnected(&self, e: &Disconnected) {
        tracing::debug!(conn = e.connection_id, status = e.status_code, description = %brief(&e.description, MAX_FIELD), "disconnected");
    }
    fn ssl_connection_request(&self, e: &mut SslConnectionRequest) {
        tracing::debug!(conn = e.connection_id, remote = %e.remote, server_name = ?e.server_name.as_deref().map(|n| brief(n, MAX_FIELD)), "TLS connection request");
    }
    fn ssl_client_authentication(&self, e: &mut SslClientAuthentication) {
        tracing::info!(conn = e.connection_id, subject = ?brief(&e.subject, MAX_FIELD), accept = e.accept, "client certificate");
    }
    fn ssl_status(&self, e: &SslStatus) {
        tracing::debug!(conn = e.connection_id, "{}", brief(&e.message, MAX_FIELD));
    }
    fn header(&self, e: &Header<'_>) {
        tracing::trace!(
            conn = e.connection_id,
            "{}: {:?}",
            brief(e.name, MAX_FIELD),
            brief(e.value, MAX_FIELD)
        );
    }
    fn authorization(&self, e: &mut Authorization<'_>) {
        tracing::debug!(conn = e.connection_id, user = ?brief(e.user, MAX_FIELD), index = e.user_index, accept = e.accept, "authorization");
    }
    fn error(&self, e: &Error<'_>) {
        tracing::warn!(conn = e.connection_id, code = %brief(e.code, MAX_FIELD), "{:?}", brief(e.description, 4 * MAX_FIELD));
    }
    fn status(&self, e: &Status<'_>) {
        tracing::info!(
            conn = e.connection_id,
            "{:?}",
            brief(e.message, 4 * MAX_FIELD)
        );
    }
    fn audit(&self, e: &Audit<'_>) {
        tracing::info!(
            target: "qbconnector::audit",
            client = %e.remote,
            // Debug form: quoted and escaped, so a user name with a newline
            // cannot forge a line of its own.
            user = ?brief(e.user, MAX_FIELD),
            company = ?brief(e.company_file, MAX_FIELD),
            requests = %counts(e.request_types),
            http = e.http_status,
            statuses = %counts(e.status_codes),
            error = %brief(e.error_code, 64),
            ms = format_args!("{:.3}", e.duration.as_secs_f64() * 1000.0),
            "{}",
            match (e.request_replaced, e.response_replaced) {
                (false, false) => "request",
                (true, false) => "request (a handler replaced the request)",
                (false, true) => "request (a handler replaced the answer)",
                (true, true) => "request (a handler replaced the request and the answer)",
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_and_say_so() {
        assert_eq!(brief("short", 10), "short");
        assert_eq!(brief("ééééé", 3), "ééé…(+2 chars)");
        assert!(brief(&"x".repeat(100_000), MAX_FIELD).len() < MAX_FIELD + 32);
    }

    #[test]
    fn message_sets_are_counted_not_listed() {
        let types: Vec<String> = (0..10_000)
            .map(|i| match i % 3 {
                0 => "CustomerQueryRq".to_string(),
                1 => "InvoiceAddRq".to_string(),
                _ => "HostQueryRq".to_string(),
            })
            .collect();
        assert_eq!(
            counts(&types),
            "CustomerQueryRq×3334,InvoiceAddRq×3333,HostQueryRq×3333"
        );
        let many: Vec<String> = (0..10_000).map(|i| format!("Type{i}Rq")).collect();
        let line = counts(&many);
        assert!(line.len() < 400, "{line}");
        assert!(line.ends_with(",…(+9984 more)"), "{line}");
        assert_eq!(counts(&[0u32, 0, 3100, 0]), "0×3,3100");
    }
}
