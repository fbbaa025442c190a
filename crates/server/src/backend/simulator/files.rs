//! The company files the simulator has open, and who holds them.
//!
//! An open company file costs a file lock, a page cache (up to 16 MB) and
//! a SQLite connection, so there is a limit on how many are open at once,
//! and a share of that limit per user: without it one user who may name
//! files could take every slot, and everyone else's own file would stay
//! closed to them (issue 14, defect 2). A file is *held* while a session
//! is open on it (a persistent one, or a request's own); files nobody
//! holds are closed when a slot is needed (least recently used first) or
//! when nobody has used them for [`IDLE_CLOSE`].
//!
//! A file is known by its identity on disk (device and inode; on Windows
//! the path as the file system spells it), not by the name a client used:
//! where names are case-insensitive, or have short forms, two names can
//! be one file, and one file must be one open company — a second SQLite
//! connection to it would be refused (the first holds an exclusive lock),
//! and a company opened under one name must never answer for another.
//!
//! Every step that changes a count runs under one lock; a slot is taken
//! before a file is opened (a [`Slot`]) and given back if the opening
//! fails, so openings side by side cannot pass the limits.

use super::super::{BackendError, BackendErrorKind};
use qbsim::Company;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A company file nobody has used for this long is closed (its SQLite
/// lock released, its page cache freed) at the next opening of another.
pub const IDLE_CLOSE: Duration = Duration::from_secs(600);

/// What identifies a file on disk, whatever it is called.
pub type Identity = String;

/// The file's identity, if it exists (blocking: file system calls).
pub fn identity(path: &Path) -> Option<Identity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(format!("{}:{}", m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        // The final path as the file system holds it: one spelling for
        // every case, short name or link that leads to the file.
        std::fs::canonicalize(path)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }
}

/// An open company file and who holds it.
struct Held {
    company: Arc<Company>,
    /// Sessions open on it now.
    sessions: usize,
    last_used: Instant,
}

#[derive(Default)]
struct State {
    /// The open files.
    companies: HashMap<Identity, Held>,
    /// Every name an open file was asked for by.
    names: HashMap<String, Identity>,
    /// user → name → sessions (and openings under way).
    by_user: HashMap<String, HashMap<String, usize>>,
    /// Files being opened now: their slots are taken already.
    opening: usize,
    /// Files being created now (see [`OpenFiles::creating`]).
    creating: usize,
    /// Files being closed now, on the blocking pool: opening one of them
    /// again waits for its close (its lock) first.
    closing: HashMap<Identity, tokio::task::JoinHandle<()>>,
}

impl State {
    fn user_takes(&mut self, user: &str, name: &str) {
        *self
            .by_user
            .entry(user.to_string())
            .or_default()
            .entry(name.to_string())
            .or_insert(0) += 1;
    }

    fn user_leaves(&mut self, user: &str, name: &str) {
        if let Some(mine) = self.by_user.get_mut(user) {
            if let Some(n) = mine.get_mut(name) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    mine.remove(name);
                }
            }
            if mine.is_empty() {
                self.by_user.remove(user);
            }
        }
    }

    /// Close `id`: forget it and its names, and drop the company on the
    /// blocking pool (closing checkpoints its WAL).
    fn close(&mut self, id: &Identity) {
        if let Some(held) = self.companies.remove(id) {
            self.names.retain(|_, v| v != id);
            let company = held.company;
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let handle = rt.spawn_blocking(move || drop(company));
                self.closing.insert(id.clone(), handle);
            }
        }
        self.closing.retain(|_, h| !h.is_finished());
    }
}

/// What [`OpenFiles::take`] found.
pub enum Take<'a> {
    /// The file is open: a session on it is taken.
    Open(Arc<Company>, Identity),
    /// It is not (under this name): a slot is taken for opening it.
    Slot(Slot<'a>),
}

/// A slot taken for a file being opened; given back when dropped unless
/// the file was registered with [`OpenFiles::hold`] or found open under
/// another name with [`OpenFiles::alias`].
pub struct Slot<'a> {
    files: &'a OpenFiles,
    name: String,
    user: String,
    used: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.used {
            let mut s = self.files.lock();
            s.opening = s.opening.saturating_sub(1);
            s.user_leaves(&self.user, &self.name);
        }
    }
}

/// A file being created, counted until dropped.
pub struct Creating<'a>(&'a OpenFiles);

impl Drop for Creating<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.creating = s.creating.saturating_sub(1);
    }
}

pub struct OpenFiles {
    max_open: usize,
    max_per_user: usize,
    state: Mutex<State>,
}

impl OpenFiles {
    pub fn new(max_open: usize, max_per_user: usize) -> OpenFiles {
        OpenFiles {
            max_open: max_open.max(1),
            max_per_user: max_per_user.max(1),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take a session on the file `name` for `user` if it is open, or a
    /// slot for opening it: then open it, and [`Self::alias`] or
    /// [`Self::hold`] it.
    pub fn take(&self, name: &str, user: &str) -> Result<Take<'_>, BackendError> {
        let mut s = self.lock();
        let mine = s.by_user.get(user);
        if !mine.is_some_and(|m| m.contains_key(name))
            && mine.map_or(0, HashMap::len) >= self.max_per_user
        {
            return Err(limit(format!(
                "user `{user}` holds {} company files open at once, the most one user may; \
                 close sessions on the others first",
                self.max_per_user
            )));
        }
        if let Some(id) = s.names.get(name).cloned() {
            if let Some(held) = s.companies.get_mut(&id) {
                held.sessions += 1;
                held.last_used = Instant::now();
                let company = held.company.clone();
                s.user_takes(user, name);
                return Ok(Take::Open(company, id));
            }
        }
        // Close what nobody has used for a while and, at the limit, the
        // file unused for longest.
        let now = Instant::now();
        let idle: Vec<Identity> = s
            .companies
            .iter()
            .filter(|(_, h)| h.sessions == 0 && now.duration_since(h.last_used) >= IDLE_CLOSE)
            .map(|(k, _)| k.clone())
            .collect();
        for id in &idle {
            s.close(id);
        }
        if s.companies.len() + s.opening >= self.max_open {
            let lru = s
                .companies
                .iter()
                .filter(|(_, h)| h.sessions == 0)
                .min_by_key(|(_, h)| h.last_used)
                .map(|(k, _)| k.clone());
            match lru {
                Some(id) => s.close(&id),
                None => {
                    return Err(limit(format!(
                        "all {} company files that may be open at once are in use",
                        self.max_open
                    )))
                }
            }
        }
        s.opening += 1;
        s.user_takes(user, name);
        Ok(Take::Slot(Slot {
            files: self,
            name: name.to_string(),
            user: user.to_string(),
            used: false,
        }))
    }

    /// The close of `id` under way, if any: wait for it before opening
    /// the file again.
    pub fn closing(&self, id: &Identity) -> Option<tokio::task::JoinHandle<()>> {
        self.lock().closing.remove(id)
    }

    /// The file is open already, under another name: take a session on
    /// it with the slot (which is given back), or `Err(slot)` if it is
    /// not open after all.
    pub fn alias<'a>(
        &'a self,
        mut slot: Slot<'a>,
        id: &Identity,
    ) -> Result<Arc<Company>, Slot<'a>> {
        let mut s = self.lock();
        let Some(held) = s.companies.get_mut(id) else {
            return Err(slot);
        };
        held.sessions += 1;
        held.last_used = Instant::now();
        let company = held.company.clone();
        s.opening = s.opening.saturating_sub(1);
        s.names.insert(slot.name.clone(), id.clone());
        slot.used = true;
        Ok(company)
    }

    /// Register a file just opened, with a session on it.
    pub fn hold(&self, mut slot: Slot<'_>, id: Identity, company: Company) -> Arc<Company> {
        let mut s = self.lock();
        s.opening = s.opening.saturating_sub(1);
        slot.used = true;
        s.names.insert(slot.name.clone(), id.clone());
        let held = s.companies.entry(id).or_insert_with(|| Held {
            company: Arc::new(company),
            sessions: 0,
            last_used: Instant::now(),
        });
        held.sessions += 1;
        held.last_used = Instant::now();
        held.company.clone()
    }

    /// A session on the file `name` (`id`) by `user` has ended.
    pub fn release(&self, name: &str, id: &Identity, user: &str) {
        let mut s = self.lock();
        if let Some(held) = s.companies.get_mut(id) {
            held.sessions = held.sessions.saturating_sub(1);
            held.last_used = Instant::now();
        }
        s.user_leaves(user, name);
    }

    /// Count a file about to be created, if the data directory (which
    /// holds `on_disk` files) may have one more of `max`.
    pub fn creating(&self, on_disk: usize, max: usize) -> Option<Creating<'_>> {
        let mut s = self.lock();
        if on_disk + s.creating >= max {
            return None;
        }
        s.creating += 1;
        Some(Creating(self))
    }

    /// Open files (for tests).
    pub fn open_count(&self) -> usize {
        self.lock().companies.len()
    }
}

/// A limit on open files: 503 `QBC_COMPANY_LIMIT`, nothing done.
fn limit(message: String) -> BackendError {
    BackendError::new(BackendErrorKind::Busy, None, message)
}
