//! Online backups of the company files: `[backup]` on a schedule, SIGUSR1
//! (`Running::backup`) and `qbconnector backup` at once.
//!
//! A backup is a folder named by its UTC time (`2026-12-05T031500Z`) that
//! holds one consistent copy of each company file (the backend's
//! [`Backend::backup`]). It is made under a hidden name and renamed into
//! place once every copy is on disk, so a folder with a time for a name
//! is always a whole backup: a crash or a full disk leaves only a hidden
//! `.…partial` folder, removed by the next backup. Only then are the
//! oldest backups beyond `keep` removed — never before the new one is
//! whole.

use crate::backend::{Backend, Copied};
use std::path::{Path, PathBuf};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A backup that completed.
#[derive(Debug)]
pub struct Made {
    /// The backup's folder.
    pub folder: PathBuf,
    pub copied: Copied,
    /// Older backups removed to keep `keep`.
    pub removed: Vec<PathBuf>,
}

impl Made {
    /// One line for the log.
    pub fn summary(&self) -> String {
        let bytes: u64 = self.copied.files.iter().map(|(_, b)| b).sum();
        let mut s = format!(
            "backup {}: {} company file(s), {bytes} bytes",
            self.folder.display(),
            self.copied.files.len()
        );
        for (name, why) in &self.copied.skipped {
            s.push_str(&format!("; left out {name}: {why}"));
        }
        if !self.removed.is_empty() {
            s.push_str(&format!("; removed {} older", self.removed.len()));
        }
        s
    }
}

/// Make a backup of every company file of `backend` in a new folder under
/// `dir` (created if need be), then keep the newest `keep` (0: all).
pub async fn make(backend: &dyn Backend, dir: &Path, keep: usize) -> Result<Made, String> {
    // One at a time: a scheduled backup and a SIGUSR1 at once would
    // otherwise remove each other's unfinished folder.
    let _one = ONE_AT_A_TIME.lock().await;
    let shown = dir.display().to_string();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {shown}: {e}"))?;
    remove_partials(dir);
    let (name, partial) = fresh(dir)?;
    let copied = match backend.backup(&partial).await {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let folder = dir.join(&name);
    let placed = sync_dir(&partial)
        .and_then(|()| std::fs::rename(&partial, &folder))
        .and_then(|()| sync_dir(dir));
    if let Err(e) = placed {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(format!("cannot complete the backup in {shown}: {e}"));
    }
    let removed = prune(dir, keep);
    Ok(Made {
        folder,
        copied,
        removed,
    })
}

/// A new backup's name and its hidden folder, made: the time, with `-2`,
/// `-3`… when a backup of the same second exists.
fn fresh(dir: &Path) -> Result<(String, PathBuf), String> {
    let stamp = crate::days::stamp(crate::days::now_secs());
    for n in 1..100u32 {
        let name = if n == 1 {
            stamp.clone()
        } else {
            format!("{stamp}-{n}")
        };
        if dir.join(&name).exists() {
            continue;
        }
        let partial = dir.join(format!(".{name}.partial"));
        match std::fs::create_dir(&partial) {
            Ok(()) => return Ok((name, partial)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", partial.display())),
        }
    }
    Err(format!("too many backups this second in {}", dir.display()))
}

/// Whether `name` is a backup's folder name (what [`make`] names them).
fn is_backup(name: &str) -> bool {
    let b = name.as_bytes();
    let stamp = b.len() >= 18
        && b[..18].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            17 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    stamp
        && (b.len() == 18
            || (b.len() > 19 && b[18] == b'-' && b[19..].iter().all(u8::is_ascii_digit)))
}

/// Remove hidden folders that a backup which did not finish left.
fn remove_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(inner) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".partial"))
        {
            if is_backup(inner) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Remove the oldest backups beyond `keep` (0: none); what was removed.
/// Only folders named as backups are touched.
fn prune(dir: &Path, keep: usize) -> Vec<PathBuf> {
    if keep == 0 {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut backups: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            is_backup(&name).then(|| (order_key(&name), e.path()))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(keep);
    backups
        .into_iter()
        .take(excess)
        .filter(|(_, p)| std::fs::remove_dir_all(p).is_ok())
        .map(|(_, p)| p)
        .collect()
}

/// Sorts as made: the time, then the `-N` of the same second by number.
fn order_key(name: &str) -> String {
    let n: u32 = name.get(19..).and_then(|n| n.parse().ok()).unwrap_or(1);
    format!("{}{n:010}", &name[..18])
}

/// Make a folder's entries durable (a rename, a new file) where the
/// platform can; elsewhere (Windows) the rename is durable already.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names() {
        assert!(is_backup("2026-12-05T031500Z"));
        assert!(is_backup("2026-12-05T031500Z-12"));
        assert!(!is_backup("2026-12-05T031500Z-"));
        assert!(!is_backup("2026-12-05T031500"));
        assert!(!is_backup("notes"));
        assert!(!is_backup("2026-12-05T031500Z.txt"));
        assert!(order_key("2026-12-05T031500Z-10") > order_key("2026-12-05T031500Z-9"));
        assert!(order_key("2026-12-05T031500Z-2") > order_key("2026-12-05T031500Z"));
    }

    #[test]
    fn prune_keeps_the_newest_and_touches_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "2026-12-01T000000Z",
            "2026-12-02T000000Z",
            "2026-12-03T000000Z",
            "2026-12-03T000000Z-2",
            "keep-me",
        ] {
            std::fs::create_dir(dir.path().join(n)).unwrap();
        }
        std::fs::write(dir.path().join("2026-11-01T000000Z"), "a file").unwrap();
        let removed = prune(dir.path(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(removed.len(), 2);
        assert_eq!(
            left,
            [
                "2026-11-01T000000Z",
                "2026-12-03T000000Z",
                "2026-12-03T000000Z-2",
                "keep-me"
            ]
        );
        assert!(prune(dir.path(), 0).is_empty());
    }
}
