//! List queries: the filters of the schema's `ListFilter` family, QuickBooks'
//! list order, metaData, and iterators.
//!
//! Rules (FACTS §5 "Query filter semantics"): `ListID+`/`FullName+` return
//! what they name in the order named, ignore ActiveStatus, and answer 500
//! (Warn, with what was found) when any is missing; a filter query that
//! matches nothing answers 1 (Info). ActiveStatus defaults to ActiveOnly.
//! Name filters compare the FullName case-insensitively.

use crate::filter::{time_range, TextMatch, TextRange};
use crate::kinds::{self, Kind};
use crate::render::{self, RetOpts};
use crate::store::{self, ColumnFilter, Row};
use crate::{status, Res};
use crate::{Answer, Ctx};
use qbxml::{Element, IteratorMode, MetaData, Request, Status};
use std::collections::{HashMap, HashSet};

/// Open iterators of one company file.
pub struct Iterators {
    map: HashMap<String, Iter>,
    /// Seconds of idleness after which an iterator is gone.
    pub ttl: i64,
    seq: u64,
}

struct Iter {
    session: u64,
    request: String,
    ids: Vec<String>,
    pos: usize,
    max: usize,
    expires: i64,
}

/// At most this many open iterators per company file, holding at most
/// this many record IDs between them (about 100 MB); the least recently
/// used go first. Bounds what clients that never finish can pin.
const MAX_ITERATORS: usize = 256;
const MAX_HELD_IDS: usize = 4_000_000;

impl Iterators {
    pub fn new(ttl: i64) -> Iterators {
        Iterators {
            map: HashMap::new(),
            ttl,
            seq: 0,
        }
    }

    fn sweep(&mut self, now: i64, room_for: usize) {
        self.map.retain(|_, it| it.expires > now);
        let held = |m: &HashMap<String, Iter>| m.values().map(|i| i.ids.len()).sum::<usize>();
        while !self.map.is_empty()
            && (self.map.len() >= MAX_ITERATORS || held(&self.map) + room_for > MAX_HELD_IDS)
        {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, it)| it.expires)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.map.remove(&k);
                }
                None => break,
            }
        }
    }

    /// Drop every iterator of a session (when it ends).
    pub fn end_session(&mut self, session: u64) {
        self.map.retain(|_, it| it.session != session);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    fn new_id(&mut self, now: i64) -> String {
        use std::hash::{BuildHasher, Hasher};
        self.seq += 1;
        let s = std::collections::hash_map::RandomState::new();
        let mut h1 = s.build_hasher();
        h1.write_u64(self.seq);
        h1.write_i64(now);
        let a = h1.finish();
        let mut h2 = s.build_hasher();
        h2.write_u64(a);
        h2.write_u64(self.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let b = h2.finish();
        let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{{{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}}}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0x0FFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

pub fn query(
    ctx: &Ctx<'_>,
    kinds: &[&'static Kind],
    rq: &Request<'_>,
    iters: &mut Iterators,
    session: u64,
) -> Res<Answer> {
    let e = rq.element();
    let opts = RetOpts {
        include: crate::render::include_of(e),
        owners: e
            .children_named("OwnerID")
            .map(|o| o.text().to_string())
            .collect(),
    };
    // Records a query names (ListID, FullName) are read to select them:
    // the page takes them from here instead of reading them again.
    let fetched = std::cell::RefCell::new(Vec::new());
    paged(
        ctx,
        rq,
        iters,
        session,
        &mut || select(ctx, kinds, e, &mut fetched.borrow_mut()),
        &mut |ids, empty_is_1, missing| {
            let mut f = fetched.borrow_mut();
            // Usually one or a few: a scan beats a hash map.
            let rows =
                if ids.len() == f.len() && ids.iter().zip(f.iter()).all(|(id, r)| *id == r.id) {
                    std::mem::take(&mut *f)
                } else {
                    store::get_many(ctx.db, namespace(kinds), ids)?
                };
            page_answer(ctx, kinds, rows, &opts, rq.meta_data(), empty_is_1, missing)
        },
    )
}

/// The IDs a query matches, and the first named one that was not found.
pub(crate) type Selection = (Vec<String>, Option<String>);

/// Answer for one page of IDs: (IDs, whether an empty page answers 1,
/// the missing name for a 500).
pub(crate) type PageFn<'a> = dyn FnMut(&[String], bool, Option<String>) -> Res<Answer> + 'a;

/// A query with `MaxReturned` and iterators, for any kind of record:
/// `select` gives the IDs the query matches (and the first named one not
/// found), `page` answers for a page of them. An iterator keeps the
/// matched IDs, so continuing returns each record once even while the
/// list changes (records deleted meanwhile are skipped).
pub(crate) fn paged(
    ctx: &Ctx<'_>,
    rq: &Request<'_>,
    iters: &mut Iterators,
    session: u64,
    select: &mut dyn FnMut() -> Res<Selection>,
    page: &mut PageFn<'_>,
) -> Res<Answer> {
    let e = rq.element();
    let max = e
        .child_text("MaxReturned")
        .and_then(|m| m.trim().parse::<usize>().ok())
        .filter(|&m| m > 0);
    iters.sweep(ctx.now, 0);
    match rq.iterator() {
        Some(IteratorMode::Continue) | Some(IteratorMode::Stop) => {
            let id = rq.iterator_id().unwrap_or("");
            let valid = iters
                .map
                .get(id)
                .is_some_and(|it| it.session == session && it.request == rq.name());
            if !valid {
                return Err(status(3391, &[("value", id)]));
            }
            if rq.iterator() == Some(IteratorMode::Stop) {
                iters.map.remove(id);
                return Ok(Answer {
                    status: Status::ok(),
                    remaining: Some(0),
                    iterator_id: Some(id.to_string()),
                    ..Answer::default()
                });
            }
            let ttl = iters.ttl;
            let Some(it) = iters.map.get(id) else {
                return Err(status(3391, &[("value", id)]));
            };
            let page_size = max.unwrap_or(it.max);
            let end = (it.pos + page_size).min(it.ids.len());
            let ids: Vec<String> = it.ids[it.pos..end].to_vec();
            let remaining = it.ids.len() - end;
            // The iterator moves on only once the page is answered: a page
            // refused (the answer's size limit, a store error) is asked
            // for again by the next Continue, never skipped.
            let mut a = page(&ids, false, None)?;
            if let Some(it) = iters.map.get_mut(id) {
                it.pos = end;
                it.expires = ctx.now + ttl;
            }
            a.remaining = Some(remaining as u32);
            a.iterator_id = Some(id.to_string());
            if remaining == 0 {
                iters.map.remove(id);
            }
            Ok(a)
        }
        Some(IteratorMode::Start) => {
            let (ids, _) = select()?;
            let page_size = max.unwrap_or(usize::MAX);
            let end = page_size.min(ids.len());
            let first = ids[..end].to_vec();
            let remaining = ids.len() - end;
            // Answered first: a refused first page leaves no iterator.
            let mut a = page(&first, true, None)?;
            let id = iters.new_id(ctx.now);
            if remaining > 0 {
                iters.sweep(ctx.now, ids.len());
                iters.map.insert(
                    id.clone(),
                    Iter {
                        session,
                        request: rq.name().to_string(),
                        ids,
                        pos: end,
                        max: page_size,
                        expires: ctx.now + iters.ttl,
                    },
                );
            }
            a.remaining = Some(remaining as u32);
            a.iterator_id = Some(id);
            Ok(a)
        }
        None => {
            let (mut ids, missing) = select()?;
            if let Some(m) = max {
                ids.truncate(m);
            }
            page(&ids, true, missing)
        }
    }
}

/// The namespace of a query's kinds (one per query: EntityQuery's kinds
/// share the names list, ItemQuery's the item list).
fn namespace(kinds: &[&'static Kind]) -> &'static str {
    kinds.first().map(|k| k.namespace).unwrap_or("")
}

fn page_answer(
    ctx: &Ctx<'_>,
    kinds: &[&'static Kind],
    rows: Vec<Row>,
    opts: &RetOpts,
    meta: MetaData,
    empty_is_1: bool,
    missing: Option<String>,
) -> Res<Answer> {
    let count = rows.len();
    let mut items = Vec::new();
    if meta != MetaData::MetaDataOnly {
        items.reserve(rows.len());
        for r in &rows {
            let Some(k) = kinds.iter().find(|k| k.name == r.kind) else {
                continue;
            };
            if let Some(e) = render::ret(ctx, r, k, opts) {
                ctx.spend(&e)?;
                items.push(e);
            }
        }
    }
    Ok(answer(count, items, meta, empty_is_1, missing))
}

/// A query's answer: 500 (Warn) when a named record was missing, 1 when
/// nothing matched (`empty_is_1`; a later iterator page is just empty),
/// else 0; `retCount` unless NoMetaData.
pub(crate) fn answer(
    count: usize,
    items: Vec<qbxml::Elem>,
    meta: MetaData,
    empty_is_1: bool,
    missing: Option<String>,
) -> Answer {
    let st = match missing {
        Some(v) => Status::from_code(500, &[("value", &v)]),
        None if count == 0 && empty_is_1 => Status::from_code(1, &[]),
        None => Status::ok(),
    };
    Answer {
        status: st,
        items,
        ret_count: (meta != MetaData::NoMetaData).then_some(count as u32),
        ..Answer::default()
    }
}

/// A `DeletedDateRangeFilter`'s bounds (open ends: the extremes).
pub(crate) fn deleted_range(ctx: &Ctx<'_>, e: Element<'_>) -> (i64, i64) {
    let (from, to) = match e.child("DeletedDateRangeFilter") {
        Some(r) => time_range(ctx, r, "FromDeletedDate", "ToDeletedDate"),
        None => (None, None),
    };
    (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX))
}

/// The IDs a query selects, in list order (or in the order named), and the
/// first named ID/FullName that was not found.
fn select(
    ctx: &Ctx<'_>,
    kinds: &[&'static Kind],
    e: Element<'_>,
    fetched: &mut Vec<Row>,
) -> Res<Selection> {
    let by_id: Vec<&str> = e.children_named("ListID").map(|c| c.text()).collect();
    // Leads are named by `Name` in their query.
    let by_name: Vec<&str> = e
        .children_named("FullName")
        .chain(e.children_named("Name"))
        .map(|c| c.text())
        .collect();
    if !by_id.is_empty() || !by_name.is_empty() {
        let mut ids = Vec::new();
        let mut missing = None;
        let mut seen = Seen::default();
        let ns = namespace(kinds);
        for id in by_id {
            match store::get(ctx.db, ns, id)? {
                Some(r) if kinds.iter().any(|k| k.name == r.kind) => {
                    if seen.first(&r.id) {
                        ids.push(r.id.clone());
                        fetched.push(r);
                    }
                }
                _ => {
                    missing.get_or_insert_with(|| id.to_string());
                }
            }
        }
        for name in by_name {
            let found = store::by_name(ctx.db, ns, name)?
                .filter(|r| kinds.iter().any(|k| k.name == r.kind));
            match found {
                Some(r) => {
                    if seen.first(&r.id) {
                        ids.push(r.id.clone());
                        fetched.push(r);
                    }
                }
                None => {
                    missing.get_or_insert_with(|| name.to_string());
                }
            }
        }
        return Ok((ids, missing));
    }
    let (from_modified, to_modified) = time_range(ctx, e, "FromModifiedDate", "ToModifiedDate");
    let cols = ColumnFilter {
        active: match e.child_text("ActiveStatus").unwrap_or("ActiveOnly") {
            "All" => None,
            "InactiveOnly" => Some(false),
            _ => Some(true),
        },
        from_modified,
        to_modified,
    };
    let filter = RowFilter::from_request(ctx, e)?;
    let mut ids = Vec::new();
    for k in kinds {
        let kind_ids = store::ids_in_order(ctx.db, k.name, &cols)?;
        if filter.is_empty() {
            ids.extend(kind_ids);
            continue;
        }
        for chunk in kind_ids.chunks(512) {
            for r in store::get_many(ctx.db, k.namespace, chunk)? {
                if filter.keeps(&r) {
                    ids.push(r.id);
                }
            }
        }
    }
    Ok((ids, None))
}

/// The IDs a query has named so far (a record named twice is answered
/// once): a list while they are few, as they usually are, a set after.
#[derive(Default)]
struct Seen {
    few: Vec<String>,
    many: HashSet<String>,
}

impl Seen {
    /// True the first time `id` is seen.
    fn first(&mut self, id: &str) -> bool {
        if self.few.len() < 16 {
            if self.few.iter().any(|s| s == id) {
                return false;
            }
            self.few.push(id.to_string());
            return true;
        }
        if self.few.iter().any(|s| s == id) {
            return false;
        }
        self.many.insert(id.to_string())
    }
}

/// Filters that need more than the indexed columns.
#[derive(Default)]
struct RowFilter {
    name: Option<TextMatch>,
    range: Option<TextRange>,
    balance: Option<(String, i64)>,
    classes: Option<HashSet<String>>,
    currencies: Option<(HashSet<String>, bool)>,
    account_types: Vec<String>,
    payment_method_type: Option<String>,
    /// To-dos: done (`Some(true)`), not done, or either.
    done: Option<bool>,
}

impl RowFilter {
    fn from_request(ctx: &Ctx<'_>, e: Element<'_>) -> Res<RowFilter> {
        let mut f = RowFilter {
            name: e.child("NameFilter").map(|n| TextMatch::read(n, "Name")),
            range: e
                .child("NameRangeFilter")
                .map(|n| TextRange::read(n, "FromName", "ToName")),
            ..RowFilter::default()
        };
        if let Some(b) = e.child("TotalBalanceFilter") {
            f.balance = Some((
                b.child_text("Operator").unwrap_or("Equal").to_string(),
                store::cents(b.child_text("Amount").unwrap_or("0")),
            ));
        }
        if let Some(c) = e.child("ClassFilter") {
            f.classes = Some(ref_set(ctx, c, "Class")?);
        }
        if let Some(c) = e.child("CurrencyFilter") {
            let set = ref_set(ctx, c, "Currency")?;
            let home = crate::host::home_currency_id(ctx.db)?;
            let includes_home = home.is_some_and(|h| set.contains(&h));
            f.currencies = Some((set, includes_home));
        }
        f.account_types = e
            .children_named("AccountType")
            .map(|a| a.text().to_string())
            .collect();
        f.payment_method_type = e.child_text("PaymentMethodType").map(str::to_string);
        // A to-do query lists what is not done unless asked otherwise.
        if e.name() == "ToDoQueryRq" {
            f.done = match e.child_text("DoneStatus").unwrap_or("NotDoneOnly") {
                "All" => None,
                "DoneOnly" => Some(true),
                _ => Some(false),
            };
        }
        Ok(f)
    }

    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.range.is_none()
            && self.balance.is_none()
            && self.classes.is_none()
            && self.currencies.is_none()
            && self.account_types.is_empty()
            && self.payment_method_type.is_none()
            && self.done.is_none()
    }

    fn keeps(&self, r: &Row) -> bool {
        let full = r.full_name.to_lowercase();
        if self.name.as_ref().is_some_and(|n| !n.keeps(&full)) {
            return false;
        }
        if let Some(TextRange { from, to }) = &self.range {
            if from.as_ref().is_some_and(|f| full < *f) {
                return false;
            }
            // A name range ends with every name under its last name.
            if to
                .as_ref()
                .is_some_and(|t| full > *t && !full.starts_with(t.as_str()))
            {
                return false;
            }
        }
        if let Some((op, amt)) = &self.balance {
            let v = r.total;
            let ok = match op.as_str() {
                "LessThan" => v < *amt,
                "LessThanEqual" => v <= *amt,
                "GreaterThan" => v > *amt,
                "GreaterThanEqual" => v >= *amt,
                _ => v == *amt,
            };
            if !ok {
                return false;
            }
        }
        let needs_body = self.classes.is_some()
            || self.currencies.is_some()
            || !self.account_types.is_empty()
            || self.payment_method_type.is_some()
            || self.done.is_some();
        if !needs_body {
            return true;
        }
        let body = crate::body::decode(&r.body);
        let ref_id = |name: &str| {
            body.iter()
                .find(|e| e.name == name)
                .and_then(|e| e.get("ListID"))
                .map(|e| e.text.clone())
        };
        let leaf = |name: &str| body.iter().find(|e| e.name == name).map(|e| e.text.clone());
        if let Some(set) = &self.classes {
            if !ref_id("ClassRef").is_some_and(|c| set.contains(&c)) {
                return false;
            }
        }
        if let Some((set, home)) = &self.currencies {
            let ok = match ref_id("CurrencyRef") {
                Some(c) => set.contains(&c),
                None => *home,
            };
            if !ok {
                return false;
            }
        }
        if !self.account_types.is_empty()
            && !leaf("AccountType").is_some_and(|t| self.account_types.contains(&t))
        {
            return false;
        }
        if let Some(t) = &self.payment_method_type {
            if leaf("PaymentMethodType").as_ref() != Some(t) {
                return false;
            }
        }
        if let Some(done) = self.done {
            if (leaf("IsDone").as_deref() == Some("true")) != done {
                return false;
            }
        }
        true
    }
}

/// The IDs a `ClassFilter`/`CurrencyFilter` names: `ListID+`, `FullName+`,
/// `ListIDWithChildren` or `FullNameWithChildren`. Unknown names select
/// nothing.
pub(crate) fn ref_set(ctx: &Ctx<'_>, f: Element<'_>, kind: &str) -> Res<HashSet<String>> {
    let mut set = HashSet::new();
    let Some(k) = kinds::kind(kind) else {
        return Ok(set);
    };
    let mut roots = Vec::new();
    for c in f.children() {
        let row = match c.name() {
            "ListID" | "ListIDWithChildren" => store::get(ctx.db, k.namespace, c.text())?,
            "FullName" | "FullNameWithChildren" => store::by_name(ctx.db, k.namespace, c.text())?,
            _ => None,
        };
        let Some(row) = row.filter(|r| r.kind == k.name) else {
            continue;
        };
        if c.name().ends_with("WithChildren") {
            roots.push(row.id.clone());
        }
        set.insert(row.id);
    }
    while let Some(id) = roots.pop() {
        for ch in store::children(ctx.db, k.namespace, &id)? {
            roots.push(ch.id.clone());
            set.insert(ch.id);
        }
    }
    Ok(set)
}

/// `ListDeletedQuery`: ListDelType+ and an optional deleted-date range.
pub fn list_deleted(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let types: Vec<String> = e
        .children_named("ListDelType")
        .map(|t| t.text().to_string())
        .collect();
    let (from, to) = deleted_range(ctx, e);
    let include = crate::render::include_of(e);
    let mut items = Vec::new();
    for d in store::deleted(ctx.db, &types, from, to)? {
        let mut r = qbxml::Elem::new("ListDeletedRet")
            .with("ListDelType", d.kind)
            .with("ListID", d.id)
            .with("TimeCreated", ctx.tz.format(d.created))
            .with("TimeDeleted", ctx.tz.format(d.deleted))
            .with("FullName", d.full_name);
        let _ = d.modified;
        if let Some(d) = ctx
            .schema
            .response("ListDeletedQueryRs")
            .and_then(|p| p.decl().child("ListDeletedRet"))
        {
            crate::render::include(&mut r, d.decl(), ctx.version, &include);
        }
        ctx.spend(&r)?;
        items.push(r);
    }
    let n = items.len();
    if rq.meta_data() == MetaData::MetaDataOnly {
        items.clear();
    }
    Ok(answer(n, items, rq.meta_data(), true, None))
}
