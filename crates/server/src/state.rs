//! What every connection shares: the settings (fixed ones here, the
//! changeable ones through [`Control`]), the backend, the lanes, the auth
//! cache and throttle, open sessions, metrics, events.

use crate::auth::{CredentialCache, PasswordHash, Throttle};
use crate::backend::{Backend, SessionId};
use crate::config::{Config, UserConfig};
use crate::control::Control;
use crate::events::Events;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::queue::Lanes;
use crate::tls::TlsSetup;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The settings a running server cannot change (the accept loop is built
/// with them); the others are in [`Live`].
#[derive(Clone, Debug)]
pub struct Settings {
    pub max_connections: usize,
    pub max_connections_per_client: usize,
}

/// A configured user with the parsed hash.
#[derive(Clone, Debug)]
pub struct UserEntry {
    pub config: UserConfig,
    pub hash: Option<PasswordHash>,
}

impl UserEntry {
    pub fn new(config: UserConfig) -> UserEntry {
        UserEntry {
            hash: PasswordHash::parse(&config.password_hash).ok(),
            config,
        }
    }
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
    /// The configured user's entry when the session opened: when the user
    /// is changed or removed, the session ends (`None`: a user the
    /// authorization handler accepted).
    pub entry: Option<Arc<UserEntry>>,
}

/// Open tickets at most, in all and per user.
pub const MAX_SESSIONS: usize = 1024;
pub const MAX_SESSIONS_PER_USER: usize = 64;

pub struct State {
    pub settings: Settings,
    /// Users, the default connection, the allow-list, timeouts: what may
    /// change while listening (a request takes one [`Live`] view).
    pub control: Arc<Control>,
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
}

impl State {
    pub fn new(
        config: &Config,
        control: Arc<Control>,
        backend: Arc<dyn Backend>,
        events: Arc<dyn Events>,
        tls: Option<TlsSetup>,
    ) -> Result<State, String> {
        // At the cost of the first configured user's hash (users hashed
        // by `qbconnector user add` all have the default cost).
        let first = config
            .users
            .iter()
            .find_map(|u| PasswordHash::parse(&u.password_hash).ok());
        let dummy_hash = match first {
            Some(h) => PasswordHash::create_like("qbconnector: no such user", &h)?,
            None => PasswordHash::create("qbconnector: no such user")?,
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let doors = backend.front_doors();
        Ok(State {
            settings: Settings {
                max_connections: config.max_connections,
                max_connections_per_client: config.max_connections_per_client,
            },
            control,
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
        })
    }

    /// The changeable settings now.
    pub fn live(&self) -> Arc<Live> {
        self.control.live()
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
    /// unknown, expired, closed, or another user's. `entry` is the user's
    /// entry now: a session opened under other settings of the user has
    /// ended (see [`State::end_stale_sessions`]).
    pub fn ticket(
        &self,
        user: &str,
        entry: Option<&Arc<UserEntry>>,
        ticket: &str,
    ) -> Option<Ticket> {
        let mut map = self.lock_sessions();
        let t = map.get_mut(ticket)?;
        if t.user != user.to_lowercase() {
            return None;
        }
        let same = match (&t.entry, entry) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            return None;
        }
        t.last_used = Instant::now();
        Some(t.clone())
    }

    /// Close tickets idle longer than the session timeout.
    pub async fn expire_sessions(&self) {
        let idle = self.live().session_idle;
        self.end_sessions(|t| t.last_used.elapsed() >= idle, "expired")
            .await;
    }

    /// End the sessions of users that were removed or changed since they
    /// opened them: their next request opens with the new settings.
    pub async fn end_stale_sessions(&self) {
        let live = self.live();
        self.end_sessions(
            |t| {
                t.entry
                    .as_ref()
                    .is_some_and(|e| !live.users.iter().any(|u| Arc::ptr_eq(u, e)))
            },
            "ended: the user was changed or removed",
        )
        .await;
    }

    async fn end_sessions(&self, which: impl Fn(&Ticket) -> bool, why: &str) {
        let ended: Vec<Ticket> = {
            let mut map = self.lock_sessions();
            let keys: Vec<String> = map
                .iter()
                .filter(|(_, t)| which(t))
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter().filter_map(|k| map.remove(k)).collect()
        };
        for t in ended {
            self.metrics.sessions_open.fetch_sub(1, Ordering::Relaxed);
            self.status(
                0,
                &format!("session of {} on {} {why}", t.user, t.company_key),
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
