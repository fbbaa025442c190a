//! `ItemSitesQuery`: how much of each stocked item is where, with what is
//! on order, on sales orders and tied up in pending builds.
//!
//! The simulator keeps one quantity on hand per item, not one per
//! inventory site [I], so each inventory part and assembly has one item
//! site, with no site named, whose ListID is the item's; a filter naming
//! sites finds none. Quantities on purchase and sales orders are every
//! order's lines (receiving against a purchase order and invoicing a sales
//! order are not linked here).

use crate::body::{self, leaf};
use crate::kinds;
use crate::ledger::{self, qty_text, qty_units};
use crate::query::ref_set;
use crate::store;
use crate::{Answer, Ctx, Res};
use qbxml::{Elem, Request, Status};
use std::collections::HashMap;

/// Quantities per item ListID, in quantity units.
#[derive(Default)]
struct Committed {
    on_po: HashMap<String, i64>,
    on_so: HashMap<String, i64>,
    to_build: HashMap<String, i64>,
    for_builds: HashMap<String, i64>,
}

fn committed(ctx: &Ctx<'_>) -> Res<Committed> {
    let mut c = Committed::default();
    let mut st = ctx.db.prepare_cached(
        "SELECT id FROM txn WHERE voided=0 AND type IN ('PurchaseOrder','SalesOrder','BuildAssembly')",
    )?;
    let ids: Vec<String> = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    for t in store::get_txns(ctx.db, &ids)? {
        let b = body::decode(&t.body);
        let qty = |c: &[Elem], f: &str| {
            qty_units(
                leaf(c, f)
                    .and_then(|q| q.trim().parse().ok())
                    .unwrap_or(0.0),
            )
        };
        match t.kind.as_str() {
            "PurchaseOrder" | "SalesOrder" => {
                let map = if t.kind == "PurchaseOrder" {
                    &mut c.on_po
                } else {
                    &mut c.on_so
                };
                for l in b.iter().filter(|e| e.name.ends_with("LineRet")) {
                    if let Some(item) = ledger::ref_id(&l.children, "ItemRef") {
                        *map.entry(item).or_default() += qty(&l.children, "Quantity");
                    }
                }
            }
            _ if leaf(&b, "IsPending") == Some("true") => {
                if let Some(asm) = ledger::ref_id(&b, "ItemInventoryAssemblyRef") {
                    *c.to_build.entry(asm).or_default() += qty(&b, "QuantityToBuild");
                }
                for l in b.iter().filter(|e| e.name == "ComponentItemLineRet") {
                    if let Some(item) = ledger::ref_id(&l.children, "ItemRef") {
                        *c.for_builds.entry(item).or_default() +=
                            qty(&l.children, "QuantityNeeded");
                    }
                }
            }
            _ => {}
        }
    }
    Ok(c)
}

pub fn query(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ids: Vec<&str> = e.children_named("ListID").map(|c| c.text()).collect();
    let types: &[&str] = match e.child_text("ItemTypeFilter") {
        None | Some("InventoryAndAssembly") | Some("AllExceptFixedAsset") => {
            &["ItemInventory", "ItemInventoryAssembly"]
        }
        Some("Inventory") => &["ItemInventory"],
        Some("Assembly") => &["ItemInventoryAssembly"],
        Some(_) => &[],
    };
    let mut items_wanted = None;
    if let Some(f) = e.child("ItemSiteFilter") {
        if f.child("SiteFilter").is_some() {
            // No stock is kept at a named site.
            return Ok(Answer::status(Status::from_code(1, &[])));
        }
        if let Some(i) = f.child("ItemFilter") {
            // Parts and assemblies alike.
            let mut set = ref_set(ctx, i, "ItemInventory")?;
            set.extend(ref_set(ctx, i, "ItemInventoryAssembly")?);
            items_wanted = Some(set);
        }
    }
    let active = match e.child_text("ActiveStatus").unwrap_or("ActiveOnly") {
        "All" => None,
        "InactiveOnly" => Some(false),
        _ => Some(true),
    };
    let max = e
        .child_text("MaxReturned")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let c = committed(ctx)?;
    let mut out = Vec::new();
    let mut missing = None;
    let rows: Vec<store::Row> = if ids.is_empty() {
        let mut rows = Vec::new();
        for t in types {
            let cols = store::ColumnFilter {
                active,
                ..Default::default()
            };
            let list = store::ids_in_order(ctx.db, t, &cols)?;
            rows.extend(store::get_many(ctx.db, "Item", &list)?);
        }
        rows.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        rows
    } else {
        let mut rows = Vec::new();
        for id in &ids {
            match store::get(ctx.db, "Item", id)?.filter(|r| kinds::is_stocked(&r.kind)) {
                Some(r) => rows.push(r),
                None => {
                    missing.get_or_insert_with(|| id.to_string());
                }
            }
        }
        rows
    };
    for r in rows {
        if out.len() >= max {
            break;
        }
        if items_wanted.as_ref().is_some_and(|w| !w.contains(&r.id)) {
            continue;
        }
        let b = body::decode(&r.body);
        let assembly = r.kind == "ItemInventoryAssembly";
        let mut ret = Elem::new("ItemSitesRet")
            .with("ListID", r.id.clone())
            .with("TimeCreated", ctx.tz.format(r.created))
            .with("TimeModified", ctx.tz.format(r.modified))
            .with("EditSequence", r.edit_seq.to_string())
            .child(
                Elem::new(if assembly {
                    "ItemInventoryAssemblyRef"
                } else {
                    "ItemInventoryRef"
                })
                .with("ListID", r.id.clone())
                .with("FullName", r.full_name.clone()),
            );
        if let Some(p) = leaf(&b, "ReorderPoint") {
            ret.push(Elem::leaf("ReorderLevel", p));
        }
        let q = |m: &HashMap<String, i64>| qty_text(m.get(&r.id).copied().unwrap_or(0));
        ret.push(Elem::leaf("QuantityOnHand", qty_text(r.qty)));
        ret.push(Elem::leaf("QuantityOnPurchaseOrders", q(&c.on_po)));
        ret.push(Elem::leaf("QuantityOnSalesOrders", q(&c.on_so)));
        ret.push(Elem::leaf(
            "QuantityToBeBuiltByPendingBuildTxns",
            q(&c.to_build),
        ));
        ret.push(Elem::leaf(
            "QuantityRequiredByPendingBuildTxns",
            q(&c.for_builds),
        ));
        ret.push(Elem::leaf("QuantityOnPendingTransfers", "0"));
        if assembly {
            if let Some(p) = leaf(&b, "BuildPoint") {
                ret.push(Elem::leaf("AssemblyBuildPoint", p));
            }
        }
        ctx.spend(&ret)?;
        out.push(ret);
    }
    let status = match missing {
        Some(id) => Status::from_code(500, &[("value", &id)]),
        None if out.is_empty() => Status::from_code(1, &[]),
        None => Status::ok(),
    };
    Ok(Answer {
        status,
        items: out,
        ..Answer::default()
    })
}
