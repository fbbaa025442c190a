//! The embedded QuickBooks Desktop simulator as a backend.
//!
//! Company files live in one data directory; a company file name is a
//! plain file name inside it (`acme.qbw`), never a path, so no name a
//! client sends can reach another file. Each open company is shared by all
//! sessions on it; its work runs on tokio's blocking pool, since SQLite
//! calls block.

use super::{Backend, BackendError, BackendErrorKind, BoxFuture, Health, OpenSettings, SessionId};
use qbsim::{Company, Session};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Why a company file name is refused, or `Ok`.
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
    if name.chars().any(char::is_control) {
        return bad("holds a control character");
    }
    if name.starts_with('.') {
        return bad("may not start with a dot");
    }
    if name.ends_with(['.', ' ']) || name.starts_with(' ') {
        return bad("may not start with a space or end with a dot or space");
    }
    // Windows' device names, with any extension, are not files there.
    let stem = name
        .split('.')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        return bad("is a Windows device name");
    }
    Ok(())
}

/// Company files open at once, at most.
const MAX_OPEN: usize = 256;

pub struct SimulatorBackend {
    data_dir: PathBuf,
    default_company: String,
    create_missing: bool,
    config: qbsim::Config,
    companies: Mutex<HashMap<String, Arc<Company>>>,
    sessions: Mutex<HashMap<u64, (Arc<Company>, Session)>>,
    next: AtomicU64,
}

impl SimulatorBackend {
    pub fn new(data_dir: &Path, default_company: &str, create_missing: bool) -> SimulatorBackend {
        SimulatorBackend {
            data_dir: data_dir.to_path_buf(),
            default_company: default_company.to_string(),
            create_missing,
            // The connector owns its company files while it runs.
            config: qbsim::Config {
                exclusive: true,
                ..qbsim::Config::default()
            },
            companies: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }

    fn name_of<'a>(&'a self, settings: &'a OpenSettings) -> &'a str {
        if settings.company_file.is_empty() {
            &self.default_company
        } else {
            &settings.company_file
        }
    }

    async fn company(&self, name: String, read_only: bool) -> Result<Arc<Company>, BackendError> {
        if let Some(c) = self.lock_companies().get(&name) {
            return Ok(c.clone());
        }
        let path = self.data_dir.join(&name);
        // A read-only user never creates a file.
        if (!self.create_missing || read_only) && !path.exists() {
            // What the request processor answers for a file it cannot open.
            return Err(BackendError::new(
                BackendErrorKind::Settings,
                Some(qbxml::HResult(0x8004_0408)),
                format!(
                    "Could not start QuickBooks. (no company file `{name}` in the data directory)"
                ),
            ));
        }
        let config = self.config.clone();
        let opened = tokio::task::spawn_blocking(move || Company::open(&path, config))
            .await
            .map_err(|e| failed(format!("the simulator stopped: {e}")))?
            .map_err(|e| failed(format!("cannot open company file `{name}`: {e}")))?;
        let mut map = self.lock_companies();
        // Another session may have opened it meanwhile: keep one.
        Ok(map.entry(name).or_insert_with(|| Arc::new(opened)).clone())
    }

    fn lock_companies(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Company>>> {
        self.companies.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (Arc<Company>, Session)>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
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
        Ok(name.to_string())
    }

    fn open(&self, settings: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        Box::pin(async move {
            let name = self.company_key(&settings)?;
            if !self.lock_companies().contains_key(&name) && self.lock_companies().len() >= MAX_OPEN
            {
                return Err(BackendError::new(
                    BackendErrorKind::Failed,
                    None,
                    format!("{MAX_OPEN} company files are open; no more"),
                ));
            }
            let company = self.company(name, settings.read_only).await?;
            let session = company.begin_session();
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            self.lock_sessions().insert(id, (company, session));
            Ok(SessionId(id))
        })
    }

    fn process(
        &self,
        session: SessionId,
        request: bytes::Bytes,
    ) -> BoxFuture<'_, Result<String, BackendError>> {
        Box::pin(async move {
            let Some((company, s)) = self.lock_sessions().get(&session.0).cloned() else {
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
            if let Some((company, s)) = self.lock_sessions().remove(&session.0) {
                company.end_session(s);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_data_directory() {
        for ok in ["acme.qbw", "Acme Inc (2024).QBW", "x"] {
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
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(201)).is_err());
    }
}
