//! The Web Connector bridge (`kind = "qbwc"`): real QuickBooks on another
//! machine, reached through the QuickBooks Web Connector, behind the
//! connector's ordinary synchronous API.
//!
//! The Web Connector (QBWC) runs beside QuickBooks and calls *us*: it
//! asks for work (sendRequestXML), runs it in QuickBooks, and brings the
//! answer back (receiveResponseXML). A client, on the other hand, posts
//! qbXML and waits for the answer in the same HTTP exchange. The bridge
//! joins the two: a client's request becomes a job in its company file's
//! line (`company.rs`); the job's future waits on a channel until the
//! company's Web Connector has taken it and brought the answer — or until
//! the client's wait runs out, the Web Connector is found offline, or its
//! session ends without the answer.
//!
//! The pieces:
//! - `config.rs` — `[backend.qbwc]` and its company files;
//! - `company.rs` — one company file's state and rules, synchronous;
//! - `soap.rs` — the SOAP endpoint, a front door on the connector's
//!   address: each of QBWC's eleven calls as one step on that state;
//! - `store.rs` — jobs, answers and sessions in SQLite.
//!
//! Each company file has its own Web Connector user, so a Web Connector
//! only ever sees its own company file's work; the server's lanes already
//! give one company file one request at a time, and `company.rs` keeps
//! one job in QuickBooks' hands.

pub mod company;
pub mod config;
pub mod soap;
pub mod store;

pub use config::{QbwcCompany, QbwcConfig};

use super::{
    Answer, BackendError, BackendErrorKind, BoxFuture, Health, OpenSettings, Request, SessionId,
};
use crate::auth::{CredentialCache, PasswordHash, Throttle};
use crate::Backend;
use company::{Binding, Job, State};
use qbxml::HResult;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use store::{Store, Write};

/// What a job ends with.
pub type Outcome = Result<Answer, QbwcError>;

/// The connector's codes for the bridge's refusals (docs/PROTOCOL.md §3).
pub mod code {
    pub const OFFLINE: &str = "QBC_QBWC_OFFLINE";
    pub const NOT_TAKEN: &str = "QBC_QBWC_NOT_TAKEN";
    pub const TIMEOUT: &str = "QBC_QBWC_TIMEOUT";
    pub const LOST: &str = "QBC_QBWC_LOST";
    pub const WRONG_FILE: &str = "QBC_QBWC_WRONG_FILE";
    pub const READ_ONLY: &str = "QBC_QBWC_READ_ONLY";
    pub const STOPPED: &str = "QBC_QBWC_STOPPED";
}

/// Why a job got no answer from QuickBooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QbwcError {
    /// The Web Connector has not called for this many seconds.
    Offline(u64),
    /// Not taken within the client's wait; nothing was sent.
    NotTaken(u64),
    /// The client's wait ran out before the request's turn came.
    Expired,
    /// Handed over, no answer within the client's wait; it is kept.
    TimedOut(u64),
    /// Handed over; the Web Connector session ended without the answer.
    Lost(String),
    /// The client's session (and its iterators) ended with its Web
    /// Connector session.
    SessionLost(String),
    /// QuickBooks has another company file open than the one configured.
    WrongFile(String),
    /// QuickBooks' request processor failed: its HRESULT and message.
    QuickBooks(HResult, String),
    /// A write to a company file served read-only.
    ReadOnly(String),
    /// The connector is stopping.
    Stopped,
}

impl std::fmt::Display for QbwcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = BackendError::from(self.clone());
        f.write_str(&e.message)
    }
}

impl From<QbwcError> for BackendError {
    fn from(e: QbwcError) -> BackendError {
        use BackendErrorKind as K;
        match e {
            QbwcError::Offline(s) => BackendError::new(
                K::Unavailable,
                None,
                format!(
                    "QuickBooks is offline: its Web Connector has not called for {s} s \
                     (is the QuickBooks computer on, and the Web Connector running?)"
                ),
            )
            .with_code(code::OFFLINE),
            QbwcError::NotTaken(s) => BackendError::new(
                K::Unavailable,
                None,
                format!(
                    "the Web Connector did not take the request within {s} s; nothing was \
                     sent to QuickBooks"
                ),
            )
            .with_code(code::NOT_TAKEN),
            QbwcError::Expired => BackendError::new(
                K::Unavailable,
                None,
                "the client's wait ran out while the request waited for its company file's \
                 turn; nothing was sent to QuickBooks",
            )
            .with_code(code::NOT_TAKEN),
            QbwcError::TimedOut(s) => BackendError::new(
                K::TimedOut,
                None,
                format!(
                    "QuickBooks has the request but did not answer within {s} s; it may still \
                     be carried out (its answer is kept; use newMessageSetID/oldMessageSetID \
                     to find out)"
                ),
            )
            .with_code(code::TIMEOUT),
            QbwcError::Lost(why) => BackendError::new(
                K::Failed,
                None,
                format!(
                    "the request was handed to QuickBooks, but the Web Connector session \
                     ended without its answer ({why}); it may have been carried out and is \
                     not sent again (use newMessageSetID/oldMessageSetID to find out)"
                ),
            )
            .with_code(code::LOST),
            QbwcError::SessionLost(why) => {
                let mut e = BackendError::invalid_session();
                e.message = format!(
                    "The ticket parameter is invalid: the Web Connector session that served \
                     this session ended ({why})."
                );
                e
            }
            QbwcError::WrongFile(why) => {
                BackendError::new(K::Failed, None, why).with_code(code::WRONG_FILE)
            }
            QbwcError::QuickBooks(h, m) => {
                let kind = if h == HResult::PARSE_ERROR {
                    K::Request
                } else {
                    K::Failed
                };
                BackendError::new(kind, Some(h), m)
            }
            QbwcError::ReadOnly(name) => BackendError::new(
                K::Forbidden,
                None,
                format!("company file `{name}` is served read-only through the Web Connector"),
            )
            .with_code(code::READ_ONLY),
            QbwcError::Stopped => {
                BackendError::new(K::Unavailable, None, "the Web Connector bridge is stopping")
                    .with_code(code::STOPPED)
            }
        }
    }
}

/// One company file: its settings, its state, and the bell a held
/// sendRequestXML listens to.
pub struct Company {
    pub cfg: QbwcCompany,
    pub key: String,
    hash: PasswordHash,
    state: Mutex<State>,
    wake: tokio::sync::Notify,
}

impl Company {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic never happens under this lock (no input can cause one
        // there); a poisoned lock still holds consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The bridge: the company files, the Web Connector sessions by ticket,
/// and the clients' sessions.
pub struct Bridge {
    pub cfg: QbwcConfig,
    companies: Vec<Arc<Company>>,
    /// Web Connector users → their company files (one, unless the user
    /// serves several through their own paths).
    by_user: HashMap<String, Vec<usize>>,
    /// Each company file's own endpoint path → the company.
    paths: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    default: Option<usize>,
    /// Web Connector tickets → company.
    tickets: Mutex<HashMap<String, usize>>,
    /// Client sessions (`Backend::open`) → company.
    clients: Mutex<HashMap<u64, usize>>,
    next_client: AtomicU64,
    next_job: AtomicU64,
    store: Store,
    /// Set when the connector stops: nothing new is queued.
    stopping: std::sync::atomic::AtomicBool,
    cache: CredentialCache,
    throttle: Throttle,
}

impl Bridge {
    /// The bridge for this configuration, with its store opened (or in
    /// memory when `state_path` is `None`).
    pub fn new(
        cfg: QbwcConfig,
        state_path: Option<&std::path::Path>,
        auth: &crate::config::AuthConfig,
    ) -> Result<Bridge, String> {
        let problems = cfg.problems();
        if let Some((k, m)) = problems.first() {
            return Err(format!("backend.qbwc.{k}: {m}"));
        }
        let (store, restored) = match state_path {
            Some(p) => Store::open(p, cfg.keep_days)?,
            None => (Store::memory(), store::Restored::default()),
        };
        let now = Instant::now();
        let mut companies = Vec::new();
        let mut by_user: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_name = HashMap::new();
        let mut paths = HashMap::new();
        for (i, c) in cfg.companies.iter().enumerate() {
            let hash = PasswordHash::parse(&c.password_hash)?;
            by_user.entry(c.user.to_lowercase()).or_default().push(i);
            by_name.insert(c.name.to_lowercase(), i);
            paths.insert(cfg.company_path(&c.name), i);
            companies.push(Arc::new(Company {
                cfg: c.clone(),
                key: c.name.to_lowercase(),
                hash,
                state: Mutex::new(State::new(now)),
                wake: tokio::sync::Notify::new(),
            }));
        }
        let default = if cfg.default_company.is_empty() {
            (companies.len() == 1).then_some(0)
        } else {
            by_name.get(&cfg.default_company.to_lowercase()).copied()
        };
        let bridge = Bridge {
            companies,
            by_user,
            paths,
            by_name,
            default,
            tickets: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            next_client: AtomicU64::new(1),
            next_job: AtomicU64::new(restored.last_id + 1),
            store,
            stopping: std::sync::atomic::AtomicBool::new(false),
            cache: CredentialCache::new(Duration::from_secs(auth.cache_secs)),
            throttle: Throttle::new(auth.max_failures, Duration::from_secs(auth.lockout_secs)),
            cfg,
        };
        bridge.restore(restored);
        Ok(bridge)
    }

    /// What the last process left: Web Connector sessions still open (a
    /// late answer to the job in flight is recorded), last contacts.
    fn restore(&self, r: store::Restored) {
        if r.abandoned > 0 {
            tracing::warn!(
                jobs = r.abandoned,
                "Web Connector jobs queued when the connector stopped were not sent: their \
                 clients' connections ended with it"
            );
        }
        for c in r.contacts {
            if let Some(&i) = self.by_name.get(&c.company) {
                self.companies[i].lock().qb = company::QbInfo {
                    product: c.product,
                    version: c.version,
                    country: c.country,
                    file: c.file,
                };
            }
        }
        for store::OpenSession {
            ticket,
            company: name,
            inflight,
        } in r.sessions
        {
            let Some(&i) = self.by_name.get(&name) else {
                continue;
            };
            let mut st = self.companies[i].lock();
            // Its next call is checked (by path: the HCP response came with
            // the session's first call, before the restart).
            st.session = Some(company::WcSession::new(ticket.clone()));
            if let Some((id, write)) = inflight {
                st.inflight = Some((
                    Job {
                        id,
                        xml: String::new(),
                        write,
                        client: None,
                        reply: None,
                    },
                    ticket.clone(),
                ));
            }
            drop(st);
            self.lock_tickets().insert(ticket, i);
        }
    }

    fn lock_tickets(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        self.tickets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_clients(&self) -> MutexGuard<'_, HashMap<u64, usize>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn company_of(&self, settings: &OpenSettings) -> Result<usize, BackendError> {
        let name = settings.company_file.trim();
        let found = if name.is_empty() {
            self.default
        } else {
            self.by_name.get(&name.to_lowercase()).copied()
        };
        found.ok_or_else(|| {
            BackendError::new(
                BackendErrorKind::Settings,
                Some(HResult(0x8004_0408)),
                if name.is_empty() {
                    "no company file named, and the Web Connector bridge has no default one \
                     (backend.qbwc.default_company)"
                        .to_string()
                } else {
                    format!("no company file `{name}` is served through the Web Connector")
                },
            )
        })
    }

    /// Put a job in its company file's line and wait for its outcome,
    /// until `deadline` at most.
    async fn submit(
        &self,
        index: usize,
        request: Request,
        client: Option<u64>,
        deadline: Instant,
    ) -> Outcome {
        let c = &self.companies[index];
        let write = request.access() != qbxml::Access::Read;
        // The bridge's own bound on a client's wait (`wait_secs`).
        let deadline = deadline.min(Instant::now() + self.cfg.wait());
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let id = self.next_job.fetch_add(1, Ordering::Relaxed);
        let waited = {
            let now = Instant::now();
            let mut st = c.lock();
            if let Some(cid) = client {
                if st.clients.get(&cid).is_none_or(|b| *b == Binding::Dead) {
                    return Err(QbwcError::SessionLost("closed".into()));
                }
            }
            if self.stopping.load(Ordering::SeqCst) {
                return Err(QbwcError::Stopped);
            }
            st.last_client = Some(now);
            if st.offline(now, self.offline_after()) {
                st.counts.offline += 1;
                return Err(QbwcError::Offline(
                    now.duration_since(st.last_contact).as_secs(),
                ));
            }
            if write && c.cfg.read_only {
                return Err(QbwcError::ReadOnly(c.cfg.name.clone()));
            }
            // The session open now serves another company file.
            if let Some(why) = st.session.as_ref().and_then(|s| s.refused.clone()) {
                return Err(QbwcError::WrongFile(why));
            }
            // The client gave up while the request waited for its turn: it
            // must not reach QuickBooks now.
            if deadline <= now {
                st.counts.not_taken += 1;
                return Err(QbwcError::Expired);
            }
            let xml = request.xml().to_string();
            self.store.send(Write::Queued {
                id,
                company: c.key.clone(),
                write,
                request: xml.clone(),
            });
            st.queue.push_back(Job {
                id,
                xml,
                write,
                client,
                reply: Some(tx),
            });
            deadline.saturating_duration_since(now).as_secs()
        };
        c.wake.notify_waiters();
        let sleep = tokio::time::sleep_until(deadline.into());
        tokio::select! {
            r = &mut rx => r.unwrap_or(Err(QbwcError::Stopped)),
            () = sleep => {
                let mut st = c.lock();
                // The answer may have come as the wait ran out.
                if let Ok(r) = rx.try_recv() {
                    return r;
                }
                if let Some(at) = st.queue.iter().position(|j| j.id == id) {
                    st.queue.remove(at);
                    st.counts.not_taken += 1;
                    self.store.send(Write::Done {
                        id,
                        state: "withdrawn",
                        answer: None,
                        error: Some("not taken in time".into()),
                    });
                    return Err(QbwcError::NotTaken(waited));
                }
                // Handed over: its answer, when it comes, is recorded.
                if let Some((job, _)) = st.inflight.as_mut() {
                    if job.id == id {
                        job.reply = None;
                    }
                }
                st.counts.timeouts += 1;
                Err(QbwcError::TimedOut(waited))
            }
        }
    }

    fn offline_after(&self) -> Duration {
        Duration::from_secs(self.cfg.offline_after_secs)
    }

    fn keep_alive(&self) -> Duration {
        Duration::from_secs(self.cfg.keep_alive_secs)
    }

    /// `/metrics` lines per company file.
    pub fn metrics(&self) -> String {
        let now = Instant::now();
        let mut out = String::new();
        let lines: [(&str, &str, &str); 9] = [
            ("qbconnector_qbwc_queue_length", "gauge", "Jobs waiting for the Web Connector."),
            ("qbconnector_qbwc_in_flight", "gauge", "Jobs in QuickBooks' hands (0 or 1)."),
            ("qbconnector_qbwc_last_contact_seconds", "gauge", "Seconds since the Web Connector's last call (-1: none since the connector started)."),
            ("qbconnector_qbwc_session_open", "gauge", "Whether a Web Connector session is open."),
            ("qbconnector_qbwc_jobs_answered_total", "counter", "Jobs QuickBooks answered."),
            ("qbconnector_qbwc_jobs_lost_total", "counter", "Jobs handed over whose answer never came back."),
            ("qbconnector_qbwc_timeouts_total", "counter", "Client waits that ran out (504 after handover, 503 before)."),
            ("qbconnector_qbwc_offline_total", "counter", "Requests refused because the Web Connector was offline."),
            ("qbconnector_qbwc_wrong_file_total", "counter", "Sessions refused: another company file was open."),
        ];
        let mut values: Vec<Vec<(String, String)>> = vec![Vec::new(); lines.len()];
        let mut info = Vec::new();
        for c in &self.companies {
            let st = c.lock();
            let label = format!("company=\"{}\"", crate::metrics::label(&c.cfg.name));
            let contact = if st.ever_contacted {
                now.duration_since(st.last_contact).as_secs() as i64
            } else {
                -1
            };
            let v = [
                st.queue.len() as i64,
                st.inflight.is_some() as i64,
                contact,
                st.session.is_some() as i64,
                st.counts.answered as i64,
                st.counts.lost as i64,
                (st.counts.timeouts + st.counts.not_taken) as i64,
                st.counts.offline as i64,
                st.counts.wrong_file as i64,
            ];
            for (i, x) in v.iter().enumerate() {
                values[i].push((label.clone(), x.to_string()));
            }
            info.push(format!(
                "qbconnector_qbwc_quickbooks_info{{{label},product=\"{}\",version=\"{}\",country=\"{}\"}} 1\n",
                crate::metrics::label(&st.qb.product),
                crate::metrics::label(&st.qb.version),
                crate::metrics::label(&st.qb.country)
            ));
        }
        for (i, (name, kind, help)) in lines.iter().enumerate() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (label, v) in &values[i] {
                let _ = writeln!(out, "{name}{{{label}}} {v}");
            }
        }
        out.push_str(
            "# HELP qbconnector_qbwc_quickbooks_info What QuickBooks said about itself at the last session.\n\
             # TYPE qbconnector_qbwc_quickbooks_info gauge\n",
        );
        for l in info {
            out.push_str(&l);
        }
        out
    }
}

/// The backend: a client's request becomes a job.
pub struct QbwcBackend {
    bridge: Arc<Bridge>,
}

impl QbwcBackend {
    pub fn new(bridge: Bridge) -> QbwcBackend {
        QbwcBackend {
            bridge: Arc::new(bridge),
        }
    }

    fn default_deadline(&self) -> Instant {
        Instant::now() + self.bridge.cfg.wait()
    }
}

impl Backend for QbwcBackend {
    fn name(&self) -> &'static str {
        "qbwc"
    }

    fn company_key(&self, settings: &OpenSettings) -> Result<String, BackendError> {
        let i = self.bridge.company_of(settings)?;
        Ok(self.bridge.companies[i].key.clone())
    }

    fn open(&self, settings: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        Box::pin(async move {
            let i = self.bridge.company_of(&settings)?;
            let id = self.bridge.next_client.fetch_add(1, Ordering::Relaxed);
            {
                let mut st = self.bridge.companies[i].lock();
                st.clients.insert(id, Binding::Unbound);
                st.last_client = Some(Instant::now());
            }
            self.bridge.lock_clients().insert(id, i);
            Ok(SessionId(id))
        })
    }

    fn process(
        &self,
        session: SessionId,
        request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        let deadline = self.default_deadline();
        self.process_by(session, request, deadline)
    }

    fn process_by(
        &self,
        session: SessionId,
        request: Request,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        Box::pin(async move {
            let i = self
                .bridge
                .lock_clients()
                .get(&session.0)
                .copied()
                .ok_or_else(BackendError::invalid_session)?;
            self.bridge
                .submit(i, request, Some(session.0), deadline)
                .await
                .map_err(BackendError::from)
        })
    }

    fn close(&self, session: SessionId) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(i) = self.bridge.lock_clients().remove(&session.0) {
                let mut st = self.bridge.companies[i].lock();
                st.clients.remove(&session.0);
                st.last_client = Some(Instant::now());
            }
        })
    }

    fn once(
        &self,
        settings: OpenSettings,
        request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        let deadline = self.default_deadline();
        self.once_by(settings, request, deadline)
    }

    fn once_by(
        &self,
        settings: OpenSettings,
        request: Request,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        Box::pin(async move {
            let i = self.bridge.company_of(&settings)?;
            self.bridge
                .submit(i, request, None, deadline)
                .await
                .map_err(BackendError::from)
        })
    }

    fn keeps_deadlines(&self) -> bool {
        true
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move { Health::Ok })
    }

    fn open_companies(&self) -> Vec<String> {
        self.bridge
            .companies
            .iter()
            .filter(|c| c.lock().session.is_some())
            .map(|c| c.cfg.name.clone())
            .collect()
    }

    fn metrics(&self) -> String {
        self.bridge.metrics()
    }

    fn front_doors(&self) -> Vec<Arc<dyn crate::http::FrontDoor>> {
        vec![Arc::new(soap::Soap::new(self.bridge.clone()))]
    }

    fn stop(&self) {
        self.bridge.stop();
    }
}

impl Bridge {
    /// The connector stops: jobs still waiting are told so, and every
    /// record is written.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for c in &self.companies {
            let mut st = c.lock();
            while let Some(mut job) = st.queue.pop_front() {
                self.store.send(Write::Done {
                    id: job.id,
                    state: "withdrawn",
                    answer: None,
                    error: Some("the connector stopped".into()),
                });
                if let Some(r) = job.reply.take() {
                    let _ = r.send(Err(QbwcError::Stopped));
                }
            }
            // The job in QuickBooks' hands keeps its place: its answer,
            // if it comes after a restart, is recorded.
            if let Some((job, _)) = st.inflight.as_mut() {
                if let Some(r) = job.reply.take() {
                    let _ = r.send(Err(QbwcError::Lost(
                        "the connector stopped before the answer came".into(),
                    )));
                }
            }
        }
        self.store.flush();
    }

    /// Whether this address or user name is locked out (the same lockout
    /// rule as connector users, counted separately).
    fn locked(&self, ip: IpAddr, user: &str) -> bool {
        self.throttle.check(ip, user).is_some()
    }
}
