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

use crate::backend::{Backend, BackupFile, Copied};
use crate::queue::Lanes;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
/// `dir` (created if need be), then keep the newest `keep` (0: all): for
/// a connector that is not running (`qbconnector backup`).
pub async fn make(backend: &Arc<dyn Backend>, dir: &Path, keep: usize) -> Result<Made, String> {
    make_in(backend, None, dir, keep).await
}

/// [`make`], each file copied in its lane when the connector runs: a
/// request to that file waits in its queue for the copy, never on a
/// worker thread.
pub(crate) async fn make_in(
    backend: &Arc<dyn Backend>,
    lanes: Option<&Lanes>,
    dir: &Path,
    keep: usize,
) -> Result<Made, String> {
    // One at a time: a scheduled backup and a SIGUSR1 at once would
    // otherwise remove each other's unfinished folder.
    let _one = ONE_AT_A_TIME.lock().await;
    let at = dir.to_path_buf();
    let (name, partial) = blocking(move || {
        std::fs::create_dir_all(&at).map_err(|e| format!("cannot create {}: {e}", at.display()))?;
        remove_partials(&at);
        fresh(&at)
    })
    .await?;
    let copied = match copy_all(backend, lanes, &partial).await {
        Ok(c) => c,
        Err(e) => {
            let p = partial.clone();
            let _ = blocking(move || Ok(std::fs::remove_dir_all(&p))).await;
            return Err(e);
        }
    };
    let at = dir.to_path_buf();
    let folder = dir.join(&name);
    let into = folder.clone();
    let removed = blocking(move || {
        let placed = sync_dir(&partial)
            .and_then(|()| std::fs::rename(&partial, &into))
            .and_then(|()| sync_dir(&at));
        if let Err(e) = placed {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(format!(
                "cannot complete the backup in {}: {e}",
                at.display()
            ));
        }
        Ok(prune(&at, keep, &name))
    })
    .await?;
    Ok(Made {
        folder,
        copied,
        removed,
    })
}

/// Every company file into `partial`, each in its lane; an error when one
/// cannot be copied, or when there is none (a backup of nothing must not
/// pass for one, nor make room by removing older ones).
async fn copy_all(
    backend: &Arc<dyn Backend>,
    lanes: Option<&Lanes>,
    partial: &Path,
) -> Result<Copied, String> {
    let mut copied = Copied::default();
    for key in backend.backup_files().await? {
        let work = {
            let (backend, key, partial) = (backend.clone(), key.clone(), partial.to_path_buf());
            async move { backend.backup_file(&key, &partial).await }
        };
        let one = match lanes {
            Some(lanes) => lanes
                .run_anyway(&key, work)
                .await
                .unwrap_or_else(|| Err(format!("{key}: the copy failed (a bug)"))),
            None => work.await,
        };
        match one? {
            BackupFile::Copied(bytes) => copied.files.push((key, bytes)),
            BackupFile::NotACompany(why) => copied.skipped.push((key, why)),
        }
    }
    if copied.files.is_empty() {
        return Err("no company file to back up in the data directory".into());
    }
    Ok(copied)
}

/// File system work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("the backup stopped: {e}"))?
}

/// When the newest backup in `dir` was made (Unix seconds, from its
/// name), if there is one: where the schedule picks up after a restart.
pub fn newest(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_backup(n))
        .filter_map(|n| stamp_secs(&n))
        .max()
}

/// `2026-12-05T031500Z` → Unix seconds.
fn stamp_secs(name: &str) -> Option<u64> {
    let num = |r: std::ops::Range<usize>| name.get(r)?.parse::<u32>().ok();
    let days = crate::days::days_from_civil(i64::from(num(0..4)?), num(5..7)?, num(8..10)?)?;
    let (h, m, s) = (num(11..13)?, num(13..15)?, num(15..17)?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let secs = days * 86_400 + i64::from(h * 3600 + m * 60 + s);
    u64::try_from(secs).ok()
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

/// Remove the oldest backups beyond `keep` (0: none) but the one just
/// made (`made`), whatever the clock said when it was named; what was
/// removed. Only folders named as backups are touched.
fn prune(dir: &Path, keep: usize, made: &str) -> Vec<PathBuf> {
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
            (is_backup(&name) && name != made).then(|| (order_key(&name), e.path()))
        })
        .collect();
    backups.sort();
    // The one just made counts toward `keep`.
    let excess = (backups.len() + 1).saturating_sub(keep);
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
        let removed = prune(dir.path(), 2, "2026-12-03T000000Z-2");
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
        assert!(prune(dir.path(), 0, "").is_empty());
    }

    /// A clock set back names the new backup as the oldest: it stays.
    #[test]
    fn prune_never_removes_the_backup_just_made() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "2026-12-01T000000Z",
            "2026-12-02T000000Z",
            "2020-01-01T000000Z",
        ] {
            std::fs::create_dir(dir.path().join(n)).unwrap();
        }
        let removed = prune(dir.path(), 2, "2020-01-01T000000Z");
        assert_eq!(removed, [dir.path().join("2026-12-01T000000Z")]);
        assert!(dir.path().join("2020-01-01T000000Z").exists());
        assert_eq!(newest(dir.path()), stamp_secs("2026-12-02T000000Z"));
    }

    #[test]
    fn stamps_read_back() {
        for secs in [0, 1_796_469_302, 4_102_444_799] {
            assert_eq!(stamp_secs(&crate::days::stamp(secs)), Some(secs));
        }
        assert_eq!(
            stamp_secs("2026-12-05T031500Z-2"),
            stamp_secs("2026-12-05T031500Z")
        );
        assert_eq!(stamp_secs("2026-02-30T000000Z"), None);
        assert_eq!(stamp_secs("2026-12-05T246000Z"), None);
    }
}
