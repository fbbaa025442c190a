//! Transaction queries (`InvoiceQuery` … `TransactionQuery`,
//! `TxnDeletedQuery`, `ReceivePaymentToDepositQuery`) and writing a stored
//! transaction out as its `…Ret`.
//!
//! Filters (FACTS §5): `TxnID+`, `RefNumber+` (case-insensitive) and
//! `RefNumberCaseSensitive+` name transactions (500 Warn when one is
//! missing); otherwise ModifiedDateRangeFilter, TxnDateRangeFilter (dates
//! or DateMacro), EntityFilter and AccountFilter (with children),
//! RefNumberFilter, RefNumberRangeFilter, PaidStatus; a filter that
//! matches nothing answers 1. Order: TxnDate, then creation [I].
//! Lines only with IncludeLineItems, LinkedTxn only with IncludeLinkedTxns.

use crate::body;
use crate::clock::{macro_range, parse_date};
use crate::filter::{time_range, TextMatch, TextRange};
use crate::ledger;
use crate::query::{self, answer, Iterators, Selection};
use crate::render;
use crate::render::include_of;
use crate::store::{self};
use crate::txnkinds::{self, TxnKind};
use crate::txnret::{ret, TxnOpts};
use crate::{status, Res};
use crate::{Answer, Ctx};
use qbxml::{Elem, Element, MetaData, Request};
use rusqlite::types::Value;
use std::collections::HashSet;

/// IDs of the records a filter names (`ListID+`, `FullName+`,
/// `ListIDWithChildren`, `FullNameWithChildren`) in one namespace.
fn name_set(ctx: &Ctx<'_>, f: Element<'_>, ns: &str) -> Res<HashSet<String>> {
    let mut set = HashSet::new();
    let mut roots = Vec::new();
    for c in f.children() {
        let row = match c.name() {
            "ListID" | "ListIDWithChildren" => store::get(ctx.db, ns, c.text())?,
            "FullName" | "FullNameWithChildren" => store::by_name(ctx.db, ns, c.text())?,
            _ => None,
        };
        let Some(row) = row else { continue };
        if c.name().ends_with("WithChildren") {
            roots.push(row.id.clone());
        }
        set.insert(row.id);
    }
    while let Some(id) = roots.pop() {
        for ch in store::children(ctx.db, ns, &id)? {
            roots.push(ch.id.clone());
            set.insert(ch.id);
        }
    }
    Ok(set)
}

/// The filters of a transaction query, read from the request.
#[derive(Default)]
struct Filter {
    types: Vec<String>,
    from_modified: Option<i64>,
    to_modified: Option<i64>,
    from_date: Option<String>,
    to_date: Option<String>,
    entities: Option<HashSet<String>>,
    entity_types: Vec<String>,
    accounts: Option<HashSet<String>>,
    ref_match: Option<TextMatch>,
    ref_range: Option<TextRange>,
    paid: Option<bool>,
}

fn date_bounds(
    ctx: &Ctx<'_>,
    f: Element<'_>,
    from: &str,
    to: &str,
) -> Res<(Option<String>, Option<String>)> {
    if let Some(m) = f.child_text("DateMacro") {
        let today = parse_date(&ctx.tz.date(ctx.now)).unwrap_or_default();
        let Some((a, b)) = macro_range(m, today) else {
            return Err(status(3020, &[("value", m), ("field", "DateMacro")]));
        };
        return Ok((
            a.map(crate::clock::date_text),
            b.map(crate::clock::date_text),
        ));
    }
    let a = f
        .child_text(from)
        .map(|s| s.get(..10).unwrap_or(s).to_string());
    let b = f
        .child_text(to)
        .map(|s| s.get(..10).unwrap_or(s).to_string());
    if let (Some(x), Some(y)) = (&a, &b) {
        if x > y {
            return Err(status(3030, &[]));
        }
    }
    Ok((a, b))
}

impl Filter {
    fn read(ctx: &Ctx<'_>, e: Element<'_>, prefix: &str) -> Res<Filter> {
        let mut f = Filter::default();
        let name = |n: &str| format!("{prefix}{n}");
        if let Some(m) = e.child(&name("ModifiedDateRangeFilter")) {
            if let Some(v) = m.child_text("DateMacro") {
                let today = parse_date(&ctx.tz.date(ctx.now)).unwrap_or_default();
                if let Some((a, b)) = macro_range(v, today) {
                    f.from_modified =
                        a.and_then(|d| ctx.tz.parse_datetime(&crate::clock::date_text(d), false));
                    f.to_modified =
                        b.and_then(|d| ctx.tz.parse_datetime(&crate::clock::date_text(d), true));
                }
            }
            let (from, to) = time_range(ctx, m, "FromModifiedDate", "ToModifiedDate");
            f.from_modified = from.or(f.from_modified);
            f.to_modified = to.or(f.to_modified);
            if let (Some(a), Some(b)) = (f.from_modified, f.to_modified) {
                if a > b {
                    return Err(status(3030, &[]));
                }
            }
        }
        let date_filter = if prefix.is_empty() {
            "TxnDateRangeFilter".to_string()
        } else {
            name("DateRangeFilter")
        };
        if let Some(d) = e.child(&date_filter) {
            let (a, b) = date_bounds(ctx, d, "FromTxnDate", "ToTxnDate")?;
            f.from_date = a;
            f.to_date = b;
        }
        if let Some(en) = e.child(&name("EntityFilter")) {
            f.entity_types = en
                .children_named("EntityTypeFilter")
                .map(|t| t.text().to_string())
                .collect();
            if en.children().any(|c| c.name() != "EntityTypeFilter") {
                f.entities = Some(name_set(ctx, en, "Name")?);
            }
        }
        if let Some(a) = e.child(&name("AccountFilter")) {
            let mut set = if a.children().any(|c| c.name() != "AccountTypeFilter") {
                name_set(ctx, a, "Account")?
            } else {
                HashSet::new()
            };
            let types: Vec<&str> = a
                .children_named("AccountTypeFilter")
                .map(|t| t.text())
                .collect();
            if !types.is_empty() {
                for id in store::ids_in_order(ctx.db, "Account", &store::ColumnFilter::default())? {
                    if ledger::account_type(ctx.db, &id)?
                        .is_some_and(|t| types.contains(&t.as_str()))
                    {
                        set.insert(id);
                    }
                }
            }
            f.accounts = Some(set);
        }
        f.ref_match = e
            .child("RefNumberFilter")
            .map(|r| TextMatch::read(r, "RefNumber"));
        f.ref_range = e
            .child("RefNumberRangeFilter")
            .map(|r| TextRange::read(r, "FromRefNumber", "ToRefNumber"));
        let paid = e
            .child_text("PaidStatus")
            .or_else(|| e.child_text("TransactionPaidStatusFilter"));
        f.paid = match paid {
            Some("PaidOnly" | "Closed") => Some(true),
            Some("NotPaidOnly" | "Open") => Some(false),
            _ => None,
        };
        Ok(f)
    }

    /// Matching IDs in order: SQL for the column filters, the rest here.
    fn select(&self, ctx: &Ctx<'_>) -> Res<Vec<String>> {
        let mut sql = String::from("SELECT id, ref, entity FROM txn WHERE 1=1");
        let mut args: Vec<Value> = Vec::new();
        if !self.types.is_empty() {
            sql.push_str(&format!(
                " AND type IN ({})",
                vec!["?"; self.types.len()].join(",")
            ));
            args.extend(self.types.iter().map(|t| Value::Text(t.clone())));
        }
        if let Some(v) = self.from_modified {
            sql.push_str(" AND modified>=?");
            args.push(Value::Integer(v));
        }
        if let Some(v) = self.to_modified {
            sql.push_str(" AND modified<=?");
            args.push(Value::Integer(v));
        }
        if let Some(v) = &self.from_date {
            sql.push_str(" AND date>=?");
            args.push(Value::Text(v.clone()));
        }
        if let Some(v) = &self.to_date {
            sql.push_str(" AND date<=?");
            args.push(Value::Text(v.clone()));
        }
        match self.paid {
            Some(true) => sql.push_str(" AND open=0"),
            Some(false) => sql.push_str(" AND open<>0"),
            None => {}
        }
        if let Some(accts) = &self.accounts {
            let marks = vec!["?"; accts.len()].join(",");
            sql.push_str(&format!(
                " AND (account IN ({marks}) OR id IN (SELECT txn FROM posting WHERE account IN ({marks})))"
            ));
            for _ in 0..2 {
                args.extend(accts.iter().map(|a| Value::Text(a.clone())));
            }
        }
        sql.push_str(" ORDER BY date, created, id");
        let mut st = ctx.db.prepare(&sql).map_err(store::StoreError::from)?;
        let mut rows = st
            .query(rusqlite::params_from_iter(args))
            .map_err(store::StoreError::from)?;
        let mut out = Vec::new();
        let mut kinds_cache: std::collections::HashMap<String, String> = Default::default();
        while let Some(r) = rows.next().map_err(store::StoreError::from)? {
            let id: String = r.get(0).map_err(store::StoreError::from)?;
            let rf: Option<String> = r.get(1).map_err(store::StoreError::from)?;
            let entity: Option<String> = r.get(2).map_err(store::StoreError::from)?;
            if let Some(set) = &self.entities {
                if !entity.as_ref().is_some_and(|e| set.contains(e)) {
                    continue;
                }
            }
            if !self.entity_types.is_empty() {
                let Some(e) = entity else { continue };
                let k = match kinds_cache.get(&e) {
                    Some(k) => k.clone(),
                    None => {
                        let k = store::get(ctx.db, "Name", &e)?
                            .map(|r| r.kind)
                            .unwrap_or_default();
                        kinds_cache.insert(e.clone(), k.clone());
                        k
                    }
                };
                if !self.entity_types.contains(&k) {
                    continue;
                }
            }
            let rl = rf.unwrap_or_default().to_lowercase();
            if self.ref_match.as_ref().is_some_and(|m| !m.keeps(&rl)) {
                continue;
            }
            if let Some(TextRange { from, to }) = &self.ref_range {
                if from.as_ref().is_some_and(|f| ref_cmp(&rl, f).is_lt())
                    || to.as_ref().is_some_and(|t| ref_cmp(&rl, t).is_gt())
                {
                    continue;
                }
            }
            out.push(id);
        }
        Ok(out)
    }
}

/// RefNumbers compare as numbers when both are numeric, else as text
/// (case-insensitive) [I].
fn ref_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// IDs named by TxnID+/RefNumber+/RefNumberCaseSensitive+, in the order
/// named, and the first that was not found.
fn named(ctx: &Ctx<'_>, types: &[String], e: Element<'_>) -> Res<Option<Selection>> {
    let ids: Vec<&str> = e.children_named("TxnID").map(|c| c.text()).collect();
    let refs: Vec<&str> = e.children_named("RefNumber").map(|c| c.text()).collect();
    let exact: Vec<&str> = e
        .children_named("RefNumberCaseSensitive")
        .map(|c| c.text())
        .collect();
    if ids.is_empty() && refs.is_empty() && exact.is_empty() {
        return Ok(None);
    }
    let ok_type = |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut missing = None;
    for id in ids {
        match store::get_txn(ctx.db, id)? {
            Some(r) if ok_type(&r.kind) => {
                if seen.insert(r.id.clone()) {
                    out.push(r.id);
                }
            }
            _ => {
                missing.get_or_insert_with(|| id.to_string());
            }
        }
    }
    for (r, case) in refs
        .iter()
        .map(|r| (*r, false))
        .chain(exact.iter().map(|r| (*r, true)))
    {
        let mut st = ctx.db.prepare_cached(
            "SELECT id, type, ref FROM txn WHERE lower(ref)=lower(?1) ORDER BY date, created, id",
        )?;
        let found: Vec<(String, String, String)> = st
            .query_map([r], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)))?
            .collect::<rusqlite::Result<_>>()
            .map_err(store::StoreError::from)?;
        let mut any = false;
        for (id, ty, rf) in found {
            if !ok_type(&ty) || (case && rf != r) {
                continue;
            }
            any = true;
            if seen.insert(id.clone()) {
                out.push(id);
            }
        }
        if !any {
            missing.get_or_insert_with(|| r.to_string());
        }
    }
    Ok(Some((out, missing)))
}

/// What a transaction query selects: the transactions it names, else
/// those its filters (`prefix`: TransactionQuery's `Transaction…` names)
/// let through, of `types` (all when empty).
fn select(ctx: &Ctx<'_>, e: Element<'_>, types: &[String], prefix: &str) -> Res<Selection> {
    if let Some(n) = named(ctx, types, e)? {
        return Ok(n);
    }
    let mut f = Filter::read(ctx, e, prefix)?;
    f.types = types.to_vec();
    Ok((f.select(ctx)?, None))
}

/// `InvoiceQuery`, `BillQuery`, … for one type.
pub fn query(
    ctx: &Ctx<'_>,
    kind: &'static TxnKind,
    rq: &Request<'_>,
    iters: &mut Iterators,
    session: u64,
) -> Res<Answer> {
    let e = rq.element();
    let opts = TxnOpts::of(e);
    let types = vec![kind.name.to_string()];
    query::paged(
        ctx,
        rq,
        iters,
        session,
        &mut || select(ctx, e, &types, ""),
        &mut |ids, empty_is_1, missing| {
            let rows = store::get_txns(ctx.db, ids)?;
            let mut items: Vec<Elem> = Vec::new();
            if rq.meta_data() != MetaData::MetaDataOnly {
                for r in &rows {
                    if let Some(e) = ret(ctx, r, kind, &opts) {
                        ctx.spend(&e)?;
                        items.push(e);
                    }
                }
            }
            Ok(answer(
                rows.len(),
                items,
                rq.meta_data(),
                empty_is_1,
                missing,
            ))
        },
    )
}

/// `TransactionQuery`: every type at once, one `TransactionRet` per
/// transaction (summary level).
pub fn transactions(
    ctx: &Ctx<'_>,
    rq: &Request<'_>,
    iters: &mut Iterators,
    session: u64,
) -> Res<Answer> {
    let e = rq.element();
    let include = include_of(e);
    let mut types: Vec<String> = e
        .child("TransactionTypeFilter")
        .map(|t| {
            t.children_named("TxnTypeFilter")
                .map(|x| x.text().to_string())
                .collect()
        })
        .unwrap_or_default();
    if types.iter().any(|t| t == "All") {
        types.clear();
    }
    // "All" is every type a TransactionRet may name (the schema's TxnType
    // enumeration): time, mileage and transfers between sites are not
    // among them.
    if types.is_empty() {
        types = ctx
            .schema
            .response("TransactionQueryRs")
            .and_then(|p| p.decl().child("TransactionRet"))
            .and_then(|p| p.decl().child("TxnType"))
            .and_then(|p| p.decl().simple_type())
            .map(|t| t.values().map(str::to_string).collect())
            .unwrap_or_default();
    }
    query::paged(
        ctx,
        rq,
        iters,
        session,
        &mut || select(ctx, e, &types, "Transaction"),
        &mut |ids, empty_is_1, missing| {
            let rows = store::get_txns(ctx.db, ids)?;
            let decl = ctx
                .schema
                .response("TransactionQueryRs")
                .and_then(|p| p.decl().child("TransactionRet"))
                .map(|p| p.decl());
            let mut items = Vec::new();
            if rq.meta_data() != MetaData::MetaDataOnly {
                for r in &rows {
                    let mut t = Elem::new("TransactionRet")
                        .with("TxnType", r.kind.clone())
                        .with("TxnID", r.id.clone())
                        .with("TimeCreated", ctx.tz.format(r.created))
                        .with("TimeModified", ctx.tz.format(r.modified));
                    if let Some(en) = &r.entity {
                        t.push(Elem::new("EntityRef").with("ListID", en.clone()));
                    }
                    if let Some(a) = &r.account {
                        t.push(Elem::new("AccountRef").with("ListID", a.clone()));
                    }
                    t.push(Elem::leaf("TxnDate", r.date.clone()));
                    if let Some(rf) = &r.ref_number {
                        t.push(Elem::leaf("RefNumber", rf.clone()));
                    }
                    t.push(Elem::leaf("Amount", store::money(r.amount)));
                    let b = body::decode(&r.body);
                    if let Some(m) = b.iter().find(|x| x.name == "Memo") {
                        t.push(m.clone());
                    }
                    render::complete_refs(ctx, &mut t);
                    if let Some(d) = decl {
                        render::fit(&mut t, d, ctx.version);
                        render::include(&mut t, d, ctx.version, &include);
                    }
                    ctx.spend(&t)?;
                    items.push(t);
                }
            }
            Ok(answer(
                rows.len(),
                items,
                rq.meta_data(),
                empty_is_1,
                missing,
            ))
        },
    )
}

/// `TxnDeletedQuery`: TxnDelType+ and an optional deleted-date range.
pub fn deleted(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let types: Vec<String> = e
        .children_named("TxnDelType")
        .map(|t| t.text().to_string())
        .collect();
    let (from, to) = query::deleted_range(ctx, e);
    let include = include_of(e);
    let decl = ctx
        .schema
        .response("TxnDeletedQueryRs")
        .and_then(|p| p.decl().child("TxnDeletedRet"))
        .map(|p| p.decl());
    let mut st = ctx.db.prepare_cached(
        "SELECT id, type, ref, created, deleted FROM txn_deleted \
         WHERE type=?1 AND deleted>=?2 AND deleted<=?3 ORDER BY deleted, id",
    )?;
    let mut items = Vec::new();
    for t in &types {
        let rows: Vec<(String, String, Option<String>, i64, i64)> = st
            .query_map(rusqlite::params![t, from, to], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()
            .map_err(store::StoreError::from)?;
        for (id, ty, rf, created, del) in rows {
            let mut r = Elem::new("TxnDeletedRet")
                .with("TxnDelType", ty)
                .with("TxnID", id)
                .with("TimeCreated", ctx.tz.format(created))
                .with("TimeDeleted", ctx.tz.format(del));
            if let Some(rf) = rf {
                r.push(Elem::leaf("RefNumber", rf));
            }
            if let Some(d) = decl {
                render::include(&mut r, d, ctx.version, &include);
            }
            ctx.spend(&r)?;
            items.push(r);
        }
    }
    let n = items.len();
    let meta = rq.meta_data();
    if meta == MetaData::MetaDataOnly {
        items.clear();
    }
    Ok(answer(n, items, meta, true, None))
}

/// `ReceivePaymentToDepositQuery`: payments and sales receipts waiting in
/// Undeposited Funds.
pub fn to_deposit(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    // A query writes nothing: without an Undeposited Funds account,
    // nothing is waiting in it.
    let Some(uf) = ledger::find_special(ctx, txnkinds::Special::UndepositedFunds)? else {
        return Ok(answer(0, Vec::new(), rq.meta_data(), true, None));
    };
    let mut st = ctx.db.prepare_cached(
        "SELECT id FROM txn WHERE type IN ('ReceivePayment','SalesReceipt') AND voided=0 \
         AND id NOT IN (SELECT dst FROM link WHERE amount=0 AND discount=0) \
         ORDER BY date, created, id",
    )?;
    let ids: Vec<String> = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    let mut items = Vec::new();
    for r in store::get_txns(ctx.db, &ids)? {
        let b = body::decode(&r.body);
        if ledger::ref_id(&b, "DepositToAccountRef").as_deref() != Some(uf.as_str()) {
            continue;
        }
        let mut e = Elem::new("ReceivePaymentToDepositRet")
            .with("TxnID", r.id.clone())
            .with("TxnType", r.kind.clone());
        if let Some(c) = &r.entity {
            e.push(Elem::new("CustomerRef").with("ListID", c.clone()));
        }
        e.push(Elem::leaf("TxnDate", r.date.clone()));
        if let Some(rf) = &r.ref_number {
            e.push(Elem::leaf("RefNumber", rf.clone()));
        }
        e.push(Elem::leaf("Amount", store::money(r.amount)));
        render::complete_refs(ctx, &mut e);
        ctx.spend(&e)?;
        items.push(e);
    }
    let n = items.len();
    Ok(answer(n, items, rq.meta_data(), true, None))
}
