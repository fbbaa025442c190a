//! `ClearedStatusMod`: a transaction's (or one of its lines') cleared
//! status, as bank reconciliation marks it: Cleared, NotCleared or
//! Pending. Kept in `meta` (`cleared:<TxnID>[:<TxnLineID>]`); detail
//! reports show it in their ClearedStatus column.

use crate::body::{self, leaf};
use crate::store;
use crate::{status, Answer, Ctx, Res};
use qbxml::{Request, Status};

pub fn modify(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let Some(m) = rq.element().child("ClearedStatusMod") else {
        return Err(status(1000, &[]));
    };
    let id = m.child_text("TxnID").unwrap_or("");
    let Some(t) = store::get_txn(ctx.db, id)? else {
        return Err(status(3120, &[("value", id)]));
    };
    let value = m.child_text("ClearedStatus").unwrap_or("NotCleared");
    let key = match m.child_text("TxnLineID") {
        Some(line) => {
            let has = body::decode(&t.body).iter().any(|e| {
                e.name.ends_with("LineRet") && leaf(&e.children, "TxnLineID") == Some(line)
            });
            if !has {
                return Err(status(3120, &[("value", line)]));
            }
            format!("cleared:{id}:{line}")
        }
        None => format!("cleared:{id}"),
    };
    store::set_meta(ctx.db, &key, value)?;
    Ok(Answer::status(Status::ok()))
}

/// A transaction's cleared status (NotCleared unless marked).
pub fn of(ctx: &Ctx<'_>, txn: &str) -> Res<String> {
    Ok(store::meta(ctx.db, &format!("cleared:{txn}"))?.unwrap_or_else(|| "NotCleared".into()))
}
