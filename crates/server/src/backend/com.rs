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
//! through late-bound `IDispatch` (`qbwin::com`, adapted at the end of
//! this file); in the host's tests, the model of `crates/fakeqb`; under
//! wine, that model again behind its COM shell, reached through
//! `qbwin::com`. Everything here — the call sequence (preferences
//! before the connection, FACTS §4.2), the type library's values (§4.3),
//! sessions kept across requests, the CData-style close-and-retry, and how
//! HRESULTs become the server's errors — is the same for both.

use super::{
    Answer, Backend, BackendError, BackendErrorKind, BoxFuture, Health, OpenSettings, Report,
    Request, SessionId,
};
use crate::connstr::ConnectionMode;
use qbxml::HResult;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

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
    /// The company file a session has open (the real path when
    /// BeginSession was given "", the file open in QuickBooks).
    fn current_company_file_name(&mut self, ticket: &str) -> Result<String, DriverError>;
    /// End the QuickBooks process (close-and-retry); false if it cannot.
    fn end_quickbooks(&mut self) -> bool;
    /// No job came for a while ([`IDLE`]): an STA thread dispatches its
    /// window messages here.
    fn idle(&mut self) {}
}

/// How long the worker waits for a job before it calls [`Driver::idle`].
pub const IDLE: std::time::Duration = std::time::Duration::from_millis(100);

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
    /// Accept company files on network shares (`\\server\share\…`).
    /// Off by default: a client allowed to name its company file could
    /// otherwise make the service authenticate to any SMB host.
    pub allow_unc: bool,
    /// A call into QuickBooks that has not returned after this long (a
    /// dialog nobody answers, a hung QuickBooks) makes health say down
    /// until it returns.
    pub hung_after: std::time::Duration,
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
            allow_unc: false,
            hung_after: std::time::Duration::from_secs(120),
        }
    }
}

type Reply<T> = tokio::sync::oneshot::Sender<T>;

enum Job {
    Open(OpenSettings, Reply<Result<SessionId, BackendError>>),
    /// Open, process, close in one hand-off (a request without a ticket).
    Once(OpenSettings, String, Reply<Result<String, BackendError>>),
    Process(SessionId, String, Reply<Result<String, BackendError>>),
    Close(SessionId, Reply<()>),
}

/// The server's backend over a [`Driver`] on its own thread.
pub struct ComBackend {
    jobs: Mutex<mpsc::Sender<Job>>,
    shared: Arc<Shared>,
    allow_unc: bool,
    hung_after: std::time::Duration,
}

/// A company file QuickBooks may be asked to open: empty (the file open
/// in QuickBooks) or a full local path such as `C:\Data\Acme.qbw`; a
/// network share (`\\server\share\…`) only when allowed. Device
/// paths (`\\?\`, `\\.\`), relative paths, `..` and control
/// characters never.
pub fn check_company_path(file: &str, allow_unc: bool) -> Result<(), String> {
    if file.is_empty() {
        return Ok(());
    }
    let bad = |why: &str| Err(format!("company file `{}`: {why}", file.escape_debug()));
    if file.chars().any(char::is_control) {
        return bad("control characters");
    }
    if file.len() > 260 {
        return bad("longer than 260 bytes");
    }
    let b = file.as_bytes();
    let unc = b.len() > 2 && matches!(b[0], b'\\' | b'/') && matches!(b[1], b'\\' | b'/');
    if unc && matches!(b[2], b'?' | b'.') {
        return bad("device paths are refused");
    }
    if unc && !allow_unc {
        return bad(
            "network shares are refused (set [backend.com] allow_unc = true to allow them)",
        );
    }
    let drive =
        b.len() > 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/');
    if !unc && !drive {
        return bad("a full path such as C:\\Data\\Acme.qbw is expected");
    }
    if file.split(['\\', '/']).any(|part| part == "..") {
        return bad("`..` is refused");
    }
    // After `C:` or `\\server\share`, every part is a plain name: no
    // device (`C:\x\COM1`), no stream (`acme.qbw:x`), no second spelling
    // of another file (`acme.qbw.`).
    let rest = if unc { &file[2..] } else { &file[3..] };
    for part in rest.split(['\\', '/']).filter(|p| !p.is_empty()) {
        if let Err(why) = super::names::check_component(part) {
            return bad(&format!("`{}` {why}", part.escape_debug()));
        }
    }
    Ok(())
}

/// One key per file however it is spelt: QuickBooks' paths are
/// case-insensitive, `/` is `\`, and repeated separators are one (after
/// the two that open a share's name).
fn path_key(file: &str) -> String {
    let lower = file.to_lowercase().replace('/', "\\");
    let share = lower.starts_with("\\\\");
    let mut key = String::with_capacity(lower.len());
    for (i, c) in lower.chars().enumerate() {
        if c == '\\' && key.ends_with('\\') && !(share && i == 1) {
            continue;
        }
        key.push(c);
    }
    key
}

/// What the worker and the server's side both see.
#[derive(Default)]
struct Shared {
    health: Mutex<Option<Health>>,
    /// Open sessions' company files, by session.
    files: Mutex<HashMap<u64, String>>,
    /// Where the worker reports close-and-retry steps and failures to
    /// end a session (the server's Status event).
    report: Mutex<Option<Report>>,
    /// Since when the worker has been in its current job.
    busy_since: Mutex<Option<std::time::Instant>>,
}

impl Shared {
    fn set_health(&self, v: Health) {
        *self.health.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
    }

    fn note(&self, what: &str) {
        let report = self
            .report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(r) = report {
            r(what);
        }
    }
}

impl ComBackend {
    /// Start the worker thread; `make` creates the driver on it (so that a
    /// COM object is created in the thread's own apartment).
    ///
    /// Health is unknown (reported as up) until the first open: probing
    /// QuickBooks by itself could start it or show its authorization
    /// dialog, so only real requests (and `check-config`) touch it.
    pub fn spawn<D: Driver + 'static>(
        make: impl FnOnce() -> Result<D, DriverError> + Send + 'static,
        settings: ComSettings,
    ) -> Result<ComBackend, String> {
        let (tx, rx) = mpsc::channel::<Job>();
        let shared = Arc::new(Shared::default());
        let sh = shared.clone();
        let allow_unc = settings.allow_unc;
        let hung_after = settings.hung_after;
        std::thread::Builder::new()
            .name("qbxmlrp2".into())
            .spawn(move || {
                // However the thread ends, health says so.
                let _exit = Exit(sh.clone());
                let driver = match make() {
                    Ok(d) => d,
                    Err(e) => {
                        sh.set_health(Health::Down(describe(&e)));
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
                    live: None,
                    next: 1,
                    shared: sh,
                }
                .run(rx);
            })
            .map_err(|e| format!("cannot start the COM worker thread: {e}"))?;
        Ok(ComBackend {
            jobs: Mutex::new(tx),
            shared,
            allow_unc,
            hung_after,
        })
    }

    /// Hand a job to the worker and wait for its answer.
    fn ask<T: Send + 'static>(
        &self,
        job: impl FnOnce(Reply<Result<T, BackendError>>) -> Job,
    ) -> BoxFuture<'_, Result<T, BackendError>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.send(job(tx));
        Box::pin(async move {
            sent?;
            rx.await.unwrap_or_else(|_| Err(stopped()))
        })
    }

    fn send(&self, job: Job) -> Result<(), BackendError> {
        let tx = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        tx.send(job).map_err(|_| stopped())
    }
}

/// Marks the backend down when the worker thread ends (a panic included).
struct Exit(Arc<Shared>);

impl Drop for Exit {
    fn drop(&mut self) {
        self.0.set_health(Health::Down(
            "the QuickBooks worker thread has stopped".into(),
        ));
    }
}

fn describe(e: &DriverError) -> String {
    format!("{}: {}", HResult(e.hresult), e.message)
}

fn fail(job: Job, e: &DriverError) {
    match job {
        Job::Open(_, r) => {
            let _ = r.send(Err(to_backend(e)));
        }
        Job::Once(_, _, r) => {
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

/// The one QuickBooks session open now. QuickBooks has one company file
/// open at a time and the request processor one connection, so the
/// server's sessions for that file share it (the server runs a company
/// file's requests one at a time, so sharing is safe); it ends when the
/// last of them closes.
struct Live {
    ticket: String,
    /// The company file as requested, as `path_key` spells it.
    key: String,
    /// As QuickBooks names it.
    file: String,
    /// Who opened it, and how: only sessions that would open it the same
    /// way share it. QuickBooks authorizes an application (its name and
    /// ID) with its own "login as" user, and reads the preferences at
    /// connection time.
    how: How,
    /// Opened for everyone (`OpenSettings::shared`): a read-only session
    /// that would otherwise open it the same way may share it.
    shared: bool,
    users: std::collections::HashSet<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct How {
    application_name: String,
    app_id: String,
    mode: i32,
    read_only: bool,
    auth_flags: u32,
}

/// HRESULTs after which the open QuickBooks session is gone (QuickBooks
/// or its request processor went away, or no longer knows the ticket):
/// the connector drops it instead of failing every later request on it.
const SESSION_LOST: &[u32] = &[
    0x8004_040D, // the ticket is no longer valid
    0x8004_0401, // could not access QuickBooks
    0x8001_0108, // RPC_E_DISCONNECTED
    0x8001_0012, // RPC_E_SERVER_DIED_DNE
    0x8001_0007, // RPC_E_SERVER_DIED
    0x8007_06BA, // RPC_S_SERVER_UNAVAILABLE
    0x8007_06BE, // RPC_S_CALL_FAILED
];

/// HRESULTs that say QuickBooks cannot be reached at all (health goes
/// down); the others (an unauthorized application, a missing file) are
/// about one request's settings.
const UNREACHABLE: &[u32] = &[
    0x8004_0401,
    0x8004_0408,
    0x8004_0414,
    0x8004_0424,
    0x8004_0154,
    0x8004_01F3,
    0x8001_0108,
    0x8001_0012,
    0x8001_0007,
    0x8007_06BA,
    0x8007_06BE,
];

/// The bit of AuthFlags that forces QuickBooks' authorization dialog:
/// only the configuration may set it (a dialog nobody can answer, under
/// the service, would hold the request processor).
pub const FORCE_AUTH_DIALOG: u32 = 0x8000_0000;

/// The AuthFlags QuickBooks is given: the server's side wins, as for
/// every setting — a client's `AuthFlags` may only narrow the editions
/// the configuration allows (a client that works with Pro only may say
/// so), never widen them, and never set [`FORCE_AUTH_DIALOG`], which
/// stays as configured. A client's flags that leave no edition are
/// refused rather than sent.
pub fn effective_auth_flags(configured: u32, client: Option<u32>) -> Result<u32, String> {
    let Some(client) = client else {
        return Ok(configured);
    };
    let editions = configured & client & !FORCE_AUTH_DIALOG;
    if editions == 0 {
        return Err(format!(
            "AuthFlags {client:#x} allows none of the QuickBooks editions the connector allows ({:#x})",
            configured & !FORCE_AUTH_DIALOG
        ));
    }
    Ok(editions | (configured & FORCE_AUTH_DIALOG))
}

struct Worker<D: Driver> {
    driver: D,
    settings: ComSettings,
    live: Option<Live>,
    next: u64,
    shared: Arc<Shared>,
}

impl<D: Driver> Worker<D> {
    fn note(&self, what: &str) {
        self.shared.note(what);
    }

    /// In a call into QuickBooks (since now), or not: what health reads
    /// to tell a hung call.
    fn busy(&self, busy: bool) {
        *self
            .shared
            .busy_since
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = busy.then(std::time::Instant::now);
    }

    fn run(mut self, rx: mpsc::Receiver<Job>) {
        loop {
            let job = match rx.recv_timeout(IDLE) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.driver.idle();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            self.busy(true);
            // Each answer is sent only once the worker is no longer busy:
            // a client that has its answer and asks /healthz at once must
            // not find the call that answered it still "hung".
            match job {
                Job::Open(s, reply) => {
                    let r = self.open(&s);
                    self.busy(false);
                    // Nobody waits for it any more: do not leak the session.
                    if let Err(Ok(id)) = reply.send(r) {
                        self.busy(true);
                        self.close(&id);
                    }
                }
                Job::Once(s, rq, reply) => {
                    let r = self.open(&s).and_then(|id| {
                        let out = self.process(&id, &rq);
                        self.close(&id);
                        out
                    });
                    self.busy(false);
                    let _ = reply.send(r);
                }
                Job::Process(id, rq, reply) => {
                    let r = self.process(&id, &rq);
                    self.busy(false);
                    let _ = reply.send(r);
                }
                Job::Close(id, reply) => {
                    self.close(&id);
                    self.busy(false);
                    let _ = reply.send(());
                }
            }
            self.busy(false);
        }
        // The server is gone: leave QuickBooks as we found it.
        if let Some(live) = self.live.take() {
            self.end(&live.ticket);
        }
    }

    fn new_id(&mut self, file: String) -> SessionId {
        let id = self.next;
        self.next += 1;
        self.shared
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, file);
        SessionId(id)
    }

    /// Join the open QuickBooks session, or open one: preferences,
    /// OpenConnection2, BeginSession, with close-and-retry for the listed
    /// failures.
    fn open(&mut self, s: &OpenSettings) -> Result<SessionId, BackendError> {
        // One file however it is spelt (case, `/`, doubled separators).
        let key = path_key(&s.company_file);
        let auth_flags = effective_auth_flags(self.settings.auth_flags, s.auth_flags)
            .map_err(|e| BackendError::new(BackendErrorKind::Settings, None, e))?;
        let how = How {
            application_name: s.application_name.clone(),
            app_id: s.app_id.clone(),
            mode: file_mode(s.mode),
            read_only: s.read_only,
            auth_flags,
        };
        if let Some(live) = &self.live {
            // "" is the file QuickBooks has open: the live one; and the
            // live one may have been opened as "" and be named now.
            let same_file = live.key == key || key.is_empty() || path_key(&live.file) == key;
            // The connector's kept session takes read-only sessions too:
            // its read-only rule refuses their writes before QuickBooks.
            let joins_shared = live.shared
                && how.read_only
                && How {
                    read_only: false,
                    ..how.clone()
                } == live.how;
            if same_file && (live.how == how || joins_shared) {
                let id = self.new_id(live.file.clone());
                if let Some(live) = &mut self.live {
                    live.users.insert(id.0);
                }
                return Ok(id);
            }
            if same_file {
                return Err(BackendError::new(
                    BackendErrorKind::Failed,
                    None,
                    "QuickBooks has this company file open for a session with other \
                     settings (application, file mode, read-only or authorization \
                     flags); try again when it ends",
                ));
            }
            // Another company file: QuickBooks answers for itself
            // (0x8004040A), on the connection that is open.
            return match self
                .driver
                .begin_session(&s.company_file, file_mode(s.mode))
            {
                Err(e) => Err(to_backend(&e)),
                Ok(ticket) => {
                    // It opened a second one after all: not ours to keep.
                    let _ = self.driver.end_session(&ticket);
                    Err(to_backend(&DriverError {
                        hresult: 0x8004_040A,
                        message: String::new(),
                    }))
                }
            };
        }
        let mut attempt = 0;
        loop {
            match self.try_open(s, &how) {
                Ok(ticket) => {
                    self.shared.set_health(Health::Ok);
                    let file = self
                        .driver
                        .current_company_file_name(&ticket)
                        .unwrap_or_else(|_| s.company_file.clone());
                    let id = self.new_id(file.clone());
                    self.live = Some(Live {
                        ticket,
                        key,
                        file,
                        how,
                        shared: s.shared,
                        users: [id.0].into_iter().collect(),
                    });
                    return Ok(id);
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
                    if UNREACHABLE.contains(&e.hresult) {
                        self.shared.set_health(Health::Down(describe(&e)));
                    }
                    return Err(to_backend(&e));
                }
            }
        }
    }

    fn try_open(&mut self, s: &OpenSettings, how: &How) -> Result<String, DriverError> {
        let d = &mut self.driver;
        // Preferences first: QuickBooks reads them at connection time.
        d.put_is_read_only(how.read_only)?;
        d.put_unattended_mode_pref(self.settings.unattended_mode)?;
        d.put_personal_data_pref(self.settings.personal_data)?;
        d.put_auth_flags(how.auth_flags)?;
        let conn = if self.settings.launch_ui {
            typelib::CONN_LOCAL_QBD_LAUNCH_UI
        } else {
            typelib::CONN_LOCAL_QBD
        };
        d.open_connection2(&how.app_id, &how.application_name, conn)?;
        d.begin_session(&s.company_file, how.mode)
    }

    fn process(&mut self, id: &SessionId, request: &str) -> Result<String, BackendError> {
        let Some(live) = self.live.as_ref().filter(|l| l.users.contains(&id.0)) else {
            return Err(BackendError::invalid_session());
        };
        let ticket = live.ticket.clone();
        self.driver.process_request(&ticket, request).map_err(|e| {
            if !SESSION_LOST.contains(&e.hresult) {
                return to_backend(&e);
            }
            // QuickBooks' session is gone: drop it, so that the next
            // request opens a new one instead of failing on this one. The
            // server's sessions that shared it now answer 0x8004040D.
            if let Some(live) = self.live.take() {
                self.note(&format!(
                    "QuickBooks session on {} lost: {}",
                    live.file,
                    describe(&e)
                ));
                self.shared
                    .files
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .retain(|id, _| !live.users.contains(id));
                self.end(&live.ticket);
            }
            if UNREACHABLE.contains(&e.hresult) {
                self.shared.set_health(Health::Down(describe(&e)));
            }
            // Not the client's ticket that failed but the connector's.
            let mut b = to_backend(&e);
            b.kind = BackendErrorKind::Failed;
            b
        })
    }

    fn close(&mut self, id: &SessionId) {
        self.shared
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id.0);
        let last = match &mut self.live {
            Some(live) => live.users.remove(&id.0) && live.users.is_empty(),
            None => false,
        };
        if last {
            if let Some(live) = self.live.take() {
                self.end(&live.ticket);
            }
        }
    }

    fn end(&mut self, ticket: &str) {
        if let Err(e) = self.driver.end_session(ticket) {
            self.note(&format!("EndSession: {}", describe(&e)));
        }
        if let Err(e) = self.driver.close_connection() {
            self.note(&format!("CloseConnection: {}", describe(&e)));
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
        check_company_path(&settings.company_file, self.allow_unc)
            .map_err(|e| BackendError::new(BackendErrorKind::Settings, None, e))?;
        Ok(path_key(&settings.company_file))
    }

    fn open(&self, settings: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        self.ask(|reply| Job::Open(settings, reply))
    }

    /// QuickBooks gets the request's UTF-8 text, exactly what was
    /// validated (a Latin-1 body arrives decoded and declared UTF-8).
    fn process(
        &self,
        session: SessionId,
        request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        let xml = request.xml().to_string();
        Box::pin(async move {
            let text = self.ask(|reply| Job::Process(session, xml, reply)).await?;
            Ok(Answer::from_xml(text))
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

    fn once(
        &self,
        settings: OpenSettings,
        request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        let xml = request.xml().to_string();
        Box::pin(async move {
            let text = self.ask(|reply| Job::Once(settings, xml, reply)).await?;
            Ok(Answer::from_xml(text))
        })
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move {
            let busy = *self
                .shared
                .busy_since
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(since) = busy.filter(|t| t.elapsed() >= self.hung_after) {
                return Health::Down(format!(
                    "QuickBooks has not answered for {} s (a dialog waiting in QuickBooks?)",
                    since.elapsed().as_secs()
                ));
            }
            self.shared
                .health
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or(Health::Ok)
        })
    }

    fn open_companies(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .shared
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn observe(&self, report: Report) {
        *self.shared.report.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
    }
}

fn stopped() -> BackendError {
    BackendError::new(
        BackendErrorKind::Failed,
        Some(HResult(0x8004_0401)),
        "the QuickBooks worker thread has stopped",
    )
}

/// The real request processor as a [`Driver`]: `qbwin::com` on the
/// worker's single-threaded apartment.
#[cfg(windows)]
pub mod windows {
    use super::{Driver, DriverError};
    use qbwin::com::{Apartment, ComError, RequestProcessor};
    use std::time::{Duration, Instant};

    /// Fields drop in order: the object before its apartment.
    pub struct Qbxmlrp2 {
        rp: RequestProcessor,
        wait: Duration,
        apartment: Apartment,
    }

    fn de(e: ComError) -> DriverError {
        DriverError {
            hresult: e.hresult,
            message: e.message,
        }
    }

    impl Qbxmlrp2 {
        /// Enter an STA on this thread and create the object registered
        /// as `progid`. `wait` bounds how long close-and-retry waits for
        /// QuickBooks to exit.
        pub fn create(progid: &str, wait: Duration) -> Result<Qbxmlrp2, DriverError> {
            let apartment = Apartment::enter().map_err(de)?;
            let rp = RequestProcessor::create(progid).map_err(|e| {
                let mut d = de(e);
                if d.message.is_empty() {
                    d.message = format!(
                        "cannot create {progid}: the QuickBooks SDK's request processor is not \
                         installed (install QuickBooks Desktop or the QuickBooks SDK)"
                    );
                }
                d
            })?;
            Ok(Qbxmlrp2 {
                rp,
                wait,
                apartment,
            })
        }
    }

    /// QuickBooks' executables (QBW32.EXE up to 2021, QBW.EXE after).
    const QUICKBOOKS: [&str; 2] = ["QBW32.EXE", "QBW.EXE"];

    fn quickbooks_running() -> bool {
        std::process::Command::new("tasklist")
            .args(["/FO", "CSV", "/NH"])
            .output()
            .map(|o| {
                let text = String::from_utf8_lossy(&o.stdout).to_ascii_uppercase();
                QUICKBOOKS
                    .iter()
                    .any(|exe| text.contains(&format!("\"{exe}\"")))
            })
            .unwrap_or(false)
    }

    impl Driver for Qbxmlrp2 {
        fn put_is_read_only(&mut self, v: bool) -> Result<(), DriverError> {
            self.rp.put_is_read_only(v).map_err(de)
        }
        fn put_unattended_mode_pref(&mut self, v: i32) -> Result<(), DriverError> {
            self.rp.put_unattended_mode_pref(v).map_err(de)
        }
        fn put_personal_data_pref(&mut self, v: i32) -> Result<(), DriverError> {
            self.rp.put_personal_data_pref(v).map_err(de)
        }
        fn put_auth_flags(&mut self, f: u32) -> Result<(), DriverError> {
            self.rp.put_auth_flags(f).map_err(de)
        }
        fn open_connection2(&mut self, id: &str, name: &str, ty: i32) -> Result<(), DriverError> {
            self.rp.open_connection2(id, name, ty).map_err(de)
        }
        fn begin_session(&mut self, file: &str, mode: i32) -> Result<String, DriverError> {
            self.rp.begin_session(file, mode).map_err(de)
        }
        fn process_request(&mut self, ticket: &str, rq: &str) -> Result<String, DriverError> {
            self.rp.process_request(ticket, rq).map_err(de)
        }
        fn end_session(&mut self, ticket: &str) -> Result<(), DriverError> {
            self.rp.end_session(ticket).map_err(de)
        }
        fn close_connection(&mut self) -> Result<(), DriverError> {
            self.rp.close_connection().map_err(de)
        }
        fn current_company_file_name(&mut self, ticket: &str) -> Result<String, DriverError> {
            self.rp.current_company_file_name(ticket).map_err(de)
        }
        fn idle(&mut self) {
            self.apartment.pump();
        }
        /// `taskkill /F` QuickBooks, then wait (up to the configured time)
        /// for it to be gone.
        fn end_quickbooks(&mut self) -> bool {
            for exe in QUICKBOOKS {
                let _ = std::process::Command::new("taskkill")
                    .args(["/F", "/IM", exe])
                    .output();
            }
            let until = Instant::now() + self.wait;
            while quickbooks_running() {
                if Instant::now() >= until {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_key_per_file_however_spelt() {
        let k = super::path_key;
        assert_eq!(k("C:\\Books\\Acme.QBW"), "c:\\books\\acme.qbw");
        assert_eq!(k("c:/books//acme.qbw"), "c:\\books\\acme.qbw");
        assert_eq!(k("C:\\\\books\\\\\\acme.qbw"), "c:\\books\\acme.qbw");
        assert_eq!(k("\\\\Server\\share\\\\a.qbw"), "\\\\server\\share\\a.qbw");
        assert_eq!(k("//server/share/a.qbw"), "\\\\server\\share\\a.qbw");
        assert_eq!(k(""), "");
    }
}
