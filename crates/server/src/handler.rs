//! One HTTP request: route, authenticate, check, relay, answer.
//!
//! The order of checks is the order of cost: the allow-list (decided at
//! accept), the lockout (a map lookup), credentials (a cache lookup, else
//! argon2 on the blocking pool), then the body (bounded in size and time),
//! the qbXML validation, the read-only guard, and only then the company
//! file's turn and the backend. Whatever is refused is refused before the
//! backend sees it. See `docs/PROTOCOL.md` for the wire contract.

// A Reply is made once per request and returned once: boxing it buys nothing.
#![allow(clippy::result_large_err)]

use crate::auth::{parse_basic, MAX_NAME, MAX_PASSWORD};
use crate::backend::{BackendError, BackendErrorKind, OpenSettings};
use crate::connstr::ConnectionString;
use crate::events::{Audit, Authorization, Header};
use crate::queue::{NotDone, Pending, Refused};
use crate::server::ConnInfo;
use crate::state::{State, Ticket, MAX_SESSIONS, MAX_SESSIONS_PER_USER};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

pub const TICKET_HEADER: &str = "x-qb-ticket";
pub const CONNECTION_HEADER: &str = "x-qb-connection";
pub const ERROR_HEADER: &str = "x-qb-error-code";

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
}

/// An answer on its way out.
struct Reply {
    status: StatusCode,
    body: Bytes,
    content_type: &'static str,
    headers: Vec<(&'static str, HeaderValue)>,
    code: String,
    message: String,
}

impl Reply {
    fn ok(status: StatusCode, body: impl Into<Bytes>, content_type: &'static str) -> Reply {
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
    fn error(status: StatusCode, code: &str, message: &str) -> Reply {
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

    fn header(mut self, name: &'static str, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    fn into_response(self) -> Response<Full<Bytes>> {
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

/// Who is asking, once authenticated.
struct Principal {
    name: String,
    /// Settings on the server side (the user's, or the default ones).
    connection: ConnectionString,
    client_company_file: bool,
    read_only: bool,
}

/// What the audit line says of a request.
#[derive(Default)]
struct Trace {
    user: String,
    company: String,
    request_types: Vec<String>,
    statuses: Vec<u32>,
}

pub async fn handle(
    state: Arc<State>,
    conn: Arc<ConnInfo>,
    req: Request<Incoming>,
    metrics_only: bool,
) -> Response<Full<Bytes>> {
    let start = Instant::now();
    let mut trace = Trace::default();
    for (name, value) in req.headers() {
        let shown = if name == hyper::header::AUTHORIZATION {
            "<not shown>"
        } else {
            value.to_str().unwrap_or("<not text>")
        };
        state.events.header(&Header {
            connection_id: conn.id,
            name: name.as_str(),
            value: shown,
        });
    }
    let audited = !matches!(req.uri().path(), "/healthz" | "/metrics");
    let reply = route(&state, &conn, req, &mut trace, metrics_only).await;
    let took = start.elapsed();
    state.metrics.record(reply.status.as_u16(), took);
    if !reply.code.is_empty() {
        state.error(conn.id, &reply.code, &reply.message);
    }
    state.events.response(&crate::events::Response {
        connection_id: conn.id,
        http_status: reply.status.as_u16(),
        body: &reply.body,
        duration: took,
    });
    if audited {
        state.events.audit(&Audit {
            remote: conn.remote,
            user: &trace.user,
            company_file: &trace.company,
            request_types: &trace.request_types,
            http_status: reply.status.as_u16(),
            status_codes: &trace.statuses,
            error_code: &reply.code,
            duration: took,
        });
    }
    reply.into_response()
}

async fn route(
    state: &Arc<State>,
    conn: &ConnInfo,
    req: Request<Incoming>,
    trace: &mut Trace,
    metrics_only: bool,
) -> Reply {
    if !conn.allowed {
        return Reply::error(
            StatusCode::FORBIDDEN,
            code::CLIENT_DENIED,
            &format!("client address {} is not allowed", conn.remote.ip()),
        )
        .header("connection", "close");
    }
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    if metrics_only {
        return match (method, path.as_str()) {
            (Method::GET, "/metrics") => metrics(state).await,
            (Method::GET, "/healthz") => health(state).await,
            _ => not_found(),
        };
    }
    if state.shutting_down.load(Ordering::SeqCst) && path != "/healthz" {
        return Reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            code::SHUTTING_DOWN,
            "the connector is shutting down",
        )
        .header("connection", "close");
    }
    match (method, path.as_str()) {
        (Method::GET, "/healthz") => health(state).await,
        (Method::GET, "/metrics") if !state.settings.metrics_elsewhere => {
            match authenticate(state, conn, req.headers(), trace).await {
                Ok(p) if !p.name.is_empty() && known(state, &p.name) => metrics(state).await,
                Ok(_) => Reply::error(
                    StatusCode::FORBIDDEN,
                    code::AUTH,
                    "metrics are for configured users",
                ),
                Err(r) => r,
            }
        }
        (Method::POST, "/") => relay(state, conn, req, trace).await.unwrap_or_else(|r| r),
        (Method::POST, "/session") => open_session(state, conn, req, trace)
            .await
            .unwrap_or_else(|r| r),
        (Method::DELETE, "/session") => close_session(state, conn, req, trace)
            .await
            .unwrap_or_else(|r| r),
        (_, "/") => method_not_allowed("POST"),
        (_, "/session") => method_not_allowed("POST, DELETE"),
        (_, "/healthz") => method_not_allowed("GET"),
        _ => not_found(),
    }
}

fn not_found() -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        "no such path: POST qbXML to /",
    )
}

fn method_not_allowed(allow: &str) -> Reply {
    Reply::error(
        StatusCode::METHOD_NOT_ALLOWED,
        code::METHOD,
        &format!("use {allow}"),
    )
    .header(ALLOW.as_str(), allow)
}

fn known(state: &State, name: &str) -> bool {
    let users = state.users.read().unwrap_or_else(|e| e.into_inner());
    users
        .iter()
        .any(|u| u.config.name.eq_ignore_ascii_case(name))
}

async fn health(state: &State) -> Reply {
    if state.shutting_down.load(Ordering::SeqCst) {
        return Reply::ok(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n",
            "text/plain",
        );
    }
    match state.backend.health().await {
        crate::backend::Health::Ok => Reply::ok(StatusCode::OK, "ok\n", "text/plain"),
        // No details to an unauthenticated caller; they go to the log.
        crate::backend::Health::Down(why) => {
            state.error(0, code::BACKEND, &why);
            Reply::ok(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable\n",
                "text/plain",
            )
        }
    }
}

async fn metrics(state: &State) -> Reply {
    let mut text = state.metrics.render(&state.lanes.depths());
    backend_metrics(state, &mut text).await;
    text.shrink_to_fit();
    Reply::ok(StatusCode::OK, text, "text/plain; version=0.0.4")
}

/// Whether the backend can reach QuickBooks, and the company files it
/// has open (the COM backend's health; the simulator is always up).
async fn backend_metrics(state: &State, o: &mut String) {
    use std::fmt::Write;
    let name = state.backend.name();
    let _ = writeln!(
        o,
        "# HELP qbconnector_backend_up Whether the backend reached QuickBooks on its last try (1) or failed (0, with the reason)."
    );
    let _ = writeln!(o, "# TYPE qbconnector_backend_up gauge");
    match state.backend.health().await {
        crate::backend::Health::Ok => {
            let _ = writeln!(o, "qbconnector_backend_up{{backend=\"{name}\"}} 1");
        }
        crate::backend::Health::Down(why) => {
            let _ = writeln!(
                o,
                "qbconnector_backend_up{{backend=\"{name}\",reason=\"{}\"}} 0",
                crate::metrics::label(&why)
            );
        }
    }
    let _ = writeln!(
        o,
        "# HELP qbconnector_company_open Company files open in QuickBooks through this connector now."
    );
    let _ = writeln!(o, "# TYPE qbconnector_company_open gauge");
    for file in state.backend.open_companies() {
        let _ = writeln!(
            o,
            "qbconnector_company_open{{company=\"{}\"}} 1",
            crate::metrics::label(&file)
        );
    }
}

/// 429 while a lockout lasts; the password is not looked at.
fn locked(state: &State, l: crate::auth::Locked) -> Reply {
    state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
    // Rounded up: a client that waits the seconds it is told must find
    // the lockout over.
    let left = l.retry_after();
    let secs = (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1);
    Reply::error(
        StatusCode::TOO_MANY_REQUESTS,
        code::LOCKED,
        "too many failed attempts; try again later",
    )
    .header(RETRY_AFTER.as_str(), &secs.to_string())
}

fn unauthorized(message: &str) -> Reply {
    Reply::error(StatusCode::UNAUTHORIZED, code::AUTH, message).header(
        WWW_AUTHENTICATE.as_str(),
        "Basic realm=\"QBConnector\", charset=\"UTF-8\"",
    )
}

/// Basic credentials → a principal, or the refusal.
async fn authenticate(
    state: &Arc<State>,
    conn: &ConnInfo,
    headers: &HeaderMap,
    trace: &mut Trace,
) -> Result<Principal, Reply> {
    // Two Authorization headers are malformed, not "the first one".
    let header = single(headers, hyper::header::AUTHORIZATION.as_str());
    let missing = matches!(header, Ok(None));
    let parsed = header
        .ok()
        .and_then(|h| parse_basic(h.map(|v| v.as_bytes())));
    let (user, password, malformed) = match parsed {
        Some((u, p)) => (u, p, false),
        None => (String::new(), String::new(), true),
    };
    // Names and passwords are short; anything longer is refused before it
    // costs memory in the throttle's tables or time in argon2.
    let (user, password, malformed) = if user.len() > MAX_NAME || password.len() > MAX_PASSWORD {
        (String::new(), String::new(), true)
    } else {
        (user, password, malformed)
    };
    trace.user = user.clone();
    let ip = conn.remote.ip();
    if let Some(l) = state.throttle.check(ip, &user) {
        return Err(locked(state, l));
    }
    let (index, entry) = {
        let users = state.users.read().unwrap_or_else(|e| e.into_inner());
        match users
            .iter()
            .position(|u| !user.is_empty() && u.config.name.eq_ignore_ascii_case(&user))
        {
            Some(i) => (Some(i), Some(users[i].clone())),
            None => (None, None),
        }
    };
    let cached = index.is_some() && state.cache.get(&user, &password) == index;
    // On a miss, one verification per user at a time: a burst of new
    // connections runs argon2 once and the rest find the cache.
    let lock = (!cached && index.is_some()).then(|| state.verify_lock(&user));
    let _verifying = match &lock {
        Some(l) => Some(l.lock().await),
        None => None,
    };
    let verified = if user.is_empty() {
        false
    } else if cached || (index.is_some() && state.cache.get(&user, &password) == index) {
        true
    } else {
        let hash = entry
            .as_ref()
            .and_then(|e| e.hash.clone())
            .unwrap_or_else(|| state.dummy_hash.clone());
        let known = entry.as_ref().is_some_and(|e| e.hash.is_some());
        let Ok(slot) = state.argon_slots.clone().acquire_owned().await else {
            return Err(unauthorized("authentication is unavailable"));
        };
        // Many parallel attempts all passed the lockout check above while
        // they waited for a slot: look again, so that guesses stop at the
        // limit instead of at the number of connections.
        if let Some(l) = state.throttle.check(ip, &user) {
            drop(slot);
            return Err(locked(state, l));
        }
        let pw = password.clone();
        let windows = entry
            .as_ref()
            .is_some_and(|e| e.config.auth_mode == crate::config::AuthMode::Windows);
        let interactive = state.settings.use_interactive_logon;
        let name = user.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let ok = if windows {
                crate::auth::windows_logon(&name, &pw, interactive)
            } else {
                hash.verify(&pw)
            };
            drop(slot);
            ok
        })
        .await
        .unwrap_or(false);
        ok && (known || windows)
    };
    let mut ev = Authorization {
        connection_id: conn.id,
        user_index: index.map_or(-1, |i| i as i64),
        user: &user,
        password: &password,
        accept: verified,
    };
    state.events.authorization(&mut ev);
    if !ev.accept {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        // A request without credentials is how many clients start: it is
        // refused, not counted against the address.
        if !missing {
            if let Some(l) = state.throttle.fail(ip, &user) {
                state.metrics.lockouts.fetch_add(1, Ordering::Relaxed);
                let whom = match l {
                    crate::auth::Locked::Address(_) => format!("client address {ip}"),
                    crate::auth::Locked::User(_) => format!("user `{user}`"),
                };
                state.status(
                    conn.id,
                    &format!("lockout: {whom} after too many failed attempts"),
                );
            }
        }
        let why = if missing {
            "credentials required (HTTP Basic)"
        } else if malformed {
            "malformed Authorization header: expected Basic base64(user:password)"
        } else {
            "wrong user name or password"
        };
        return Err(unauthorized(why));
    }
    if verified {
        if let Some(i) = index {
            state.cache.put(&user, &password, i);
        }
        state.throttle.succeed(&user);
    }
    Ok(match entry {
        Some(e) => Principal {
            name: e.config.name.clone(),
            connection: e.config.connection(),
            client_company_file: e.config.client_company_file,
            read_only: e.config.read_only,
        },
        None => {
            let d = state
                .default_connection
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            Principal {
                name: user,
                connection: ConnectionString::parse(&d.connection).unwrap_or_default(),
                client_company_file: false,
                read_only: d.read_only,
            }
        }
    })
}

/// The user's settings merged with the client's `X-QB-Connection`.
fn settings(p: &Principal, headers: &HeaderMap) -> Result<OpenSettings, Reply> {
    let header = single(headers, CONNECTION_HEADER).map_err(|()| {
        Reply::error(
            StatusCode::BAD_REQUEST,
            code::BAD_CONNECTION,
            "X-QB-Connection is sent more than once",
        )
    })?;
    let client = match header {
        None => ConnectionString::default(),
        Some(v) => {
            // UTF-8, so that a company file may have any name.
            let text = std::str::from_utf8(v.as_bytes()).map_err(|_| {
                Reply::error(
                    StatusCode::BAD_REQUEST,
                    code::BAD_CONNECTION,
                    "X-QB-Connection is not UTF-8 text",
                )
            })?;
            ConnectionString::parse(text).map_err(|e| {
                Reply::error(
                    StatusCode::BAD_REQUEST,
                    code::BAD_CONNECTION,
                    &format!("X-QB-Connection: {e}"),
                )
            })?
        }
    };
    if client.company_file.is_some()
        && p.connection.company_file.is_none()
        && !p.client_company_file
    {
        return Err(Reply::error(
            StatusCode::FORBIDDEN,
            code::COMPANY_FILE_DENIED,
            &format!("user `{}` may not choose the company file", p.name),
        ));
    }
    let m = p.connection.or(&client);
    Ok(OpenSettings {
        company_file: m.company_file.unwrap_or_default(),
        application_name: m.application_name.unwrap_or_else(|| "QBConnector".into()),
        app_id: m.app_id.unwrap_or_default(),
        mode: m.connection_mode.unwrap_or_default(),
        read_only: p.read_only,
        auth_flags: m.auth_flags,
        user: p.name.to_lowercase(),
    })
}

fn backend_error(e: &BackendError) -> Reply {
    let code = e
        .hresult
        .map_or_else(|| code::BACKEND.to_string(), |h| h.to_string());
    let status = match e.kind {
        BackendErrorKind::Request | BackendErrorKind::Settings => StatusCode::BAD_REQUEST,
        BackendErrorKind::Failed => StatusCode::BAD_GATEWAY,
        // Held by sessions, which may last minutes: not worth an
        // immediate retry.
        BackendErrorKind::Busy => {
            return Reply::error(
                StatusCode::SERVICE_UNAVAILABLE,
                code::COMPANY_LIMIT,
                &e.message,
            )
            .header(RETRY_AFTER.as_str(), "5")
        }
    };
    Reply::error(status, &code, &e.message)
}

fn busy(r: Refused) -> Reply {
    let why = match r {
        Refused::Full => "the company file's queue is full",
        Refused::TimedOut => "waited too long for the company file",
    };
    Reply::error(StatusCode::SERVICE_UNAVAILABLE, code::BUSY, why).header(RETRY_AFTER.as_str(), "1")
}

/// Read the body within the size and time limits.
async fn read_body(state: &State, req: Request<Incoming>) -> Result<Bytes, Reply> {
    let max = state.settings.max_request_bytes;
    let too_large = || {
        Reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::TOO_LARGE,
            &format!("the request is larger than {max} bytes"),
        )
        .header("connection", "close")
    };
    // The length as the HTTP layer read it (it also takes a list of equal
    // values, `Content-Length: 9, 9`, which is not a number to `parse`).
    if hyper::body::Body::size_hint(req.body()).lower() > max as u64 {
        return Err(too_large());
    }
    let body = Limited::new(req.into_body(), max);
    match tokio::time::timeout(state.settings.request_timeout, body.collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Ok(Err(e)) => Err(Reply::error(
            StatusCode::BAD_REQUEST,
            code::BAD_BODY,
            &format!("cannot read the request body: {e}"),
        )
        .header("connection", "close")),
        Err(_) => Err(Reply::error(
            StatusCode::REQUEST_TIMEOUT,
            code::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )
        .header("connection", "close")),
    }
}

fn xml_content_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("text/xml") || mime.eq_ignore_ascii_case("application/xml")
}

/// The one value of a request header that may appear at most once: a
/// header sent twice is ambiguous (which one would a proxy in front of
/// us have looked at?), so it is refused rather than one of them picked.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h HeaderValue>, ()> {
    let mut all = headers.get_all(name).iter();
    let first = all.next();
    if all.next().is_some() {
        return Err(());
    }
    Ok(first)
}

/// The ticket a request names. A present header always names a session:
/// one that is sent twice, or is not text, is refused like an unknown
/// ticket — never read as "no ticket", which would run the request
/// outside the session the client meant.
fn ticket_of(headers: &HeaderMap) -> Result<Option<String>, Reply> {
    match single(headers, TICKET_HEADER) {
        Err(()) => Err(bad_ticket_because("X-QB-Ticket is sent more than once")),
        Ok(None) => Ok(None),
        Ok(Some(v)) => match v.to_str() {
            Ok(s) => Ok(Some(s.trim().to_string())),
            Err(_) => Err(bad_ticket_because(
                "X-QB-Ticket holds bytes that are not ASCII",
            )),
        },
    }
}

/// Why a message set writes, if it does: a write request, a subscription
/// set, or error recovery — which stores (newMessageSetID) and deletes
/// (ClearAllMessageSets, a reused ID) state that read-write clients rely
/// on after a 504.
fn writes(set: &qbxml::RequestSet) -> Option<String> {
    if let Some(w) = set.requests().find(|r| r.access() == qbxml::Access::Write) {
        return Some(format!("{} writes", w.name()));
    }
    if set.kind() == qbxml::MessageSetKind::Subscriptions {
        return Some("subscriptions write".into());
    }
    if set.new_message_set_id().is_some() || set.old_message_set_id().is_some() {
        return Some("error recovery (newMessageSetID/oldMessageSetID) keeps state".into());
    }
    None
}

/// POST / — the relay.
async fn relay(
    state: &Arc<State>,
    conn: &ConnInfo,
    req: Request<Incoming>,
    trace: &mut Trace,
) -> Result<Reply, Reply> {
    let p = authenticate(state, conn, req.headers(), trace).await?;
    if !xml_content_type(req.headers()) {
        return Err(Reply::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::MEDIA_TYPE,
            "send the qbXML with Content-Type: text/xml (or application/xml)",
        ));
    }
    // A ticket names its session; without one, the settings open one.
    let target = match ticket_of(req.headers())? {
        Some(t) => Ok(t),
        None => Err(settings(&p, req.headers())?),
    };
    let body = read_body(state, req).await?;
    let limits = qbxml::Limits {
        max_size: state.settings.max_request_bytes,
        ..qbxml::Limits::default()
    };
    let set = qbxml::parse_request_with(body.to_vec(), &limits).map_err(|e| {
        let mut detail = format!("{} {}", e.message(), e.detail);
        if e.line > 0 {
            detail.push_str(&format!(" (line {}, column {}", e.line, e.column));
            if !e.path.is_empty() {
                detail.push_str(&format!(", {}", e.path));
            }
            detail.push(')');
        }
        Reply::error(StatusCode::BAD_REQUEST, &e.hresult.to_string(), &detail)
    })?;
    trace.request_types = set.requests().map(|r| r.name().to_string()).collect();
    if p.read_only {
        if let Some(why) = writes(&set) {
            return Err(Reply::error(
                StatusCode::FORBIDDEN,
                code::READ_ONLY,
                &format!("user `{}` is read-only: {why}", p.name),
            ));
        }
    }
    drop(set);
    let text = match target {
        Ok(t) => on_ticket(state, conn, &p, &t, body, trace).await?,
        Err(s) => once(state, conn, &p, s, body, trace).await?,
    };
    trace.statuses = status_codes(&text);
    Ok(Reply::ok(StatusCode::OK, text, "text/xml; charset=utf-8"))
}

fn request_event(
    state: &State,
    conn: &ConnInfo,
    p: &Principal,
    company: &str,
    trace: &Trace,
    body: &[u8],
) {
    state.events.request(&crate::events::Request {
        connection_id: conn.id,
        user: &p.name,
        company_file: company,
        request_types: &trace.request_types,
        body,
    });
}

/// Open, process, close, in the company file's turn.
async fn once(
    state: &Arc<State>,
    conn: &ConnInfo,
    p: &Principal,
    settings: OpenSettings,
    body: Bytes,
    trace: &mut Trace,
) -> Result<String, Reply> {
    let key = state
        .backend
        .company_key(&settings)
        .map_err(|e| backend_error(&e))?;
    trace.company = key.clone();
    request_event(state, conn, p, &key, trace, &body);
    let backend = state.backend.clone();
    let done = state
        .lanes
        .submit(&key, async move { backend.once(settings, body).await })
        .map_err(busy)?;
    wait(state, done).await
}

/// Wait for a started backend job, at most the backend timeout. A job
/// that outlives the wait still finishes in its lane (and keeps the
/// company file's turn until then); the client learns the outcome is
/// unknown.
async fn wait<T: Send + 'static>(
    state: &State,
    job: Pending<Result<T, BackendError>>,
) -> Result<T, Reply> {
    match job.finish(state.settings.backend_timeout).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(backend_error(&e)),
        Err(NotDone::Refused(r)) => Err(busy(r)),
        Err(NotDone::Failed) => Err(Reply::error(
            StatusCode::BAD_GATEWAY,
            code::BACKEND,
            "the backend failed while answering (see the server log)",
        )),
        Err(NotDone::TimedOut) => {
            state
                .metrics
                .backend_timeouts
                .fetch_add(1, Ordering::Relaxed);
            Err(Reply::error(
                StatusCode::GATEWAY_TIMEOUT,
                code::BACKEND_TIMEOUT,
                "QuickBooks did not answer in time; the request may still complete \
                 (use newMessageSetID/oldMessageSetID to find out)",
            ))
        }
    }
}

fn ticket_lookup(state: &State, p: &Principal, ticket: &str) -> Option<Ticket> {
    let mut map = state.lock_sessions();
    let t = map.get_mut(ticket)?;
    if t.user != p.name.to_lowercase() {
        return None;
    }
    t.last_used = Instant::now();
    Some(t.clone())
}

fn bad_ticket() -> Reply {
    bad_ticket_because("unknown, expired, closed, or another user's")
}

fn bad_ticket_because(why: &str) -> Reply {
    Reply::error(
        StatusCode::BAD_REQUEST,
        code::BAD_TICKET,
        &format!("The ticket parameter is invalid. ({why})"),
    )
}

async fn on_ticket(
    state: &Arc<State>,
    conn: &ConnInfo,
    p: &Principal,
    ticket: &str,
    body: Bytes,
    trace: &mut Trace,
) -> Result<String, Reply> {
    let t = ticket_lookup(state, p, ticket).ok_or_else(bad_ticket)?;
    trace.company = t.company_key.clone();
    request_event(state, conn, p, &t.company_key, trace, &body);
    let backend = state.backend.clone();
    let session = t.session.clone();
    let done = state
        .lanes
        .submit(&t.company_key, async move {
            backend.process(session, body).await
        })
        .map_err(busy)?;
    let out = wait(state, done).await;
    if let Some(t) = state.lock_sessions().get_mut(ticket) {
        t.last_used = Instant::now();
    }
    out
}

/// POST /session — OpenQBConnection.
async fn open_session(
    state: &Arc<State>,
    conn: &ConnInfo,
    req: Request<Incoming>,
    trace: &mut Trace,
) -> Result<Reply, Reply> {
    let p = authenticate(state, conn, req.headers(), trace).await?;
    let s = settings(&p, req.headers())?;
    let key = state
        .backend
        .company_key(&s)
        .map_err(|e| backend_error(&e))?;
    trace.company = key.clone();
    trace.request_types = vec!["OpenSession".into()];
    let sessions_full = || {
        Reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            code::SESSIONS_FULL,
            "too many open sessions (for this user, or in all)",
        )
        .header(RETRY_AFTER.as_str(), "5")
    };
    if state.lock_sessions().len() >= MAX_SESSIONS {
        return Err(sessions_full());
    }
    // The ticket is registered by the job itself: if the caller gave up
    // waiting, the session is still known and its idle timeout closes it.
    let job_state = state.clone();
    let user = p.name.to_lowercase();
    let job_key = key.clone();
    let done = state
        .lanes
        .submit(&key, async move {
            let backend = job_state.backend.clone();
            let session = backend.open(s).await?;
            let ticket = new_ticket();
            let refused = {
                let mut map = job_state.lock_sessions();
                let mine = map.values().filter(|t| t.user == user).count();
                match &ticket {
                    Some(ticket)
                        if map.len() < MAX_SESSIONS
                            && mine < MAX_SESSIONS_PER_USER
                            && !job_state.shutting_down.load(Ordering::SeqCst) =>
                    {
                        map.insert(
                            ticket.clone(),
                            Ticket {
                                user,
                                company_key: job_key,
                                session,
                                last_used: Instant::now(),
                            },
                        );
                        None
                    }
                    _ => Some(session),
                }
            };
            if let Some(session) = refused {
                backend.close(session).await;
                return Ok(None);
            }
            let Some(ticket) = ticket else {
                return Ok(None);
            };
            job_state
                .metrics
                .sessions_open
                .fetch_add(1, Ordering::Relaxed);
            Ok(Some(ticket))
        })
        .map_err(busy)?;
    let ticket = wait(state, done).await?.ok_or_else(sessions_full)?;
    state.status(conn.id, &format!("session opened by {} on {key}", p.name));
    let mut body =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<QBConnectorSession>\n<Ticket>");
    body.push_str(&ticket);
    body.push_str("</Ticket>\n<CompanyFile>");
    qbxml::escape_into(&mut body, &key);
    body.push_str("</CompanyFile>\n<IdleTimeoutSeconds>");
    body.push_str(&state.settings.session_idle.as_secs().to_string());
    body.push_str("</IdleTimeoutSeconds>\n</QBConnectorSession>\n");
    Ok(
        Reply::ok(StatusCode::CREATED, body, "application/xml; charset=utf-8")
            .header(TICKET_HEADER, &ticket),
    )
}

/// DELETE /session — CloseQBConnection (closing a closed one is a no-op).
async fn close_session(
    state: &Arc<State>,
    conn: &ConnInfo,
    req: Request<Incoming>,
    trace: &mut Trace,
) -> Result<Reply, Reply> {
    let p = authenticate(state, conn, req.headers(), trace).await?;
    trace.request_types = vec!["CloseSession".into()];
    let Some(ticket) = ticket_of(req.headers())? else {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            code::BAD_TICKET,
            "DELETE /session needs the X-QB-Ticket header",
        ));
    };
    let removed = {
        let mut map = state.lock_sessions();
        match map.get(&ticket) {
            Some(t) if t.user == p.name.to_lowercase() => map.remove(&ticket),
            _ => None,
        }
    };
    if let Some(t) = removed {
        trace.company = t.company_key.clone();
        state.metrics.sessions_open.fetch_sub(1, Ordering::Relaxed);
        state.status(
            conn.id,
            &format!("session closed by {} on {}", p.name, t.company_key),
        );
        if tokio::time::timeout(
            state.settings.backend_timeout,
            state.close_backend_session(t),
        )
        .await
        .is_err()
        {
            return Err(Reply::error(
                StatusCode::GATEWAY_TIMEOUT,
                code::BACKEND_TIMEOUT,
                "the session is closed here; QuickBooks has not finished ending it yet",
            ));
        }
    }
    Ok(Reply::ok(
        StatusCode::NO_CONTENT,
        Bytes::new(),
        "text/plain",
    ))
}

/// 128 random bits, hex.
fn new_ticket() -> Option<String> {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The `statusCode` attributes of a response, in order (for the audit).
pub fn status_codes(xml: &str) -> Vec<u32> {
    const NEEDLE: &str = "statusCode=\"";
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(NEEDLE) {
        rest = &rest[i + NEEDLE.len()..];
        let end = rest.find('"').unwrap_or(0);
        if let Ok(n) = rest[..end].parse() {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_in_order() {
        let x =
            r#"<A statusCode="0" /><B statusCode="3100"/><C statusCode="x"/><D statusCode="500"/>"#;
        assert_eq!(status_codes(x), vec![0, 3100, 500]);
        assert!(status_codes("statusCode=\"").is_empty());
    }

    #[test]
    fn error_body_is_escaped_xml() {
        let r = Reply::error(StatusCode::BAD_REQUEST, "QBC_X", "a <b> & \"c\"");
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(body.contains("<Message>a &lt;b&gt; &amp; "), "{body}");
        assert_eq!(r.code, "QBC_X");
    }
}
