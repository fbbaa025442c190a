//! `qbconnector serve` follows its configuration file.
//!
//! The file is read again when it changes (looked at four times a second,
//! on every platform — the Windows service has no SIGHUP) and at once on
//! SIGHUP. What loads is handed to the running connector whole
//! ([`Control::reload`]): users, passwords, read-only flags, connection
//! strings, the default connection, the allow-list and the timeouts apply
//! to requests that start after it; settings only a restart applies (the
//! listen address, TLS, the backend, the connection and queue limits)
//! keep their running values and are named in the log. A file that does
//! not load — a syntax error, a bad value, half written — is refused with
//! the reason, and the running configuration stays.
//!
//! A change is taken once the file has read the same twice in a row, so
//! that an editor still writing it is not caught half way (`qbconnector
//! user …` replaces the file whole, by a rename). So a change applies
//! within half a second; SIGHUP applies it at once. A file with no
//! settings at all (emptied, or truncated to nothing) is refused: it would
//! remove every user and open the allow-list.

use qbc_server::{Config, Control};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often the file is looked at.
const EVERY: Duration = Duration::from_millis(250);

/// What `serve` follows: made before the server starts, so that a SIGHUP
/// from then on reloads (rather than ending the process, SIGHUP's default)
/// and an edit made while it starts is not missed.
pub struct Follower {
    path: PathBuf,
    hangup: Signal,
    /// The file as the running configuration was loaded from it.
    loaded: Option<Vec<u8>>,
}

impl Follower {
    /// Must be called in the runtime (it installs the signal handler).
    pub fn new(path: &Path) -> Follower {
        Follower {
            path: path.to_path_buf(),
            hangup: Signal::hangup(),
            loaded: std::fs::read(path).ok(),
        }
    }

    /// The file's text as first read, to load the configuration from.
    pub fn loaded(&self) -> Option<&[u8]> {
        self.loaded.as_deref()
    }

    /// Follow the file until the task is dropped.
    pub async fn follow(self, control: Arc<Control>) {
        follow(self, control).await
    }
}

/// The configuration in `bytes`, read from `path` (relative paths are
/// relative to its directory).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Config, String> {
    std::str::from_utf8(bytes)
        .map_err(|_| "not UTF-8 text".to_string())
        .and_then(Config::parse)
        .map(|mut c| {
            c.rebase(path.parent().unwrap_or(Path::new(".")));
            c
        })
}

async fn follow(f: Follower, control: Arc<Control>) {
    let Follower {
        path,
        mut hangup,
        loaded,
    } = f;
    let mut applied = loaded;
    let mut seen = applied.clone();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            _ = hangup.recv() => true,
        };
        let now = match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) => {
                if forced || seen.is_some() {
                    tracing::error!(
                        "{}: cannot read it ({e}); the running configuration is kept",
                        path.display()
                    );
                }
                seen = None;
                continue;
            }
        };
        let settled = now == seen;
        seen = now.clone();
        if !forced && (!settled || now == applied) {
            continue;
        }
        applied = now.clone();
        if let Some(bytes) = now {
            apply(&path, &bytes, &control);
        }
    }
}

/// Load the file's text and hand it to the connector; say what happened.
fn apply(path: &Path, bytes: &[u8], control: &Control) {
    let empty = std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok())
        .is_some_and(|d| d.as_table().is_empty());
    let loaded = match empty {
        true => Err(
            "it has no settings at all (emptied?); applying it would remove every \
                     user and open the allow-list"
                .to_string(),
        ),
        false => parse(path, bytes),
    };
    let outcome = loaded.and_then(|c| {
        let users = c.users.len();
        control.reload(c).map(|fixed| (users, fixed))
    });
    match outcome {
        Ok((users, fixed)) => {
            tracing::info!(
                "{}: reloaded ({users} user(s)); it applies to requests from now on",
                path.display()
            );
            if !fixed.is_empty() {
                tracing::warn!(
                    "{}: {} changed, which applies only when the server restarts; \
                     the running value is kept",
                    path.display(),
                    fixed.join(", ")
                );
            }
        }
        Err(e) => tracing::error!(
            "{}: not loaded, the running configuration is kept: {e}",
            path.display()
        ),
    }
}

/// A Unix signal (SIGHUP: reload; SIGUSR1: back up); on other platforms
/// one that never comes.
pub(crate) struct Signal {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Signal {
    pub(crate) fn hangup() -> Signal {
        Signal {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
        }
    }

    pub(crate) fn user1() -> Signal {
        Signal {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
                .ok(),
        }
    }

    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.signal {
            if s.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}
