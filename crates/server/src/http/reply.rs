//! What the connector answers: a [`Reply`], and every way it refuses a
//! request as one enum, [`Refusal`], that knows its HTTP status, its
//! `X-QB-Error-Code` and its message (docs/PROTOCOL.md §3 is the table).
//!
//! A refusal is built where the reason is known and turned into a reply
//! in one place, so the body's layout, the code header and the extra
//! headers (Retry-After, Allow, WWW-Authenticate, Connection: close) are
//! always the same for the same refusal.

use crate::backend::{BackendError, BackendErrorKind};
use crate::queue::Refused;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

pub const TICKET_HEADER: &str = "x-qb-ticket";
pub const CONNECTION_HEADER: &str = "x-qb-connection";
pub const ERROR_HEADER: &str = "x-qb-error-code";
/// The JSON door's answers.
pub const JSON_TYPE: &str = "application/json";

/// Connector error codes (beside HRESULTs), sent in `X-QB-Error-Code`.
pub mod code {
    pub const AUTH: &str = "QBC_AUTH";
    pub const LOCKED: &str = "QBC_LOCKED";
    pub const CLIENT_DENIED: &str = "QBC_CLIENT_DENIED";
    pub const READ_ONLY: &str = "QBC_READ_ONLY";
    pub const COMPANY_FILE_DENIED: &str = "QBC_COMPANY_FILE_DENIED";
    pub const BAD_CONNECTION: &str = "QBC_BAD_CONNECTION";
    pub const BAD_TICKET: &str = "0x8004040D";
    pub const BAD_BODY: &str = "QBC_BAD_BODY";
    pub const BAD_JSON: &str = "QBC_BAD_JSON";
    pub const MEDIA_TYPE: &str = "QBC_MEDIA_TYPE";
    pub const TOO_LARGE: &str = "QBC_TOO_LARGE";
    pub const REQUEST_TIMEOUT: &str = "QBC_REQUEST_TIMEOUT";
    pub const BUSY: &str = "QBC_BUSY";
    pub const COMPANY_LIMIT: &str = "QBC_COMPANY_LIMIT";
    pub const SESSIONS_FULL: &str = "QBC_SESSIONS_FULL";
    pub const BACKEND_TIMEOUT: &str = "QBC_BACKEND_TIMEOUT";
    pub const BACKEND: &str = "QBC_BACKEND";
    pub const SHUTTING_DOWN: &str = "QBC_SHUTTING_DOWN";
    pub const NOT_FOUND: &str = "QBC_NOT_FOUND";
    pub const METHOD: &str = "QBC_METHOD";
    pub const EVENT: &str = "QBC_EVENT";
    pub const REFUSED: &str = "QBC_REFUSED";
}

/// Every way the connector refuses a request.
#[derive(Debug)]
pub enum Refusal {
    /// 403: the allow-list does not admit the address.
    ClientDenied(std::net::IpAddr),
    /// 503: the server is stopping.
    ShuttingDown,
    /// 404.
    NotFound,
    /// 405, with the methods the path takes.
    Method(String),
    /// 429: a lockout, this many seconds left (rounded up).
    Locked(u64),
    /// 401, and why.
    Unauthorized(&'static str),
    /// 403 `QBC_AUTH`: `/metrics` for someone who is not a configured user.
    MetricsForUsers,
    /// 415, and what to send.
    MediaType(&'static str),
    /// 400: `X-QB-Connection` does not parse.
    BadConnection(String),
    /// 403: this user may not name the company file.
    CompanyFileDenied(String),
    /// 413: over `max_request_bytes`.
    TooLarge(usize),
    /// 408: the body did not arrive in time.
    RequestTimeout,
    /// 400: the body could not be read.
    BadBody(String),
    /// 400 with the request processor's HRESULT (0x80040400, 0x80040423):
    /// QuickBooks would refuse the message set as a whole.
    NotQbxml(qbxml::ParseError),
    /// 400: not JSON (`QBC_BAD_JSON`), or JSON that does not fit the
    /// schema (the HRESULT, as for qbXML, and the member's JSON path).
    NotJson(qbxml::json::JsonError),
    /// 403: a read-only user's write, and what writes.
    ReadOnly { user: String, why: String },
    /// 400 `0x8004040D`, and why.
    BadTicket(String),
    /// 503: the company file's queue.
    Busy(Refused),
    /// 503: too many persistent sessions.
    SessionsFull,
    /// 504: the backend did not answer in time (the outcome is unknown).
    BackendTimeout(&'static str),
    /// 502: the backend failed while answering (a bug it did not survive).
    BackendPanicked,
    /// The backend refused or failed, with its HRESULT if any.
    Backend(BackendError),
    /// 500: an event handler panicked. `late`: it was one that runs once
    /// the request was carried out (`response`, `audit`).
    EventFailed { event: &'static str, late: bool },
    /// A `request` handler refused it: its status (400–599, else 403),
    /// code (`QBC_REFUSED` if empty or not fit for a header) and message.
    ByHandler(crate::events::Refuse),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        use Refusal::*;
        match self {
            ClientDenied(_) | MetricsForUsers | CompanyFileDenied(_) | ReadOnly { .. } => {
                StatusCode::FORBIDDEN
            }
            ShuttingDown | Busy(_) | SessionsFull => StatusCode::SERVICE_UNAVAILABLE,
            NotFound => StatusCode::NOT_FOUND,
            Method(_) => StatusCode::METHOD_NOT_ALLOWED,
            Locked(_) => StatusCode::TOO_MANY_REQUESTS,
            Unauthorized(_) => StatusCode::UNAUTHORIZED,
            MediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BadConnection(_) | BadBody(_) | NotQbxml(_) | NotJson(_) | BadTicket(_) => {
                StatusCode::BAD_REQUEST
            }
            TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            BackendTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            BackendPanicked => StatusCode::BAD_GATEWAY,
            EventFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ByHandler(r) => StatusCode::from_u16(r.status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::FORBIDDEN),
            Backend(e) => match e.kind {
                BackendErrorKind::Request | BackendErrorKind::Settings => StatusCode::BAD_REQUEST,
                BackendErrorKind::Failed => StatusCode::BAD_GATEWAY,
                BackendErrorKind::Busy | BackendErrorKind::Unavailable => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                BackendErrorKind::TimedOut => StatusCode::GATEWAY_TIMEOUT,
                BackendErrorKind::Forbidden => StatusCode::FORBIDDEN,
            },
        }
    }

    pub fn code(&self) -> String {
        use Refusal::*;
        match self {
            ClientDenied(_) => code::CLIENT_DENIED.into(),
            ShuttingDown => code::SHUTTING_DOWN.into(),
            NotFound => code::NOT_FOUND.into(),
            Method(_) => code::METHOD.into(),
            Locked(_) => code::LOCKED.into(),
            Unauthorized(_) | MetricsForUsers => code::AUTH.into(),
            MediaType(_) => code::MEDIA_TYPE.into(),
            BadConnection(_) => code::BAD_CONNECTION.into(),
            CompanyFileDenied(_) => code::COMPANY_FILE_DENIED.into(),
            TooLarge(_) => code::TOO_LARGE.into(),
            RequestTimeout => code::REQUEST_TIMEOUT.into(),
            BadBody(_) => code::BAD_BODY.into(),
            NotQbxml(e) => e.hresult.to_string(),
            NotJson(e) => match e.hresult {
                Some(h) => h.to_string(),
                None => code::BAD_JSON.into(),
            },
            ReadOnly { .. } => code::READ_ONLY.into(),
            BadTicket(_) => code::BAD_TICKET.into(),
            Busy(_) => code::BUSY.into(),
            SessionsFull => code::SESSIONS_FULL.into(),
            BackendTimeout(_) => code::BACKEND_TIMEOUT.into(),
            BackendPanicked => code::BACKEND.into(),
            EventFailed { .. } => code::EVENT.into(),
            // A code that cannot be a header value (empty, control
            // characters, too long) is sent as QBC_REFUSED.
            ByHandler(r)
                if !r.code.is_empty()
                    && r.code.len() <= 64
                    && r.code.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                r.code.clone()
            }
            ByHandler(_) => code::REFUSED.into(),
            Backend(e) => match (e.code, e.kind, e.hresult) {
                (Some(c), _, _) => c.into(),
                (None, BackendErrorKind::Busy, _) => code::COMPANY_LIMIT.into(),
                (None, _, Some(h)) => h.to_string(),
                (None, _, None) => code::BACKEND.into(),
            },
        }
    }

    pub fn message(&self) -> String {
        use Refusal::*;
        match self {
            ClientDenied(ip) => format!("client address {ip} is not allowed"),
            ShuttingDown => "the connector is shutting down".into(),
            NotFound => "no such path: POST qbXML to /".into(),
            Method(allow) => format!("use {allow}"),
            Locked(_) => "too many failed attempts; try again later".into(),
            Unauthorized(why) => (*why).into(),
            MetricsForUsers => "metrics are for configured users".into(),
            MediaType(hint) => (*hint).into(),
            BadConnection(m) => m.clone(),
            CompanyFileDenied(user) => format!("user `{user}` may not choose the company file"),
            TooLarge(max) => format!("the request is larger than {max} bytes"),
            RequestTimeout => "the request body did not arrive in time".into(),
            BadBody(e) => format!("cannot read the request body: {e}"),
            NotQbxml(e) => {
                let mut detail = format!("{} {}", e.message(), e.detail);
                if e.line > 0 {
                    detail.push_str(&format!(" (line {}, column {}", e.line, e.column));
                    if !e.path.is_empty() {
                        detail.push_str(&format!(", {}", e.path));
                    }
                    detail.push(')');
                }
                detail
            }
            NotJson(e) => e.to_string(),
            ReadOnly { user, why } => format!("user `{user}` is read-only: {why}"),
            BadTicket(why) => format!("The ticket parameter is invalid. ({why})"),
            Busy(Refused::Full) => "the company file's queue is full".into(),
            Busy(Refused::TimedOut) => "waited too long for the company file".into(),
            SessionsFull => "too many open sessions (for this user, or in all)".into(),
            BackendTimeout(m) => (*m).into(),
            BackendPanicked => "the backend failed while answering (see the server log)".into(),
            Backend(e) => e.message.clone(),
            ByHandler(r) => r.message.clone(),
            EventFailed { event, late: false } => {
                format!("the connector's `{event}` event handler failed (see the server log)")
            }
            EventFailed { event, late: true } => format!(
                "the connector's `{event}` event handler failed (see the server log); \
                 the request itself may have been carried out"
            ),
        }
    }

    /// The headers that go with it.
    fn headers(&self) -> Vec<(&'static str, String)> {
        use Refusal::*;
        let close = || vec![("connection", "close".to_string())];
        match self {
            ClientDenied(_) | ShuttingDown | TooLarge(_) | RequestTimeout | BadBody(_) => close(),
            Method(allow) => vec![("allow", allow.clone())],
            Locked(secs) => vec![("retry-after", (*secs).max(1).to_string())],
            Unauthorized(_) => vec![(
                "www-authenticate",
                "Basic realm=\"QBConnector\", charset=\"UTF-8\"".to_string(),
            )],
            Busy(_) => vec![("retry-after", "1".into())],
            SessionsFull => vec![("retry-after", "5".into())],
            // Held by sessions, which may last minutes: not worth an
            // immediate retry.
            Backend(e) if e.kind == BackendErrorKind::Busy => {
                vec![("retry-after", "5".into())]
            }
            Backend(e) if e.kind == BackendErrorKind::Unavailable => {
                vec![("retry-after", "30".into())]
            }
            _ => Vec::new(),
        }
    }
}

impl From<BackendError> for Refusal {
    fn from(e: BackendError) -> Refusal {
        Refusal::Backend(e)
    }
}

/// An answer on its way out.
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, HeaderValue)>,
    /// `X-QB-Error-Code` and the message, for an error (the Error event,
    /// the audit).
    pub code: String,
    pub message: String,
}

impl Reply {
    pub fn ok(status: StatusCode, body: impl Into<Bytes>, content_type: &'static str) -> Reply {
        Reply {
            status,
            body: body.into(),
            content_type,
            headers: Vec::new(),
            code: String::new(),
            message: String::new(),
        }
    }

    /// An error: the code in `X-QB-Error-Code` and a short XML body.
    pub fn error(status: StatusCode, code: &str, message: &str) -> Reply {
        let mut body = String::with_capacity(160 + message.len());
        body.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<QBConnectorError>\n<Code>");
        qbxml::escape_into(&mut body, code);
        body.push_str("</Code>\n<Message>");
        qbxml::escape_into(&mut body, message);
        body.push_str("</Message>\n</QBConnectorError>\n");
        let mut r = Reply::ok(status, body, "application/xml; charset=utf-8");
        if let Ok(v) = HeaderValue::from_str(code) {
            r.headers.push((ERROR_HEADER, v));
        }
        r.code = code.to_string();
        r.message = message.to_string();
        r
    }

    /// A refusal answered in JSON (the JSON door): the same status, code
    /// and headers, and `{"code", "message", "path"}` for a body (`path`:
    /// the JSON member at fault, when the document does not fit the
    /// schema).
    pub fn json_refusal(r: Refusal) -> Reply {
        let path = match &r {
            Refusal::NotJson(e) if !e.path.is_empty() => Some(e.path.clone()),
            _ => None,
        };
        let mut reply = Reply::from(r);
        let mut body = String::with_capacity(64 + reply.message.len());
        body.push_str("{\"code\":");
        qbxml::json::value::write_string(&mut body, &reply.code);
        body.push_str(",\"message\":");
        qbxml::json::value::write_string(&mut body, &reply.message);
        if let Some(p) = path {
            body.push_str(",\"path\":");
            qbxml::json::value::write_string(&mut body, &p);
        }
        body.push_str("}\n");
        reply.body = Bytes::from(body);
        reply.content_type = JSON_TYPE;
        reply
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut resp = Response::new(Full::new(self.body));
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        for (k, v) in self.headers {
            h.append(k, v);
        }
        resp
    }
}

impl From<Refusal> for Reply {
    fn from(r: Refusal) -> Reply {
        let mut reply = Reply::error(r.status(), &r.code(), &r.message());
        for (k, v) in r.headers() {
            reply = reply.header(k, &v);
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_escaped_xml() {
        let r = Reply::error(StatusCode::BAD_REQUEST, "QBC_X", "a <b> & \"c\"");
        let body = String::from_utf8(r.body.to_vec()).unwrap_or_default();
        assert!(body.contains("<Message>a &lt;b&gt; &amp; "), "{body}");
        assert_eq!(r.code, "QBC_X");
    }

    #[test]
    fn each_refusal_has_its_status_code_and_headers() {
        let r: Reply = Refusal::Locked(0).into();
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.code, "QBC_LOCKED");
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| *k == "retry-after" && v == "1"));
        let r: Reply = Refusal::Backend(BackendError::new(
            BackendErrorKind::Settings,
            Some(qbxml::HResult(0x8004_0408)),
            "x",
        ))
        .into();
        assert_eq!((r.status.as_u16(), r.code.as_str()), (400, "0x80040408"));
        let r: Reply =
            Refusal::Backend(BackendError::new(BackendErrorKind::Busy, None, "full")).into();
        assert_eq!(
            (r.status.as_u16(), r.code.as_str()),
            (503, "QBC_COMPANY_LIMIT")
        );
    }
}
