//! Backends: where requests go after the server has checked them.
//!
//! One trait for all of them. The server calls [`Backend::company_key`] to
//! learn which company file a request goes to (it serializes per key),
//! then [`Backend::open`] / [`Backend::process`] / [`Backend::close`], the
//! request processor's OpenConnection+BeginSession, ProcessRequest and
//! EndSession+CloseConnection. Methods return boxed futures so that a
//! backend can be a trait object and can do its work on its own threads:
//! the simulator on the blocking pool, COM on one single-threaded-apartment
//! thread, the Web Connector bridge by waiting until a remote poller has
//! taken the request and brought back the answer. The server never drops a
//! `process` future before it completes (a timed-out request keeps the
//! company file's turn until the backend is really done), so a backend
//! need not be cancellation-safe.

pub mod com;
pub mod memory;
pub mod names;
pub mod qbwc;
#[cfg(feature = "simulator")]
pub mod simulator;

use crate::connstr::ConnectionMode;
use qbxml::HResult;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a backend reports what happens on its own (the server's Status
/// event): retries, sessions it could not end.
pub type Report = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// A request message set, parsed and validated once by the server (the
/// schema, the read-only rule): the value that travels to the backend.
/// `xml()` is its text as UTF-8, re-declared as UTF-8 when it came in
/// another encoding — what goes to QuickBooks.
pub type Request = Arc<qbxml::RequestSet>;

/// A backend's answer: QuickBooks' response, unchanged, and what the
/// server needs to know of it without looking inside (each request's
/// status, for the audit and the events).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// QuickBooks' answer as qbXML; or, when `json` is true, its JSON form
    /// (docs/PROTOCOL.md §14), which a backend that builds its answers may
    /// write for a set read from JSON
    /// ([`qbxml::RequestSet::answers_in_json`]) instead of having the
    /// connector read its qbXML back.
    pub xml: String,
    pub outcome: qbxml::Outcome,
    pub json: bool,
}

impl Answer {
    /// An answer from its text: the outcome is read from it (a backend
    /// that does not build responses itself: QuickBooks, a fixed text).
    ///
    /// The text goes to the client as it is even when no outcome can be
    /// read from it (the audit line then has no statuses, and the log
    /// says why): the client is the one to judge QuickBooks' answer.
    pub fn from_xml(xml: String) -> Answer {
        let outcome = qbxml::Outcome::of(&xml).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the backend's answer has no readable statuses");
            qbxml::Outcome::default()
        });
        Answer {
            xml,
            outcome,
            json: false,
        }
    }
}

/// The settings a session is opened with, after the server has merged the
/// user's and the client's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenSettings {
    /// The company file as named (empty: the one QuickBooks has open).
    pub company_file: String,
    pub application_name: String,
    pub app_id: String,
    pub mode: ConnectionMode,
    /// AuthPreferences.PutIsReadOnly: the server already refuses writes
    /// for a read-only user; a backend that can also tell QuickBooks does.
    pub read_only: bool,
    pub auth_flags: Option<u32>,
    /// Who opens it (the user's name, lower-cased): what a backend may
    /// bound per user.
    pub user: String,
    /// The session the connector keeps for everyone (`connected_to_qb`):
    /// a backend that has one QuickBooks session for all (COM) lets
    /// read-only sessions share it, the connector's read-only rule
    /// keeping them read-only.
    pub shared: bool,
}

/// What a backup copied: each company file by name with its size in
/// bytes, and the files it left out with the reason.
#[derive(Clone, Debug, Default)]
pub struct Copied {
    pub files: Vec<(String, u64)>,
    pub skipped: Vec<(String, String)>,
}

/// One file of a backup: copied (its size in bytes), or left out because
/// it is not a company file (why).
#[derive(Clone, Debug)]
pub enum BackupFile {
    Copied(u64),
    NotACompany(String),
}

/// An open backend session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(pub u64);

/// Why a backend did not answer with a qbXML response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError {
    pub kind: BackendErrorKind,
    /// The request processor's HRESULT, when there is one.
    pub hresult: Option<HResult>,
    pub message: String,
    /// The connector's own code for it (`X-QB-Error-Code`), when the
    /// backend has a more precise one than its kind (the Web Connector
    /// bridge's `QBC_QBWC_…`).
    pub code: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// The request was refused as a whole (e.g. 0x80040400, or a session
    /// that is no longer open): the client's fault, answered 400.
    Request,
    /// The connection settings cannot be used (bad company file name,
    /// file missing): 400.
    Settings,
    /// QuickBooks (or the bridge) failed or is unreachable: 502.
    Failed,
    /// The backend is at a limit that frees up by itself (every company
    /// file slot in use, or this user's share of them): 503, and nothing
    /// was done.
    Busy,
    /// QuickBooks cannot be reached now (the Web Connector is offline, or
    /// did not take the request in time): 503, nothing was done.
    Unavailable,
    /// QuickBooks has the request but did not answer within the client's
    /// wait: 504; it may still be carried out.
    TimedOut,
    /// Not allowed through this backend (a write to a read-only company
    /// file): 403.
    Forbidden,
}

impl BackendError {
    pub fn new(
        kind: BackendErrorKind,
        hresult: Option<HResult>,
        message: impl Into<String>,
    ) -> Self {
        BackendError {
            kind,
            hresult,
            message: message.into(),
            code: None,
        }
    }

    /// With the connector's own code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
}

impl BackendError {
    /// A session that is not (or no longer) open: the request processor's
    /// 0x8004040D.
    pub fn invalid_session() -> Self {
        BackendError::new(
            BackendErrorKind::Request,
            Some(HResult(0x8004_040D)),
            "The ticket parameter is invalid.",
        )
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.hresult {
            Some(h) => write!(f, "{h}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Is the backend able to serve?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    Down(String),
}

pub trait Backend: Send + Sync + 'static {
    /// `simulator`, `memory`, `com`, `qbwc`.
    fn name(&self) -> &'static str;

    /// The key that identifies the company file these settings open; also
    /// where a bad company file name is refused (it must never escape the
    /// backend's data). Requests with the same key run one at a time.
    fn company_key(&self, settings: &OpenSettings) -> Result<String, BackendError>;

    fn open(&self, settings: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>>;

    /// Send one request message set; the answer is QuickBooks' response,
    /// unchanged, with its outcome.
    fn process(
        &self,
        session: SessionId,
        request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>>;

    fn close(&self, session: SessionId) -> BoxFuture<'_, ()>;

    /// Open, process, close: a request without a persistent session. A
    /// backend whose calls cross threads (COM) does it in one hand-off.
    fn once(
        &self,
        settings: OpenSettings,
        request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        Box::pin(async move {
            let session = self.open(settings).await?;
            let out = self.process(session.clone(), request).await;
            self.close(session).await;
            out
        })
    }

    /// `process`, by `deadline`: a backend that waits for someone else
    /// (the Web Connector bridge) gives up on its own at the client's
    /// deadline, and says whether QuickBooks had the request by then.
    /// Others ignore it; the server's wait bounds them.
    fn process_by(
        &self,
        session: SessionId,
        request: Request,
        _deadline: std::time::Instant,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        self.process(session, request)
    }

    /// `once`, by `deadline` (see `process_by`).
    fn once_by(
        &self,
        settings: OpenSettings,
        request: Request,
        _deadline: std::time::Instant,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        self.once(settings, request)
    }

    /// Whether `process_by`/`once_by` answer by their deadline themselves:
    /// the server then waits a little longer than the deadline, so that the
    /// backend's own answer (more precise than a 504) reaches the client.
    fn keeps_deadlines(&self) -> bool {
        false
    }

    fn health(&self) -> BoxFuture<'_, Health>;

    /// Lines of its own for `/metrics` (Prometheus text, with HELP and
    /// TYPE).
    fn metrics(&self) -> String {
        String::new()
    }

    /// The connector stops: settle what waits, write what is kept.
    fn stop(&self) {}

    /// The company files open now (for `/metrics`): what QuickBooks
    /// reports for the open sessions.
    fn open_companies(&self) -> Vec<String> {
        Vec::new()
    }

    /// Give the backend a place to report to; the server calls it once it
    /// is listening.
    fn observe(&self, _report: Report) {}

    /// The company files the backend keeps, by their keys (as
    /// [`Backend::company_key`] gives them: the lane each is copied in),
    /// for a backup (`crate::backup`); an error when they cannot all be
    /// listed. A backend whose company files QuickBooks keeps has none of
    /// its own and says so.
    fn backup_files(&self) -> BoxFuture<'_, Result<Vec<String>, String>> {
        let name = self.name();
        Box::pin(async move {
            Err(format!(
                "the {name} backend keeps no company files of its own: back up QuickBooks' \
                 (File > Back Up Company on the QuickBooks computer)"
            ))
        })
    }

    /// Copy one company file (a key from [`Backend::backup_files`]) into
    /// the folder `dir`, consistent — every request answered before it,
    /// none half done — while the backend goes on serving. The server
    /// runs it in the file's lane, so no request to it waits on the copy
    /// anywhere but in its queue.
    fn backup_file<'a>(
        &'a self,
        key: &'a str,
        _dir: &'a std::path::Path,
    ) -> BoxFuture<'a, Result<BackupFile, String>> {
        Box::pin(async move { Err(format!("{key}: this backend copies no company files")) })
    }

    /// Protocols of its own the backend speaks on the connector's address
    /// (the Web Connector bridge's SOAP endpoint): they join the router
    /// after the connector's own paths.
    fn front_doors(&self) -> Vec<Arc<dyn crate::http::FrontDoor>> {
        Vec::new()
    }
}
