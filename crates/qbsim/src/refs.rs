//! References in a request (`CustomerRef`, `ItemRef`, …): by ListID,
//! which wins, or by FullName, among the lists the reference may point
//! at; QuickBooks' 3140 when it names nothing there.

use crate::body::RefRequest;
use crate::kinds::Kind;
use crate::store::{self, Row};
use crate::{status, Ctx, Res};

/// Resolve a reference by ListID (wins) or FullName among `targets`.
pub fn resolve(
    ctx: &Ctx<'_>,
    targets: &[&'static Kind],
    r: &RefRequest<'_>,
    object: &str,
) -> Res<Row> {
    let label = ref_label(r.name);
    let bad = |v: &str| {
        status(
            3140,
            &[("type", label.as_str()), ("value", v), ("object", object)],
        )
    };
    let Some(ns) = targets.first().map(|k| k.namespace) else {
        return Err(bad(r.list_id.or(r.full_name).unwrap_or("")));
    };
    if let Some(id) = r.list_id {
        return match store::get(ctx.db, ns, id)? {
            Some(row) if targets.iter().any(|k| k.name == row.kind) => Ok(row),
            _ => Err(bad(id)),
        };
    }
    let Some(name) = r.full_name else {
        return Err(bad(""));
    };
    match store::by_name(ctx.db, ns, name)? {
        Some(row) if targets.iter().any(|k| k.name == row.kind) => Ok(row),
        _ => Err(bad(name)),
    }
}

/// "Customer" for CustomerRef, "Account" for IncomeAccountRef.
fn ref_label(name: &str) -> String {
    let base = name.strip_suffix("Ref").unwrap_or(name);
    if base.ends_with("Account") {
        return "Account".into();
    }
    base.to_string()
}
