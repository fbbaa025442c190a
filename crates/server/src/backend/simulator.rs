//! The embedded QuickBooks Desktop simulator as a backend.
//!
//! Company files live in one data directory; a company file name is a
//! plain file name inside it (`acme.qbw`), never a path, so no name a
//! client sends can reach another file. Each open company is shared by all
//! sessions on it; its work runs on tokio's blocking pool, since SQLite
//! calls block.

use super::{Backend, BackendError, BackendErrorKind, BoxFuture, Health, OpenSettings, SessionId};
use qbsim::{Company, OpenError, Opening, Session};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a company file name is refused, or `Ok`.
///
/// A name is one plain file inside the data directory that could be a
/// company file on any system the connector runs on: no path, nothing
/// Windows reads as a device or refuses in a name, and none of the side
/// files SQLite keeps beside an open database (`-wal`, `-shm`,
/// `-journal`, `-mj…`) — opening one of those as a company would write
/// into another company's log and lose its acknowledged writes.
pub fn check_name(name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("company file `{}`: {why}", name.escape_debug()));
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > 200 {
        return bad("longer than 200 bytes");
    }
    if name.contains(['/', '\\', ':']) {
        return bad("a plain file name inside the data directory, without a path, is expected");
    }
    if name.starts_with('.') {
        return bad("may not start with a dot");
    }
    super::names::check_component(name).or_else(|why| bad(&why))?;
    if let Some(suffix) = sqlite_side_file(name) {
        return bad(&format!(
            "ends in `{suffix}`, the name of a file SQLite keeps beside a company file"
        ));
    }
    Ok(())
}

/// The SQLite side-file suffix `name` ends with, compared without regard
/// to case (Windows' file names are case-insensitive).
fn sqlite_side_file(name: &str) -> Option<&str> {
    let lower = name.to_ascii_lowercase();
    for suffix in ["-wal", "-shm", "-journal"] {
        if lower.ends_with(suffix) {
            return Some(&name[name.len() - suffix.len()..]);
        }
    }
    // A super-journal: `<db>-mj` followed by hex digits.
    let i = lower.rfind("-mj")?;
    let tail = &lower[i + 3..];
    tail.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| &name[i..])
}

/// A company file nobody has used for this long is closed (its SQLite
/// lock released, its page cache freed) at the next opening.
pub const IDLE_CLOSE: Duration = Duration::from_secs(600);

/// An open company file and who holds it.
struct Held {
    company: Arc<Company>,
    /// Sessions open on it now: persistent ones and requests' own.
    sessions: usize,
    last_used: Instant,
}

/// The open company files and the sessions on them, under one lock so
/// that a file is never closed while a session is being opened on it.
#[derive(Default)]
struct Open {
    companies: HashMap<String, Held>,
    /// session → (company key, the company, QuickBooks' session, user)
    sessions: HashMap<u64, (String, Arc<Company>, Session, String)>,
    /// user → company key → sessions (and openings under way)
    by_user: HashMap<String, HashMap<String, usize>>,
    /// Company files being opened now: their slots are taken before the
    /// file is open, so that openings side by side cannot pass the limits.
    opening: usize,
}

impl Open {
    fn user_takes(&mut self, user: &str, key: &str) {
        *self
            .by_user
            .entry(user.to_string())
            .or_default()
            .entry(key.to_string())
            .or_insert(0) += 1;
    }

    fn user_leaves(&mut self, user: &str, key: &str) {
        if let Some(mine) = self.by_user.get_mut(user) {
            if let Some(n) = mine.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    mine.remove(key);
                }
            }
            if mine.is_empty() {
                self.by_user.remove(user);
            }
        }
    }
}

/// A slot taken for a company file being opened; given back if the
/// opening fails (see [`SimulatorBackend::hold`]).
struct Reservation<'a> {
    backend: &'a SimulatorBackend,
    key: String,
    user: String,
    held: bool,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.held {
            let mut open = self.backend.lock();
            open.opening -= 1;
            open.user_leaves(&self.user, &self.key);
        }
    }
}

pub struct SimulatorBackend {
    data_dir: PathBuf,
    default_company: String,
    create_missing: bool,
    /// Company files open at once, at most. When every one is in use (a
    /// session or a request holds it), opening another is refused: 503.
    max_open: usize,
    /// Company files one user may hold open at once (sessions and
    /// requests in flight, on distinct files), so that one user cannot
    /// take every slot from the others.
    max_open_per_user: usize,
    max_company_files: usize,
    config: qbsim::Config,
    open: Mutex<Open>,
    next: AtomicU64,
}

impl SimulatorBackend {
    pub fn new(data_dir: &Path, default_company: &str, create_missing: bool) -> SimulatorBackend {
        SimulatorBackend {
            data_dir: data_dir.to_path_buf(),
            default_company: default_company.to_string(),
            create_missing,
            max_open: 256,
            max_open_per_user: 32,
            max_company_files: 1000,
            // The connector owns its company files while it runs.
            config: qbsim::Config {
                exclusive: true,
                ..qbsim::Config::default()
            },
            open: Mutex::new(Open::default()),
            next: AtomicU64::new(1),
        }
    }

    /// Company files open at once, in all and per user (each at least 1).
    pub fn max_open(mut self, total: usize, per_user: usize) -> Self {
        self.max_open = total.max(1);
        self.max_open_per_user = per_user.max(1);
        self
    }

    /// At most this many company files in the data directory for
    /// `create_missing` to add to (0: no limit).
    pub fn max_company_files(mut self, n: usize) -> Self {
        self.max_company_files = n;
        self
    }

    /// The largest answer one message set may build (0: no limit); see
    /// `qbsim::Config::max_response_bytes`.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.config.max_response_bytes = n;
        self
    }

    fn name_of<'a>(&'a self, settings: &'a OpenSettings) -> &'a str {
        if settings.company_file.is_empty() {
            &self.default_company
        } else {
            &settings.company_file
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take a session on `key` for `user` if the company is open, or a
    /// slot for opening it (`Err(reservation)`: open it, then
    /// [`Self::hold`]).
    #[allow(clippy::type_complexity)]
    fn take(
        &self,
        key: &str,
        user: &str,
    ) -> Result<Result<Arc<Company>, Reservation<'_>>, BackendError> {
        let mut open = self.lock();
        let mine = open.by_user.get(user);
        if !mine.is_some_and(|m| m.contains_key(key))
            && mine.map_or(0, HashMap::len) >= self.max_open_per_user
        {
            return Err(BackendError::new(
                BackendErrorKind::Busy,
                None,
                format!(
                    "user `{user}` holds {} company files open at once, the most one user may; \
                     close sessions on the others first",
                    self.max_open_per_user
                ),
            ));
        }
        if let Some(held) = open.companies.get_mut(key) {
            held.sessions += 1;
            held.last_used = Instant::now();
            let company = held.company.clone();
            open.user_takes(user, key);
            return Ok(Ok(company));
        }
        // Close what nobody has used for a while, and, at the limit, the
        // file unused for longest.
        let now = Instant::now();
        let closed: Vec<String> = open
            .companies
            .iter()
            .filter(|(_, h)| h.sessions == 0 && now.duration_since(h.last_used) >= IDLE_CLOSE)
            .map(|(k, _)| k.clone())
            .collect();
        let mut dropped: Vec<Arc<Company>> = closed
            .iter()
            .filter_map(|k| open.companies.remove(k).map(|h| h.company))
            .collect();
        if open.companies.len() + open.opening >= self.max_open {
            let lru = open
                .companies
                .iter()
                .filter(|(_, h)| h.sessions == 0)
                .min_by_key(|(_, h)| h.last_used)
                .map(|(k, _)| k.clone());
            match lru {
                Some(k) => dropped.extend(open.companies.remove(&k).map(|h| h.company)),
                None => {
                    return Err(BackendError::new(
                        BackendErrorKind::Busy,
                        None,
                        format!(
                            "all {} company files that may be open at once are in use",
                            self.max_open
                        ),
                    ))
                }
            }
        }
        open.opening += 1;
        open.user_takes(user, key);
        drop(open);
        // Closing a file checkpoints it: off the async worker.
        if !dropped.is_empty() {
            tokio::task::spawn_blocking(move || drop(dropped));
        }
        Ok(Err(Reservation {
            backend: self,
            key: key.to_string(),
            user: user.to_string(),
            held: false,
        }))
    }

    /// Register a session on a company just opened (or opened by another
    /// request meanwhile: one `Company` per file is kept).
    fn hold(&self, mut slot: Reservation<'_>, opened: Company) -> Arc<Company> {
        let mut open = self.lock();
        open.opening -= 1;
        slot.held = true;
        let held = open
            .companies
            .entry(slot.key.clone())
            .or_insert_with(|| Held {
                company: Arc::new(opened),
                sessions: 0,
                last_used: Instant::now(),
            });
        held.sessions += 1;
        held.last_used = Instant::now();
        held.company.clone()
    }

    /// The company `key` names (its file: `name`), open, with a session
    /// taken on it for the user.
    async fn company(
        &self,
        key: &str,
        name: &str,
        settings: &OpenSettings,
    ) -> Result<Arc<Company>, BackendError> {
        let slot = match self.take(key, &settings.user)? {
            Ok(company) => return Ok(company),
            Err(slot) => slot,
        };
        let path = self.data_dir.join(name);
        // A read-only user never creates a file, and opening writes
        // nothing for one; a writable opening may create (when allowed)
        // and bring an older file forward.
        let opening = if settings.read_only {
            Opening::NoWrite
        } else if self.create_missing {
            Opening::Create
        } else {
            Opening::Existing
        };
        if opening == Opening::Create && self.max_company_files > 0 && !path.exists() {
            let dir = self.data_dir.clone();
            let count = tokio::task::spawn_blocking(move || count_company_files(&dir))
                .await
                .unwrap_or(usize::MAX);
            if count >= self.max_company_files {
                return Err(BackendError::new(
                    BackendErrorKind::Settings,
                    Some(qbxml::HResult(0x8004_0408)),
                    format!(
                        "Could not start QuickBooks. (no company file `{name}`, and the data \
                         directory holds {count} already: no more are created)"
                    ),
                ));
            }
        }
        let config = self.config.clone();
        let opened =
            tokio::task::spawn_blocking(move || Company::open_with(&path, config, opening))
                .await
                .map_err(|e| failed(format!("the simulator stopped: {e}")))?;
        let opened = opened.map_err(|e| match e {
            // What the request processor answers for a file it cannot open.
            OpenError::Missing => BackendError::new(
                BackendErrorKind::Settings,
                Some(qbxml::HResult(0x8004_0408)),
                format!(
                    "Could not start QuickBooks. (no company file `{name}` in the data directory)"
                ),
            ),
            OpenError::NotACompany(why) => BackendError::new(
                BackendErrorKind::Settings,
                Some(qbxml::HResult(0x8004_0408)),
                format!("Could not start QuickBooks. (`{name}` is not a company file: {why})"),
            ),
            OpenError::Store(e) => failed(format!("cannot open company file `{name}`: {e}")),
        })?;
        Ok(self.hold(slot, opened))
    }
}

/// One key per company file: where file names are case-insensitive
/// (Windows, macOS), `Acme.qbw` and `acme.qbw` are one file, and must
/// be one open company and one queue.
fn fold(name: &str) -> String {
    if cfg!(any(windows, target_os = "macos")) {
        name.to_lowercase()
    } else {
        name.to_string()
    }
}

/// Files in the data directory that could be company files (not hidden,
/// not SQLite's side files).
fn count_company_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && sqlite_side_file(&name).is_none()
        })
        .count()
}

/// Run SQLite work. Small work (a point query, an add: tens of
/// microseconds) runs right here on the async worker: a hand-off to a
/// blocking thread and back would cost more than the work and halve the
/// throughput of a company file. Anything that may take long (a full list,
/// a report) goes to the blocking pool so that it never holds a worker.
async fn blocking<T: Send + 'static>(
    small: bool,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BackendError> {
    if small {
        return Ok(f());
    }
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| failed(format!("the simulator stopped: {e}")))
}

fn failed(message: String) -> BackendError {
    BackendError::new(BackendErrorKind::Failed, None, message)
}

impl Backend for SimulatorBackend {
    fn name(&self) -> &'static str {
        "simulator"
    }

    fn company_key(&self, settings: &OpenSettings) -> Result<String, BackendError> {
        let name = self.name_of(settings);
        check_name(name).map_err(|e| BackendError::new(BackendErrorKind::Settings, None, e))?;
        Ok(fold(name))
    }

    fn open(&self, settings: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        Box::pin(async move {
            let key = self.company_key(&settings)?;
            let name = self.name_of(&settings).to_string();
            let company = self.company(&key, &name, &settings).await?;
            let session = company.begin_session();
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            self.lock()
                .sessions
                .insert(id, (key, company, session, settings.user));
            Ok(SessionId(id))
        })
    }

    fn process(
        &self,
        session: SessionId,
        request: bytes::Bytes,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        Box::pin(async move {
            let Some((company, s)) = self
                .lock()
                .sessions
                .get(&session.0)
                .map(|(_, c, s, _)| (c.clone(), *s))
            else {
                return Err(BackendError::invalid_session());
            };
            let small = qbsim::is_small(&request);
            let answer = blocking(small, move || company.process(s, &request)).await?;
            answer.map_err(|f| {
                let kind = if f.hresult == qbxml::HResult::PARSE_ERROR {
                    BackendErrorKind::Request
                } else {
                    BackendErrorKind::Failed
                };
                BackendError::new(kind, Some(f.hresult), format!("{} {}", f.message, f.detail))
            })
        })
    }

    fn close(&self, session: SessionId) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut open = self.lock();
            let Some((name, company, s, user)) = open.sessions.remove(&session.0) else {
                return;
            };
            if let Some(held) = open.companies.get_mut(&name) {
                held.sessions = held.sessions.saturating_sub(1);
                held.last_used = Instant::now();
            }
            open.user_leaves(&user, &name);
            drop(open);
            company.end_session(s);
        })
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move {
            if self.data_dir.is_dir() {
                Health::Ok
            } else {
                Health::Down(format!(
                    "data directory {} is missing",
                    self.data_dir.display()
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_data_directory() {
        for ok in [
            "acme.qbw",
            "Acme Inc (2024).QBW",
            "x",
            "COM10.qbw",
            "console.qbw",
            "walnut-wall.qbw",
            "my-mjolnir.qbw",
            "Café ¹.qbw",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "..",
            "../x.qbw",
            "a/b.qbw",
            r"C:\Data\x.qbw",
            r"..\x",
            ".hidden",
            "CON",
            "nul.qbw",
            "com1.QBW",
            "acme.qbw.",
            "acme.qbw ",
            "a\0b",
            "a\nb",
            "/etc/passwd",
            // Windows devices, superscript digits and spaces included.
            "COM¹.qbw",
            "lpt²",
            "LPT³.x",
            "com0",
            "CON .qbw",
            "conin$",
            "CONOUT$.qbw",
            // SQLite's side files of a company file.
            "v0.qbw-wal",
            "v0.qbw-shm",
            "v0.qbw-journal",
            "V0.QBW-WAL",
            "v0.qbw-mj1A2B3C4D",
            "v0.qbw-mj",
            // Characters Windows refuses in names.
            "a<b.qbw",
            "a|b",
            "what?.qbw",
            "*.qbw",
            "a\"b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(201)).is_err());
    }
}
