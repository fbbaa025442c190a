//! The settings a request uses, as one value that changes whole.
//!
//! The owner may change users, the default connection, the allow-list and
//! the timeouts while the connector listens (the seed's properties and its
//! `config`). A request must never see half a change — a user's new
//! password with the old read-only flag, the old company file with the
//! new connection string — so everything a request reads from the
//! configuration is one immutable [`Live`], built whole from a checked
//! [`Config`] and swapped in whole ([`crate::control::Control`]). A request
//! takes the current one when it starts and keeps it to its end: a change
//! applies to requests that start after it, never to one in flight.
//!
//! What cannot change under a running server (the address, TLS, the
//! backend and its settings, the limits the accept loop and the lanes are
//! built with) is listed in `FIXED`; it changes when listening
//! starts again.

use crate::backend::Backend;
use crate::config::{Config, UserConfig};
use crate::connstr::ConnectionString;
use crate::persistent::Persistent;
use crate::state::UserEntry;
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// One consistent view of the changeable settings.
#[derive(Clone)]
pub struct Live {
    /// The whole configuration this view was built from (what `config`
    /// reads back, and what the next change starts from).
    pub config: Config,
    /// Shared, so that a request takes a user's entry without copying it;
    /// an unchanged user keeps its entry from one view to the next.
    pub users: Vec<Arc<UserEntry>>,
    pub allowed: Vec<IpNet>,
    /// The seed's DefaultConnectionString, parsed.
    pub default_connection: ConnectionString,
    pub request_timeout: Duration,
    pub backend_timeout: Duration,
    pub session_idle: Duration,
    pub max_request_bytes: usize,
    /// Windows users log on interactively (else: network logon).
    pub use_interactive_logon: bool,
    /// Counts changes to the users: a remembered password is good for the
    /// users of one count only (a changed or removed user's old password
    /// must not pass from the cache).
    pub users_version: u64,
    /// `connected_to_qb` while listening: the QuickBooks session kept open
    /// on the default connection's company file.
    pub persistent: Option<Arc<Persistent>>,
}

impl Live {
    /// Build a view from a configuration (checked here), reusing what the
    /// previous view had for settings that did not change: users' parsed
    /// hashes, and the kept QuickBooks session.
    pub fn build(
        config: Config,
        previous: Option<&Live>,
        backend: Option<&dyn Backend>,
    ) -> Result<Live, String> {
        let listening = backend.is_some();
        let problems: Vec<String> = config
            .check()
            .into_iter()
            // While listening, what only a restart changes is the running
            // value: a certificate file renamed on disk since the start
            // must not stop a user from being added.
            .filter(|p| !(listening && restart_only(&p.key)))
            .map(|p| p.to_string())
            .collect();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let users: Vec<Arc<UserEntry>> = config
            .users
            .iter()
            .map(|u| match previous.and_then(|p| same_user(&p.users, u)) {
                Some(e) => e,
                None => Arc::new(UserEntry::new(u.clone())),
            })
            .collect();
        let users_version = match previous {
            None => 0,
            Some(p)
                if p.users.len() == users.len()
                    && p.users.iter().zip(&users).all(|(a, b)| Arc::ptr_eq(a, b)) =>
            {
                p.users_version
            }
            Some(p) => p.users_version + 1,
        };
        let default_connection = ConnectionString::parse(&config.default_connection.connection)
            .map_err(|e| format!("default_connection.connection: {}", e.0))?;
        let persistent = match backend {
            Some(b) if config.backend.connected_to_qb => {
                let kept = previous.and_then(|p| {
                    p.persistent.clone().filter(|_| {
                        p.config.default_connection.connection
                            == config.default_connection.connection
                    })
                });
                match kept {
                    Some(k) => Some(k),
                    None => Some(Arc::new(Persistent::new(b, &config.default_connection)?)),
                }
            }
            _ => None,
        };
        Ok(Live {
            allowed: config.allowed()?,
            users,
            default_connection,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            backend_timeout: Duration::from_secs(config.backend_timeout_secs),
            session_idle: Duration::from_secs(config.session_idle_secs),
            max_request_bytes: config.max_request_bytes,
            use_interactive_logon: config.auth.use_interactive_logon,
            users_version,
            persistent,
            config,
        })
    }

    /// The configured user `name` (case-insensitive), with its index.
    pub fn user(&self, name: &str) -> Option<(usize, &Arc<UserEntry>)> {
        if name.is_empty() {
            return None;
        }
        self.users
            .iter()
            .enumerate()
            .find(|(_, u)| u.config.name.eq_ignore_ascii_case(name))
    }

    /// Whether the allow-list lets `ip` in (an empty list: everyone).
    pub fn allows(&self, ip: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allowed.is_empty() || self.allowed.iter().any(|n| n.contains(&ip))
    }
}

/// The previous view's entry for a user configured exactly the same way.
fn same_user(users: &[Arc<UserEntry>], u: &UserConfig) -> Option<Arc<UserEntry>> {
    users.iter().find(|e| e.config == *u).cloned()
}

/// A setting only a restart applies: its configuration key, whether two
/// configurations differ in it, and how to keep a running value.
struct Fixed {
    key: &'static str,
    differs: fn(&Config, &Config) -> bool,
    /// Copy the setting from the first configuration into the second.
    keep: fn(&Config, &mut Config),
}

/// A field that needs a restart, by its path in `Config`.
macro_rules! fixed {
    ($key:literal, $($f:ident).+) => {
        Fixed {
            key: $key,
            differs: |a, b| a.$($f).+ != b.$($f).+,
            keep: |a, b| b.$($f).+ = a.$($f).+.clone(),
        }
    };
}

/// Every setting that changes only when listening starts again: what the
/// accept loop, the lanes, the throttle, TLS and the backend are built
/// with. The one list that `restart_only`, `restart_only_changes` and
/// `keep_restart_only` read.
const FIXED: &[Fixed] = &[
    fixed!("listen", listen),
    fixed!("tls", tls),
    fixed!("metrics", metrics),
    fixed!("backup", backup),
    fixed!("queue_depth", queue_depth),
    fixed!("queue_wait_secs", queue_wait_secs),
    fixed!("max_connections", max_connections),
    fixed!("max_connections_per_client", max_connections_per_client),
    fixed!("auth.max_failures", auth.max_failures),
    fixed!("auth.lockout_secs", auth.lockout_secs),
    fixed!("auth.cache_secs", auth.cache_secs),
    // The backend, but for connected_to_qb, which is live.
    Fixed {
        key: "backend",
        differs: |a, b| {
            let mut b = b.backend.clone();
            b.connected_to_qb = a.backend.connected_to_qb;
            a.backend != b
        },
        keep: |a, b| {
            let live = b.backend.connected_to_qb;
            b.backend = a.backend.clone();
            b.backend.connected_to_qb = live;
        },
    },
];

/// Whether the setting at `key` (a configuration key such as `listen`,
/// `tls.cert`, `backend.com.auth_flags`) changes only when listening
/// starts again.
pub fn restart_only(key: &str) -> bool {
    key != "backend.connected_to_qb"
        && FIXED.iter().any(|f| {
            key.strip_prefix(f.key)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
}

/// The restart-only settings that differ between two configurations, by
/// their keys.
pub fn restart_only_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    FIXED
        .iter()
        .filter(|f| (f.differs)(old, new))
        .map(|f| f.key)
        .collect()
}

/// `new` with `old`'s values for every restart-only setting: what a
/// running connector can take of a new configuration.
pub fn keep_restart_only(old: &Config, mut new: Config) -> Config {
    for f in FIXED {
        (f.keep)(old, &mut new);
    }
    new
}

/// What changed between two configurations, for the Status event and the
/// log: users by name (never their hashes), then the other live settings.
pub fn describe(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let find = |list: &[UserConfig], name: &str| {
        list.iter()
            .find(|u| u.name.eq_ignore_ascii_case(name))
            .cloned()
    };
    for u in &new.users {
        match find(&old.users, &u.name) {
            None => out.push(format!("user `{}` added", u.name)),
            Some(o) if o != *u => out.push(format!("user `{}` changed", u.name)),
            Some(_) => {}
        }
    }
    for u in &old.users {
        if find(&new.users, &u.name).is_none() {
            out.push(format!("user `{}` removed", u.name));
        }
    }
    let mut differs = |what: &str, d: bool| {
        if d {
            out.push(what.to_string());
        }
    };
    differs(
        "the default connection",
        old.default_connection != new.default_connection,
    );
    differs("the allow-list", old.allowed_clients != new.allowed_clients);
    differs(
        "connected_to_qb",
        old.backend.connected_to_qb != new.backend.connected_to_qb,
    );
    differs(
        "the timeouts",
        (
            old.request_timeout_secs,
            old.backend_timeout_secs,
            old.session_idle_secs,
        ) != (
            new.request_timeout_secs,
            new.backend_timeout_secs,
            new.session_idle_secs,
        ),
    );
    differs(
        "max_request_bytes",
        old.max_request_bytes != new.max_request_bytes,
    );
    differs(
        "use_interactive_logon",
        old.auth.use_interactive_logon != new.auth.use_interactive_logon,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_only_keys() {
        for k in [
            "listen",
            "tls.cert",
            "backend.com.auth_flags",
            "auth.cache_secs",
        ] {
            assert!(restart_only(k), "{k}");
        }
        for k in [
            "users[0].password_hash",
            "allowed_clients[1]",
            "backend.connected_to_qb",
            "auth.use_interactive_logon",
            "request_timeout_secs",
            "default_connection.connection",
        ] {
            assert!(!restart_only(k), "{k}");
        }
    }

    #[test]
    fn keeping_restart_only_leaves_no_difference() {
        let old = Config::default();
        let mut new = Config {
            listen: "127.0.0.1:9".into(),
            ..Config::default()
        };
        new.backend.data_dir = "elsewhere".into();
        new.backend.connected_to_qb = true;
        new.auth.max_failures = 3;
        new.session_idle_secs = 5;
        assert_eq!(
            restart_only_changes(&old, &new),
            vec!["listen", "auth.max_failures", "backend"]
        );
        let kept = keep_restart_only(&old, new);
        assert!(restart_only_changes(&old, &kept).is_empty());
        assert!(kept.backend.connected_to_qb);
        assert_eq!(kept.session_idle_secs, 5);
    }

    #[test]
    fn an_unchanged_user_keeps_its_entry_and_the_version() {
        let hash = crate::auth::PasswordHash::create("pw").unwrap();
        let mut c = Config::default();
        c.users.push(UserConfig::new(
            "ann",
            hash.as_str(),
            "CompanyFile='a.qbw'",
            false,
        ));
        c.users
            .push(UserConfig::new("bob", hash.as_str(), "", false));
        let a = Live::build(c.clone(), None, None).unwrap();
        let b = Live::build(c.clone(), Some(&a), None).unwrap();
        assert!(Arc::ptr_eq(&a.users[0], &b.users[0]));
        assert_eq!(a.users_version, b.users_version);
        c.users[1].read_only = true;
        let d = Live::build(c, Some(&b), None).unwrap();
        assert!(Arc::ptr_eq(&b.users[0], &d.users[0]));
        assert!(!Arc::ptr_eq(&b.users[1], &d.users[1]));
        assert_eq!(d.users_version, b.users_version + 1);
        let mut e = d.config.clone();
        e.users.remove(0);
        e.users
            .push(UserConfig::new("cy", hash.as_str(), "", false));
        e.allowed_clients.push("10.0.0.0/8".into());
        assert_eq!(
            describe(&d.config, &e),
            vec!["user `cy` added", "user `ann` removed", "the allow-list"]
        );
    }
}
