//! An embedded QuickBooks Desktop simulator.
//!
//! A company file is one SQLite database. [`Company::process`] takes a qbXML
//! request message set and answers it the way QuickBooks Desktop does:
//! the same status codes and messages, IDs, EditSequences and timestamps of
//! the same shape, list order, iterators, error recovery. The connector uses
//! it as its default backend, so everything runs and is tested without
//! Windows.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let company = qbsim::Company::open(&dir.path().join("acme.qbsim"), qbsim::Config::default()).unwrap();
//! let session = company.begin_session();
//! let rs = company.process(session, br#"<?xml version="1.0"?><?qbxml version="13.0"?>
//! <QBXML><QBXMLMsgsRq onError="stopOnError">
//!   <CustomerAddRq requestID="1"><CustomerAdd><Name>Acme</Name></CustomerAdd></CustomerAddRq>
//! </QBXMLMsgsRq></QBXML>"#).unwrap();
//! assert!(rs.contains(r#"<CustomerAddRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK">"#));
//! assert!(rs.contains("<FullName>Acme</FullName>"));
//! ```
//!
//! Layers: `msgset` runs a message set (onError, one SQLite transaction per
//! request that may write, error recovery, the answer bound) and hands each
//! request to `dispatch`, the one table from request names to handlers:
//! `lists` (Add/Mod/ListDel), `query` (queries and iterators), `txns`
//! (transaction Add/Mod/TxnDel/TxnVoid), `txnquery` (transaction queries),
//! `reports`, `dataext`, `host`. `ledger` keeps the postings every
//! transaction makes and the balances that derive from them. `render` and
//! `txnret` write records out; `body` maps request aggregates onto stored
//! Ret bodies; `store` is the schema and row-level SQL; `kinds` and
//! `txnkinds` are the tables of lists and transaction types.
//! docs/ARCHITECTURE.md has the map.

mod alerts;
mod barcode;
mod body;
mod builtins;
mod cleared;
mod clock;
mod custom;
mod dataext;
mod dispatch;
mod display;
mod events;
mod filter;
mod host;
mod inquiries;
mod kinds;
mod ledger;
mod lists;
mod merge;
mod msgset;
mod payroll;
mod query;
mod rates;
mod refs;
mod render;
mod reports;
pub mod sample;
mod sites;
mod special;
mod store;
mod taxsetup;
mod txnkinds;
mod txnquery;
mod txnret;
mod txns;

pub use clock::{Clock, Dst, TimeZone};
pub use host::FileMode;
pub use reports::{BudgetLine, BudgetPlan};
pub use store::{Durability, StoreError, APPLICATION_ID};

use qbxml::schema::{Decl, Schema};
use qbxml::{Elem, HResult, RequestSet, Status, Version};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Settings of an open company file.
#[derive(Clone, Debug)]
pub struct Config {
    pub durability: Durability,
    pub clock: Clock,
    /// The zone of the (simulated) QuickBooks PC.
    pub time_zone: TimeZone,
    /// Seconds an unused iterator lives.
    pub iterator_ttl_secs: i64,
    pub file_mode: FileMode,
    /// Hold SQLite's lock on the file for as long as it is open (SQLite's
    /// `locking_mode=EXCLUSIVE`): no other process can open it meanwhile,
    /// and each transaction saves two file-lock system calls. For a
    /// server that owns its company files.
    pub exclusive: bool,
    /// The largest answer one message set may build, in bytes (0: no
    /// limit). A query or report that would take the answer past it is
    /// answered with status 1000 and a message that says to page it
    /// (`MaxReturned` with an iterator) — it changed nothing; writes are
    /// never refused for it. Bounds the memory and work one request can
    /// cost, whatever the size of the company.
    pub max_response_bytes: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            durability: Durability::Full,
            clock: Clock::System,
            time_zone: TimeZone::default(),
            iterator_ttl_secs: 600,
            file_mode: FileMode::SingleUser,
            exclusive: false,
            max_response_bytes: 0,
        }
    }
}

/// A QuickBooks session (BeginSession … EndSession): iterators belong to
/// the session that started them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Session(u64);

/// A message set that QuickBooks would refuse as a whole: the request
/// processor's HRESULT instead of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub hresult: HResult,
    /// QuickBooks' message for the HRESULT.
    pub message: String,
    /// Ours: what exactly is wrong.
    pub detail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.hresult, self.message, self.detail)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    fn new(hresult: HResult, detail: impl Into<String>) -> Failure {
        Failure {
            hresult,
            message: hresult.message().unwrap_or("").to_string(),
            detail: detail.into(),
        }
    }
}

/// Whether the simulator answers a request type (`CustomerQueryRq`):
/// the names in its dispatch table. Any other request of the schema is
/// answered 1030, "not supported by this implementation".
pub fn simulates(request_name: &str) -> bool {
    dispatch::simulates(request_name)
}

/// Whether answering `request` is bounded, small work: a few adds, mods
/// or deletes, host/company/preferences queries, queries by ID or name,
/// and pages — at most about a hundred records in all, for the whole
/// message set. A caller that runs the simulator on an async runtime can
/// run such requests in place and send the rest (full list queries,
/// reports, many requests) to a blocking thread. It reads the set as
/// parsed: it does not parse again.
pub fn is_small(set: &RequestSet) -> bool {
    /// Records a set may touch in place; a write counts as ten (it
    /// commits, and waits for the disk).
    const BUDGET: usize = 100;
    if set.xml().len() > 64 * 1024 {
        return false;
    }
    let mut cost = 0usize;
    for r in set.requests() {
        let name = r.name();
        cost += if !name.ends_with("QueryRq") {
            10
        } else if dispatch::answers_one_record(name) {
            1
        } else {
            let e = r.element();
            let named = e
                .children()
                .filter(|c| matches!(c.name(), "ListID" | "FullName" | "TxnID" | "RefNumber"))
                .count();
            let page = e
                .child_text("MaxReturned")
                .and_then(|n| n.trim().parse::<usize>().ok());
            match (named, page) {
                (0, None) => return false,
                (0, Some(n)) => n,
                (n, _) => n,
            }
        };
        if cost > BUDGET {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod small_tests {
    #[test]
    fn point_queries_and_writes_are_small_full_lists_are_not() {
        let doc = |inner: &str| {
            format!("<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{inner}</QBXMLMsgsRq></QBXML>")
        };
        let small = [
            "<CustomerQueryRq><ListID>80000001-1</ListID></CustomerQueryRq>",
            "<CustomerQueryRq><MaxReturned>50</MaxReturned></CustomerQueryRq>",
            "<CustomerAddRq><CustomerAdd><Name>x</Name></CustomerAdd></CustomerAddRq>",
            "<HostQueryRq/>",
            "<CompanyActivityQueryRq/>",
        ];
        let small_set = |s: &str| super::is_small(&qbxml::parse_request(doc(s)).unwrap());
        for s in small {
            assert!(small_set(s), "{s}");
        }
        let large = [
            "<CustomerQueryRq></CustomerQueryRq>",
            "<CustomerQueryRq><MaxReturned>1000</MaxReturned></CustomerQueryRq>",
            "<HostQueryRq/><AccountQueryRq/>",
            // Each small, too many together.
            &"<CustomerQueryRq><MaxReturned>100</MaxReturned></CustomerQueryRq>".repeat(2),
            &"<HostQueryRq/>".repeat(101),
            &"<CustomerAddRq><CustomerAdd><Name>x</Name></CustomerAdd></CustomerAddRq>".repeat(11),
        ];
        for s in large {
            assert!(!small_set(s), "{s}");
        }
    }
}

fn parse_failure(e: qbxml::ParseError) -> Failure {
    Failure {
        hresult: e.hresult,
        message: e.message().to_string(),
        detail: format!(
            "{} (line {}, column {}, {})",
            e.detail, e.line, e.column, e.path
        ),
    }
}

/// What opening a company file may do to the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Opening {
    /// Create it if it is missing (with QuickBooks' built-in lists), and
    /// bring an older file forward.
    #[default]
    Create,
    /// It must exist; an older file is brought forward.
    Existing,
    /// It must exist, and opening writes nothing at all: a file that
    /// would need changes is refused. (What a read-only user may do.)
    NoWrite,
}

/// Why a company file did not open.
#[derive(Debug)]
pub enum OpenError {
    /// There is no file (and the opening may not create one).
    Missing,
    /// A file is there, but it is not a company file this simulator made
    /// (another database, a SQLite side file, an empty file, …): it is
    /// neither opened nor touched.
    NotACompany(String),
    /// Opening failed for another reason, or (with [`Opening::NoWrite`])
    /// the file needs an upgrade.
    Store(StoreError),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Missing => f.write_str("no such company file"),
            OpenError::NotACompany(why) => write!(f, "not a company file: {why}"),
            OpenError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<StoreError> for OpenError {
    fn from(e: StoreError) -> OpenError {
        OpenError::Store(e)
    }
}

/// One open company file.
pub struct Company {
    inner: Mutex<Inner>,
    sessions: AtomicU64,
    path: PathBuf,
}

struct Inner {
    db: store::Db,
    config: Config,
    iterators: query::Iterators,
    /// FullNames of referenced records (see [`render::NameCache`]).
    names: std::cell::RefCell<render::NameCache>,
}

impl Company {
    /// Open a company file, creating it (with QuickBooks' built-in lists)
    /// or migrating it as needed. A file at `path` that is not a company
    /// file is refused untouched.
    pub fn open(path: &Path, config: Config) -> Result<Company, OpenError> {
        Company::open_with(path, config, Opening::Create)
    }

    /// Open a company file, doing to it only what `opening` allows.
    pub fn open_with(path: &Path, config: Config, opening: Opening) -> Result<Company, OpenError> {
        let io =
            |e: std::io::Error| OpenError::Store(StoreError(format!("{}: {e}", path.display())));
        match store::probe(path).map_err(io)? {
            store::Probe::Company { .. } => {}
            store::Probe::Other(why) => return Err(OpenError::NotACompany(why)),
            store::Probe::Missing if opening != Opening::Create => return Err(OpenError::Missing),
            store::Probe::Missing => {
                let now = config.clock.now();
                store::create(path, |db| builtins::seed(db, now, path))?;
                // Created here or by someone else meanwhile: either way it
                // must be a company file now.
                if let store::Probe::Other(why) = store::probe(path).map_err(io)? {
                    return Err(OpenError::NotACompany(why));
                }
            }
        }
        let writable = opening != Opening::NoWrite;
        let db = store::open(path, config.durability, config.exclusive, writable)?;
        let company = Company {
            inner: Mutex::new(Inner {
                db,
                iterators: query::Iterators::new(config.iterator_ttl_secs),
                config,
                names: Default::default(),
            }),
            sessions: AtomicU64::new(1),
            path: path.to_path_buf(),
        };
        if writable {
            company
                .with_inner(|inner| builtins::seed(&inner.db, inner.config.clock.now(), path))?;
        } else if company
            .with_inner(|inner| store::meta(&inner.db, "seeded"))?
            .is_none()
        {
            return Err(OpenError::Store(StoreError(format!(
                "{}: the company file needs its built-in lists, which only a writable opening adds",
                path.display()
            ))));
        }
        Ok(company)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Start a session.
    pub fn begin_session(&self) -> Session {
        Session(self.sessions.fetch_add(1, Ordering::Relaxed))
    }

    /// End a session: its iterators are gone.
    pub fn end_session(&self, session: Session) {
        self.lock().iterators.end_session(session.0);
    }

    /// The company's state. A request that panicked (a bug) left its
    /// SQLite transaction open and the lock poisoned: the transaction is
    /// rolled back — nothing it did was answered, so nothing acknowledged
    /// is lost — and the company goes on serving, instead of failing
    /// every later request.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => {
                let inner = poisoned.into_inner();
                if !inner.db.is_autocommit() {
                    let _ = inner.db.execute_batch("ROLLBACK");
                }
                // Names it looked up may be of what was rolled back.
                inner.names.borrow_mut().clear();
                self.inner.clear_poison();
                inner
            }
        }
    }

    /// Answer a qbXML request message set given as text (parsed and
    /// validated here): the response's text.
    pub fn process(&self, session: Session, request: &[u8]) -> Result<String, Failure> {
        let set = qbxml::parse_request(request.to_vec()).map_err(parse_failure)?;
        Ok(self.process_set(session, &set)?.xml)
    }

    /// Answer a message set parsed and validated already (the connector
    /// parses each request once, on its way in): the response's text and
    /// each request's status.
    pub fn process_set(&self, session: Session, set: &RequestSet) -> Result<Response, Failure> {
        msgset::process(&mut self.lock(), session.0, set, false)
    }

    /// Process a message set in one SQLite transaction (sample data, bulk
    /// loads): much faster, and all or nothing if the process dies.
    pub fn process_bulk(&self, request: &[u8]) -> Result<String, Failure> {
        let set = qbxml::parse_request(request.to_vec()).map_err(parse_failure)?;
        Ok(msgset::process(&mut self.lock(), 0, &set, true)?.xml)
    }

    /// Give the company a budget (QuickBooks' SDK has no request that
    /// makes one; `BudgetSummaryReportQuery` reports on it), replacing one
    /// of the same fiscal year and criterion. Every account and customer
    /// it names must exist.
    pub fn set_budget(&self, plan: &BudgetPlan) -> Result<(), StoreError> {
        self.with_inner(|inner| reports::budget_set(&inner.db, plan))
    }

    /// Open iterators (for tests and monitoring).
    pub fn open_iterators(&self) -> usize {
        self.lock().iterators.len()
    }

    fn with_inner<T>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&mut self.lock())
    }

    /// A consistent copy of the company file, made while it is open, at
    /// `dest` (which must not exist): SQLite's `VACUUM INTO` reads the file
    /// in one transaction, so the copy holds every request answered before
    /// it and nothing of one half done, and it is compact. Requests to this
    /// company wait while the copy is made (it holds the company's lock).
    /// The copy is on disk (fsynced) when this returns; its size in bytes.
    pub fn backup_into(&self, dest: &Path) -> Result<u64, StoreError> {
        let text = dest.to_str().ok_or_else(|| {
            StoreError(format!("{}: a backup path must be UTF-8", dest.display()))
        })?;
        self.with_inner(|inner| {
            inner.db.execute("VACUUM INTO ?1", [text])?;
            Ok(())
        })?;
        let file = std::fs::File::open(dest)?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    }

    /// `PRAGMA integrity_check` (for tests and `qbsim check`).
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.with_inner(|inner| {
            Ok(inner
                .db
                .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))?)
        })
    }
}

/// A list record read once: its columns and decoded body.
pub(crate) type Record = std::rc::Rc<(store::Row, Vec<Elem>)>;

/// What a request handler needs: the transaction's connection, the time,
/// and the version to answer in.
pub(crate) struct Ctx<'a> {
    pub db: &'a store::Db,
    pub now: i64,
    pub tz: TimeZone,
    pub version: Version,
    /// The request's version: what responses may contain.
    pub schema: Schema,
    /// The newest schema: what is stored (so nothing a newer client sent
    /// is lost when an older one reads).
    pub latest: Schema,
    /// List records a transaction handler has read, by `ref` key (an
    /// invoice's items and tax codes are read by the arithmetic and again by
    /// the postings). Handlers clear it before they change list rows.
    pub lookups: std::cell::RefCell<std::collections::HashMap<String, Record>>,
    /// Account types read during this request (they change only by an
    /// AccountMod, which reads none).
    pub account_types: std::cell::RefCell<std::collections::HashMap<String, String>>,
    /// What is left of the message set's answer size (see
    /// [`Config::max_response_bytes`]).
    pub budget: Budget,
    /// FullNames of referenced records, kept by the company.
    pub names: &'a std::cell::RefCell<render::NameCache>,
}

/// The bytes a message set's answer may still grow by. Queries and
/// reports spend from it as they render records; the message set takes
/// each answer's real size off before the next request.
#[derive(Debug)]
pub(crate) struct Budget {
    /// 0: no limit.
    pub limit: usize,
    pub left: std::cell::Cell<usize>,
}

impl Budget {
    pub fn new(limit: usize, used: usize) -> Budget {
        Budget {
            limit,
            left: std::cell::Cell::new(limit.saturating_sub(used)),
        }
    }
}

impl Ctx<'_> {
    /// Take a rendered record's size off the budget; the status that
    /// refuses the query when the answer would grow past the limit.
    pub(crate) fn spend(&self, e: &Elem) -> Result<(), SimError> {
        if self.budget.limit == 0 {
            return Ok(());
        }
        let need = written_len(e);
        let left = self.budget.left.get();
        if need > left {
            return Err(SimError::Status(too_large(self.budget.limit)));
        }
        self.budget.left.set(left - need);
        Ok(())
    }

    fn store_ret(&self, kind: &'static str) -> Option<Decl> {
        render::ret_decl_in(self.latest, kind)
    }
}

/// Status 1000 for a read that would take the answer past `limit`.
pub(crate) fn too_large(limit: usize) -> Status {
    let st = Status::from_code(1000, &[]);
    Status {
        message: format!(
            "{} (the answer would be larger than {limit} bytes, the most one message set \
             may return here; ask for less: MaxReturned with iterator=\"Start\", \
             IncludeRetElement, or narrower filters)",
            st.message
        ),
        ..st
    }
}

/// At least the bytes `e` takes when written: tags, escaped text and
/// attributes, and the line breaks QuickBooks' style puts between
/// elements.
fn written_len(e: &Elem) -> usize {
    let mut n = 2 * e.name.len() + 6 + qbxml::escaped_len(&e.text);
    for (k, v) in &e.attrs {
        n += k.len() + qbxml::escaped_len(v) + 4;
    }
    for c in &e.children {
        n += written_len(c);
    }
    n
}

/// The answer to a message set: QuickBooks' text, and what a caller
/// needs to know of it without reading it (each request's status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The answer: qbXML text, or, when `json` is true, the JSON form of
    /// it (docs/PROTOCOL.md §14) for a set read from JSON
    /// ([`qbxml::RequestSet::answers_in_json`]).
    pub xml: String,
    pub outcome: qbxml::Outcome,
    /// `xml` holds the JSON form.
    pub json: bool,
}

/// A handler's answer to one request.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    pub status: Status,
    pub items: Vec<Elem>,
    pub ret_count: Option<u32>,
    pub remaining: Option<u32>,
    pub iterator_id: Option<String>,
}

impl Answer {
    /// Just a status, no data.
    pub fn status(status: Status) -> Answer {
        Answer {
            status,
            ..Answer::default()
        }
    }

    /// A query's records: status 0, or 1 ("A query request did not find a
    /// matching object") when there are none.
    pub fn found(items: Vec<Elem>) -> Answer {
        let status = if items.is_empty() {
            Status::from_code(1, &[])
        } else {
            Status::ok()
        };
        Answer {
            status,
            items,
            ..Answer::default()
        }
    }
}

/// What a handler returns: its answer, or why the request failed.
pub(crate) type Res<T> = Result<T, SimError>;

/// A QuickBooks status for a request that failed: `status(3100, &[("name",
/// …)])`, the message from qbxml's catalogue with its placeholders filled.
pub(crate) fn status(code: u32, args: &[(&str, &str)]) -> SimError {
    SimError::Status(Status::from_code(code, args))
}

/// 3210: `The "<field>" field has an invalid value "<value>".  QuickBooks
/// error message: <reason>`.
pub(crate) fn invalid(field: &str, value: &str, reason: &str) -> SimError {
    status(
        3210,
        &[("field", field), ("value", value), ("reason", reason)],
    )
}

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum SimError {
    /// A QuickBooks status (3100, 3120, …); nothing was changed.
    Status(Status),
    /// A status that comes with data (3200 returns the current record).
    StatusWith(Status, Vec<Elem>),
    /// The company file failed: 1000 for the request.
    Store(StoreError),
}

impl From<rusqlite::Error> for SimError {
    fn from(e: rusqlite::Error) -> SimError {
        SimError::Store(StoreError::from(e))
    }
}

impl From<StoreError> for SimError {
    fn from(e: StoreError) -> SimError {
        SimError::Store(e)
    }
}
