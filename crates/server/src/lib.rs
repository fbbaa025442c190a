//! The QBConnector server: an HTTP(S) front for QuickBooks Desktop.
//!
//! Clients `POST` a qbXML request with HTTP Basic credentials; the server
//! checks the client address, the credentials, the size and the qbXML
//! itself (against Intuit's schema), refuses writes from read-only users,
//! waits for the company file's turn and relays the request to a
//! [`Backend`] — the embedded simulator, an in-memory stand-in, and later
//! QuickBooks through COM or the Web Connector — returning QuickBooks'
//! answer byte for byte. `docs/PROTOCOL.md` is the wire contract.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let connector = qbc_server::Connector::new(qbc_server::Config::default())?;
//! connector.add_user("ann", "secret", "CompanyFile='acme.qbw'", false)?;
//! connector.config("ReadOnly[0]=true")?;
//! let running = connector.listen().await?;
//! println!("listening on {}", running.local_addr());
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layers: `server` (connections, TLS, HTTP/1.1, shutdown) → `handler`
//! (routes, auth, checks, relay) → `queue` (one request per company file)
//! → `backend`. `auth`, `config`, `connstr`, `tls`, `events`, `metrics`
//! are the pieces they use. The server knows nothing of accounting: it
//! reads only the request types (for the read-only guard and the audit).

pub mod auth;
pub mod backend;
pub mod backup;
pub mod config;
pub mod connstr;
pub mod control;
pub mod days;
mod deadline;
pub mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod live;
mod metrics;
pub mod persistent;
mod queue;
mod server;
pub mod settings;
mod state;
pub mod tls;

pub use backend::{
    Backend, BackendError, BackendErrorKind, BackupFile, Copied, Health, OpenSettings, SessionId,
};
pub use config::{AuthMode, BackendKind, BackupConfig, Config, ConfigError, Problem, UserConfig};
pub use connstr::{ConnectionMode, ConnectionString};
pub use events::{Events, NoEvents, TracingEvents};
pub use http::{code, FrontDoor, Route, CONNECTION_HEADER, ERROR_HEADER, TICKET_HEADER};

pub use control::{Control, UserInfo};
use state::State;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A configured, not yet listening connector (the seed's QBConnector
/// before `listening = True`). Users and settings live in its [`Control`],
/// which the [`Running`] connector shares: they can be changed before,
/// while and after listening, and survive `listening` going off and on.
pub struct Connector {
    control: Arc<Control>,
    /// Given with [`Connector::with_backend`]; else one is made from the
    /// configuration each time listening starts (so that the backend's
    /// settings changed while not listening apply).
    backend: Option<Arc<dyn Backend>>,
    events: Arc<dyn Events>,
}

impl Connector {
    /// Refuses a configuration with problems (all of them, named).
    pub fn new(config: Config) -> Result<Connector, ConfigError> {
        Ok(Connector {
            control: Arc::new(Control::new(config)?),
            backend: None,
            events: Arc::new(NoEvents),
        })
    }

    /// Use this backend instead of the one the configuration names.
    pub fn with_backend(mut self, backend: Arc<dyn Backend>) -> Connector {
        self.backend = Some(backend);
        self
    }

    pub fn with_events(mut self, events: Arc<dyn Events>) -> Connector {
        self.events = events;
        self
    }

    /// Users and settings: the same before and while listening.
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// The configuration now (a copy).
    pub fn configuration(&self) -> Config {
        self.control.configuration()
    }

    /// Change the configuration ([`Control::change`]).
    pub fn change<R>(&self, f: impl FnOnce(&mut Config) -> Result<R, String>) -> Result<R, String> {
        self.control.change(f)
    }

    /// The seed's AddUser ([`Control::add_user`]).
    pub fn add_user(
        &self,
        name: &str,
        password: &str,
        connection: &str,
        read_only: bool,
    ) -> Result<usize, String> {
        self.control.add_user(name, password, connection, read_only)
    }

    /// The seed's Config method ([`Control::config`]).
    pub fn config(&self, setting: &str) -> Result<String, String> {
        self.control.config(setting)
    }

    /// The seed's Reset: back to the defaults, no users.
    pub fn reset(&mut self) {
        let _ = self.control.reset();
        self.backend = None;
    }

    /// Bind and serve (the seed's `listening = True`). When it cannot, the
    /// error gives the connector back, users and settings intact.
    pub async fn listen(self) -> Result<Running, ListenError> {
        match self.start().await {
            Ok(running) => Ok(running),
            Err(message) => Err(ListenError {
                message,
                connector: self,
            }),
        }
    }

    async fn start(&self) -> Result<Running, String> {
        let control = self.control.clone();
        let backend = self.backend.clone();
        let events = self.events.clone();
        let config = control.configuration();
        let problems = config.check();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems).to_string());
        }
        let tls = match &config.tls {
            Some(t) => {
                Some(tls::server_config(t).map_err(|e| format!("tls.{}: {}", e.key, e.message))?)
            }
            None => None,
        };
        let given = backend;
        let backend = match &given {
            Some(b) => b.clone(),
            None => backend_from_config(&config)?,
        };
        let addr = config.listen_addr()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let metrics_listener = match &config.metrics.listen {
            Some(m) => {
                let addr: SocketAddr = m.parse().map_err(|_| format!("metrics.listen: `{m}`"))?;
                let l = TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?;
                let at = l.local_addr().map_err(|e| e.to_string())?;
                Some((l, at))
            }
            None => None,
        };
        control.attach(backend.clone(), &config)?;
        let state = match State::new(&config, control.clone(), backend, events.clone(), tls) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                control.detach();
                return Err(e);
            }
        };
        // What the backend does on its own (retries, sessions it could not
        // end) reaches the Status event; weakly, so that the state can go.
        let weak = Arc::downgrade(&state);
        state.backend.observe(Arc::new(move |m: &str| {
            if let Some(s) = weak.upgrade() {
                s.status(0, m);
            }
        }));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(server::serve(
            state.clone(),
            listener,
            stop_rx.clone(),
            false,
        ))];
        let mut metrics_addr = None;
        if let Some((l, at)) = metrics_listener {
            metrics_addr = Some(at);
            tasks.push(tokio::spawn(server::serve(
                state.clone(),
                l,
                stop_rx.clone(),
                true,
            )));
        }
        tasks.push(tokio::spawn(reap(state.clone(), stop_rx.clone())));
        if !config.backup.dir.as_os_str().is_empty() {
            // The last backup made before this start (by its folder's
            // name): the metric says it, and the schedule goes on from it.
            let dir = config.backup.dir.clone();
            let newest = tokio::task::spawn_blocking(move || backup::newest(&dir))
                .await
                .ok()
                .flatten();
            if let Some(t) = newest {
                state
                    .metrics
                    .backup_last_success
                    .store(t, Ordering::Relaxed);
            }
            if config.backup.every_hours > 0 {
                tasks.push(tokio::spawn(scheduled_backups(
                    state.clone(),
                    config.backup.clone(),
                    newest,
                    stop_rx.clone(),
                )));
            }
        }
        let changes = control.subscribe();
        let first = changes.borrow().clone();
        tasks.push(tokio::spawn(follow(state.clone(), first, changes, stop_rx)));
        state.status(0, &format!("listening on {local}"));
        Ok(Running {
            local,
            metrics_addr,
            stop: stop_tx,
            tasks,
            state,
            given,
            events,
        })
    }
}

/// Why listening did not start, and the connector back.
pub struct ListenError {
    pub message: String,
    pub connector: Connector,
}

impl std::fmt::Debug for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::fmt::Display for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ListenError {}

impl From<ListenError> for String {
    fn from(e: ListenError) -> String {
        e.message
    }
}

/// `[backup]`: a backup every `every_hours`, until stopped.
async fn scheduled_backups(
    state: Arc<State>,
    config: BackupConfig,
    newest: Option<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(config.every_hours.saturating_mul(3600));
    // The first one is due `every` after the newest backup there is (a
    // connector restarted more often than that still makes them), but
    // not in the first minute, which is the start's; with none yet,
    // `every` after the start.
    let mut wait = match newest {
        Some(t) => {
            let due = t.saturating_add(every.as_secs());
            Duration::from_secs(due.saturating_sub(days::now_secs()).max(60))
        }
        None => every,
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let _ = backup_now(&state, &config.dir, config.keep).await;
        wait = every;
    }
}

/// Make a backup, and say how it went: the Status event and the metrics,
/// or the Error event (`QBC_BACKUP`).
async fn backup_now(
    state: &State,
    dir: &std::path::Path,
    keep: usize,
) -> Result<backup::Made, String> {
    match backup::make_in(&state.backend, Some(&state.lanes), dir, keep).await {
        Ok(made) => {
            state
                .metrics
                .backup_last_success
                .store(days::now_secs(), Ordering::Relaxed);
            state.status(0, &made.summary());
            Ok(made)
        }
        Err(e) => {
            state
                .metrics
                .backup_failures
                .fetch_add(1, Ordering::Relaxed);
            let message = format!("backup failed: {e}");
            state.error(0, "QBC_BACKUP", &message);
            Err(message)
        }
    }
}

/// Expire idle sessions, until stopped.
async fn reap(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        let every = (state.live().session_idle / 10)
            .clamp(Duration::from_millis(100), Duration::from_secs(30));
        let stopped = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if stopped {
            break;
        }
        // Idle sessions, and (should one have been opened while its user
        // changed) sessions of users that changed.
        let sweep = async {
            state.expire_sessions().await;
            state.end_stale_sessions().await;
        };
        let stopped = tokio::select! {
            _ = sweep => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        if stopped {
            break;
        }
    }
}

/// Follow changes while listening: sessions of changed or removed users
/// end, a kept QuickBooks session that a change replaced is closed in its
/// company file's turn.
async fn follow(
    state: Arc<State>,
    first: Arc<live::Live>,
    mut changes: watch::Receiver<Arc<live::Live>>,
    mut stop: watch::Receiver<bool>,
) {
    // The view when listening started, taken then (not when this task
    // first runs): changes made in between are reported too.
    let mut last = first;
    loop {
        let stopped = tokio::select! {
            r = changes.changed() => r.is_err(),
            _ = stop.wait_for(|s| *s) => true,
        };
        if stopped {
            break;
        }
        let now = changes.borrow_and_update().clone();
        let what = live::describe(&last.config, &now.config);
        last = now;
        if !what.is_empty() {
            state.status(0, &format!("settings changed: {}", what.join(", ")));
        }
        // Each closing waits for its company file's turn (up to the
        // backend timeout): on tasks of their own, so that the next change
        // is followed at once.
        for p in state.control.take_retired() {
            let state = state.clone();
            tokio::spawn(async move { close_kept(&state, p).await });
        }
        let stale = state.clone();
        tokio::spawn(async move { stale.end_stale_sessions().await });
    }
}

/// Close a kept session in its file's turn, within the backend timeout.
async fn close_kept(state: &State, p: Arc<persistent::Persistent>) {
    let backend = state.backend.clone();
    let key = p.key().to_string();
    let limit = state.live().backend_timeout;
    let close = state
        .lanes
        .run_anyway(&key, async move { p.close(&backend).await });
    let _ = tokio::time::timeout(limit, close).await;
}

/// The backend the configuration names.
pub fn backend_from_config(config: &Config) -> Result<Arc<dyn Backend>, String> {
    Ok(match config.backend.kind {
        BackendKind::Memory => Arc::new(backend::memory::MemoryBackend::default()),
        BackendKind::Com => com_backend(config)?,
        BackendKind::Simulator => simulator_backend(config)?,
        BackendKind::Qbwc => qbwc_backend(config)?,
    })
}

/// The Web Connector bridge; its jobs in `backend.qbwc.state_file`
/// (inside `backend.data_dir`).
fn qbwc_backend(config: &Config) -> Result<Arc<dyn Backend>, String> {
    let q = &config.backend.qbwc;
    let path = if q.state_file.is_empty() {
        None
    } else {
        std::fs::create_dir_all(&config.backend.data_dir).map_err(|e| {
            format!(
                "backend.data_dir: cannot create {}: {e}",
                config.backend.data_dir.display()
            )
        })?;
        Some(config.backend.data_dir.join(&q.state_file))
    };
    let bridge = backend::qbwc::Bridge::new(q.clone(), path.as_deref(), &config.auth)?;
    Ok(Arc::new(backend::qbwc::QbwcBackend::new(bridge)))
}

/// The embedded simulator, its company files in `data_dir`.
#[cfg(feature = "simulator")]
fn simulator_backend(config: &Config) -> Result<Arc<dyn Backend>, String> {
    std::fs::create_dir_all(&config.backend.data_dir).map_err(|e| {
        format!(
            "backend.data_dir: cannot create {}: {e}",
            config.backend.data_dir.display()
        )
    })?;
    Ok(Arc::new(
        backend::simulator::SimulatorBackend::new(
            &config.backend.data_dir,
            &config.backend.default_company,
            config.backend.create_missing,
        )
        .max_open(
            config.backend.max_open_companies,
            config.backend.max_open_per_user,
        )
        .max_company_files(config.backend.max_company_files)
        .max_response_bytes(config.backend.max_response_bytes),
    ))
}

#[cfg(not(feature = "simulator"))]
fn simulator_backend(_config: &Config) -> Result<Arc<dyn Backend>, String> {
    Err(
        "backend.kind: this build has no simulator (the qbc-server crate's `simulator` feature)"
            .into(),
    )
}

/// QuickBooks through QBXMLRP2: the request processor is created on the
/// backend's own STA thread.
#[cfg(windows)]
fn com_backend(config: &Config) -> Result<Arc<dyn Backend>, String> {
    let com = &config.backend.com;
    let settings = com.settings().map_err(|e| format!("backend.com: {e}"))?;
    let progid = com.progid.clone();
    let wait = Duration::from_secs(com.close_and_retry_timeout_secs);
    Ok(Arc::new(backend::com::ComBackend::spawn(
        move || backend::com::windows::Qbxmlrp2::create(&progid, wait),
        settings,
    )?))
}

#[cfg(not(windows))]
fn com_backend(_config: &Config) -> Result<Arc<dyn Backend>, String> {
    Err(config::COM_NEEDS_WINDOWS.into())
}

/// A listening connector.
pub struct Running {
    local: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    state: Arc<State>,
    /// The backend the connector was given (kept for listening again).
    given: Option<Arc<dyn Backend>>,
    events: Arc<dyn Events>,
}

impl Running {
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn local_host(&self) -> String {
        self.local.ip().to_string()
    }

    pub fn local_port(&self) -> u16 {
        self.local.port()
    }

    /// Back up every company file now, into `[backup]`'s `dir` (SIGUSR1
    /// does this for `qbconnector serve`), while requests go on; see
    /// [`backup`]. The outcome also reaches the Status or Error event and
    /// the metrics, as a scheduled backup's does.
    pub async fn backup(&self) -> Result<backup::Made, String> {
        let config = self.state.live().config.backup.clone();
        if config.dir.as_os_str().is_empty() {
            let message = "no backup made: no backup folder (set `dir` in [backup])";
            self.state.error(0, "QBC_BACKUP", message);
            return Err(message.into());
        }
        backup_now(&self.state, &config.dir, config.keep).await
    }

    /// The separate metrics address, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn listening(&self) -> bool {
        !*self.stop.borrow()
    }

    /// Users and settings, changed while listening ([`Control`]).
    pub fn control(&self) -> &Arc<Control> {
        &self.state.control
    }

    /// The seed's AddUser, while listening ([`Control::add_user`]).
    pub fn add_user(
        &self,
        name: &str,
        password: &str,
        connection: &str,
        read_only: bool,
    ) -> Result<usize, String> {
        self.state
            .control
            .add_user(name, password, connection, read_only)
    }

    /// The seed's Config method, while listening ([`Control::config`]).
    pub fn config(&self, setting: &str) -> Result<String, String> {
        self.state.control.config(setting)
    }

    /// Persistent sessions open now.
    pub fn open_sessions(&self) -> usize {
        self.state.lock_sessions().len()
    }

    /// `listening = False`: stop accepting, let in-flight requests finish,
    /// close sessions; the connector that comes back has the same users
    /// and settings (and listens again with [`Connector::listen`]).
    pub async fn stop(self) -> Connector {
        let control = self.state.control.clone();
        let (given, events) = (self.given.clone(), self.events.clone());
        self.shutdown().await;
        Connector {
            control,
            backend: given,
            events,
        }
    }

    /// Stop accepting, let in-flight requests finish, close sessions.
    pub async fn shutdown(self) {
        self.state.shutting_down.store(true, Ordering::SeqCst);
        self.state.status(0, "shutting down");
        let _ = self.stop.send(true);
        // Requests waiting for someone else (the Web Connector) are told
        // now rather than at their deadline.
        self.state.backend.stop();
        for t in self.tasks {
            let _ = t.await;
        }
        // Sessions end in their company file's turn, each bounded by the
        // backend timeout (a hung QuickBooks must not hang the shutdown).
        let sessions: Vec<_> = self.state.lock_sessions().drain().collect();
        let limit = self.state.live().backend_timeout;
        for (_, t) in sessions {
            let _ = tokio::time::timeout(limit, self.state.close_backend_session(t)).await;
        }
        for p in self.state.control.detach() {
            close_kept(&self.state, p).await;
        }
    }
}
