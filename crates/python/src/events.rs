//! The seed's events with Python handlers: `c.on_request = f`.
//!
//! Each event is a small Python object (`RequestEvent`, …) that owns
//! copies of its fields, so a handler may keep it after returning; the
//! in/out fields (`accept`, `request`, `response`, `connection`, …) are
//! writable, and are read back when the handler returns.
//!
//! A handler runs while its request waits (the decision events are
//! synchronous), on the server's thread — moved out of the I/O pool first
//! (`block_in_place`), so a slow handler holds up its own request, not the
//! others'. A decision handler that raises refuses its request (`500
//! QBC_EVENT`; a connection handler closes its connection) and fires
//! `on_error`; any handler's exception is printed to stderr (`SystemExit`
//! included: from a server thread it does not end the process) and turned
//! into the unwinding that the server's `events::guard` contains.
//!
//! Once Python starts exiting (`atexit`, [`set_closing`]) no handler is
//! called any more: the connectors stop with their defaults.

use pyo3::prelude::*;
use pyo3::PyClass;
use qbc_server::events as ev;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

/// Python is exiting: call into it no more.
static CLOSING: AtomicBool = AtomicBool::new(false);

pub fn set_closing() {
    CLOSING.store(true, Ordering::SeqCst);
}

pub fn closing() -> bool {
    CLOSING.load(Ordering::SeqCst)
}

thread_local! {
    /// This thread is running a handler.
    static IN_HANDLER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is inside an event handler (where turning
/// `listening` off would wait for the request the handler holds).
pub fn in_handler() -> bool {
    IN_HANDLER.with(|h| h.get())
}

/// The events, by the seed's names (the attribute is `on_` + name).
pub const NAMES: &[&str] = &[
    "authorization",
    "connected",
    "connection_request",
    "disconnected",
    "error",
    "header",
    "request",
    "response",
    "ssl_client_authentication",
    "ssl_connection_request",
    "ssl_status",
    "status",
    "audit",
];

/// The Python handlers of one connector.
#[derive(Default)]
pub struct Handlers {
    slots: Mutex<HashMap<&'static str, Py<PyAny>>>,
    /// Which slots are set: checked without the GIL on every event.
    set: AtomicU32,
}

fn bit(name: &str) -> u32 {
    NAMES
        .iter()
        .position(|n| *n == name)
        .map_or(0, |i| 1u32 << i)
}

impl Handlers {
    pub fn get(&self, py: Python<'_>, name: &str) -> Option<Py<PyAny>> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.get(name).map(|h| h.clone_ref(py))
    }

    /// Show the handlers to the garbage collector (without waiting for the
    /// lock: a collection must not block).
    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Ok(slots) = self.slots.try_lock() {
            for h in slots.values() {
                visit.call(h)?;
            }
        }
        Ok(())
    }

    /// Set (or with `None`, remove) a handler.
    pub fn put(&self, name: &str, handler: Option<Py<PyAny>>) -> Result<(), String> {
        let Some(key) = NAMES.iter().find(|n| **n == name) else {
            return Err(format!("no event `{name}`"));
        };
        let old = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            match handler {
                Some(h) => {
                    self.set.fetch_or(bit(name), Ordering::SeqCst);
                    slots.insert(key, h)
                }
                None => {
                    self.set.fetch_and(!bit(name), Ordering::SeqCst);
                    slots.remove(key)
                }
            }
        };
        // Released after the lock: its `__del__` may read the handlers.
        drop(old);
        Ok(())
    }

    fn has(&self, name: &str) -> bool {
        self.set.load(Ordering::SeqCst) & bit(name) != 0
    }

    /// Call the handler of `name` (if set) with the event `make` builds;
    /// `read` gets the event back after the handler returned. A handler
    /// that raises unwinds (contained by the server's guard).
    fn fire<T: PyClass + Into<PyClassInitializer<T>>>(
        &self,
        name: &'static str,
        make: impl FnOnce() -> T,
        read: impl FnOnce(&T) -> Result<(), String>,
    ) {
        if !self.has(name) || closing() {
            return;
        }
        let outcome = tokio::task::block_in_place(|| {
            keep_thread_state();
            if closing() {
                return Ok(());
            }
            Python::attach(|py| -> Result<(), String> {
                let Some(h) = self.get(py, name) else {
                    return Ok(());
                };
                let event = Bound::new(py, make()).map_err(|e| e.to_string())?;
                IN_HANDLER.with(|f| f.set(true));
                let called = h.call1(py, (event.clone(),));
                IN_HANDLER.with(|f| f.set(false));
                match called {
                    Ok(_) => {
                        let r = event.try_borrow().map_err(|e| e.to_string())?;
                        read(&r)
                    }
                    Err(e) => {
                        report(py, &e);
                        Err(e.to_string())
                    }
                }
            })
        });
        if let Err(why) = outcome {
            // No panic hook, no second message: the server's guard turns
            // this into its refusal and the Error event.
            std::panic::resume_unwind(Box::new(format!("on_{name}: {why}")));
        }
    }
}

/// Give this (server) thread a Python thread state that outlives each
/// handler call. Without it, every call creates the thread's state and
/// destroys it again (`PyGILState_Ensure`/`Release` on a thread Python
/// did not start), under the interpreter's lock: most of a handler's
/// cost. The state is made once, the GIL released at once, and kept for
/// the thread's life (the server's threads live as long as the process).
pub fn keep_thread_state() {
    THREAD.with(|t| {
        if !t.get().is_server() || closing() {
            return; // a Python thread has its own state; or done already
        }
        // SAFETY: the interpreter runs (this module was imported into it,
        // and it is not exiting: `closing`). This is one of the runtime's
        // threads, which take the GIL only inside `Python::attach` (never
        // around this call), so it does not hold it now. Ensure takes the
        // GIL with a new thread state; SaveThread gives the GIL back and
        // keeps the state, which later `Python::attach` calls on this
        // thread reuse. `release_thread_state` deletes it.
        #[allow(unsafe_code)]
        let kept = unsafe {
            let gstate = pyo3::ffi::PyGILState_Ensure();
            let ts = pyo3::ffi::PyEval_SaveThread();
            Thread::Kept(gstate, ts)
        };
        t.set(kept);
    });
}

/// Called as each of the runtime's threads stops (idle blocking threads
/// stop after a while): its kept Python thread state is deleted, unless
/// Python is exiting (then the process ends anyway).
pub fn release_thread_state() {
    THREAD.with(|t| {
        if let Thread::Kept(gstate, ts) = t.replace(Thread::Other) {
            if closing() {
                return;
            }
            // SAFETY: `ts` is this thread's state, saved by
            // `keep_thread_state` and not current (this thread does not
            // hold the GIL); Restore takes the GIL with it, and Release,
            // the counterpart of its Ensure, deletes it and gives the GIL
            // back.
            #[allow(unsafe_code)]
            unsafe {
                if pyo3::ffi::Py_IsInitialized() != 0 {
                    pyo3::ffi::PyEval_RestoreThread(ts);
                    pyo3::ffi::PyGILState_Release(gstate);
                }
            }
        }
    });
}

#[derive(Clone, Copy)]
enum Thread {
    /// Not one of the runtime's threads.
    Other,
    /// A runtime thread without a kept Python thread state yet.
    Server,
    /// A runtime thread with one.
    Kept(pyo3::ffi::PyGILState_STATE, *mut pyo3::ffi::PyThreadState),
}

impl Thread {
    fn is_server(self) -> bool {
        matches!(self, Thread::Server)
    }
}

thread_local! {
    static THREAD: std::cell::Cell<Thread> = const { std::cell::Cell::new(Thread::Other) };
}

/// Called as each of the runtime's threads starts.
pub fn mark_server_thread() {
    THREAD.with(|t| t.set(Thread::Server));
}

/// Print a handler's exception with its traceback, as an uncaught
/// exception in a thread is. `SystemExit` is printed too: from a server
/// thread it must not end the process (`PyErr_Print` would).
pub fn report(py: Python<'_>, e: &PyErr) {
    e.display(py);
}

/// The server's events, delivered to a connector's Python handlers.
pub struct PyEvents {
    pub handlers: std::sync::Arc<Handlers>,
}

fn host(a: &std::net::SocketAddr) -> String {
    a.ip().to_string()
}

impl qbc_server::Events for PyEvents {
    fn connection_request(&self, e: &mut ev::ConnectionRequest) {
        let (remote, allowed, initial) = (e.remote, e.allowed, e.accept);
        let accept = &mut e.accept;
        self.handlers.fire(
            "connection_request",
            || ConnectionRequestEvent {
                remote_host: host(&remote),
                remote_port: remote.port(),
                allowed,
                accept: initial,
            },
            |r| {
                *accept = r.accept;
                Ok(())
            },
        );
    }

    fn connected(&self, e: &ev::Connected) {
        self.handlers.fire(
            "connected",
            || ConnectedEvent {
                connection_id: e.connection_id,
                remote_host: host(&e.remote),
                remote_port: e.remote.port(),
                status_code: 0,
                description: "OK".into(),
            },
            |_| Ok(()),
        );
    }

    fn disconnected(&self, e: &ev::Disconnected) {
        self.handlers.fire(
            "disconnected",
            || DisconnectedEvent {
                connection_id: e.connection_id,
                status_code: e.status_code,
                description: e.description.clone(),
            },
            |_| Ok(()),
        );
    }

    fn ssl_connection_request(&self, e: &mut ev::SslConnectionRequest) {
        let event = SslConnectionRequestEvent {
            connection_id: e.connection_id,
            remote_host: host(&e.remote),
            remote_port: e.remote.port(),
            server_name: e.server_name.clone().unwrap_or_default(),
            supported_cipher_suites: e.cipher_suites.join(","),
            accept: e.accept,
        };
        let accept = &mut e.accept;
        self.handlers.fire(
            "ssl_connection_request",
            || event,
            |r| {
                *accept = r.accept;
                Ok(())
            },
        );
    }

    fn ssl_client_authentication(&self, e: &mut ev::SslClientAuthentication) {
        let event = SslClientAuthenticationEvent {
            connection_id: e.connection_id,
            cert_subject: e.subject.clone(),
            cert_encoded: e.certificate.clone(),
            accept: e.accept,
        };
        let accept = &mut e.accept;
        self.handlers.fire(
            "ssl_client_authentication",
            || event,
            |r| {
                *accept = r.accept;
                Ok(())
            },
        );
    }

    fn ssl_status(&self, e: &ev::SslStatus) {
        self.handlers.fire(
            "ssl_status",
            || SslStatusEvent {
                connection_id: e.connection_id,
                message: e.message.clone(),
            },
            |_| Ok(()),
        );
    }

    fn header(&self, e: &ev::Header<'_>) {
        self.handlers.fire(
            "header",
            || HeaderEvent {
                connection_id: e.connection_id,
                field: e.name.to_string(),
                value: e.value.to_string(),
            },
            |_| Ok(()),
        );
    }

    fn authorization(&self, e: &mut ev::Authorization<'_>) {
        let event = AuthorizationEvent {
            connection_id: e.connection_id,
            user_index: e.user_index,
            user: e.user.to_string(),
            password: e.password.to_string(),
            accept: e.accept,
            connection: e.connection.to_string(),
        };
        let (accept, connection) = (&mut e.accept, &mut e.connection);
        self.handlers.fire(
            "authorization",
            || event,
            |r| {
                *accept = r.accept;
                *connection = qbc_server::ConnectionString::parse(&r.connection)
                    .map_err(|err| format!("e.connection: {err}"))?;
                Ok(())
            },
        );
    }

    fn request(&self, e: &mut ev::Request<'_>) {
        let text = String::from_utf8_lossy(e.body).into_owned();
        let mut refuse = None;
        let mut replace = None;
        self.handlers.fire(
            "request",
            || RequestEvent {
                connection_id: e.connection_id,
                user: e.user.to_string(),
                company_file: e.company_file.to_string(),
                request_types: e.request_types.to_vec(),
                request: text.clone(),
                accept: true,
                status: 403,
                code: "QBC_REFUSED".into(),
                message: "refused by the connector's request handler".into(),
            },
            |r| {
                if !r.accept {
                    refuse = Some(ev::Refuse {
                        status: r.status,
                        code: r.code.clone(),
                        message: r.message.clone(),
                    });
                } else if r.request != text {
                    replace = Some(r.request.clone().into_bytes());
                }
                Ok(())
            },
        );
        e.refuse = refuse;
        e.replace = replace;
    }

    fn response(&self, e: &mut ev::Response<'_>) {
        let text = String::from_utf8_lossy(e.body).into_owned();
        let mut replace = None;
        self.handlers.fire(
            "response",
            || ResponseEvent {
                connection_id: e.connection_id,
                http_status: e.http_status,
                response: text.clone(),
                duration_ms: e.duration.as_secs_f64() * 1000.0,
            },
            |r| {
                if r.response != text {
                    replace = Some(r.response.clone().into_bytes());
                }
                Ok(())
            },
        );
        e.replace = replace;
    }

    fn error(&self, e: &ev::Error<'_>) {
        self.handlers.fire(
            "error",
            || ErrorEvent {
                connection_id: e.connection_id,
                error_code: e.code.to_string(),
                description: e.description.to_string(),
            },
            |_| Ok(()),
        );
    }

    fn status(&self, e: &ev::Status<'_>) {
        self.handlers.fire(
            "status",
            || StatusEvent {
                connection_id: e.connection_id,
                message: e.message.to_string(),
            },
            |_| Ok(()),
        );
    }

    fn audit(&self, e: &ev::Audit<'_>) {
        self.handlers.fire(
            "audit",
            || AuditEvent {
                remote_host: host(&e.remote),
                user: e.user.to_string(),
                company_file: e.company_file.to_string(),
                request_types: e.request_types.to_vec(),
                http_status: e.http_status,
                status_codes: e.status_codes.to_vec(),
                error_code: e.error_code.to_string(),
                duration_ms: e.duration.as_secs_f64() * 1000.0,
                request_replaced: e.request_replaced,
                response_replaced: e.response_replaced,
            },
            |_| Ok(()),
        );
    }
}

/// A client connects (before TLS, before a byte is read). `accept = False`
/// closes it; `allowed` is the allow-list's verdict (a refusal there stays).
#[pyclass(module = "qbconnector", get_all)]
pub struct ConnectionRequestEvent {
    remote_host: String,
    remote_port: u16,
    allowed: bool,
    #[pyo3(set)]
    accept: bool,
}

#[pyclass(module = "qbconnector", get_all)]
pub struct ConnectedEvent {
    connection_id: u64,
    remote_host: String,
    remote_port: u16,
    status_code: i32,
    description: String,
}

#[pyclass(module = "qbconnector", get_all)]
pub struct DisconnectedEvent {
    connection_id: u64,
    status_code: i32,
    description: String,
}

/// TLS: the client's hello arrived. `accept = False` closes the connection.
#[pyclass(module = "qbconnector", name = "SSLConnectionRequestEvent", get_all)]
pub struct SslConnectionRequestEvent {
    connection_id: u64,
    remote_host: String,
    remote_port: u16,
    server_name: String,
    supported_cipher_suites: String,
    #[pyo3(set)]
    accept: bool,
}

/// TLS with client certificates: the client's certificate (DER in
/// `cert_encoded`). `accept` decides.
#[pyclass(module = "qbconnector", name = "SSLClientAuthenticationEvent", get_all)]
pub struct SslClientAuthenticationEvent {
    connection_id: u64,
    cert_subject: String,
    cert_encoded: Vec<u8>,
    #[pyo3(set)]
    accept: bool,
}

#[pyclass(module = "qbconnector", name = "SSLStatusEvent", get_all)]
pub struct SslStatusEvent {
    connection_id: u64,
    message: String,
}

#[pyclass(module = "qbconnector", get_all)]
pub struct HeaderEvent {
    connection_id: u64,
    field: String,
    value: String,
}

/// The credentials were checked: `accept` says how (the handler may turn
/// it either way); `connection` is the QuickBooks connection string this
/// request will use (the user's own, or DefaultConnectionString), which
/// the handler may replace. `user_index` is -1 for a name not configured.
#[pyclass(module = "qbconnector", get_all)]
pub struct AuthorizationEvent {
    connection_id: u64,
    user_index: i64,
    user: String,
    password: String,
    #[pyo3(set)]
    accept: bool,
    #[pyo3(set)]
    connection: String,
}

/// A request goes to QuickBooks. `accept = False` refuses it (with
/// `status`, `code`, `message`); assigning `request` sends that qbXML
/// instead (validated, and the read-only rule applied again).
#[pyclass(module = "qbconnector", get_all)]
pub struct RequestEvent {
    connection_id: u64,
    user: String,
    company_file: String,
    request_types: Vec<String>,
    #[pyo3(set)]
    request: String,
    #[pyo3(set)]
    accept: bool,
    #[pyo3(set)]
    status: u16,
    #[pyo3(set)]
    code: String,
    #[pyo3(set)]
    message: String,
}

/// The answer is about to be sent; assigning `response` sends that instead.
#[pyclass(module = "qbconnector", get_all)]
pub struct ResponseEvent {
    connection_id: u64,
    http_status: u16,
    #[pyo3(set)]
    response: String,
    duration_ms: f64,
}

#[pyclass(module = "qbconnector", get_all)]
pub struct ErrorEvent {
    connection_id: u64,
    error_code: String,
    description: String,
}

#[pyclass(module = "qbconnector", get_all)]
pub struct StatusEvent {
    connection_id: u64,
    message: String,
}

/// One line of the audit log, per request.
#[pyclass(module = "qbconnector", get_all)]
pub struct AuditEvent {
    remote_host: String,
    user: String,
    company_file: String,
    request_types: Vec<String>,
    http_status: u16,
    status_codes: Vec<u32>,
    error_code: String,
    duration_ms: f64,
    request_replaced: bool,
    response_replaced: bool,
}

macro_rules! reprs {
    ($($t:ty),*) => {$(
        #[pymethods]
        impl $t {
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                let name = slf.get_type().name()?;
                Ok(format!("<{name}>"))
            }
        }
    )*};
}
reprs!(
    ConnectionRequestEvent,
    ConnectedEvent,
    DisconnectedEvent,
    SslConnectionRequestEvent,
    SslClientAuthenticationEvent,
    SslStatusEvent,
    HeaderEvent,
    AuthorizationEvent,
    RequestEvent,
    ResponseEvent,
    ErrorEvent,
    StatusEvent,
    AuditEvent
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ConnectionRequestEvent>()?;
    m.add_class::<ConnectedEvent>()?;
    m.add_class::<DisconnectedEvent>()?;
    m.add_class::<SslConnectionRequestEvent>()?;
    m.add_class::<SslClientAuthenticationEvent>()?;
    m.add_class::<SslStatusEvent>()?;
    m.add_class::<HeaderEvent>()?;
    m.add_class::<AuthorizationEvent>()?;
    m.add_class::<RequestEvent>()?;
    m.add_class::<ResponseEvent>()?;
    m.add_class::<ErrorEvent>()?;
    m.add_class::<StatusEvent>()?;
    m.add_class::<AuditEvent>()?;
    Ok(())
}
