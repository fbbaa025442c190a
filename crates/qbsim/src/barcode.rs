//! Bar codes: the value an item's Add or Mod gives in `BarCode` is kept as
//! its `BarCodeValue`, unique among items unless the request says to
//! assign it anyway (`AssignEvenIfUsed`) [I: QuickBooks' refusal text is
//! not known]; `BarCodeQuery` finds the items that carry bar codes.

use crate::body::leaf;
use crate::kinds::{self, Kind};
use crate::store;
use crate::{invalid, Answer, Ctx, Res};
use qbxml::{Elem, Element, Request};

/// Every item with a bar code: (its row, the value).
fn coded(ctx: &Ctx<'_>) -> Res<Vec<(store::Row, String)>> {
    let mut out = Vec::new();
    for k in kinds::KINDS.iter().filter(|k| k.namespace == "Item") {
        let ids = store::ids_in_order(ctx.db, k.name, &store::ColumnFilter::default())?;
        for r in store::get_many(ctx.db, "Item", &ids)? {
            if !r.body.contains("BarCodeValue") {
                continue;
            }
            let body = crate::body::decode(&r.body);
            if let Some(v) = leaf(&body, "BarCodeValue").map(str::to_string) {
                out.push((r, v));
            }
        }
    }
    Ok(out)
}

/// Keep the bar code an item's Add or Mod gives (`BarCode/BarCodeValue`)
/// in the body the Ret is written from.
pub(crate) fn keep(
    ctx: &Ctx<'_>,
    kind: &Kind,
    agg: Element<'_>,
    own_id: Option<&str>,
    items: &mut Vec<Elem>,
) -> Res<()> {
    let Some(b) = agg.child("BarCode") else {
        return Ok(());
    };
    if kind.namespace != "Item" {
        return Ok(());
    }
    let value = b
        .child_text("BarCodeValue")
        .unwrap_or("")
        .trim()
        .to_string();
    items.retain(|e| e.name != "BarCodeValue");
    if value.is_empty() {
        return Ok(());
    }
    let anyway = b
        .child_text("AssignEvenIfUsed")
        .is_some_and(|v| v == "true" || v == "1");
    if !anyway {
        // Bodies hold the value length-prefixed, so SQLite finds it in one
        // pass without decoding every item's body.
        let pattern = format!("lBarCodeValue:{}:{value}", value.len());
        let mut st = ctx
            .db
            .prepare_cached("SELECT id, body FROM list WHERE ns='Item' AND instr(body, ?1) > 0")?;
        let hits: Vec<(String, String)> = st
            .query_map([&pattern], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()
            .map_err(store::StoreError::from)?;
        // The pattern could stand in another field's text: the value must
        // be the item's bar code.
        let taken = hits.iter().any(|(id, b)| {
            Some(id.as_str()) != own_id
                && leaf(&crate::body::decode(b), "BarCodeValue") == Some(value.as_str())
        });
        if taken {
            return Err(invalid(
                "BarCodeValue",
                &value,
                "The bar code is already used by another item.",
            ));
        }
    }
    items.push(Elem::leaf("BarCodeValue", value));
    Ok(())
}

/// `BarCodeQuery`: the items with the bar codes asked for (all bar-coded
/// items when none is named).
pub fn query(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let wanted: Vec<&str> = rq
        .element()
        .children_named("BarCodeValue")
        .map(|c| c.text())
        .collect();
    let mut items = Vec::new();
    for (r, v) in coded(ctx)? {
        if !wanted.is_empty() && !wanted.contains(&v.as_str()) {
            continue;
        }
        let mut ret = Elem::new("BarCodeRet")
            .with("ListType", r.kind.clone())
            .with("ListID", r.id.clone());
        // The Ret's name holds 50 characters [I: longer names are left out].
        if r.full_name.chars().count() <= 50 {
            ret.push(Elem::leaf("FullName", r.full_name.clone()));
        }
        ctx.spend(&ret)?;
        items.push(ret);
    }
    Ok(Answer::found(items))
}
