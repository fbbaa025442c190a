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
//! let mut connector = qbc_server::Connector::new(qbc_server::Config::default())?;
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
pub mod config;
pub mod connstr;
mod deadline;
pub mod events;
pub mod http;
mod metrics;
pub mod persistent;
mod queue;
mod server;
mod state;
pub mod tls;

pub use backend::{Backend, BackendError, BackendErrorKind, Health, OpenSettings, SessionId};
pub use config::{AuthMode, BackendKind, Config, ConfigError, Problem, UserConfig};
pub use connstr::{ConnectionMode, ConnectionString};
pub use events::{Events, NoEvents, TracingEvents};
pub use http::{code, FrontDoor, Route, CONNECTION_HEADER, ERROR_HEADER, TICKET_HEADER};

use auth::PasswordHash;
use state::{State, UserEntry};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A configured, not yet listening connector (the seed's QBConnector
/// before `listening = True`).
pub struct Connector {
    config: Config,
    backend: Option<Arc<dyn Backend>>,
    events: Arc<dyn Events>,
}

impl Connector {
    /// Refuses a configuration with problems (all of them, named).
    pub fn new(config: Config) -> Result<Connector, ConfigError> {
        let problems = config.check();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        Ok(Connector {
            config,
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

    pub fn configuration(&self) -> &Config {
        &self.config
    }

    /// Change the configuration before listening (checked again then).
    pub fn configuration_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The seed's AddUser: a user with a password (hashed here with
    /// argon2id) and a QBConnectionString of server-side settings.
    pub fn add_user(
        &mut self,
        name: &str,
        password: &str,
        connection: &str,
        read_only: bool,
    ) -> Result<usize, String> {
        let c = ConnectionString::parse(connection).map_err(|e| e.0)?;
        if password.len() > auth::MAX_PASSWORD {
            return Err(format!(
                "a password has at most {} bytes (longer ones are refused at login)",
                auth::MAX_PASSWORD
            ));
        }
        if self
            .config
            .users
            .iter()
            .any(|u| u.name.eq_ignore_ascii_case(name))
        {
            return Err(format!("user `{name}` exists"));
        }
        let hash = PasswordHash::create(password)?;
        self.config.users.push(UserConfig {
            name: name.to_string(),
            password_hash: hash.as_str().to_string(),
            auth_mode: AuthMode::Normal,
            company_file: c.company_file,
            client_company_file: false,
            application_name: c.application_name,
            connection_mode: c.connection_mode.map(|m| m.as_str().to_string()),
            read_only,
        });
        let problems = self.config.check();
        if let Some(p) = problems.first() {
            self.config.users.pop();
            return Err(p.to_string());
        }
        Ok(self.config.users.len() - 1)
    }

    /// The seed's Config method: `"Name=Value"` sets, `"Name"` reads.
    /// Settings: `DefaultConnectionString`, `DefaultReadOnly`,
    /// `ReadOnly[i]`, `AllowedClients` (comma-separated), `LocalHost`,
    /// `LocalPort`, `Timeout` (seconds, the request timeout).
    pub fn config(&mut self, setting: &str) -> Result<String, String> {
        let (name, value) = match setting.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (setting.trim(), None),
        };
        let bool_of = |v: &str| match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(format!("{name}: `{v}` is not true or false")),
        };
        let lname = name.to_ascii_lowercase();
        if let Some(i) = lname
            .strip_prefix("readonly[")
            .and_then(|r| r.strip_suffix(']'))
        {
            let i: usize = i.parse().map_err(|_| format!("{name}: bad index"))?;
            let n = self.config.users.len();
            let u = self
                .config
                .users
                .get_mut(i)
                .ok_or_else(|| format!("{name}: there are {n} users"))?;
            if let Some(v) = value {
                u.read_only = bool_of(v)?;
            }
            return Ok(u.read_only.to_string());
        }
        let c = &mut self.config;
        match lname.as_str() {
            "defaultconnectionstring" => {
                if let Some(v) = value {
                    ConnectionString::parse(v).map_err(|e| e.0)?;
                    c.default_connection.connection = v.to_string();
                }
                Ok(c.default_connection.connection.clone())
            }
            "connectedtoqb" => {
                if let Some(v) = value {
                    c.backend.connected_to_qb = bool_of(v)?;
                }
                Ok(c.backend.connected_to_qb.to_string())
            }
            "defaultreadonly" => {
                if let Some(v) = value {
                    c.default_connection.read_only = bool_of(v)?;
                }
                Ok(c.default_connection.read_only.to_string())
            }
            "allowedclients" => {
                if let Some(v) = value {
                    let list: Vec<String> = v
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty() && s != "*")
                        .collect();
                    for s in &list {
                        config::parse_net(s)?;
                    }
                    c.allowed_clients = list;
                }
                Ok(c.allowed_clients.join(","))
            }
            "localhost" | "localport" => {
                let mut addr = c.listen_addr()?;
                if let Some(v) = value {
                    if lname == "localhost" {
                        addr.set_ip(
                            v.parse()
                                .map_err(|_| format!("LocalHost: `{v}` is not an IP address"))?,
                        );
                    } else {
                        addr.set_port(
                            v.parse()
                                .map_err(|_| format!("LocalPort: `{v}` is not a port"))?,
                        );
                    }
                    c.listen = addr.to_string();
                }
                Ok(if lname == "localhost" {
                    addr.ip().to_string()
                } else {
                    addr.port().to_string()
                })
            }
            "timeout" => {
                if let Some(v) = value {
                    c.request_timeout_secs = v
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("Timeout: `{v}` is not a number of seconds"))?;
                }
                Ok(c.request_timeout_secs.to_string())
            }
            _ => Err(format!("unknown setting `{name}`")),
        }
    }

    /// The seed's Reset: back to the defaults, no users.
    pub fn reset(&mut self) {
        self.config = Config::default();
        self.backend = None;
    }

    /// Bind and serve (the seed's `listening = True`).
    pub async fn listen(self) -> Result<Running, String> {
        let Connector {
            config,
            backend,
            events,
        } = self;
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
        let backend = match backend {
            Some(b) => b,
            None => backend_from_config(&config)?,
        };
        let users = config
            .users
            .iter()
            .map(|u| {
                Arc::new(UserEntry {
                    config: u.clone(),
                    hash: PasswordHash::parse(&u.password_hash).ok(),
                })
            })
            .collect();
        let state = Arc::new(State::new(&config, users, backend, events, tls)?);
        // What the backend does on its own (retries, sessions it could not
        // end) reaches the Status event; weakly, so that the state can go.
        let weak = Arc::downgrade(&state);
        state.backend.observe(Arc::new(move |m: &str| {
            if let Some(s) = weak.upgrade() {
                s.status(0, m);
            }
        }));
        let addr = config.listen_addr()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(server::serve(
            state.clone(),
            listener,
            stop_rx.clone(),
            false,
        ))];
        let mut metrics_addr = None;
        if let Some(m) = &config.metrics.listen {
            let addr: SocketAddr = m.parse().map_err(|_| format!("metrics.listen: `{m}`"))?;
            let l = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?;
            metrics_addr = Some(l.local_addr().map_err(|e| e.to_string())?);
            tasks.push(tokio::spawn(server::serve(
                state.clone(),
                l,
                stop_rx.clone(),
                true,
            )));
        }
        // Expire idle sessions.
        let reaper_state = state.clone();
        let mut reaper_stop = stop_rx;
        let every = (state.settings.session_idle / 10)
            .clamp(Duration::from_millis(100), Duration::from_secs(30));
        tasks.push(tokio::spawn(async move {
            loop {
                let stopped = tokio::select! {
                    _ = tokio::time::sleep(every) => false,
                    _ = reaper_stop.wait_for(|s| *s) => true,
                };
                if stopped {
                    break;
                }
                let stopped = tokio::select! {
                    _ = reaper_state.expire_sessions() => false,
                    _ = reaper_stop.wait_for(|s| *s) => true,
                };
                if stopped {
                    break;
                }
            }
        }));
        state.status(0, &format!("listening on {local}"));
        Ok(Running {
            local,
            metrics_addr,
            stop: stop_tx,
            tasks,
            state,
        })
    }
}

/// The backend the configuration names.
pub fn backend_from_config(config: &Config) -> Result<Arc<dyn Backend>, String> {
    Ok(match config.backend.kind {
        BackendKind::Memory => Arc::new(backend::memory::MemoryBackend::default()),
        BackendKind::Com => com_backend(config)?,
        BackendKind::Simulator => simulator_backend(config)?,
    })
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

    /// The separate metrics address, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn listening(&self) -> bool {
        !*self.stop.borrow()
    }

    /// Persistent sessions open now.
    pub fn open_sessions(&self) -> usize {
        self.state.lock_sessions().len()
    }

    /// Stop accepting, let in-flight requests finish, close sessions.
    pub async fn shutdown(self) {
        self.state.shutting_down.store(true, Ordering::SeqCst);
        self.state.status(0, "shutting down");
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // Sessions end in their company file's turn, each bounded by the
        // backend timeout (a hung QuickBooks must not hang the shutdown).
        let sessions: Vec<_> = self.state.lock_sessions().drain().collect();
        let limit = self.state.settings.backend_timeout;
        for (_, t) in sessions {
            let _ = tokio::time::timeout(limit, self.state.close_backend_session(t)).await;
        }
        if let Some(p) = self.state.persistent.clone() {
            let backend = self.state.backend.clone();
            let key = p.key().to_string();
            let close = self
                .state
                .lanes
                .run_anyway(&key, async move { p.close(&backend).await });
            let _ = tokio::time::timeout(limit, close).await;
        }
    }
}
