//! Daily log files, named the way the Remote Connector names them
//! (`yyyy_MM_dd.txt`, UTC): what the Windows service writes to, since it
//! has no console.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct DailyFiles {
    dir: PathBuf,
    open: Mutex<Option<(String, File)>>,
}

impl DailyFiles {
    pub fn new(dir: &Path) -> Result<DailyFiles, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the log folder {}: {e}", dir.display()))?;
        let files = DailyFiles {
            dir: dir.to_path_buf(),
            open: Mutex::new(None),
        };
        // Fail now, not at the first line, when the folder is not writable.
        files
            .file_for(&today())
            .map_err(|e| format!("cannot write a log file in {}: {e}", dir.display()))?;
        Ok(files)
    }

    fn file_for(&self, day: &str) -> std::io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{day}.txt")))
    }
}

/// Today's file name stem, UTC: `2026_11_29`.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let (y, m, d) = civil(days);
    format!("{y:04}_{m:02}_{d:02}")
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl Write for &DailyFiles {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let day = today();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.as_ref().map(|(d, _)| d != &day).unwrap_or(true) {
            *open = Some((day.clone(), self.file_for(&day)?));
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
    use super::civil;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(59), (1970, 3, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(20_786), (2026, 11, 29));
    }
}
