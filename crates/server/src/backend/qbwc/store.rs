//! The bridge's memory on disk: every job (its request, what became of it,
//! QuickBooks' answer), the Web Connector sessions and what each company
//! file's QuickBooks said about itself — in one SQLite file, so that they
//! survive a restart.
//!
//! Writes go to one writer thread through a channel and are committed in
//! batches: the SOAP calls that cause them never wait for the disk (a
//! Web Connector call costs microseconds, a commit more). `flush` waits
//! until everything sent before it is committed; the bridge flushes when
//! it stops. What a crash can lose is the last moments' records, never a
//! job's safety: a job still recorded as queued after a restart is never
//! sent (see `Restored`), so a handover that was not yet written cannot
//! lead to a second handover.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

/// One record to write.
pub enum Write {
    Queued {
        id: u64,
        company: String,
        write: bool,
        request: String,
    },
    /// A read whose session ended before its answer: in line again.
    Requeued {
        id: u64,
    },
    /// Handed to the Web Connector of session `ticket`.
    Handed {
        id: u64,
        ticket: String,
    },
    /// Finished: `answered`, `failed`, `lost`, `withdrawn`, `refused`.
    Done {
        id: u64,
        state: &'static str,
        answer: Option<String>,
        error: Option<String>,
    },
    Session {
        ticket: String,
        company: String,
    },
    SessionEnded {
        ticket: String,
    },
    Contact {
        company: String,
        product: String,
        version: String,
        country: String,
        file: String,
    },
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// What a restart finds.
#[derive(Default)]
pub struct Restored {
    /// The largest job id used.
    pub last_id: u64,
    /// Jobs that were queued (never handed over): marked `abandoned`, and
    /// not sent — their clients' connections ended with the old process.
    pub abandoned: u64,
    /// Open Web Connector sessions.
    pub sessions: Vec<OpenSession>,
    /// What each company's QuickBooks said at its last session.
    pub contacts: Vec<Contact>,
}

/// A Web Connector session that was open when the last process stopped.
pub struct OpenSession {
    pub ticket: String,
    pub company: String,
    /// The job in QuickBooks' hands then: its id, and whether it writes.
    pub inflight: Option<(u64, bool)>,
}

pub struct Contact {
    pub company: String,
    pub product: String,
    pub version: String,
    pub country: String,
    pub file: String,
}

pub struct Store {
    tx: Option<mpsc::Sender<Write>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS jobs(
    id INTEGER PRIMARY KEY,
    company TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    is_write INTEGER NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    ticket TEXT,
    answer TEXT,
    error TEXT,
    updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS sessions(
    ticket TEXT PRIMARY KEY,
    company TEXT NOT NULL,
    started_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contacts(
    company TEXT PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    product TEXT NOT NULL,
    version TEXT NOT NULL,
    country TEXT NOT NULL,
    file TEXT NOT NULL);
";

impl Store {
    /// No file: nothing is kept (`state_file = ""`).
    pub fn memory() -> Store {
        Store {
            tx: None,
            writer: None,
        }
    }

    /// Open (or create) the file, read what a restart needs, drop finished
    /// jobs older than `keep_days`, and start the writer.
    pub fn open(path: &Path, keep_days: u64) -> Result<(Store, Restored), String> {
        let what = |e: rusqlite::Error| format!("{}: {e}", path.display());
        let conn = Connection::open(path).map_err(what)?;
        conn.execute_batch(SCHEMA).map_err(what)?;
        let restored = restore(&conn, keep_days).map_err(what)?;
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("qbwc-store".into())
            .spawn(move || write_loop(conn, rx, keep_days))
            .map_err(|e| format!("cannot start the store's writer: {e}"))?;
        Ok((
            Store {
                tx: Some(tx),
                writer: Some(writer),
            },
            restored,
        ))
    }

    pub fn send(&self, w: Write) {
        if let Some(tx) = &self.tx {
            // The writer ends only when the store is dropped.
            let _ = tx.send(w);
        }
    }

    /// Wait until everything sent so far is committed.
    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let (done, wait) = mpsc::sync_channel(1);
            if tx.send(Write::Flush(done)).is_ok() {
                let _ = wait.recv();
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn restore(conn: &Connection, keep_days: u64) -> rusqlite::Result<Restored> {
    let now = now_ms();
    let mut r = Restored::default();
    let horizon = now - (keep_days as i64) * 86_400_000;
    conn.execute(
        "DELETE FROM jobs WHERE updated_ms < ?1 AND state NOT IN ('queued', 'handed')",
        params![horizon],
    )?;
    r.abandoned = conn.execute(
        "UPDATE jobs SET state = 'abandoned', updated_ms = ?1 WHERE state = 'queued'",
        params![now],
    )? as u64;
    r.last_id = conn
        .query_row("SELECT MAX(id) FROM jobs", [], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0)
        .max(0) as u64;
    // One Web Connector session per company file: only its latest one can
    // still be going on (a new authenticate ended the others).
    // (Records are written in the order they happened, through one
    // channel: the latest is the last row written.)
    conn.execute(
        "DELETE FROM sessions WHERE rowid NOT IN \
         (SELECT MAX(rowid) FROM sessions GROUP BY company)",
        [],
    )?;
    let mut st = conn.prepare(
        "SELECT s.ticket, s.company, j.id, j.is_write FROM sessions s \
         LEFT JOIN jobs j ON j.ticket = s.ticket AND j.state = 'handed'",
    )?;
    let rows = st.query_map([], |row| {
        let id: Option<i64> = row.get(2)?;
        let write: Option<i64> = row.get(3)?;
        Ok(OpenSession {
            ticket: row.get(0)?,
            company: row.get(1)?,
            inflight: id.map(|i| (i.max(0) as u64, write.unwrap_or(1) != 0)),
        })
    })?;
    for row in rows {
        r.sessions.push(row?);
    }
    let mut st = conn.prepare("SELECT company, product, version, country, file FROM contacts")?;
    let rows = st.query_map([], |row| {
        Ok(Contact {
            company: row.get(0)?,
            product: row.get(1)?,
            version: row.get(2)?,
            country: row.get(3)?,
            file: row.get(4)?,
        })
    })?;
    for row in rows {
        r.contacts.push(row?);
    }
    // A job handed over in a session that is no longer recorded never
    // gets its answer: it is lost, and says so.
    conn.execute(
        "UPDATE jobs SET state = 'lost', updated_ms = ?1 WHERE state = 'handed' \
         AND (ticket IS NULL OR ticket NOT IN (SELECT ticket FROM sessions))",
        params![now],
    )?;
    Ok(r)
}

fn apply(conn: &Connection, w: Write) -> rusqlite::Result<Option<mpsc::SyncSender<()>>> {
    let now = now_ms();
    match w {
        Write::Queued {
            id,
            company,
            write,
            request,
        } => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO jobs(id, company, created_ms, is_write, request, state, \
                 updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?3)",
            )?
            .execute(params![id as i64, company, now, write as i64, request])?;
        }
        Write::Requeued { id } => {
            conn.prepare_cached(
                "UPDATE jobs SET state = 'queued', ticket = NULL, updated_ms = ?2 WHERE id = ?1",
            )?
            .execute(params![id as i64, now])?;
        }
        Write::Handed { id, ticket } => {
            conn.prepare_cached(
                "UPDATE jobs SET state = 'handed', ticket = ?2, updated_ms = ?3 WHERE id = ?1",
            )?
            .execute(params![id as i64, ticket, now])?;
        }
        Write::Done {
            id,
            state,
            answer,
            error,
        } => {
            conn.prepare_cached(
                "UPDATE jobs SET state = ?2, answer = COALESCE(?3, answer), error = ?4, \
                 updated_ms = ?5 WHERE id = ?1",
            )?
            .execute(params![id as i64, state, answer, error, now])?;
        }
        Write::Session { ticket, company } => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO sessions(ticket, company, started_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![ticket, company, now])?;
        }
        Write::SessionEnded { ticket } => {
            conn.prepare_cached("DELETE FROM sessions WHERE ticket = ?1")?
                .execute(params![ticket])?;
        }
        Write::Contact {
            company,
            product,
            version,
            country,
            file,
        } => {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO contacts(company, at_ms, product, version, country, file) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![company, now, product, version, country, file])?;
        }
        Write::Flush(done) => return Ok(Some(done)),
    }
    Ok(None)
}

/// How long the writer gathers records before it commits: one commit
/// (and one wake-up of this thread) for what arrives in that time, not
/// one per record. A flush commits at once.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);

/// How often finished jobs older than `keep_days` are dropped.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Commit what arrives, in batches.
fn write_loop(conn: Connection, rx: mpsc::Receiver<Write>, keep_days: u64) {
    let mut pruned = std::time::Instant::now();
    while let Ok(first) = rx.recv() {
        let mut flushes = Vec::new();
        let flushing = matches!(first, Write::Flush(_));
        if !flushing {
            // Let the batch gather without being woken for each record: a
            // sender only wakes this thread when it waits in `recv`.
            std::thread::sleep(GATHER);
        }
        let mut batch = vec![first];
        while batch.len() < 4096 {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        if pruned.elapsed() > PRUNE_EVERY {
            pruned = std::time::Instant::now();
            let horizon = now_ms() - (keep_days as i64) * 86_400_000;
            if let Err(e) = conn.execute(
                "DELETE FROM jobs WHERE updated_ms < ?1 AND state NOT IN ('queued', 'handed')",
                params![horizon],
            ) {
                tracing::warn!(error = %e, "the Web Connector bridge could not drop old jobs");
            }
        }
        let result = (|| -> rusqlite::Result<()> {
            let tx = conn.unchecked_transaction()?;
            for w in batch {
                // One record that fails is reported; the others are kept.
                match apply(&tx, w) {
                    Ok(Some(f)) => flushes.push(f),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "the Web Connector bridge could not record a job")
                    }
                }
            }
            tx.commit()
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, "the Web Connector bridge could not record its jobs");
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn count(path: &Path, state: &str) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM jobs WHERE state = ?1", [state], |r| {
                r.get(0)
            })
            .unwrap()
    }

    #[test]
    fn a_restart_abandons_queued_jobs_and_keeps_the_open_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.sqlite");
        {
            let (store, r) = Store::open(&path, 7).unwrap();
            assert_eq!(r.last_id, 0);
            for id in 1..=3 {
                store.send(Write::Queued {
                    id,
                    company: "acme".into(),
                    write: true,
                    request: format!("<Job{id}/>"),
                });
            }
            store.send(Write::Session {
                ticket: "old".into(),
                company: "acme".into(),
            });
            store.send(Write::Session {
                ticket: "t".into(),
                company: "acme".into(),
            });
            store.send(Write::Handed {
                id: 2,
                ticket: "t".into(),
            });
            store.send(Write::Handed {
                id: 3,
                ticket: "gone".into(),
            });
            store.flush();
            // Dropped without `stop`: as a crash leaves it.
        }
        let (_store, r) = Store::open(&path, 7).unwrap();
        assert_eq!(r.last_id, 3);
        assert_eq!(
            r.abandoned, 1,
            "job 1 was queued: never sent after a restart"
        );
        assert_eq!(count(&path, "abandoned"), 1);
        // The session still open, with the job in QuickBooks' hands.
        let open: Vec<_> = r
            .sessions
            .iter()
            .map(|s| (s.ticket.as_str(), s.inflight))
            .collect();
        assert_eq!(open, [("t", Some((2, true)))], "the latest session only");
        // A job handed in a session that is not on record is lost.
        assert_eq!(count(&path, "lost"), 1);
    }
}
