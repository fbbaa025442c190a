//! What every connection shares: settings, users, the backend, the lanes,
//! the auth cache and throttle, open sessions, metrics, events.

use crate::auth::{CredentialCache, PasswordHash, Throttle};
use crate::backend::{Backend, SessionId};
use crate::config::{Config, DefaultConnection, UserConfig};
use crate::events::Events;
use crate::metrics::Metrics;
use crate::queue::Lanes;
use crate::tls::TlsSetup;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The configuration's numbers, as the server uses them.
#[derive(Clone, Debug)]
pub struct Settings {
    pub request_timeout: Duration,
    pub backend_timeout: Duration,
    pub max_request_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub session_idle: Duration,
    /// Windows users log on interactively (else: network logon).
    pub use_interactive_logon: bool,
}

/// A configured user with the parsed hash.
#[derive(Clone, Debug)]
pub struct UserEntry {
    pub config: UserConfig,
    pub hash: Option<PasswordHash>,
}

/// One counted connection of a client; uncounted when dropped.
pub struct ClientSlot {
    state: Arc<State>,
    key: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self
            .state
            .per_client
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// A persistent session (the seed's OpenQBConnection ticket).
#[derive(Clone, Debug)]
pub struct Ticket {
    /// Lower-cased name of the user who opened it.
    pub user: String,
    pub company_key: String,
    pub session: SessionId,
    pub last_used: Instant,
}

/// Open tickets at most, in all and per user.
pub const MAX_SESSIONS: usize = 1024;
pub const MAX_SESSIONS_PER_USER: usize = 64;

pub struct State {
    pub settings: Settings,
    /// Shared, so that a request takes a user's entry without copying it.
    pub users: RwLock<Vec<Arc<UserEntry>>>,
    pub default_connection: RwLock<DefaultConnection>,
    pub allowed: RwLock<Vec<IpNet>>,
    pub backend: Arc<dyn Backend>,
    pub events: Arc<dyn Events>,
    pub lanes: Lanes,
    pub cache: CredentialCache,
    pub throttle: Throttle,
    /// argon2 runs at most this many at once, on the blocking pool.
    pub argon_slots: Arc<Semaphore>,
    /// Verified against when the user is unknown, so that an unknown name
    /// takes as long as a wrong password.
    pub dummy_hash: PasswordHash,
    /// One verification at a time per user name: a burst of new
    /// connections for one user runs argon2 once, the rest find the cache.
    pub verifying: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub metrics: Metrics,
    pub sessions: Mutex<HashMap<String, Ticket>>,
    pub tls: Option<TlsSetup>,
    pub shutting_down: AtomicBool,
    /// The paths of the main address(es), and of the metrics address.
    pub router: crate::http::Router,
    pub metrics_router: crate::http::Router,
    pub next_conn: AtomicU64,
    /// Open connections per client address (IPv6: per /64).
    pub per_client: Mutex<HashMap<IpAddr, usize>>,
    /// `connected_to_qb`: the QuickBooks session kept open for everyone.
    pub persistent: Option<Arc<crate::persistent::Persistent>>,
}

impl State {
    pub fn new(
        config: &Config,
        users: Vec<Arc<UserEntry>>,
        backend: Arc<dyn Backend>,
        events: Arc<dyn Events>,
        tls: Option<TlsSetup>,
    ) -> Result<State, String> {
        let allowed = config.allowed()?;
        let dummy_hash = PasswordHash::create("qbconnector: no such user")?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let doors = backend.front_doors();
        let persistent = match config.backend.connected_to_qb {
            true => Some(Arc::new(crate::persistent::Persistent::new(
                backend.as_ref(),
                &config.default_connection,
            )?)),
            false => None,
        };
        Ok(State {
            settings: Settings {
                request_timeout: Duration::from_secs(config.request_timeout_secs),
                backend_timeout: Duration::from_secs(config.backend_timeout_secs),
                max_request_bytes: config.max_request_bytes,
                max_connections: config.max_connections,
                max_connections_per_client: config.max_connections_per_client,
                session_idle: Duration::from_secs(config.session_idle_secs),
                use_interactive_logon: config.auth.use_interactive_logon,
            },
            users: RwLock::new(users),
            default_connection: RwLock::new(config.default_connection.clone()),
            allowed: RwLock::new(allowed),
            backend,
            events,
            lanes: Lanes::new(
                config.queue_depth,
                Duration::from_secs(config.queue_wait_secs),
            ),
            cache: CredentialCache::new(Duration::from_secs(config.auth.cache_secs)),
            throttle: Throttle::new(
                config.auth.max_failures,
                Duration::from_secs(config.auth.lockout_secs),
            ),
            argon_slots: Arc::new(Semaphore::new(cores)),
            dummy_hash,
            verifying: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
            sessions: Mutex::new(HashMap::new()),
            tls,
            shutting_down: AtomicBool::new(false),
            router: crate::http::Router::standard(
                if config.metrics.listen.is_some() {
                    crate::http::ops::Metrics::Elsewhere
                } else {
                    crate::http::ops::Metrics::ForUsers
                },
                doors,
            ),
            metrics_router: crate::http::Router::metrics_only(),
            next_conn: AtomicU64::new(1),
            per_client: Mutex::new(HashMap::new()),
            persistent,
        })
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let list = self.allowed.read().unwrap_or_else(|e| e.into_inner());
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        list.is_empty() || list.iter().any(|n| n.contains(&ip))
    }

    /// Count a connection from `ip`; `None` when the client has its
    /// limit already.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let key = crate::auth::prefix(ip);
        let mut map = self.per_client.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key).or_insert(0);
        if *n >= self.settings.max_connections_per_client {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            state: self.clone(),
            key,
        })
    }

    /// The Error event (a handler that panics is only logged).
    pub fn error(&self, connection_id: u64, code: &str, description: &str) {
        let _ = crate::events::guard("error", || {
            self.events.error(&crate::events::Error {
                connection_id,
                code,
                description,
            })
        });
    }

    /// The Status event (a handler that panics is only logged).
    pub fn status(&self, connection_id: u64, message: &str) {
        let _ = crate::events::guard("status", || {
            self.events.status(&crate::events::Status {
                connection_id,
                message,
            })
        });
    }

    /// The lock for verifying `user`'s password.
    pub fn verify_lock(&self, user: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.verifying.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        map.entry(user.to_lowercase()).or_default().clone()
    }

    pub fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ticket>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `user`'s session `ticket`, its idle clock restarted; `None` if it is
    /// unknown, expired, closed, or another user's.
    pub fn ticket(&self, user: &str, ticket: &str) -> Option<Ticket> {
        let mut map = self.lock_sessions();
        let t = map.get_mut(ticket)?;
        if t.user != user.to_lowercase() {
            return None;
        }
        t.last_used = Instant::now();
        Some(t.clone())
    }

    /// Close tickets idle longer than the session timeout.
    pub async fn expire_sessions(&self) {
        let idle = self.settings.session_idle;
        let expired: Vec<(String, Ticket)> = {
            let mut map = self.lock_sessions();
            let old: Vec<String> = map
                .iter()
                .filter(|(_, t)| t.last_used.elapsed() >= idle)
                .map(|(k, _)| k.clone())
                .collect();
            old.into_iter()
                .filter_map(|k| map.remove(&k).map(|t| (k, t)))
                .collect()
        };
        for (_, t) in expired {
            self.metrics.sessions_open.fetch_sub(1, Ordering::Relaxed);
            self.status(
                0,
                &format!("session of {} on {} expired", t.user, t.company_key),
            );
            self.close_backend_session(t).await;
        }
    }

    /// End a backend session in its company file's turn, however long
    /// the queue is.
    pub async fn close_backend_session(&self, t: Ticket) {
        let backend = self.backend.clone();
        let session = t.session;
        self.lanes
            .run_anyway(&t.company_key, async move { backend.close(session).await })
            .await;
    }
}
