//! Daily log files, named the way the Remote Connector names them
//! (`yyyy_MM_dd.txt`, UTC): what the Windows service writes to, since it
//! has no console, and the Linux service (docs/OPERATIONS.md). Files of
//! days older than the retention are removed at start and as each day
//! begins.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct DailyFiles {
    dir: PathBuf,
    /// Files of days older than this many are removed (0: none are).
    keep_days: u32,
    open: Mutex<Option<(i64, File)>>,
}

impl DailyFiles {
    pub fn new(dir: &Path, keep_days: u32) -> Result<DailyFiles, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the log folder {}: {e}", dir.display()))?;
        let files = DailyFiles {
            dir: dir.to_path_buf(),
            keep_days,
            open: Mutex::new(None),
        };
        // Fail now, not at the first line, when the folder is not writable.
        let day = today();
        files
            .file_for(day)
            .map_err(|e| format!("cannot write a log file in {}: {e}", dir.display()))?;
        files.remove_old(day);
        Ok(files)
    }

    fn file_for(&self, day: i64) -> std::io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(file_name(day)))
    }

    /// Remove the daily files of days before the `keep_days` that end
    /// with `today` (the files this writes only: `yyyy_MM_dd.txt`).
    fn remove_old(&self, today: i64) {
        if self.keep_days == 0 {
            return;
        }
        let first_kept = today - i64::from(self.keep_days) + 1;
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name();
            if let Some(day) = name.to_str().and_then(day_of) {
                if day < first_kept {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Today, UTC, in days since 1970-01-01.
fn today() -> i64 {
    (qbc_server::days::now_secs() / 86_400) as i64
}

/// A day's file name: `2026_11_29.txt`.
fn file_name(day: i64) -> String {
    let (y, m, d) = qbc_server::days::civil(day);
    format!("{y:04}_{m:02}_{d:02}.txt")
}

/// The day a daily file is for, if `name` is one (`2026_11_29.txt`).
fn day_of(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".txt")?;
    let mut parts = stem.split('_');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(d)) {
        return None;
    }
    qbc_server::days::days_from_civil(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

impl Write for &DailyFiles {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let day = today();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.as_ref().map(|(d, _)| *d != day).unwrap_or(true) {
            *open = Some((day, self.file_for(day)?));
            // A new day: the oldest file goes (a quick directory scan,
            // once a day).
            self.remove_old(day);
        }
        match open.as_mut() {
            Some((_, f)) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        match open.as_mut() {
            Some((_, f)) => f.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_days() {
        assert_eq!(file_name(20_786), "2026_11_29.txt");
        assert_eq!(day_of("2026_11_29.txt"), Some(20_786));
        for bad in [
            "2026_11_29.log",
            "2026_11_31.txt",
            "2026_1_29.txt",
            "2026_11_29_1.txt",
            "x026_11_29.txt",
            "notes.txt",
        ] {
            assert_eq!(day_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn old_days_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let today = today();
        for back in [0, 1, 2, 3, 40] {
            std::fs::write(dir.path().join(file_name(today - back)), "x").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        std::fs::write(dir.path().join(file_name(today + 1)), "clock moved").unwrap();
        // The day given, not read again: the test holds across midnight.
        let files = DailyFiles {
            dir: dir.path().to_path_buf(),
            keep_days: 2,
            open: Mutex::new(None),
        };
        files.remove_old(today);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want = vec![
            file_name(today - 1),
            file_name(today),
            file_name(today + 1),
            "notes.txt".to_string(),
        ];
        want.sort();
        assert_eq!(left, want);
        // 0 keeps everything.
        std::fs::write(dir.path().join(file_name(today - 400)), "x").unwrap();
        DailyFiles::new(dir.path(), 0).unwrap();
        assert!(dir.path().join(file_name(today - 400)).exists());
    }

    #[test]
    fn lines_go_to_the_days_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = DailyFiles::new(dir.path(), 30).unwrap();
        (&files).write_all(b"a line\n").unwrap();
        (&files).flush().unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        // Today's (or, across midnight, tomorrow's too).
        assert!(names.iter().all(|n| day_of(n).is_some()), "{names:?}");
        let text: String = names
            .iter()
            .map(|n| std::fs::read_to_string(dir.path().join(n)).unwrap())
            .collect();
        assert_eq!(text, "a line\n");
    }
}
