//! The embedded QuickBooks Desktop simulator as a backend.
//!
//! Company files live in one data directory; a company file name is a
//! plain file name inside it (`acme.qbw`), never a path, so no name a
//! client sends can reach another file. Each open company is shared by all
//! sessions on it; its work runs on tokio's blocking pool, since SQLite
//! calls block.

mod files;

pub use files::IDLE_CLOSE;

pub use super::names::{check_name, sqlite_side_file};
use super::{
    Answer, Backend, BackendError, BackendErrorKind, BackupFile, BoxFuture, Health, OpenSettings,
    Request, SessionId,
};
use files::{identity, Identity, OpenFiles, Take};
use qbsim::{Company, OpenError, Opening, Session};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct SimulatorBackend {
    data_dir: PathBuf,
    default_company: String,
    create_missing: bool,
    max_company_files: usize,
    config: qbsim::Config,
    files: OpenFiles,
    sessions: Mutex<HashMap<u64, Open>>,
    next: AtomicU64,
}

/// An open backend session: the file as named, its identity, the
/// company, QuickBooks' session on it, and whose it is.
struct Open {
    name: String,
    id: Identity,
    company: Arc<Company>,
    session: Session,
    user: String,
}

impl SimulatorBackend {
    pub fn new(data_dir: &Path, default_company: &str, create_missing: bool) -> SimulatorBackend {
        remove_unfinished(data_dir);
        SimulatorBackend {
            data_dir: data_dir.to_path_buf(),
            default_company: default_company.to_string(),
            create_missing,
            max_company_files: 1000,
            // The connector owns its company files while it runs.
            config: qbsim::Config {
                exclusive: true,
                ..qbsim::Config::default()
            },
            files: OpenFiles::new(256, 32),
            sessions: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }

    /// Company files open at once, in all and per user (each at least 1).
    pub fn max_open(mut self, total: usize, per_user: usize) -> Self {
        self.files = OpenFiles::new(total, per_user);
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

    /// Company files open now (for tests).
    pub fn open_files(&self) -> usize {
        self.files.open_count()
    }

    fn name_of<'a>(&'a self, settings: &'a OpenSettings) -> &'a str {
        if settings.company_file.is_empty() {
            &self.default_company
        } else {
            &settings.company_file
        }
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Open>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The company file `name`, open, with a session taken on it for the
    /// settings' user; and its identity.
    async fn company(
        &self,
        name: &str,
        settings: &OpenSettings,
    ) -> Result<(Arc<Company>, Identity), BackendError> {
        let slot = match self.files.take(name, &settings.user)? {
            Take::Open(company, id) => return Ok((company, id)),
            Take::Slot(slot) => slot,
        };
        let path = self.data_dir.join(name);
        // Open already under another name (another case, a short name)?
        let p = path.clone();
        let found = tokio::task::spawn_blocking(move || identity(&p))
            .await
            .map_err(|e| failed(format!("the simulator stopped: {e}")))?;
        let exists = found.is_some();
        let slot = match found {
            Some(id) => match self.files.alias(slot, &id) {
                Ok(company) => return Ok((company, id)),
                Err(slot) => {
                    // Closed a moment ago to make room: its lock goes
                    // with the close, which must end first.
                    if let Some(close) = self.files.closing(&id) {
                        let _ = close.await;
                    }
                    slot
                }
            },
            None => slot,
        };
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
        let _creating = if opening == Opening::Create && !exists && self.max_company_files > 0 {
            let dir = self.data_dir.clone();
            let on_disk = tokio::task::spawn_blocking(move || count_company_files(&dir))
                .await
                .unwrap_or(usize::MAX);
            let Some(c) = self.files.creating(on_disk, self.max_company_files) else {
                return Err(BackendError::new(
                    BackendErrorKind::Settings,
                    Some(qbxml::HResult(0x8004_0408)),
                    format!(
                        "Could not start QuickBooks. (no company file `{name}`, and the data \
                         directory holds {on_disk} already: no more are created)"
                    ),
                ));
            };
            Some(c)
        } else {
            None
        };
        let config = self.config.clone();
        let opened = tokio::task::spawn_blocking(move || {
            Company::open_with(&path, config, opening).map(|c| (c, identity(&path)))
        })
        .await
        .map_err(|e| failed(format!("the simulator stopped: {e}")))?;
        let (company, id) = opened.map_err(|e| match e {
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
        let id = id.ok_or_else(|| failed(format!("company file `{name}` vanished")))?;
        Ok((self.files.hold(slot, id.clone(), company), id))
    }
}

/// Remove what a creation left behind when the process died in the
/// middle of it (`.NAME.new-PID-N`, see `qbsim`'s `store::create`): the
/// connector owns its data directory, so nothing else is making files
/// there now.
fn remove_unfinished(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".new-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Files in the data directory that could be company files (not hidden,
/// not SQLite's side files).
fn count_company_files(dir: &Path) -> usize {
    company_files(dir).len()
}

/// The names of the files in the data directory that could be company
/// files, sorted (what [`listed_files`] lists, errors left out).
fn company_files(dir: &Path) -> Vec<String> {
    listed_files(dir).unwrap_or_default()
}

/// The names of the files in the data directory that could be company
/// files (not hidden, not SQLite's side files), sorted; an error when the
/// directory or one of its entries cannot be read, or a name is not
/// UTF-8 (no client can name such a file, and no backup may leave it out
/// unsaid).
fn listed_files(dir: &Path) -> Result<Vec<String>, String> {
    let shown = |e: std::io::Error| format!("data directory {}: {e}", dir.display());
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(shown)? {
        let entry = entry.map_err(shown)?;
        if !entry.file_type().map_err(shown)?.is_file() {
            continue;
        }
        let name = entry.file_name().into_string().map_err(|n| {
            format!(
                "data directory {}: the file name {} is not UTF-8",
                dir.display(),
                n.to_string_lossy()
            )
        })?;
        if !name.starts_with('.') && sqlite_side_file(&name).is_none() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Run SQLite work. Small work (a point query, an add: tens of
/// microseconds) runs right here on the async worker: a hand-off to a
/// blocking thread and back would cost more than the work and halve the
/// throughput of a company file. Anything that may take long (a full list,
/// a report) goes to the blocking pool so that it never holds a worker.
///
/// A panic (a bug) is an error either way, so that the request's session
/// is still closed and the company file's slot given back.
async fn blocking<T: Send + 'static>(
    small: bool,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BackendError> {
    if small {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .map_err(|_| failed("the simulator failed while answering (a bug)".into()));
    }
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| failed(format!("the simulator stopped: {e}")))
}

/// Who holds a company file while it is copied, for the per-user limit
/// on open files.
const BACKUP_USER: &str = "(backup)";

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
        Ok(name.to_string())
    }

    fn open(&self, settings: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        Box::pin(async move {
            let name = self.company_key(&settings)?;
            let (company, id) = self.company(&name, &settings).await?;
            let session = company.begin_session();
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            self.lock_sessions().insert(
                n,
                Open {
                    name,
                    id,
                    company,
                    session,
                    user: settings.user,
                },
            );
            Ok(SessionId(n))
        })
    }

    /// The simulator answers the parsed set: nothing is parsed again.
    fn process(
        &self,
        session: SessionId,
        request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        Box::pin(async move {
            let Some((company, s)) = self
                .lock_sessions()
                .get(&session.0)
                .map(|o| (o.company.clone(), o.session))
            else {
                return Err(BackendError::invalid_session());
            };
            let small = qbsim::is_small(&request);
            let answer = blocking(small, move || company.process_set(s, &request)).await?;
            answer
                .map(|r| Answer {
                    xml: r.xml,
                    outcome: r.outcome,
                    json: r.json,
                })
                .map_err(|f| {
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
            let Some(o) = self.lock_sessions().remove(&session.0) else {
                return;
            };
            o.company.end_session(o.session);
            self.files.release(&o.name, &o.id, &o.user);
        })
    }

    /// The files in the data directory that could be company files; an
    /// error when the directory or an entry of it cannot be read (a
    /// backup must not pass for whole without them).
    fn backup_files(&self) -> BoxFuture<'_, Result<Vec<String>, String>> {
        Box::pin(async move {
            let data = self.data_dir.clone();
            tokio::task::spawn_blocking(move || listed_files(&data))
                .await
                .map_err(|e| format!("the simulator stopped: {e}"))?
        })
    }

    /// One company file, open or not, through the same opening a request
    /// makes (its slot, its lock), read-only: it never creates a file and
    /// writes nothing to one. The server runs this in the file's lane.
    fn backup_file<'a>(
        &'a self,
        key: &'a str,
        dir: &'a Path,
    ) -> BoxFuture<'a, Result<BackupFile, String>> {
        Box::pin(async move {
            let settings = OpenSettings {
                user: BACKUP_USER.into(),
                read_only: true,
                ..OpenSettings::default()
            };
            let (company, id) = match self.company(key, &settings).await {
                Ok(c) => c,
                // Not a company file (or gone since it was listed).
                Err(e) if e.kind == BackendErrorKind::Settings => {
                    return Ok(BackupFile::NotACompany(e.message))
                }
                // Every slot taken, a file that cannot be read: the
                // backup is not whole, and must not pass for one.
                Err(e) => return Err(format!("{key}: {}", e.message)),
            };
            let dest = dir.join(key);
            let done = blocking(false, move || company.backup_into(&dest)).await;
            self.files.release(key, &id, BACKUP_USER);
            match done {
                Ok(Ok(bytes)) => Ok(BackupFile::Copied(bytes)),
                Ok(Err(e)) => Err(format!("{key}: {e}")),
                Err(e) => Err(format!("{key}: {}", e.message)),
            }
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
