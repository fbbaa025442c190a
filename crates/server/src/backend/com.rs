//! The COM backend's logic: QuickBooks' request processor (QBXMLRP2)
//! driven from one thread.
//!
//! QBXMLRP2 is an Apartment-threaded COM object: every call must come from
//! the thread that created it, and QuickBooks serves one request at a time
//! anyway. So one worker thread owns the request processor and takes jobs
//! from a channel; the server's async side only sends jobs and awaits the
//! answers, and never touches COM.
//!
//! What the worker calls is a [`Driver`]: on Windows, the real QBXMLRP2
//! through late-bound `IDispatch` (issue 7, next); in the tests, the model
//! of `crates/fakeqb`. Everything here — the call sequence (preferences
//! before the connection, FACTS §4.2), the type library's values (§4.3),
//! sessions kept across requests, the CData-style close-and-retry, and how
//! HRESULTs become the server's errors — is the same for both.

use super::{Backend, BackendError, BackendErrorKind, BoxFuture, Health, OpenSettings, SessionId};
use crate::connstr::ConnectionMode;
use qbxml::HResult;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Mutex;

/// The type library's values (connector FACTS §4.3; several public
/// projects get them wrong).
pub mod typelib {
    pub const CONN_LOCAL_QBD: i32 = 1;
    pub const CONN_LOCAL_QBD_LAUNCH_UI: i32 = 3;
    pub const FILE_SINGLE_USER: i32 = 0;
    pub const FILE_MULTI_USER: i32 = 1;
    pub const FILE_DO_NOT_CARE: i32 = 2;
    pub const UMP_REQUIRED: i32 = 1;
    pub const UMP_OPTIONAL: i32 = 2;
    pub const PDP_REQUIRED: i32 = 1;
    pub const PDP_OPTIONAL: i32 = 2;
    pub const PDP_NOT_NEEDED: i32 = 3;
    /// SimpleStart | Pro | Premier | Enterprise: the seed's AuthFlags
    /// default.
    pub const AUTH_FLAGS_ALL: u32 = 0xF;
}

/// BeginSession's QBFileMode for a connection mode.
pub fn file_mode(mode: ConnectionMode) -> i32 {
    match mode {
        ConnectionMode::SingleUser => typelib::FILE_SINGLE_USER,
        ConnectionMode::MultiUser => typelib::FILE_MULTI_USER,
        ConnectionMode::DontCare => typelib::FILE_DO_NOT_CARE,
    }
}

/// A failed request-processor call: its HRESULT and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverError {
    pub hresult: u32,
    pub message: String,
}

/// The request processor's calls, as the worker makes them.
pub trait Driver {
    fn put_is_read_only(&mut self, read_only: bool) -> Result<(), DriverError>;
    fn put_unattended_mode_pref(&mut self, pref: i32) -> Result<(), DriverError>;
    fn put_personal_data_pref(&mut self, pref: i32) -> Result<(), DriverError>;
    fn put_auth_flags(&mut self, flags: u32) -> Result<(), DriverError>;
    fn open_connection2(
        &mut self,
        app_id: &str,
        app_name: &str,
        conn_type: i32,
    ) -> Result<(), DriverError>;
    /// The session's ticket.
    fn begin_session(&mut self, company_file: &str, mode: i32) -> Result<String, DriverError>;
    fn process_request(&mut self, ticket: &str, request: &str) -> Result<String, DriverError>;
    fn end_session(&mut self, ticket: &str) -> Result<(), DriverError>;
    fn close_connection(&mut self) -> Result<(), DriverError>;
    /// End the QuickBooks process (close-and-retry); false if it cannot.
    fn end_quickbooks(&mut self) -> bool;
}

/// How the backend talks to QuickBooks: the seed's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComSettings {
    /// OpenConnection2's type: `localQBD`, or `localQBDLaunchUI` to start
    /// QuickBooks' user interface when it is not running.
    pub launch_ui: bool,
    /// PutUnattendedModePref.
    pub unattended_mode: i32,
    /// PutPersonalDataPref.
    pub personal_data: i32,
    /// AuthFlags when the connection settings give none.
    pub auth_flags: u32,
    /// CloseAndRetryConnect: when opening fails with one of `retry_errors`,
    /// end QuickBooks and try again, at most `retry_count` times.
    pub close_and_retry: bool,
    pub retry_count: u32,
    pub retry_errors: Vec<u32>,
}

impl Default for ComSettings {
    fn default() -> Self {
        ComSettings {
            launch_ui: false,
            unattended_mode: typelib::UMP_OPTIONAL,
            personal_data: typelib::PDP_NOT_NEEDED,
            auth_flags: typelib::AUTH_FLAGS_ALL,
            close_and_retry: false,
            retry_count: 1,
            // QuickBooks busy or half-started.
            retry_errors: vec![0x8004_0408, 0x8004_0414, 0x8004_041B, 0x8004_0424],
        }
    }
}

/// What the worker reports to the server, per event of the sequence.
pub type Observer = Box<dyn Fn(&str) + Send>;

type Reply<T> = tokio::sync::oneshot::Sender<T>;

enum Job {
    Open(OpenSettings, Reply<Result<SessionId, BackendError>>),
    Process(SessionId, String, Reply<Result<String, BackendError>>),
    Close(SessionId, Reply<()>),
}

/// The server's backend over a [`Driver`] on its own thread.
pub struct ComBackend {
    jobs: Mutex<mpsc::Sender<Job>>,
    health: std::sync::Arc<Mutex<Health>>,
}

impl ComBackend {
    /// Start the worker thread; `make` creates the driver on it (so that a
    /// COM object is created in the thread's own apartment).
    pub fn spawn<D: Driver + 'static>(
        make: impl FnOnce() -> Result<D, DriverError> + Send + 'static,
        settings: ComSettings,
        observe: Option<Observer>,
    ) -> Result<ComBackend, String> {
        let (tx, rx) = mpsc::channel::<Job>();
        let health = std::sync::Arc::new(Mutex::new(Health::Ok));
        let h = health.clone();
        std::thread::Builder::new()
            .name("qbxmlrp2".into())
            .spawn(move || {
                let driver = match make() {
                    Ok(d) => d,
                    Err(e) => {
                        set_health(&h, Health::Down(describe(&e)));
                        // Answer every job with the failure.
                        for job in rx {
                            fail(job, &e);
                        }
                        return;
                    }
                };
                Worker {
                    driver,
                    settings,
                    sessions: HashMap::new(),
                    next: 1,
                    health: h,
                    observe,
                }
                .run(rx);
            })
            .map_err(|e| format!("cannot start the COM worker thread: {e}"))?;
        Ok(ComBackend {
            jobs: Mutex::new(tx),
            health,
        })
    }

    fn send(&self, job: Job) -> Result<(), BackendError> {
        let tx = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        tx.send(job).map_err(|_| {
            BackendError::new(
                BackendErrorKind::Failed,
                Some(HResult(0x8004_0401)),
                "the QuickBooks worker thread has stopped",
            )
        })
    }
}

fn set_health(h: &Mutex<Health>, v: Health) {
    *h.lock().unwrap_or_else(|e| e.into_inner()) = v;
}

fn describe(e: &DriverError) -> String {
    format!("{}: {}", HResult(e.hresult), e.message)
}

fn fail(job: Job, e: &DriverError) {
    match job {
        Job::Open(_, r) => {
            let _ = r.send(Err(to_backend(e)));
        }
        Job::Process(_, _, r) => {
            let _ = r.send(Err(to_backend(e)));
        }
        Job::Close(_, r) => {
            let _ = r.send(());
        }
    }
}

/// A request-processor failure as the server reports it: the client's
/// request (400) for XML QuickBooks cannot parse, an unknown ticket or an
/// unsupported version; QuickBooks failing or refusing access (502) for
/// the rest. The HRESULT and its message always go along.
pub fn to_backend(e: &DriverError) -> BackendError {
    let kind = match e.hresult {
        0x8004_0400 | 0x8004_040D | 0x8004_0423 | 0x8007_0057 => BackendErrorKind::Request,
        _ => BackendErrorKind::Failed,
    };
    let message = if e.message.is_empty() {
        HResult(e.hresult).message().unwrap_or("").to_string()
    } else {
        e.message.clone()
    };
    BackendError::new(kind, Some(HResult(e.hresult)), message)
}

struct Open {
    ticket: String,
}

struct Worker<D: Driver> {
    driver: D,
    settings: ComSettings,
    sessions: HashMap<u64, Open>,
    next: u64,
    health: std::sync::Arc<Mutex<Health>>,
    observe: Option<Observer>,
}

impl<D: Driver> Worker<D> {
    fn note(&self, what: &str) {
        if let Some(o) = &self.observe {
            o(what);
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Job>) {
        for job in rx {
            match job {
                Job::Open(s, reply) => {
                    let r = self.open(&s);
                    let _ = reply.send(r);
                }
                Job::Process(id, rq, reply) => {
                    let r = self.process(&id, &rq);
                    let _ = reply.send(r);
                }
                Job::Close(id, reply) => {
                    self.close(&id);
                    let _ = reply.send(());
                }
            }
        }
        // The server is gone: leave QuickBooks as we found it.
        let ids: Vec<u64> = self.sessions.keys().copied().collect();
        for id in ids {
            self.close(&SessionId(id));
        }
    }

    /// Preferences, OpenConnection2, BeginSession; with close-and-retry
    /// for the listed failures.
    fn open(&mut self, s: &OpenSettings) -> Result<SessionId, BackendError> {
        let mut attempt = 0;
        loop {
            match self.try_open(s) {
                Ok(ticket) => {
                    set_health(&self.health, Health::Ok);
                    let id = self.next;
                    self.next += 1;
                    self.sessions.insert(id, Open { ticket });
                    return Ok(SessionId(id));
                }
                Err(e) => {
                    let _ = self.driver.close_connection();
                    let listed = self.settings.retry_errors.contains(&e.hresult);
                    if self.settings.close_and_retry
                        && listed
                        && attempt < self.settings.retry_count
                    {
                        attempt += 1;
                        self.note(&format!(
                            "close and retry {attempt}/{}: {}",
                            self.settings.retry_count,
                            describe(&e)
                        ));
                        if !self.driver.end_quickbooks() {
                            self.note("could not end QuickBooks");
                        }
                        continue;
                    }
                    set_health(&self.health, Health::Down(describe(&e)));
                    return Err(to_backend(&e));
                }
            }
        }
    }

    fn try_open(&mut self, s: &OpenSettings) -> Result<String, DriverError> {
        let d = &mut self.driver;
        // Preferences first: QuickBooks reads them at connection time.
        d.put_is_read_only(s.read_only)?;
        d.put_unattended_mode_pref(self.settings.unattended_mode)?;
        d.put_personal_data_pref(self.settings.personal_data)?;
        d.put_auth_flags(s.auth_flags.unwrap_or(self.settings.auth_flags))?;
        let conn = if self.settings.launch_ui {
            typelib::CONN_LOCAL_QBD_LAUNCH_UI
        } else {
            typelib::CONN_LOCAL_QBD
        };
        d.open_connection2(&s.app_id, &s.application_name, conn)?;
        d.begin_session(&s.company_file, file_mode(s.mode))
    }

    fn process(&mut self, id: &SessionId, request: &str) -> Result<String, BackendError> {
        let Some(open) = self.sessions.get(&id.0) else {
            return Err(BackendError::invalid_session());
        };
        let ticket = open.ticket.clone();
        self.driver
            .process_request(&ticket, request)
            .map_err(|e| to_backend(&e))
    }

    fn close(&mut self, id: &SessionId) {
        if let Some(open) = self.sessions.remove(&id.0) {
            if let Err(e) = self.driver.end_session(&open.ticket) {
                self.note(&format!("EndSession: {}", describe(&e)));
            }
            if let Err(e) = self.driver.close_connection() {
                self.note(&format!("CloseConnection: {}", describe(&e)));
            }
        }
    }
}

impl Backend for ComBackend {
    fn name(&self) -> &'static str {
        "com"
    }

    /// QuickBooks has one company file open at a time; requests for
    /// different files still get their own keys (the second answers
    /// QuickBooks' 0x8004040A while the first is open). Names compare
    /// case-insensitively, as Windows paths do.
    fn company_key(&self, settings: &OpenSettings) -> Result<String, BackendError> {
        Ok(settings.company_file.to_lowercase())
    }

    fn open(&self, settings: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.send(Job::Open(settings, tx))?;
            rx.await.unwrap_or_else(|_| Err(stopped()))
        })
    }

    fn process(
        &self,
        session: SessionId,
        request: bytes::Bytes,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        Box::pin(async move {
            // The server has validated it: it is UTF-8 qbXML.
            let text = String::from_utf8_lossy(&request).into_owned();
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.send(Job::Process(session, text, tx))?;
            rx.await.unwrap_or_else(|_| Err(stopped()))
        })
    }

    fn close(&self, session: SessionId) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            if self.send(Job::Close(session, tx)).is_ok() {
                let _ = rx.await;
            }
        })
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move {
            self.health
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        })
    }
}

fn stopped() -> BackendError {
    BackendError::new(
        BackendErrorKind::Failed,
        Some(HResult(0x8004_0401)),
        "the QuickBooks worker thread has stopped",
    )
}
