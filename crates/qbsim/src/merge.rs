//! `ListMerge`: two records of one list become one. Everything that named
//! the record merged from (postings, transactions, other records, budgets,
//! the 1099 boxes; its own custom field values are the exception: they go
//! with it [I]) names the record merged into, which takes on its balances;
//! the record merged from is deleted, as ListDelete would.
//!
//! QuickBooks' own conditions [I where not documented]: both records of
//! the type named, with current edit sequences (3200); accounts of one
//! type; the record merged from has no subrecords (merge those first);
//! the record merged into does not refer to the one merged from.

use crate::body;
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

/// Point the references into `ns` that name `from` at `to`; whether any
/// did. References of one name side by side that named both keep one (a
/// sales tax group of the two items).
fn repoint(items: &mut Vec<Elem>, ns: &str, from: &str, to: &str) -> bool {
    let mut changed = false;
    for e in items.iter_mut() {
        if e.name.ends_with("Ref") && kinds::ref_namespace(&e.name) == Some(ns) {
            for c in e.children.iter_mut() {
                if c.name == "ListID" && c.text == from {
                    c.text = to.to_string();
                    changed = true;
                }
            }
        } else if !e.children.is_empty() {
            changed |= repoint(&mut e.children, ns, from, to);
        }
    }
    if changed {
        let mut seen: Vec<String> = Vec::new();
        items.retain(|e| {
            let names_to = e.name.ends_with("Ref")
                && e.children
                    .iter()
                    .any(|c| c.name == "ListID" && c.text == to);
            if !names_to || !seen.contains(&e.name.to_string()) {
                if names_to {
                    seen.push(e.name.to_string());
                }
                return true;
            }
            false
        });
    }
    changed
}

/// The references `meta` keeps: budget lines (account, customer), the
/// 1099 boxes' accounts, employee defaults.
fn repoint_meta(ctx: &Ctx<'_>, ns: &str, from: &str, to: &str) -> Res<()> {
    for key in ["form1099", "employee_default"] {
        if let Some(text) = store::meta(ctx.db, key)? {
            let mut items = body::decode(&text);
            if repoint(&mut items, ns, from, to) {
                store::set_meta(ctx.db, key, &body::encode(&items))?;
            }
        }
    }
    // QuickBooks' special accounts (A/R, Undeposited Funds, …) by ID.
    if ns == "Account" {
        ctx.db.execute(
            "UPDATE meta SET value=?2 WHERE key LIKE 'special:%' AND value=?1",
            [from, to],
        )?;
    }
    let field = match ns {
        "Account" => 0,
        "Name" => 1,
        _ => return Ok(()),
    };
    let mut st = ctx
        .db
        .prepare_cached("SELECT key, value FROM meta WHERE key LIKE 'budget:%'")?;
    let budgets: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    for (key, text) in budgets {
        let mut changed = false;
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut parts: Vec<&str> = l.split('\t').collect();
                if parts.get(field) == Some(&from) {
                    parts[field] = to;
                    changed = true;
                }
                parts.join("\t")
            })
            .collect();
        if changed {
            store::set_meta(ctx.db, &key, &(lines.join("\n") + "\n"))?;
        }
    }
    Ok(())
}

pub fn merge(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e.child_text("ListMergeType").unwrap_or("");
    let Some(kind) = kinds::kind(ty).filter(|k| k.writable) else {
        return Err(status(3250, &[]));
    };
    let from = side(ctx, kind, e.child("MergeFrom"))?;
    let to = side(ctx, kind, e.child("MergeTo"))?;
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
    let (from_key, to_key) = (
        store::key(kind.namespace, &from.id),
        store::key(kind.namespace, &to.id),
    );
    // A record that names the one merged into it would name itself.
    let names_from: bool = db
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM ref WHERE src=?1 AND dst=?2)",
            [&to_key, &from_key],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if names_from {
        return Err(invalid(
            "MergeTo",
            &to.full_name,
            "The record merged into refers to the record merged from.",
        ));
    }
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
    // Every record body that names it (ListIDs are unique only within a
    // list family: only references into this one change); transactions'
    // bodies below, with their uses.
    let mut st = db
        .prepare_cached("SELECT src FROM ref WHERE dst=?1")
        .map_err(map_err)?;
    let sources: Vec<String> = st
        .query_map([&from_key], |r| r.get(0))
        .map_err(map_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(map_err)?;
    for src in sources {
        let Some((ns, id)) = src.split_once('/') else {
            continue;
        };
        if let Some(mut row) = store::get(db, ns, id)? {
            let mut items = body::decode(&row.body);
            if repoint(&mut items, kind.namespace, &from.id, &to.id) {
                row.body = body::encode(&items);
                store::update(db, &row)?;
            }
        }
    }
    // What counts uses of it.
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
        if let Some(t) = store::get_txn(db, &id)? {
            let mut items = body::decode(&t.body);
            if repoint(&mut items, kind.namespace, &from.id, &to.id) {
                db.execute(
                    "UPDATE txn SET body=?2 WHERE id=?1",
                    [&id, &body::encode(&items)],
                )
                .map_err(map_err)?;
            }
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
    // References kept outside records: budgets, the 1099 boxes, employee
    // defaults.
    repoint_meta(ctx, kind.namespace, &from.id, &to.id)?;
    // Balances move with the postings: up the tree first (the record
    // merged into may be the other's parent), then onto it.
    if let Some(p) = &from.parent {
        add_to_totals(ctx, kind.namespace, p, -from.total)?;
    }
    if let Some(p) = &to.parent {
        add_to_totals(ctx, kind.namespace, p, from.total)?;
    }
    let Some(mut to) = store::get(db, kind.namespace, &to.id)? else {
        return Err(status(1000, &[]));
    };
    let modified = ctx.now.max(to.edit_seq + 1);
    to.balance += from.balance;
    to.total += from.total;
    to.qty += from.qty;
    to.value += from.value;
    to.modified = modified;
    to.edit_seq = modified;
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
