//! Writing a stored record out as its `…Ret`, for the version asked.
//!
//! The record's columns give the header QuickBooks computes (IDs, times,
//! names and hierarchy, balances); the body gives the rest. References are
//! completed with the target's current FullName. Elements newer than the
//! request's version are left out, as QuickBooks answers in the version
//! asked for; `IncludeRetElement` keeps only the named elements.

use crate::kinds::Kind;
use crate::store::{self, Db, Row};
use crate::Ctx;
use qbxml::schema::{Decl, NameMap, Schema};
use qbxml::{Elem, Version};
use std::collections::HashMap;

/// What the request asked to see of each record.
#[derive(Default, Debug, Clone)]
pub struct RetOpts {
    /// `IncludeRetElement` values (empty: everything).
    pub include: Vec<String>,
    /// `OwnerID` values: custom fields of these owners come as `DataExtRet`.
    pub owners: Vec<String>,
}

/// The Ret declaration of a kind in the request's version.
pub fn ret_decl(ctx: &Ctx<'_>, kind: &'static str) -> Option<Decl> {
    ret_decl_in(ctx.schema, kind)
}

/// `kind`'s Ret in `schema` (`CustomerQueryRs/CustomerRet`): looked up
/// once per schema and kind, not for every record written.
pub fn ret_decl_in(schema: Schema, kind: &'static str) -> Option<Decl> {
    use std::sync::{Mutex, OnceLock};
    type Key = (qbxml::Version, &'static str);
    static DECLS: OnceLock<Mutex<HashMap<Key, Option<Decl>>>> = OnceLock::new();
    let mut map = DECLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    *map.entry((schema.version(), kind)).or_insert_with(|| {
        let ret = format!("{kind}Ret");
        // A list queried only with others (16.0's payroll items, under
        // PayrollItemQuery) has its Ret under its Add.
        let rs = schema
            .response(&format!("{kind}QueryRs"))
            .or_else(|| schema.response(&format!("{kind}AddRs")))?;
        Some(rs.decl().child(&ret)?.decl())
    })
}

/// The FullNames of the records references point at, as they are now:
/// writing one Ret looks up a dozen (customer type, terms, tax code, …),
/// and a busy company looks up the same ones over and over. Kept by the
/// company while it is open and forgotten whenever a request writes (a
/// write may rename), or before every request when another process may
/// write the file too (without `Config::exclusive`).
#[derive(Default)]
pub(crate) struct NameCache {
    /// namespace → ListID → FullName (`None`: no such record).
    by_ns: NameMap<&'static str, NameMap<String, Option<String>>>,
    len: usize,
}

impl NameCache {
    /// Past this many, the cache starts over.
    const MAX: usize = 100_000;

    pub fn clear(&mut self) {
        if self.len > 0 {
            self.by_ns.clear();
            self.len = 0;
        }
    }

    /// A name already known (a record the request itself read).
    pub fn note(&mut self, ns: &'static str, id: &str, full_name: &str) {
        self.put(ns, id, Some(full_name.to_string()));
    }

    fn put(&mut self, ns: &'static str, id: &str, v: Option<String>) {
        if self.len >= Self::MAX {
            self.clear();
        }
        self.len += 1;
        self.by_ns.entry(ns).or_default().insert(id.to_string(), v);
    }

    fn get(&mut self, db: &Db, ns: &'static str, id: &str) -> Option<String> {
        if let Some(v) = self.by_ns.get(ns).and_then(|m| m.get(id)) {
            return v.clone();
        }
        let v = store::full_name(db, ns, id).ok().flatten();
        self.put(ns, id, v.clone());
        v
    }
}

pub fn ret(ctx: &Ctx<'_>, row: &Row, kind: &Kind, opts: &RetOpts) -> Option<Elem> {
    let decl = ret_decl(ctx, kind.name)?;
    let mut e = Elem::new(decl.name());
    e.children.reserve(48);
    let has = |n: &str| decl.child(n).is_some();
    e.push(Elem::leaf("ListID", row.id.clone()));
    e.push(Elem::leaf("TimeCreated", ctx.tz.format(row.created)));
    e.push(Elem::leaf("TimeModified", ctx.tz.format(row.modified)));
    e.push(Elem::leaf("EditSequence", row.edit_seq.to_string()));
    e.push(Elem::leaf(kind.name_field, row.name.clone()));
    if has("FullName") && kind.name_field != "FullName" {
        e.push(Elem::leaf("FullName", row.full_name.clone()));
    }
    if has("IsActive") {
        e.push(Elem::leaf("IsActive", bool_text(row.active)));
    }
    if kind.nested {
        if let Some(p) = &row.parent {
            let mut r = Elem::new("ParentRef").with("ListID", p.clone());
            if let Some(n) = ctx.names.borrow_mut().get(ctx.db, kind.namespace, p) {
                r.push(Elem::leaf("FullName", n));
            }
            e.push(r);
        }
        e.push(Elem::leaf(
            "Sublevel",
            row.full_name.matches(':').count().to_string(),
        ));
    }
    if kind.balance {
        if has("Balance") {
            e.push(Elem::leaf("Balance", store::money(row.balance)));
        }
        if has("TotalBalance") {
            e.push(Elem::leaf("TotalBalance", store::money(row.total)));
        }
    }
    for mut c in crate::body::decode(&row.body) {
        complete_refs(ctx, &mut c);
        e.push(c);
    }
    if crate::kinds::is_stocked(kind.name) {
        // Stock derives from the ledger (ledger.rs), not from the Add.
        e.children
            .retain(|c| !matches!(c.name.as_ref(), "QuantityOnHand" | "AverageCost"));
        e.push(Elem::leaf(
            "QuantityOnHand",
            crate::ledger::qty_text(row.qty),
        ));
        if row.qty > 0 {
            let avg = row.value as f64 / 100.0 / (row.qty as f64 / crate::ledger::QTY_SCALE);
            e.push(Elem::leaf("AverageCost", format!("{avg:.2}")));
        }
    }
    if !opts.owners.is_empty() {
        for d in crate::custom::rets_for(ctx.db, &store::key(&row.ns, &row.id), &opts.owners) {
            e.push(d);
        }
    }
    // Fitted to an older version here, so that what the answer budget
    // counts (`Ctx::spend`) is what will be written; for the newest the
    // writer's fitting (ResponseWriter::response_fitted) is enough.
    // IncludeRetElement needs it fitted first.
    if ctx.version < Version::LATEST || !opts.include.is_empty() {
        // Ordered too, which leaves the writer's pass little to do.
        e.fit_to_schema(decl, ctx.version);
    }
    if !opts.include.is_empty() {
        include(&mut e, decl, ctx.version, &opts.include);
    }
    Some(e)
}

/// Apply `IncludeRetElement`: keep the named children, and those the Ret
/// cannot be without (a Ret must still validate: 13.0's DataExtDefRet
/// requires DataExtID and three more).
pub fn include(e: &mut Elem, decl: Decl, version: Version, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let Some(model) = decl.content_model(version) else {
        return;
    };
    let valid = |children: &[&Elem]| {
        let mut state = model.start();
        for c in children {
            match model.step(state, &c.name) {
                Some((_, next)) => state = next,
                None => return false,
            }
        }
        model.can_end(state)
    };
    // Judge in schema order (the writer puts children in it anyway).
    let _ = e.order_by_schema(decl, Some(version));
    let all: Vec<&Elem> = e.children.iter().collect();
    let required: Vec<bool> = (0..all.len())
        .map(|i| {
            let without: Vec<&Elem> = all
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| *c)
                .collect();
            valid(&all) && !valid(&without)
        })
        .collect();
    let mut i = 0;
    e.children.retain(|c| {
        let keep = required[i] || names.iter().any(|n| n == c.name.as_ref());
        i += 1;
        keep
    });
}

pub fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Give every stored reference its target's current FullName.
pub(crate) fn complete_refs(ctx: &Ctx<'_>, e: &mut Elem) {
    if e.name.ends_with("Ref") && e.children.len() == 1 && e.children[0].name == "ListID" {
        if let Some(ns) = crate::kinds::ref_namespace(&e.name) {
            let name = ctx.names.borrow_mut().get(ctx.db, ns, &e.children[0].text);
            if let Some(n) = name {
                e.push(Elem::leaf("FullName", n));
            }
        }
        return;
    }
    for c in &mut e.children {
        complete_refs(ctx, c);
    }
}

/// Drop what `decl` does not have in `version` (recursively).
pub fn fit(e: &mut Elem, decl: Decl, version: Version) {
    e.children.retain_mut(|c| match decl.child(&c.name) {
        Some(p) if p.introduced() <= version => {
            if !c.children.is_empty() {
                fit(c, p.decl(), version);
            }
            true
        }
        _ => false,
    });
}

/// The `IncludeRetElement` names of a query (empty: everything).
pub fn include_of(rq: qbxml::Element<'_>) -> Vec<String> {
    rq.children_named("IncludeRetElement")
        .map(|e| e.text().to_string())
        .collect()
}
