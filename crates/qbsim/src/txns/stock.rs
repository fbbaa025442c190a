//! Stock moved without a sale or a purchase: building assemblies from
//! their components, and transferring stock between inventory sites.
//!
//! A build takes each component's quantity needed out of stock at its
//! average cost and puts the assembly in at the sum of those costs, so the
//! inventory asset's value does not change; with too few components on
//! hand it is refused, or kept pending (posting nothing) when the request
//! asks for that (`MarkPendingIfRequired`).
//!
//! A transfer between sites moves no value and no total quantity. The
//! simulator keeps one quantity on hand per item, not one per site [I],
//! so a transfer is checked and kept but changes no quantity.

use super::arith::*;
use super::map::*;
use super::Draft;
use crate::body::leaf;
use crate::ledger::{self, qty_text, qty_units, Posting};
use crate::txnkinds::Special;
use crate::Ctx;
use crate::{invalid, status, Res};
use qbxml::Elem;

/// Fields a build works out, written afresh on every Add and Mod.
const BUILD_FIELDS: &[&str] = &[
    "ComponentItemLineRet",
    "IsPending",
    "QuantityCanBuild",
    "QuantityOnHand",
    "QuantityOnSalesOrder",
];

/// The build's components (what is on hand and what it needs), whether
/// it is pending, and how many the components on hand allow.
pub(super) fn build(ctx: &Ctx<'_>, d: &mut Draft<'_>) -> Res<()> {
    let Some(asm_id) = ledger::ref_id(&d.items, "ItemInventoryAssemblyRef") else {
        return Err(status(3150, &[("field", "ItemInventoryAssemblyRef")]));
    };
    let Some(asm) = list_body(ctx, "Item", &asm_id)? else {
        return Err(status(3120, &[("value", &asm_id)]));
    };
    let given = leaf(&d.items, "QuantityToBuild").unwrap_or("").to_string();
    let n = num(Some(&given)).unwrap_or(0.0);
    if !(n > 0.0 && n <= MAX_QTY) {
        return Err(invalid(
            "QuantityToBuild",
            &given,
            "The quantity to build must be more than zero.",
        ));
    }
    let may_pend = leaf(&d.items, "MarkPendingIfRequired").is_some_and(|v| v == "true" || v == "1");
    d.items.retain(|e| !BUILD_FIELDS.contains(&e.name.as_ref()));
    let can_build = quantity_can_build(ctx, &asm_id)?;
    let mut short = false;
    let mut lines = Vec::new();
    // What the build takes of each component so far (a component may be
    // on two lines).
    let mut taken: std::collections::HashMap<String, i64> = Default::default();
    if !asm.1.iter().any(|e| e.name == "ItemInventoryAssemblyLine") {
        return Err(invalid(
            "ItemInventoryAssemblyRef",
            &asm.0.full_name,
            "The assembly has no components to build it from: add its ItemInventoryAssemblyLine first.",
        ));
    }
    for c in asm
        .1
        .iter()
        .filter(|e| e.name == "ItemInventoryAssemblyLine")
    {
        let Some(cid) = ledger::ref_id(&c.children, "ItemInventoryRef") else {
            continue;
        };
        let Some(comp) = item(ctx, &[Elem::new("ItemRef").with("ListID", cid.clone())])? else {
            continue;
        };
        let per = qty_units(num(leaf(&c.children, "Quantity")).unwrap_or(1.0));
        let needed = qty_units(n * per as f64 / ledger::QTY_SCALE);
        let on_hand = comp.row().qty;
        let before = taken.entry(cid.clone()).or_default();
        *before += needed;
        short |= on_hand < *before;
        let mut line =
            Elem::new("ComponentItemLineRet").child(Elem::new("ItemRef").with("ListID", cid));
        if let Some(desc) = comp.sales_desc().or_else(|| comp.purchase_desc()) {
            line.push(Elem::leaf("Desc", desc));
        }
        line.push(Elem::leaf("QuantityOnHand", qty_text(on_hand)));
        line.push(Elem::leaf("QuantityNeeded", qty_text(needed)));
        lines.push(line);
    }
    if short && !may_pend {
        return Err(invalid(
            "QuantityToBuild",
            &given,
            "There are not enough components on hand to build this quantity: build fewer, or set MarkPendingIfRequired to keep the build pending.",
        ));
    }
    let built = if short { 0 } else { qty_units(n) };
    d.items.push(Elem::leaf(
        "IsPending",
        if short { "true" } else { "false" },
    ));
    d.items
        .push(Elem::leaf("QuantityCanBuild", qty_text(can_build)));
    d.items
        .push(Elem::leaf("QuantityOnHand", qty_text(asm.0.qty + built)));
    d.items.push(Elem::leaf("QuantityOnSalesOrder", "0"));
    d.items.extend(lines);
    Ok(())
}

/// How many of an assembly its components on hand can build now: the
/// fewest whole builds any component allows (0 for an assembly without
/// components), in quantity units.
pub(crate) fn quantity_can_build(ctx: &Ctx<'_>, asm_id: &str) -> Res<i64> {
    let Some(asm) = list_body(ctx, "Item", asm_id)? else {
        return Err(status(3120, &[("value", asm_id)]));
    };
    let mut can: Option<i64> = None;
    for c in asm
        .1
        .iter()
        .filter(|e| e.name == "ItemInventoryAssemblyLine")
    {
        let Some(cid) = ledger::ref_id(&c.children, "ItemInventoryRef") else {
            continue;
        };
        let Some(comp) = item(ctx, &[Elem::new("ItemRef").with("ListID", cid)])? else {
            continue;
        };
        let per = qty_units(num(leaf(&c.children, "Quantity")).unwrap_or(1.0));
        if per > 0 {
            let k = (comp.row().qty.max(0) / per) * ledger::QTY_SCALE as i64;
            can = Some(can.map_or(k, |m| m.min(k)));
        }
    }
    Ok(can.unwrap_or(0))
}

/// A finished build's postings: each component out at its average cost,
/// the assembly in at their sum.
pub(super) fn build_postings(ctx: &Ctx<'_>, d: &Draft<'_>, ps: &mut Vec<Posting>) -> Res<()> {
    if leaf(&d.items, "IsPending") == Some("true") {
        return Ok(());
    }
    let asset_of = |it: &Item| match it.ref_id(&[&["AssetAccountRef"]]) {
        Some(a) => Ok(a),
        None => ledger::special(ctx, Special::InventoryAsset),
    };
    let mut total = 0i64;
    for line in d.items.iter().filter(|e| e.name == "ComponentItemLineRet") {
        let Some(comp) = item(ctx, &line.children)? else {
            continue;
        };
        let q = qty_units(num(leaf(&line.children, "QuantityNeeded")).unwrap_or(0.0));
        let cost = comp.cost_of(q);
        total += cost;
        ps.push(Posting {
            account: asset_of(&comp)?,
            amount: -cost,
            item: Some(comp.row().id.clone()),
            qty: -q,
            entity: None,
        });
    }
    let asm_ref = ledger::ref_id(&d.items, "ItemInventoryAssemblyRef").unwrap_or_default();
    let Some(asm) = item(ctx, &[Elem::new("ItemRef").with("ListID", asm_ref)])? else {
        return Err(status(1000, &[]));
    };
    let n = qty_units(num(leaf(&d.items, "QuantityToBuild")).unwrap_or(0.0));
    ps.push(Posting {
        account: asset_of(&asm)?,
        amount: in_range("Amount", total)?,
        item: Some(asm.row().id.clone()),
        qty: n,
        entity: None,
    });
    Ok(())
}

/// A transfer between sites: two different sites, and lines of items
/// that are stocked, with a quantity more than zero.
pub(super) fn transfer(ctx: &Ctx<'_>, d: &Draft<'_>) -> Res<()> {
    let from = ledger::ref_id(&d.items, "FromInventorySiteRef");
    if from.is_some() && from == ledger::ref_id(&d.items, "ToInventorySiteRef") {
        return Err(invalid(
            "ToInventorySiteRef",
            from.as_deref().unwrap_or(""),
            "Stock cannot be transferred to the site it is at.",
        ));
    }
    for line in d.lines() {
        let Some(it) = item(ctx, &line.children)? else {
            continue;
        };
        if !it.is_inventory() {
            return Err(invalid(
                "ItemRef",
                &it.row().full_name,
                "Only inventory items can be transferred.",
            ));
        }
        let q = leaf(&line.children, "QuantityTransferred").unwrap_or("0");
        if !num(Some(q)).is_some_and(|v| v > 0.0 && v <= MAX_QTY) {
            return Err(invalid(
                "QuantityToTransfer",
                q,
                "The quantity to transfer must be more than zero.",
            ));
        }
    }
    Ok(())
}
