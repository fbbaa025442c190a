//! Add, Mod and ListDel for every list, generically.
//!
//! The rules are QuickBooks' (FACTS §5): names unique case-insensitively
//! per namespace and parent (3100), references by ListID or FullName with
//! ListID winning (3140), Mod and ListDel of a missing record (3120), a
//! stale EditSequence (3200), FullName following renames down the tree,
//! TotalBalance following balances up it.

use crate::body::{self, RefRequest};
use crate::kinds::{self, Kind};
use crate::refs::resolve;
use crate::render::{self, include_of, RetOpts};
use crate::store::{self, Row};
use crate::{status, Res};
use crate::{Answer, Ctx, SimError};
use qbxml::{Elem, Element, Request, Status};

/// Elements of an Add/Mod that live in columns, not in the body.
const COLUMN_FIELDS: &[&str] = &[
    "ListID",
    "EditSequence",
    "Name",
    "Initial",
    "IsActive",
    "ParentRef",
    "OpenBalance",
    "OpenBalanceDate",
];

/// The elements of `kind`'s Add/Mod that live in columns: the common ones
/// and whatever element names its records.
fn column_fields(kind: &Kind) -> Vec<&'static str> {
    let mut v = COLUMN_FIELDS.to_vec();
    v.push(kind.name_field);
    v
}

/// Map a request aggregate's children to a body, resolving references.
fn map_body(
    ctx: &Ctx<'_>,
    kind: &Kind,
    agg: Element<'_>,
    refs: &mut Vec<String>,
) -> Res<Vec<Elem>> {
    let Some(ret) = ctx.store_ret(kind.name) else {
        return Err(status(1000, &[]));
    };
    let mut resolver = |r: &RefRequest<'_>| -> Res<String> {
        let targets = kinds::ref_targets(r.name).unwrap_or_default();
        let row = resolve(ctx, &targets, r, kind.name)?;
        refs.push(store::key(&row.ns, &row.id));
        Ok(row.id)
    };
    let mut items = body::map_children(agg, ret, &column_fields(kind), &mut resolver)?;
    add_blocks(&mut items, ret);
    Ok(items)
}

/// What QuickBooks derives for a record beyond its fields: an account's
/// cash-flow classification and tax line, the IDs and dates of notes.
fn derive(ctx: &Ctx<'_>, kind: &Kind, agg: Element<'_>, items: &mut Vec<Elem>) -> Res<()> {
    if kind.name == "Account" {
        if let Some(t) = items
            .iter()
            .find(|e| e.name == "AccountType")
            .map(|e| e.text.clone())
        {
            items.retain(|e| e.name != "CashFlowClassification");
            items.push(Elem::leaf(
                "CashFlowClassification",
                kinds::cash_flow_classification(&t),
            ));
        }
        if let Some(id) = agg.child_text("TaxLineID") {
            items.retain(|e| e.name != "TaxLineInfoRet");
            if !id.is_empty() {
                items.push(Elem::new("TaxLineInfoRet").with("TaxLineID", id));
            }
        }
    }
    crate::rates::derive(ctx, kind.name, agg, items)?;
    // A sales tax group is made of sales tax items, not of other groups.
    if kind.name == "ItemSalesTaxGroup" {
        for r in items.iter().filter(|e| e.name == "ItemSalesTaxRef") {
            let Some(id) = r.get("ListID").map(|l| l.text.to_string()) else {
                continue;
            };
            if let Some(row) = store::get(ctx.db, "Item", &id)?.filter(|x| x.kind != "ItemSalesTax")
            {
                return Err(status(
                    3140,
                    &[
                        ("type", "ItemSalesTax"),
                        ("value", &row.full_name),
                        ("object", kind.name),
                    ],
                ));
            }
        }
    }
    // One site is the default where QuickBooks keeps stock not given a
    // site; the simulated company's is none of the sites clients add [I].
    if kind.name == "InventorySite" && !items.iter().any(|e| e.name == "IsDefaultSite") {
        items.push(Elem::leaf("IsDefaultSite", "false"));
    }
    // A lead's locations and contacts are numbered within the lead; its
    // first location is its main address [I].
    if kind.name == "Lead" {
        for (agg_name, id_name) in [
            ("LocationsRet", "LocationID"),
            ("LeadContactsRet", "LeadContactID"),
        ] {
            let mut next = items
                .iter()
                .filter(|e| e.name == agg_name)
                .filter_map(|e| e.get(id_name).and_then(|n| n.text.parse::<u32>().ok()))
                .max()
                .unwrap_or(0)
                + 1;
            for e in items.iter_mut().filter(|e| e.name == agg_name) {
                if e.get(id_name).is_none() {
                    e.children.insert(0, Elem::leaf(id_name, next.to_string()));
                    next += 1;
                }
            }
        }
        let mut first = true;
        for e in items.iter_mut().filter(|e| e.name == "LocationsRet") {
            e.children.retain(|c| c.name != "MainAddress");
            e.children.insert(
                1,
                Elem::leaf("MainAddress", if first { "true" } else { "false" }),
            );
            first = false;
        }
    }
    let today = ctx.tz.date(ctx.now);
    // A to-do is not done until it says so, and is due today unless
    // given a date [I].
    if kind.name == "ToDo" {
        if !items.iter().any(|e| e.name == "IsDone") {
            items.push(Elem::leaf("IsDone", "false"));
        }
        if !items.iter().any(|e| e.name == "ReminderDate") {
            items.push(Elem::leaf("ReminderDate", today.clone()));
        }
    }
    let mut next_note = 0;
    for e in items.iter_mut().filter(|e| e.name == "AdditionalNotesRet") {
        match e.get("NoteID").and_then(|n| n.text.parse::<u32>().ok()) {
            Some(n) => next_note = next_note.max(n + 1),
            None => {
                e.children
                    .insert(0, Elem::leaf("NoteID", next_note.to_string()));
                next_note += 1;
            }
        }
        if e.get("Date").is_none() {
            e.children.insert(1, Elem::leaf("Date", today.clone()));
        }
    }
    // Sub-records (ContactsRet) carry their own ID, times and sequence.
    let Some(ret) = ctx.store_ret(kind.name) else {
        return Ok(());
    };
    for e in items.iter_mut() {
        let is_record = ret
            .child(&e.name)
            .is_some_and(|p| p.decl().child("EditSequence").is_some());
        if is_record && e.get("ListID").is_none() {
            let id = format!(
                "{:X}-{}",
                store::next_counter(ctx.db, "SubRecord")?,
                ctx.now
            );
            let stamp = ctx.tz.format(ctx.now);
            e.children.extend([
                Elem::leaf("ListID", id),
                Elem::leaf("TimeCreated", stamp.clone()),
                Elem::leaf("TimeModified", stamp),
                Elem::leaf("EditSequence", ctx.now.to_string()),
            ]);
        }
    }
    Ok(())
}

/// Generate `…AddressBlock` for every address the Ret has a block for.
pub(crate) fn add_blocks(items: &mut Vec<Elem>, ret: qbxml::schema::Decl) {
    items.retain(|e| !e.name.ends_with("AddressBlock"));
    let blocks: Vec<Elem> = items
        .iter()
        .filter(|e| e.name.ends_with("Address"))
        .filter(|e| ret.child(&format!("{}Block", e.name)).is_some())
        .filter_map(body::address_block)
        .collect();
    // The block keeps the address as typed; the address itself is stored
    // the way QuickBooks files it.
    for a in items.iter_mut().filter(|e| e.name.ends_with("Address")) {
        body::file_address(a);
    }
    items.extend(blocks);
}

/// Fields the request gave that QuickBooks Desktop does not support:
/// the record is saved without them and the answer is 530 (Warn).
fn unsupported_field(agg: Element<'_>) -> Option<String> {
    agg.children()
        .find(|c| c.schema_position().is_some_and(|p| p.not_in_desktop()))
        .map(|c| c.name().to_string())
}

fn sort_key(kind: &Kind, parent: Option<&Row>, name: &str, body: &[Elem]) -> String {
    let mut seg = String::new();
    if kind.name == "Account" {
        if parent.is_none() {
            let t = body
                .iter()
                .find(|e| e.name == "AccountType")
                .map(|e| e.text.as_str())
                .unwrap_or("");
            seg.push_str(&format!("{:02}", kinds::account_type_rank(t)));
        }
        if let Some(n) = body.iter().find(|e| e.name == "AccountNumber") {
            seg.push_str(&n.text.to_lowercase());
        }
        seg.push('\u{2}');
    }
    seg.push_str(&name.to_lowercase());
    match parent {
        Some(p) => format!("{}\u{1}{seg}", p.sort_key),
        None => seg,
    }
}

/// The name an Employee is listed under when the Add gives none:
/// first, middle and last name.
fn person_name(agg: Element<'_>) -> Option<String> {
    let parts: Vec<&str> = ["FirstName", "MiddleName", "LastName"]
        .iter()
        .filter_map(|n| agg.child_text(n))
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// An employee's listed name after a Mod changed its parts.
fn person_name_of(items: &[Elem]) -> Option<String> {
    let parts: Vec<&str> = ["FirstName", "MiddleName", "LastName"]
        .iter()
        .filter_map(|n| items.iter().find(|e| e.name == *n))
        .map(|e| e.text.as_str())
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

pub fn add(ctx: &Ctx<'_>, kind: &'static Kind, rq: &Request<'_>) -> Res<Answer> {
    let agg_name = format!("{}Add", kind.name);
    let Some(agg) = rq.element().child(&agg_name) else {
        return Err(status(1000, &[]));
    };
    // Employee names are not settable in QuickBooks Desktop ("not in QBD"):
    // the name is made of the person's names.
    let name_given = agg
        .child(kind.name_field)
        .filter(|c| !c.schema_position().is_some_and(|p| p.not_in_desktop()))
        .map(|c| c.text())
        .filter(|s| !s.is_empty());
    let name = match name_given {
        Some(n) => n.to_string(),
        None => person_name(agg).ok_or_else(|| status(3150, &[("field", kind.name_field)]))?,
    };
    let parent = match agg.child("ParentRef") {
        Some(p) => Some(resolve(
            ctx,
            &[kind],
            &RefRequest {
                name: "ParentRef",
                list_id: p.child_text("ListID"),
                full_name: p.child_text("FullName"),
            },
            kind.name,
        )?),
        None => None,
    };
    let full_name = match &parent {
        Some(p) => format!("{}:{name}", p.full_name),
        None => name.clone(),
    };
    if kind.unique && store::by_name(ctx.db, kind.namespace, &full_name)?.is_some() {
        return Err(status(3100, &[("value", &name)]));
    }
    let mut refs = Vec::new();
    let mut items = map_body(ctx, kind, agg, &mut refs)?;
    add_defaults(ctx, kind, agg, &mut items);
    derive(ctx, kind, agg, &mut items)?;
    crate::barcode::keep(ctx, kind, agg, None, &mut items)?;
    let balance = agg.child_text("OpenBalance").map(store::cents).unwrap_or(0);
    let now = ctx.now;
    let id = format!("{:X}-{now}", store::next_counter(ctx.db, kind.counter)?);
    let row = Row {
        id: id.clone(),
        kind: kind.name.to_string(),
        ns: kind.namespace.to_string(),
        parent: parent.as_ref().map(|p| p.id.clone()),
        sort_key: sort_key(kind, parent.as_ref(), &name, &items),
        name,
        full_name,
        active: agg
            .child_text("IsActive")
            .is_none_or(|v| v == "true" || v == "1"),
        created: now,
        modified: now,
        edit_seq: now,
        body: body::encode(&items),
        ..Row::default()
    };
    store::insert(ctx.db, &row)?;
    if let Some(p) = &row.parent {
        refs.push(store::key(kind.namespace, p));
    }
    store::set_refs(ctx.db, &store::key(kind.namespace, &id), &refs)?;
    // Opening balances are postings like any other (the ledger moves the
    // balances); read the row back to answer with them.
    let qty = agg
        .child_text("QuantityOnHand")
        .and_then(|q| q.trim().parse::<f64>().ok())
        .map(crate::ledger::qty_units)
        .unwrap_or(0);
    let value = match agg.child_text("TotalValue") {
        Some(v) => store::cents(v),
        None => {
            let cost = agg
                .child_text("PurchaseCost")
                .and_then(|c| c.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            (cost * qty as f64 / crate::ledger::QTY_SCALE * 100.0).round() as i64
        }
    };
    let (amount, qty) = if kinds::is_stocked(kind.name) {
        (value, qty)
    } else {
        (balance, 0)
    };
    if amount.abs() > store::MAX_CENTS || qty.abs() > 100_000_000_000_000_000 {
        return Err(status(
            3210,
            &[
                ("field", "OpenBalance"),
                ("value", &store::money(amount)),
                ("reason", "The amount is too large."),
            ],
        ));
    }
    let as_of = agg
        .child_text("OpenBalanceDate")
        .or_else(|| agg.child_text("InventoryDate"))
        .map(str::to_string);
    crate::ledger::opening(ctx, kind.name, &id, amount, qty, &items, as_of.as_deref())?;
    let row = store::get(ctx.db, kind.namespace, &id)?.unwrap_or(row);
    let st = match unsupported_field(agg) {
        Some(f) => Status::from_code(530, &[("field", &f)]),
        None => Status::ok(),
    };
    answer_with_ret(ctx, kind, &row, rq, st)
}

/// What QuickBooks fills in when the Add leaves it out: the ops file's
/// `[DEFAULT]` values (JobStatus None, PreferredDeliveryMethod None, …).
fn add_defaults(ctx: &Ctx<'_>, kind: &Kind, agg: Element<'_>, items: &mut Vec<Elem>) {
    let Some(ret) = ctx.store_ret(kind.name) else {
        return;
    };
    let Some(add_pos) = agg.schema_position() else {
        return;
    };
    for p in add_pos.decl().children() {
        let Some(v) = p.default_value() else { continue };
        if p.not_in_desktop() {
            continue;
        }
        if agg.child(p.name()).is_some() || items.iter().any(|e| e.name == p.name()) {
            continue;
        }
        if ret.child(p.name()).is_some() {
            items.push(Elem::leaf(p.name(), v));
        }
    }
}

fn answer_with_ret(
    ctx: &Ctx<'_>,
    kind: &Kind,
    row: &Row,
    rq: &Request<'_>,
    st: Status,
) -> Res<Answer> {
    let opts = RetOpts {
        include: include_of(rq.element()),
        owners: Vec::new(),
    };
    let items = render::ret(ctx, row, kind, &opts).into_iter().collect();
    Ok(Answer {
        status: st,
        items,
        ..Answer::default()
    })
}

/// Add `delta` cents to the TotalBalance of `id` and its ancestors.
pub(crate) fn add_to_totals(ctx: &Ctx<'_>, ns: &str, id: &str, delta: i64) -> Res<()> {
    if delta == 0 {
        return Ok(());
    }
    let mut next = Some(id.to_string());
    let mut guard = 0;
    while let Some(cur) = next.take() {
        let Some(mut r) = store::get(ctx.db, ns, &cur)? else {
            break;
        };
        r.total += delta;
        store::update(ctx.db, &r)?;
        next = r.parent.clone();
        guard += 1;
        if guard > 64 {
            break;
        }
    }
    Ok(())
}

pub fn modify(ctx: &Ctx<'_>, kind: &'static Kind, rq: &Request<'_>) -> Res<Answer> {
    let agg_name = format!("{}Mod", kind.name);
    let Some(agg) = rq.element().child(&agg_name) else {
        return Err(status(1000, &[]));
    };
    let id = agg.child_text("ListID").unwrap_or("");
    let mut row = match store::get(ctx.db, kind.namespace, id)? {
        Some(r) if r.kind == kind.name => r,
        _ => return Err(status(3120, &[("value", id)])),
    };
    let seq = agg.child_text("EditSequence").unwrap_or("");
    if seq != row.edit_seq.to_string() {
        let current = render::ret(ctx, &row, kind, &RetOpts::default());
        return Err(SimError::StatusWith(
            Status::from_code(3200, &[("value", seq)]),
            current.into_iter().collect(),
        ));
    }
    let old_full = row.full_name.clone();
    let old_sort = row.sort_key.clone();
    let mut new_name = agg
        .child(kind.name_field)
        .filter(|c| !c.schema_position().is_some_and(|p| p.not_in_desktop()))
        .map(|c| c.text())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| row.name.clone());
    let mut parent_id = row.parent.clone();
    if let Some(p) = agg.child("ParentRef") {
        let given = RefRequest::of("ParentRef", p);
        parent_id = if given.list_id.is_none() && given.full_name.is_none() {
            None
        } else {
            let prow = resolve(ctx, &[kind], &given, kind.name)?;
            // A record cannot move under itself or its own descendants.
            if prow.id == row.id
                || prow
                    .full_name
                    .to_lowercase()
                    .starts_with(&format!("{}:", old_full.to_lowercase()))
            {
                return Err(status(
                    3140,
                    &[
                        ("type", kind.name),
                        ("value", &prow.full_name),
                        ("object", kind.name),
                    ],
                ));
            }
            Some(prow.id)
        };
    }
    let parent = match &parent_id {
        Some(p) => store::get(ctx.db, kind.namespace, p)?,
        None => None,
    };
    let mut refs = Vec::new();
    let changes = map_body(ctx, kind, agg, &mut refs)?;
    let Some(ret) = ctx.store_ret(kind.name) else {
        return Err(status(1000, &[]));
    };
    let cleared = body::cleared(agg, ret, &column_fields(kind));
    let mut items = body::decode(&row.body);
    // An account's balance is kept with its type's sign: the type of an
    // account with postings stays (QuickBooks restricts it too) [I].
    if kind.name == "Account" {
        let old_type = items
            .iter()
            .find(|e| e.name == "AccountType")
            .map(|e| e.text.clone());
        let new_type = changes
            .iter()
            .find(|e| e.name == "AccountType")
            .map(|e| e.text.clone());
        if new_type.is_some()
            && new_type != old_type
            && crate::ledger::has_postings(ctx.db, &row.id)?
        {
            return Err(SimError::Status(Status::from_code(
                3210,
                &[
                    ("field", "AccountType"),
                    ("value", new_type.as_deref().unwrap_or("")),
                    (
                        "reason",
                        "The account has transactions; its type cannot be changed.",
                    ),
                ],
            )));
        }
    }
    let mut changes = changes;
    // Blocks are regenerated from the merged addresses below.
    changes.retain(|e| !e.name.ends_with("AddressBlock"));
    body::merge(&mut items, changes, &cleared);
    body::settle_prices(&mut items, agg);
    add_blocks(&mut items, ret);
    derive(ctx, kind, agg, &mut items)?;
    crate::barcode::keep(ctx, kind, agg, Some(&row.id), &mut items)?;
    if kind.name == "Employee" {
        if let Some(n) = person_name_of(&items) {
            new_name = n;
        }
    }
    let new_full = match &parent {
        Some(p) => format!("{}:{new_name}", p.full_name),
        None => new_name.clone(),
    };
    if let Some(other) = store::by_name(ctx.db, kind.namespace, &new_full)? {
        if other.id != row.id && kind.unique {
            return Err(status(3100, &[("value", &new_name)]));
        }
    }
    if let Some(v) = agg.child_text("IsActive") {
        row.active = v == "true" || v == "1";
    }
    let old_parent = row.parent.clone();
    if old_parent != parent_id {
        if let Some(p) = &old_parent {
            add_to_totals(ctx, kind.namespace, p, -row.total)?;
        }
        if let Some(p) = &parent_id {
            add_to_totals(ctx, kind.namespace, p, row.total)?;
        }
    }
    let modified = ctx.now.max(row.edit_seq + 1);
    row.parent = parent_id;
    row.name = new_name.clone();
    row.full_name = new_full;
    row.sort_key = sort_key(kind, parent.as_ref(), &new_name, &items);
    row.modified = modified;
    row.edit_seq = modified;
    row.body = body::encode(&items);
    store::update(ctx.db, &row)?;
    // Children's FullName and sort keys derive from this record's (an
    // account's number is part of its sort key).
    if row.full_name != old_full || row.parent != old_parent || row.sort_key != old_sort {
        rename_children(ctx, kind, &row)?;
    }
    // References: everything the stored body points at, plus the parent.
    let mut all_refs = Vec::new();
    collect_ref_ids(&items, &mut all_refs);
    if let Some(p) = &row.parent {
        all_refs.push(store::key(kind.namespace, p));
    }
    store::set_refs(ctx.db, &store::key(kind.namespace, &row.id), &all_refs)?;
    let st = match unsupported_field(agg) {
        Some(f) => Status::from_code(530, &[("field", &f)]),
        None => Status::ok(),
    };
    answer_with_ret(ctx, kind, &row, rq, st)
}

pub(crate) fn collect_ref_ids(items: &[Elem], out: &mut Vec<String>) {
    for e in items {
        if e.name.ends_with("Ref") && e.children.len() == 1 && e.children[0].name == "ListID" {
            if let Some(ns) = kinds::ref_namespace(&e.name) {
                out.push(store::key(ns, &e.children[0].text));
            }
        } else {
            collect_ref_ids(&e.children, out);
        }
    }
}

/// After a rename or move, give the descendants their new FullName and
/// sort key (their own EditSequence does not change, as in QuickBooks).
fn rename_children(ctx: &Ctx<'_>, kind: &Kind, parent: &Row) -> Res<()> {
    for mut c in store::children(ctx.db, kind.namespace, &parent.id)? {
        c.full_name = format!("{}:{}", parent.full_name, c.name);
        let items = body::decode(&c.body);
        c.sort_key = sort_key(kind, Some(parent), &c.name, &items);
        store::update(ctx.db, &c)?;
        rename_children(ctx, kind, &c)?;
    }
    Ok(())
}

pub fn list_del(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let del_type = e.child_text("ListDelType").unwrap_or("");
    let id = e.child_text("ListID").unwrap_or("");
    let Some(kind) = kinds::kind(del_type).filter(|k| k.writable) else {
        return Err(status(3250, &[]));
    };
    let row = match store::get(ctx.db, kind.namespace, id)? {
        Some(r) if r.kind == kind.name => r,
        _ => return Err(status(3120, &[("value", id)])),
    };
    let in_use = !store::children(ctx.db, kind.namespace, &row.id)?.is_empty()
        || store::referrer(ctx.db, &store::key(kind.namespace, &row.id))?.is_some()
        || store::counted(ctx.db, &store::key(kind.namespace, &row.id))?;
    if in_use {
        return Err(status(
            3176,
            &[("object", kind.name), ("value", &row.full_name)],
        ));
    }
    if let Some(p) = &row.parent {
        add_to_totals(ctx, kind.namespace, p, -row.total)?;
    }
    store::delete(ctx.db, &row, ctx.now)?;
    let rs = vec![
        Elem::leaf("ListDelType", kind.name),
        Elem::leaf("ListID", row.id.clone()),
        Elem::leaf("TimeDeleted", ctx.tz.format(ctx.now)),
        Elem::leaf("FullName", row.full_name.clone()),
    ];
    Ok(Answer {
        status: Status::ok(),
        items: rs,
        ..Answer::default()
    })
}
