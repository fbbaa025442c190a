//! `ListMerge`: two records of one list become one. Everything that named
//! the record merged from (postings, transactions, other records, custom
//! field values are the exception: they go with it [I]) names the record
//! merged into, which takes on its balances; the record merged from is
//! deleted, as ListDelete would.
//!
//! QuickBooks' own conditions [I where not documented]: both records of
//! the type named, with current edit sequences (3200); accounts of one
//! type; the record merged from has no subrecords (merge those first).

use crate::kinds::{self, Kind};
use crate::lists::add_to_totals;
use crate::store::{self, Row};
use crate::{invalid, status, Answer, Ctx, Res};
use qbxml::{Elem, Element, Request, Status};

/// The record one side of the merge names, checked.
fn side(ctx: &Ctx<'_>, kind: &'static Kind, e: Option<Element<'_>>) -> Res<Row> {
    let Some(e) = e else {
        return Err(status(1000, &[]));
    };
    let id = e.child_text("ListID").unwrap_or("");
    let row = match store::get(ctx.db, kind.namespace, id)? {
        Some(r) if r.kind == kind.name => r,
        _ => return Err(status(3120, &[("value", id)])),
    };
    let seq = e.child_text("EditSequence").unwrap_or("");
    // (ListMergeRs has no place for the current record, which a Mod's
    // 3200 carries.)
    if seq != row.edit_seq.to_string() {
        return Err(status(3200, &[("value", seq)]));
    }
    Ok(row)
}

/// Replace one ListID by another in a stored body (length-prefixed, so
/// only a whole ListID matches).
fn id_pattern(id: &str) -> String {
    format!("lListID:{}:{id}", id.len())
}

pub fn merge(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e.child_text("ListMergeType").unwrap_or("");
    let Some(kind) = kinds::kind(ty).filter(|k| k.writable) else {
        return Err(status(3250, &[]));
    };
    let from = side(ctx, kind, e.child("MergeFrom"))?;
    let mut to = side(ctx, kind, e.child("MergeTo"))?;
    if from.id == to.id {
        return Err(invalid(
            "MergeTo",
            &to.full_name,
            "A record cannot be merged into itself.",
        ));
    }
    if !store::children(ctx.db, kind.namespace, &from.id)?.is_empty() {
        return Err(invalid(
            "MergeFrom",
            &from.full_name,
            "A record with subrecords cannot be merged; merge its subrecords first.",
        ));
    }
    if kind.name == "Account"
        && crate::ledger::account_type(ctx.db, &from.id)?
            != crate::ledger::account_type(ctx.db, &to.id)?
    {
        return Err(invalid(
            "MergeTo",
            &to.full_name,
            "Accounts of different types cannot be merged.",
        ));
    }
    let db = ctx.db;
    let map_err = store::StoreError::from;
    // Postings and transaction columns.
    let posting_col = match kind.namespace {
        "Account" => Some("account"),
        "Name" => Some("entity"),
        "Item" => Some("item"),
        _ => None,
    };
    if let Some(col) = posting_col {
        db.execute(
            &format!("UPDATE posting SET {col}=?2 WHERE {col}=?1"),
            [&from.id, &to.id],
        )
        .map_err(map_err)?;
    }
    // A transaction's customer or vendor, and its account.
    let txn_col = match kind.namespace {
        "Account" => Some("account"),
        "Name" => Some("entity"),
        _ => None,
    };
    if let Some(col) = txn_col {
        db.execute(
            &format!("UPDATE txn SET {col}=?2 WHERE {col}=?1"),
            [&from.id, &to.id],
        )
        .map_err(map_err)?;
    }
    // Every stored body that names it.
    let (old, new) = (id_pattern(&from.id), id_pattern(&to.id));
    for table in ["txn", "list"] {
        db.execute(
            &format!("UPDATE {table} SET body=replace(body, ?1, ?2) WHERE instr(body, ?1) > 0"),
            [&old, &new],
        )
        .map_err(map_err)?;
    }
    // What counts uses of it.
    let (from_key, to_key) = (
        store::key(kind.namespace, &from.id),
        store::key(kind.namespace, &to.id),
    );
    db.execute(
        "UPDATE OR IGNORE ref SET dst=?2 WHERE dst=?1",
        [&from_key, &to_key],
    )
    .map_err(map_err)?;
    db.execute("DELETE FROM ref WHERE dst=?1", [&from_key])
        .map_err(map_err)?;
    let mut st = db
        .prepare_cached("SELECT id, refs FROM txn WHERE instr(refs, ?1) > 0")
        .map_err(map_err)?;
    let uses: Vec<(String, String)> = st
        .query_map([&from_key], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(map_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(map_err)?;
    let mut moved = 0i64;
    for (id, refs) in uses {
        let mut lines: Vec<&str> = refs.lines().collect();
        if !lines.contains(&from_key.as_str()) {
            continue;
        }
        lines.retain(|l| *l != from_key);
        // A transaction that used both counts as one use of the merged
        // record.
        if !lines.contains(&to_key.as_str()) {
            lines.push(&to_key);
            moved += 1;
        }
        lines.sort();
        db.execute(
            "UPDATE txn SET refs=?2 WHERE id=?1",
            [&id, &lines.join("\n")],
        )
        .map_err(map_err)?;
    }
    let from_count: i64 = db
        .query_row(
            "SELECT COALESCE((SELECT n FROM ref_count WHERE dst=?1), 0)",
            [&from_key],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    store::count_refs(db, std::iter::once(from_key.as_str()), -from_count)?;
    store::count_refs(db, std::iter::once(to_key.as_str()), moved)?;
    // Balances move with the postings.
    if let Some(p) = &from.parent {
        add_to_totals(ctx, kind.namespace, p, -from.total)?;
    }
    if let Some(p) = &to.parent {
        add_to_totals(ctx, kind.namespace, p, from.total)?;
    }
    let modified = ctx.now.max(to.edit_seq + 1);
    to.balance += from.balance;
    to.total += from.total;
    to.qty += from.qty;
    to.value += from.value;
    to.modified = modified;
    to.edit_seq = modified;
    // The body may have named the record merged from.
    if let Some(fresh) = store::get(db, kind.namespace, &to.id)? {
        to.body = fresh.body;
    }
    store::update(db, &to)?;
    db.execute(
        "UPDATE list SET qty=?3, value=?4 WHERE ns=?1 AND id=?2",
        rusqlite::params![to.ns, to.id, to.qty, to.value],
    )
    .map_err(map_err)?;
    store::delete(db, &from, ctx.now)?;
    let items = vec![
        Elem::leaf("ListMergeType", kind.name),
        Elem::new("MergedFrom")
            .with("ListID", from.id.clone())
            .with("TimeDeleted", ctx.tz.format(ctx.now))
            .with("FullName", from.full_name.clone()),
        Elem::new("MergedTo")
            .with("ListID", to.id.clone())
            .with("TimeCreated", ctx.tz.format(to.created))
            .with("TimeModified", ctx.tz.format(to.modified))
            .with("EditSequence", to.edit_seq.to_string())
            .with("FullName", to.full_name.clone()),
    ];
    Ok(Answer {
        status: Status::ok(),
        items,
        ..Answer::default()
    })
}
