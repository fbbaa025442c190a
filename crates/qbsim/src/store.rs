//! The company file: one SQLite database (WAL), its schema and migrations,
//! and the row-level operations the list code needs.
//!
//! Columns hold what QuickBooks computes or searches on (IDs, names and
//! their hierarchy, sort keys, times, balances); `body` holds everything
//! else of a record's `…Ret` in the compact encoding of `body.rs`, with
//! references stored by ListID only (their FullName is looked up when the
//! record is written out, so renames show everywhere at once).

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// Bumped when the schema changes; `migrate` brings older files forward.
pub const SCHEMA_VERSION: i64 = 2;

pub type Db = Connection;

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: an answered write survives power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of the process, not of the OS.
    Normal,
}

/// SQLite's `application_id` of a company file (`QBsm` in ASCII). It is
/// what tells a company file from any other SQLite database, and from the
/// side files SQLite keeps beside one (a WAL or journal is not a database
/// at all): the simulator opens nothing else, because opening writes.
pub const APPLICATION_ID: i32 = 0x5142_736D;

/// What a file on disk is, read from its first 100 bytes (SQLite's
/// header) without opening it with SQLite, which could write to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    Missing,
    /// A company file. `stamped` is false for one made before company
    /// files carried [`APPLICATION_ID`] (recognised by its schema
    /// version); a writable opening stamps it.
    Company {
        stamped: bool,
    },
    /// Something else, and why it is not a company file.
    Other(String),
}

pub fn probe(path: &Path) -> std::io::Result<Probe> {
    use std::io::Read;
    // The metadata first: Windows does not open a folder as a file.
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Probe::Missing),
        Err(e) => return Err(e),
        Ok(m) if !m.is_file() => return Ok(Probe::Other("not a regular file".into())),
        Ok(_) => {}
    }
    let mut file = std::fs::File::open(path)?;
    let mut head = [0u8; 100];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    if got < head.len() || &head[..16] != b"SQLite format 3\0" {
        return Ok(Probe::Other(if got == 0 {
            "an empty file".into()
        } else {
            "not a SQLite database".into()
        }));
    }
    let be = |at: usize| i32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let (user_version, application_id) = (be(60), be(68));
    if application_id == APPLICATION_ID {
        return Ok(Probe::Company { stamped: true });
    }
    // Files of the first simulator versions had no application_id. Other
    // applications' databases may have a schema version too, so the file
    // itself is looked at — read-only and immutable, which writes nothing,
    // not even a side file: the simulator's tables and the mark of its
    // built-in lists must be there.
    if application_id == 0
        && (1..=SCHEMA_VERSION).contains(&i64::from(user_version))
        && made_by_us(path)
    {
        return Ok(Probe::Company { stamped: false });
    }
    Ok(Probe::Other(format!(
        "a SQLite database of another application (application_id {application_id:#x})"
    )))
}

/// Whether an unstamped SQLite file holds the simulator's first schema
/// and its built-in lists (see [`probe`]).
fn made_by_us(path: &Path) -> bool {
    use rusqlite::OpenFlags;
    // A URI, so that SQLite may be told the file is immutable.
    let mut uri = String::from("file:");
    for b in path.to_string_lossy().replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(db) = Connection::open_with_flags(uri, flags) else {
        return false;
    };
    let tables: i64 = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN \
             ('meta','counter','list','ref','deleted','data_ext_def','data_ext','msgset')",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    tables == 8
        && db
            .query_row("SELECT 1 FROM meta WHERE key='seeded'", [], |_| Ok(()))
            .is_ok()
}

/// Make a new company file at `path`: built whole under a hidden
/// temporary name beside it (schema, [`APPLICATION_ID`], whatever `seed`
/// writes), made durable, then linked into place only if nothing is there
/// — so a crash never leaves half a company under the real name, and an
/// existing file is never replaced. `Ok(false)` when a file appeared at
/// `path` meanwhile (nothing was changed).
pub fn create(path: &Path, seed: impl FnOnce(&Db) -> Result<()>) -> Result<bool> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| StoreError(format!("{}: not a file name", path.display())))?;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.new-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let built = (|| -> Result<()> {
        let db = Connection::open(&tmp)?;
        // Rollback journal while building: every page lands in the file
        // itself, the header (application_id, schema version) included.
        db.execute_batch(&format!(
            "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; PRAGMA application_id={APPLICATION_ID};"
        ))?;
        migrate(&db)?;
        seed(&db)?;
        let mode: String = db.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError(format!("cannot use WAL journal (got {mode})")));
        }
        db.close().map_err(|(_, e)| StoreError::from(e))?;
        // Windows flushes only a file opened for writing.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&tmp)?
            .sync_all()?;
        Ok(())
    })();
    let linked = built.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links (FAT, exFAT): a rename, which
        // is as atomic, after a look that nothing is there (which is not:
        // a file made by another process between the two is replaced).
        Err(_) if !path.exists() => std::fs::rename(&tmp, path)
            .map(|()| true)
            .map_err(|e| StoreError(format!("{}: {e}", path.display()))),
        Err(e) => Err(StoreError(format!("{}: {e}", path.display()))),
    });
    for side in ["", "-wal", "-shm", "-journal"] {
        let mut p = tmp.clone().into_os_string();
        p.push(side);
        let _ = std::fs::remove_file(p);
    }
    let linked = linked?;
    // The new name must survive a crash too.
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(linked)
}

/// Open an existing company file (see [`probe`]). `writable` lets the
/// opening bring an older file forward (schema, application_id); without
/// it the opening writes nothing, and a file that needs changes is
/// refused.
pub fn open(path: &Path, durability: Durability, exclusive: bool, writable: bool) -> Result<Db> {
    use rusqlite::OpenFlags;
    // Never created here (a file gone since it was probed stays gone):
    // new files come from [`create`].
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(std::time::Duration::from_secs(5))?;
    if exclusive {
        // Before WAL is entered, so the WAL index lives in memory.
        let _: String = db.query_row("PRAGMA locking_mode=EXCLUSIVE", [], |r| r.get(0))?;
    }
    if !writable {
        let mode: String = db.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") || version != SCHEMA_VERSION {
            return Err(StoreError(format!(
                "{}: the company file needs an upgrade (schema {version}, journal {mode}), which only a writable opening makes",
                path.display()
            )));
        }
    }
    let mode: String = db.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError(format!(
            "{}: cannot use WAL journal (got {mode})",
            path.display()
        )));
    }
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    // A 16 MB page cache (SQLite's default is 2 MB): a year of a busy
    // company's transactions is a few hundred MB, and its indexes should
    // not be read from the OS on every request. Pages are taken as used.
    // Checkpoints every 8,192 WAL pages (32 MB) instead of 1,000: a
    // transaction rewrites the same balance and index pages, so fewer
    // checkpoints copy far fewer pages (InvoiceAdd: −20 % time).
    db.execute_batch(&format!(
        "PRAGMA synchronous={sync}; PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY; \
         PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=8192;"
    ))?;
    if writable {
        migrate(&db)?;
        let id: i32 = db.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if id != APPLICATION_ID {
            db.execute_batch(&format!("PRAGMA application_id={APPLICATION_ID}"))?;
        }
    }
    Ok(db)
}

const SCHEMA_V1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE counter (family TEXT PRIMARY KEY, next INTEGER NOT NULL);
CREATE TABLE list (
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  ns TEXT NOT NULL,
  parent TEXT,
  name TEXT NOT NULL,
  full_name TEXT NOT NULL,
  name_key TEXT NOT NULL,
  sort_key TEXT NOT NULL,
  active INTEGER NOT NULL,
  created INTEGER NOT NULL,
  modified INTEGER NOT NULL,
  edit_seq INTEGER NOT NULL,
  balance INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL,
  PRIMARY KEY (ns, id)
);
CREATE UNIQUE INDEX list_name ON list(ns, name_key);
CREATE INDEX list_sort ON list(kind, sort_key);
CREATE INDEX list_parent ON list(ns, parent);
CREATE TABLE ref (src TEXT NOT NULL, dst TEXT NOT NULL, PRIMARY KEY (src, dst)) WITHOUT ROWID;
CREATE INDEX ref_dst ON ref(dst);
CREATE TABLE deleted (
  id TEXT NOT NULL, kind TEXT NOT NULL, full_name TEXT NOT NULL,
  created INTEGER NOT NULL, modified INTEGER NOT NULL, deleted INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX deleted_kind ON deleted(kind, deleted);
CREATE TABLE data_ext_def (
  owner TEXT NOT NULL, name_key TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (owner, name_key)
);
CREATE TABLE data_ext (
  obj TEXT NOT NULL, owner TEXT NOT NULL, name_key TEXT NOT NULL,
  name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (obj, owner, name_key)
) WITHOUT ROWID;
CREATE TABLE msgset (id TEXT PRIMARY KEY, response TEXT NOT NULL, created INTEGER NOT NULL);
";

/// Version 2: transactions and the ledger under them.
///
/// `txn` holds a transaction's header columns (what is searched or
/// computed) and its Ret body; `posting` its debits (positive) and credits
/// (negative) in cents, with the customer/vendor and item each touches and
/// the item quantity moved; `link` what one transaction applies to another
/// (payments and credits to invoices and bills, deposits of payments).
/// Balances on list records (`list.balance`, `list.total`, `list.qty`,
/// `list.value`) are kept equal to sums over `posting` in the same
/// transaction that writes the postings. What list records transactions
/// use is counted in `ref_count` (a transaction's own list is its `refs`
/// column): one small row per record keeps a write to a few pages where a
/// row per use would touch an index page per record used.
const SCHEMA_V2: &str = "
ALTER TABLE list ADD COLUMN qty INTEGER NOT NULL DEFAULT 0;
ALTER TABLE list ADD COLUMN value INTEGER NOT NULL DEFAULT 0;
CREATE TABLE txn (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  number INTEGER NOT NULL,
  date TEXT NOT NULL,
  ref TEXT,
  entity TEXT,
  account TEXT,
  created INTEGER NOT NULL,
  modified INTEGER NOT NULL,
  edit_seq INTEGER NOT NULL,
  amount INTEGER NOT NULL DEFAULT 0,
  open INTEGER NOT NULL DEFAULT 0,
  voided INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL,
  refs TEXT NOT NULL DEFAULT ''
);
CREATE INDEX txn_order ON txn(type, date, created, id);
CREATE INDEX txn_entity ON txn(entity, type);
CREATE INDEX txn_modified ON txn(modified);
CREATE INDEX txn_ref ON txn(lower(ref));
CREATE TABLE posting (
  txn TEXT NOT NULL, seq INTEGER NOT NULL, account TEXT NOT NULL, amount INTEGER NOT NULL,
  entity TEXT, item TEXT, qty INTEGER NOT NULL DEFAULT 0, date TEXT NOT NULL,
  PRIMARY KEY (txn, seq)
) WITHOUT ROWID;
CREATE INDEX posting_account ON posting(account, date);
CREATE TABLE link (
  src TEXT NOT NULL, dst TEXT NOT NULL, via TEXT NOT NULL,
  amount INTEGER NOT NULL, discount INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (src, dst, via)
) WITHOUT ROWID;
CREATE INDEX link_dst ON link(dst);
CREATE INDEX link_via ON link(via);
CREATE TABLE ref_count (dst TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE txn_deleted (
  id TEXT NOT NULL, type TEXT NOT NULL, ref TEXT, created INTEGER NOT NULL, deleted INTEGER NOT NULL,
  PRIMARY KEY (type, id)
);
";

fn migrate(db: &Db) -> Result<()> {
    let v: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v > SCHEMA_VERSION {
        return Err(StoreError(format!(
            "company file schema {v} is newer than this simulator ({SCHEMA_VERSION})"
        )));
    }
    if v < SCHEMA_VERSION {
        let tx = db.unchecked_transaction()?;
        if v < 1 {
            tx.execute_batch(SCHEMA_V1)?;
        }
        if v < 2 {
            tx.execute_batch(SCHEMA_V2)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))?;
        tx.commit()?;
    }
    Ok(())
}

pub fn meta(db: &Db, key: &str) -> Result<Option<String>> {
    Ok(db
        .query_row("SELECT value FROM meta WHERE key=?1", [key], |r| r.get(0))
        .optional()?)
}

pub fn set_meta(db: &Db, key: &str, value: &str) -> Result<()> {
    db.execute(
        "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value=?2",
        params![key, value],
    )?;
    Ok(())
}

/// The next value of a counter family. New company files start at
/// 0x80000001, as files created by current QuickBooks versions do.
pub fn next_counter(db: &Db, family: &str) -> Result<u64> {
    let n: i64 = db.query_row(
        "INSERT INTO counter(family, next) VALUES(?1, 2147483650) \
         ON CONFLICT(family) DO UPDATE SET next = next + 1 RETURNING next - 1",
        [family],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// The next value of a sequence that starts at `first` (TxnIDs start
/// small, as in QuickBooks files; TxnNumber starts at 1).
pub fn next_seq(db: &Db, family: &str, first: i64) -> Result<i64> {
    next_seqs(db, family, first, 1)
}

/// Take `n` consecutive values of a sequence at once; the first of them.
pub fn next_seqs(db: &Db, family: &str, first: i64, n: i64) -> Result<i64> {
    Ok(db
        .prepare_cached(
            "INSERT INTO counter(family, next) VALUES(?1, ?2 + ?3) \
             ON CONFLICT(family) DO UPDATE SET next = next + ?3 RETURNING next - ?3",
        )?
        .query_row(params![family, first, n], |r| r.get(0))?)
}

/// A list record's columns.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub id: String,
    pub kind: String,
    pub ns: String,
    pub parent: Option<String>,
    pub name: String,
    pub full_name: String,
    pub sort_key: String,
    pub active: bool,
    pub created: i64,
    pub modified: i64,
    pub edit_seq: i64,
    /// Cents.
    pub balance: i64,
    /// Cents, this record's balance plus its descendants'.
    pub total: i64,
    /// Inventory items: quantity on hand in hundred-thousandths, and its
    /// value in cents (average cost = value / quantity).
    pub qty: i64,
    pub value: i64,
    pub body: String,
}

/// A list record's columns, in [`row`]'s order (a macro, so that the SQL
/// using them is one literal: a statement is looked up in the connection's
/// cache by its text, which must not be built on every call).
macro_rules! cols {
    () => {
        "id, kind, ns, parent, name, full_name, sort_key, active, created, modified, edit_seq, balance, total, body, qty, value"
    };
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        kind: r.get(1)?,
        ns: r.get(2)?,
        parent: r.get(3)?,
        name: r.get(4)?,
        full_name: r.get(5)?,
        sort_key: r.get(6)?,
        active: r.get(7)?,
        created: r.get(8)?,
        modified: r.get(9)?,
        edit_seq: r.get(10)?,
        balance: r.get(11)?,
        total: r.get(12)?,
        body: r.get(13)?,
        qty: r.get(14)?,
        value: r.get(15)?,
    })
}

/// ListIDs are unique per namespace only (each list family has its own
/// counter, FACTS §5), so every lookup by ID names the namespace.
pub fn get(db: &Db, ns: &str, id: &str) -> Result<Option<Row>> {
    let mut st = db.prepare_cached(concat!(
        "SELECT ",
        cols!(),
        " FROM list WHERE ns=?1 AND id=?2"
    ))?;
    Ok(st.query_row([ns, id], row).optional()?)
}

/// The key of a record across namespaces (references, custom fields).
pub fn key(ns: &str, id: &str) -> String {
    format!("{ns}/{id}")
}

pub fn by_name(db: &Db, ns: &str, full_name: &str) -> Result<Option<Row>> {
    let mut st = db.prepare_cached(concat!(
        "SELECT ",
        cols!(),
        " FROM list WHERE ns=?1 AND name_key=?2"
    ))?;
    Ok(st
        .query_row(params![ns, name_key(full_name)], row)
        .optional()?)
}

/// Just the FullName of a record (for references when writing).
pub fn full_name(db: &Db, ns: &str, id: &str) -> Result<Option<String>> {
    let mut st = db.prepare_cached("SELECT full_name FROM list WHERE ns=?1 AND id=?2")?;
    Ok(st.query_row([ns, id], |r| r.get(0)).optional()?)
}

pub fn name_key(full_name: &str) -> String {
    full_name.to_lowercase()
}

/// A record's key in the unique name index: its name, or for lists whose
/// names need not be unique (to-dos) its name and ListID.
fn row_name_key(r: &Row) -> String {
    if crate::kinds::kind(&r.kind).is_some_and(|k| !k.unique) {
        format!("{}\u{0}{}", name_key(&r.full_name), r.id)
    } else {
        name_key(&r.full_name)
    }
}

pub fn insert(db: &Db, r: &Row) -> Result<()> {
    let mut st = db.prepare_cached(concat!(
        "INSERT INTO list(",
        cols!(),
        ", name_key) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"
    ))?;
    st.execute(params![
        r.id,
        r.kind,
        r.ns,
        r.parent,
        r.name,
        r.full_name,
        r.sort_key,
        r.active,
        r.created,
        r.modified,
        r.edit_seq,
        r.balance,
        r.total,
        r.body,
        r.qty,
        r.value,
        row_name_key(r)
    ])?;
    Ok(())
}

pub fn update(db: &Db, r: &Row) -> Result<()> {
    let mut st = db.prepare_cached(
        "UPDATE list SET parent=?2, name=?3, full_name=?4, sort_key=?5, active=?6, modified=?7, \
         edit_seq=?8, balance=?9, total=?10, body=?11, name_key=?12 WHERE id=?1 AND ns=?13",
    )?;
    st.execute(params![
        r.id,
        r.parent,
        r.name,
        r.full_name,
        r.sort_key,
        r.active,
        r.modified,
        r.edit_seq,
        r.balance,
        r.total,
        r.body,
        row_name_key(r),
        r.ns
    ])?;
    Ok(())
}

pub fn delete(db: &Db, r: &Row, when: i64) -> Result<()> {
    let k = key(&r.ns, &r.id);
    db.execute("DELETE FROM list WHERE ns=?1 AND id=?2", [&r.ns, &r.id])?;
    db.execute("DELETE FROM ref WHERE src=?1", [&k])?;
    db.execute("DELETE FROM data_ext WHERE obj=?1", [&k])?;
    db.execute(
        "INSERT OR REPLACE INTO deleted(id, kind, full_name, created, modified, deleted) \
         VALUES(?1,?2,?3,?4,?5,?6)",
        params![r.id, r.kind, r.full_name, r.created, r.modified, when],
    )?;
    Ok(())
}

pub fn children(db: &Db, ns: &str, id: &str) -> Result<Vec<Row>> {
    let mut st = db.prepare_cached(concat!(
        "SELECT ",
        cols!(),
        " FROM list WHERE ns=?1 AND parent=?2 ORDER BY sort_key"
    ))?;
    let rows = st.query_map([ns, id], row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Replace the outgoing references of `src` (keys from [`key`]).
pub fn set_refs(db: &Db, src: &str, dsts: &[String]) -> Result<()> {
    db.prepare_cached("DELETE FROM ref WHERE src=?1")?
        .execute([src])?;
    let mut st = db.prepare_cached("INSERT OR IGNORE INTO ref(src, dst) VALUES(?1, ?2)")?;
    for d in dsts {
        st.execute(params![src, d])?;
    }
    Ok(())
}

/// One record that refers to `dst`, if any.
pub fn referrer(db: &Db, dst: &str) -> Result<Option<String>> {
    let mut st = db.prepare_cached("SELECT src FROM ref WHERE dst=?1 LIMIT 1")?;
    Ok(st.query_row([dst], |r| r.get(0)).optional()?)
}

/// IDs of `kind` in list order, with the cheap column filters applied.
pub fn ids_in_order(db: &Db, kind: &str, f: &ColumnFilter) -> Result<Vec<String>> {
    let mut sql = String::from("SELECT id FROM list WHERE kind=?1");
    match f.active {
        Some(true) => sql.push_str(" AND active=1"),
        Some(false) => sql.push_str(" AND active=0"),
        None => {}
    }
    if f.from_modified.is_some() {
        sql.push_str(" AND modified>=?2");
    }
    if f.to_modified.is_some() {
        sql.push_str(" AND modified<=?3");
    }
    sql.push_str(" ORDER BY sort_key");
    let mut st = db.prepare_cached(&sql)?;
    let from = f.from_modified.unwrap_or(i64::MIN);
    let to = f.to_modified.unwrap_or(i64::MAX);
    let mut out = Vec::new();
    let mut rows = match (f.from_modified.is_some(), f.to_modified.is_some()) {
        (false, false) => st.query(params![kind])?,
        (true, false) => st.query(params![kind, from])?,
        (false, true) => st.query(params![kind, rusqlite::types::Null, to])?,
        (true, true) => st.query(params![kind, from, to])?,
    };
    while let Some(r) = rows.next()? {
        out.push(r.get(0)?);
    }
    Ok(out)
}

/// Filters SQLite can apply from columns alone.
#[derive(Clone, Debug, Default)]
pub struct ColumnFilter {
    /// `Some(true)`: active only; `Some(false)`: inactive only.
    pub active: Option<bool>,
    pub from_modified: Option<i64>,
    pub to_modified: Option<i64>,
}

/// Records by ID, in the order given; missing IDs are skipped.
pub fn get_many(db: &Db, ns: &str, ids: &[String]) -> Result<Vec<Row>> {
    let mut st = db.prepare_cached(concat!(
        "SELECT ",
        cols!(),
        " FROM list WHERE ns=?1 AND id=?2"
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = st.query_row([ns, id.as_str()], row).optional()? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Deleted records of the given kinds, oldest deletion first.
pub fn deleted(db: &Db, kinds: &[String], from: i64, to: i64) -> Result<Vec<DeletedRow>> {
    let mut st = db.prepare_cached(
        "SELECT id, kind, full_name, created, modified, deleted FROM deleted \
         WHERE kind=?1 AND deleted>=?2 AND deleted<=?3 ORDER BY deleted, id",
    )?;
    let mut out = Vec::new();
    for k in kinds {
        let rows = st.query_map(params![k, from, to], |r| {
            Ok(DeletedRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                full_name: r.get(2)?,
                created: r.get(3)?,
                modified: r.get(4)?,
                deleted: r.get(5)?,
            })
        })?;
        for r in rows {
            out.push(r?);
        }
    }
    Ok(out)
}

#[derive(Clone, Debug)]
pub struct DeletedRow {
    pub id: String,
    pub kind: String,
    pub full_name: String,
    pub created: i64,
    pub modified: i64,
    pub deleted: i64,
}

/// The largest amount a line, transaction or opening balance may have, in
/// cents (a trillion dollars: far beyond any QuickBooks form, far inside
/// i64 for sums of thousands of lines).
pub const MAX_CENTS: i64 = 100_000_000_000_000;

/// `1234.5` → 123450 cents (AMTTYPE has already been validated).
pub fn cents(s: &str) -> i64 {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: i64 = whole.parse().unwrap_or(0);
    let mut f = frac.chars().take(2).collect::<String>();
    while f.len() < 2 {
        f.push('0');
    }
    let v = whole
        .saturating_mul(100)
        .saturating_add(f.parse().unwrap_or(0));
    if neg {
        -v
    } else {
        v
    }
}

/// 123450 → `1234.50`, -5 → `-0.05`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_round_trip() {
        for (s, c, back) in [
            ("97.5", 9750, "97.50"),
            ("-0.05", -5, "-0.05"),
            ("12", 1200, "12.00"),
            ("+3.1", 310, "3.10"),
        ] {
            assert_eq!(cents(s), c);
            assert_eq!(money(c), back);
        }
    }

    #[test]
    fn counters_start_like_new_files() {
        let db = Connection::open_in_memory().unwrap();
        migrate(&db).unwrap();
        assert_eq!(next_counter(&db, "Name").unwrap(), 0x8000_0001);
        assert_eq!(next_counter(&db, "Name").unwrap(), 0x8000_0002);
        assert_eq!(next_counter(&db, "Item").unwrap(), 0x8000_0001);
    }
}

/// A transaction's columns.
#[derive(Clone, Debug, Default)]
pub struct TxnRow {
    pub id: String,
    pub kind: String,
    pub number: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub ref_number: Option<String>,
    /// ListID of the customer, vendor or payee.
    pub entity: Option<String>,
    /// ListID of the account the total goes to.
    pub account: Option<String>,
    pub created: i64,
    pub modified: i64,
    pub edit_seq: i64,
    /// Cents: the transaction's total.
    pub amount: i64,
    /// Cents: what is still open (unpaid, unused).
    pub open: i64,
    pub voided: bool,
    pub body: String,
    /// `ref` keys of the list records it uses, one per line.
    pub refs: String,
}

/// A transaction's columns, in [`txn_row`]'s order (see `cols!`).
macro_rules! txn_cols {
    () => {
        "id, type, number, date, ref, entity, account, created, modified, edit_seq, amount, open, voided, body, refs"
    };
}

fn txn_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TxnRow> {
    Ok(TxnRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        number: r.get(2)?,
        date: r.get(3)?,
        ref_number: r.get(4)?,
        entity: r.get(5)?,
        account: r.get(6)?,
        created: r.get(7)?,
        modified: r.get(8)?,
        edit_seq: r.get(9)?,
        amount: r.get(10)?,
        open: r.get(11)?,
        voided: r.get(12)?,
        body: r.get(13)?,
        refs: r.get(14)?,
    })
}

pub fn get_txn(db: &Db, id: &str) -> Result<Option<TxnRow>> {
    let mut st = db.prepare_cached(concat!("SELECT ", txn_cols!(), " FROM txn WHERE id=?1"))?;
    Ok(st.query_row([id], txn_row).optional()?)
}

/// Insert or replace a transaction's row.
pub fn put_txn(db: &Db, t: &TxnRow) -> Result<()> {
    let mut st = db.prepare_cached(concat!(
        "INSERT OR REPLACE INTO txn(",
        txn_cols!(),
        ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"
    ))?;
    st.execute(params![
        t.id,
        t.kind,
        t.number,
        t.date,
        t.ref_number,
        t.entity,
        t.account,
        t.created,
        t.modified,
        t.edit_seq,
        t.amount,
        t.open,
        t.voided,
        t.body,
        t.refs
    ])?;
    Ok(())
}

/// Count (`delta` 1) or uncount (−1) uses of list records.
pub fn count_refs<'a>(db: &Db, keys: impl Iterator<Item = &'a str>, delta: i64) -> Result<()> {
    let mut up = db.prepare_cached(
        "INSERT INTO ref_count(dst, n) VALUES(?1, ?2) ON CONFLICT(dst) DO UPDATE SET n = n + ?2",
    )?;
    let mut gone = db.prepare_cached("DELETE FROM ref_count WHERE dst=?1 AND n<=0")?;
    for k in keys.filter(|k| !k.is_empty()) {
        up.execute(params![k, delta])?;
        if delta < 0 {
            gone.execute([k])?;
        }
    }
    Ok(())
}

/// Whether any transaction uses the record `dst`.
pub fn counted(db: &Db, dst: &str) -> Result<bool> {
    Ok(db
        .prepare_cached("SELECT n FROM ref_count WHERE dst=?1")?
        .query_row([dst], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some_and(|n| n > 0))
}

pub fn delete_txn(db: &Db, t: &TxnRow, when: i64) -> Result<()> {
    db.prepare_cached("DELETE FROM txn WHERE id=?1")?
        .execute([&t.id])?;
    count_refs(db, t.refs.lines(), -1)?;
    db.prepare_cached("DELETE FROM data_ext WHERE obj=?1")?
        .execute([key("Txn", &t.id)])?;
    db.prepare_cached(
        "INSERT OR REPLACE INTO txn_deleted(id, type, ref, created, deleted) VALUES(?1,?2,?3,?4,?5)",
    )?
    .execute(params![t.id, t.kind, t.ref_number, t.created, when])?;
    Ok(())
}

/// Transaction rows by ID, in the order given; missing IDs are skipped.
pub fn get_txns(db: &Db, ids: &[String]) -> Result<Vec<TxnRow>> {
    let mut st = db.prepare_cached(concat!("SELECT ", txn_cols!(), " FROM txn WHERE id=?1"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = st.query_row([id.as_str()], txn_row).optional()? {
            out.push(r);
        }
    }
    Ok(out)
}

/// One application of a transaction to another (see `link` in the schema).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub src: String,
    pub dst: String,
    pub via: String,
    pub amount: i64,
    pub discount: i64,
}

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Link> {
    Ok(Link {
        src: r.get(0)?,
        dst: r.get(1)?,
        via: r.get(2)?,
        amount: r.get(3)?,
        discount: r.get(4)?,
    })
}

pub fn put_link(db: &Db, l: &Link) -> Result<()> {
    db.prepare_cached(
        "INSERT INTO link(src, dst, via, amount, discount) VALUES(?1,?2,?3,?4,?5) \
         ON CONFLICT(src, dst, via) DO UPDATE SET amount=amount+?4, discount=discount+?5",
    )?
    .execute(params![l.src, l.dst, l.via, l.amount, l.discount])?;
    Ok(())
}

/// Links made by `via` (a payment's applications, a deposit's lines).
pub fn links_via(db: &Db, via: &str) -> Result<Vec<Link>> {
    let mut st = db.prepare_cached(
        "SELECT src, dst, via, amount, discount FROM link WHERE via=?1 ORDER BY src, dst",
    )?;
    let rows = st.query_map([via], link_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every link touching `id` as source or destination.
pub fn links_of(db: &Db, id: &str) -> Result<Vec<Link>> {
    let mut st = db.prepare_cached(
        "SELECT src, dst, via, amount, discount FROM link WHERE src=?1 OR dst=?1",
    )?;
    let rows = st.query_map([id], link_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn delete_links_via(db: &Db, via: &str) -> Result<()> {
    db.prepare_cached("DELETE FROM link WHERE via=?1")?
        .execute([via])?;
    Ok(())
}

/// Add `delta` cents to a transaction's open balance; the new value.
pub fn add_open(db: &Db, id: &str, delta: i64) -> Result<Option<i64>> {
    Ok(db
        .prepare_cached("UPDATE txn SET open=open+?1 WHERE id=?2 RETURNING open")?
        .query_row(params![delta, id], |r| r.get(0))
        .optional()?)
}
