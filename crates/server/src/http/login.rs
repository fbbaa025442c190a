//! Who is asking: HTTP Basic credentials → a [`Principal`], or a refusal.
//!
//! The order is the order of cost: the lockout (a map lookup, and the
//! password is not even looked at), the credential cache (a keyed hash),
//! and only then argon2 on the blocking pool — one verification per user
//! at a time, so that a burst of new connections for one user runs it
//! once and the rest find the cache. An unknown name is verified against
//! a dummy hash, so it takes as long as a wrong password. The seed's
//! Authorization event has the last word either way.

use super::body::single;
use super::reply::Refusal;
use super::Exchange;
use crate::auth::{parse_basic, MAX_NAME, MAX_PASSWORD};
use crate::connstr::ConnectionString;
use crate::events::Authorization;
use crate::state::UserEntry;
use hyper::HeaderMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Who is asking, once authenticated.
pub struct Principal {
    pub name: String,
    /// Settings on the server side (the user's, or the default ones).
    pub connection: ConnectionString,
    /// The configured user's entry (`None`: a user the authorization
    /// handler accepted).
    pub entry: Option<Arc<UserEntry>>,
    pub client_company_file: bool,
    pub read_only: bool,
}

/// Whether `name` is a configured user (not one an event accepted).
pub fn known(x: &Exchange<'_>, name: &str) -> bool {
    x.live.user(name).is_some()
}

/// A lockout refusal, counted as a failure.
fn locked(x: &Exchange<'_>, l: crate::auth::Locked) -> Refusal {
    x.state
        .metrics
        .auth_failures
        .fetch_add(1, Ordering::Relaxed);
    // Rounded up: a client that waits the seconds it is told must find
    // the lockout over.
    let left = l.retry_after();
    Refusal::Locked(left.as_secs() + u64::from(left.subsec_nanos() > 0))
}

/// Basic credentials → a principal, or the refusal.
pub async fn login(x: &mut Exchange<'_>, headers: &HeaderMap) -> Result<Principal, Refusal> {
    let state = x.state.clone();
    let live = x.live.clone();
    // Two Authorization headers are malformed, not "the first one".
    let header = single(headers, hyper::header::AUTHORIZATION.as_str());
    let missing = matches!(header, Ok(None));
    let parsed = header
        .ok()
        .and_then(|h| parse_basic(h.map(|v| v.as_bytes())));
    let (user, password, malformed) = match parsed {
        Some((u, p)) => (u, p, false),
        None => (String::new(), String::new(), true),
    };
    // Names and passwords are short; anything longer is refused before it
    // costs memory in the throttle's tables or time in argon2.
    let (user, password, malformed) = if user.len() > MAX_NAME || password.len() > MAX_PASSWORD {
        (String::new(), String::new(), true)
    } else {
        (user, password, malformed)
    };
    x.trace.user = user.clone();
    let ip = x.conn.remote.ip();
    if let Some(l) = state.throttle.check(ip, &user) {
        return Err(locked(x, l));
    }
    let (index, entry) = match live.user(&user) {
        Some((i, e)) => (Some(i), Some(e.clone())),
        None => (None, None),
    };
    let version = live.users_version;
    let cached = index.is_some() && state.cache.get(&user, &password, version) == index;
    // On a miss, one verification per user at a time: a burst of new
    // connections runs argon2 once and the rest find the cache.
    let lock = (!cached && index.is_some()).then(|| state.verify_lock(&user));
    let _verifying = match &lock {
        Some(l) => Some(l.lock().await),
        None => None,
    };
    // Found in the cache now (another request may have verified it while
    // this one waited for the lock).
    let cached = cached || (index.is_some() && state.cache.get(&user, &password, version) == index);
    let verified = if user.is_empty() {
        false
    } else if cached {
        true
    } else {
        let hash = entry
            .as_ref()
            .and_then(|e| e.hash.clone())
            .unwrap_or_else(|| state.dummy_hash.clone());
        let known = entry.as_ref().is_some_and(|e| e.hash.is_some());
        let Ok(slot) = state.argon_slots.clone().acquire_owned().await else {
            return Err(Refusal::Unauthorized("authentication is unavailable"));
        };
        // Many parallel attempts all passed the lockout check above while
        // they waited for a slot: look again, so that guesses stop at the
        // limit instead of at the number of connections.
        if let Some(l) = state.throttle.check(ip, &user) {
            drop(slot);
            return Err(locked(x, l));
        }
        let pw = password.clone();
        let windows = entry
            .as_ref()
            .is_some_and(|e| e.config.auth_mode == crate::config::AuthMode::Windows);
        let interactive = live.use_interactive_logon;
        let name = user.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let ok = if windows {
                crate::auth::windows_logon(&name, &pw, interactive)
            } else {
                hash.verify(&pw)
            };
            drop(slot);
            ok
        })
        .await
        .unwrap_or(false);
        ok && (known || windows)
    };
    // What this request will connect with: the user's own settings, or
    // the default ones for a name that is not configured. The handler
    // decides who gets in, and may choose other settings.
    let connection = match &entry {
        Some(e) => e.config.connection(),
        None => live.default_connection.clone(),
    };
    let mut ev = Authorization {
        connection_id: x.conn.id,
        user_index: index.map_or(-1, |i| i as i64),
        user: &user,
        password: &password,
        accept: verified,
        connection,
    };
    if let Err(event) =
        crate::events::guard("authorization", || state.events.authorization(&mut ev))
    {
        // Still a failed attempt when the credentials were wrong: a
        // failing handler must not stop the lockout counting guesses.
        if !verified && !missing {
            state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
            let _ = state.throttle.fail(ip, &user);
        }
        return Err(Refusal::EventFailed { event, late: false });
    }
    let (accept, connection) = (ev.accept, ev.connection);
    if !accept {
        state.metrics.auth_failures.fetch_add(1, Ordering::Relaxed);
        // A request without credentials is how many clients start: it is
        // refused, not counted against the address.
        if !missing {
            if let Some(l) = state.throttle.fail(ip, &user) {
                state.metrics.lockouts.fetch_add(1, Ordering::Relaxed);
                let whom = match l {
                    crate::auth::Locked::Address(_) => format!("client address {ip}"),
                    crate::auth::Locked::User(_) => format!("user `{user}`"),
                };
                state.status(
                    x.conn.id,
                    &format!("lockout: {whom} after too many failed attempts"),
                );
            }
        }
        let why = if missing {
            "credentials required (HTTP Basic)"
        } else if malformed {
            "malformed Authorization header: expected Basic base64(user:password)"
        } else {
            "wrong user name or password"
        };
        return Err(Refusal::Unauthorized(why));
    }
    if verified {
        // Remembered from the verification on, not from the last use: a
        // password is checked again at least every `cache_secs`.
        if let (Some(i), false) = (index, cached) {
            state.cache.put(&user, &password, i, version);
        }
        state.throttle.succeed(&user);
    }
    Ok(match entry {
        Some(e) => Principal {
            name: e.config.name.clone(),
            connection,
            client_company_file: e.config.client_company_file,
            read_only: e.config.read_only,
            entry: Some(e),
        },
        None => Principal {
            name: user,
            connection,
            client_company_file: false,
            read_only: live.config.default_connection.read_only,
            entry: None,
        },
    })
}
