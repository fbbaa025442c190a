//! Alerts (16.0): messages an application leaves for the QuickBooks
//! user, one per (OwnerID, AlertTag). Kept in `meta` (`alerts`); the
//! simulator shows them to no one, so none is ever marked done, and the
//! next alert date is the activation date (today when none) [I].

use crate::body::{self, leaf};
use crate::store;
use crate::{status, Answer, Ctx, Res};
use qbxml::{Elem, Request, Status};

fn load(ctx: &Ctx<'_>) -> Res<Vec<Elem>> {
    Ok(store::meta(ctx.db, "alerts")?
        .map(|t| body::decode(&t))
        .unwrap_or_default())
}

fn save(ctx: &Ctx<'_>, alerts: &[Elem]) -> Res<()> {
    Ok(store::set_meta(ctx.db, "alerts", &body::encode(alerts))?)
}

fn same(a: &Elem, owner: &str, tag: &str) -> bool {
    leaf(&a.children, "OwnerID").is_some_and(|o| o.eq_ignore_ascii_case(owner))
        && leaf(&a.children, "AlertTag") == Some(tag)
}

pub fn add(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let Some(a) = rq.element().child("AlertAdd") else {
        return Err(status(1000, &[]));
    };
    let owner = a.child_text("OwnerID").unwrap_or("");
    let tag = a.child_text("AlertTag").unwrap_or("");
    let mut alerts = load(ctx)?;
    if alerts.iter().any(|x| same(x, owner, tag)) {
        return Err(status(3100, &[("value", tag)]));
    }
    let next = a
        .child_text("ActivationDate")
        .map(str::to_string)
        .unwrap_or_else(|| ctx.tz.date(ctx.now));
    let ret = Elem::new("AlertRet")
        .with("OwnerID", owner)
        .with("AlertTag", tag)
        .with("IsMarkedDone", "false")
        .with("NextAlertDate", next);
    alerts.push(ret.clone());
    save(ctx, &alerts)?;
    Ok(Answer {
        status: Status::ok(),
        items: vec![ret],
        ..Answer::default()
    })
}

pub fn query(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let owners: Vec<&str> = rq
        .element()
        .children()
        .flat_map(|c| {
            if c.name() == "OwnerID" {
                vec![c.text()]
            } else {
                c.children_named("OwnerID").map(|o| o.text()).collect()
            }
        })
        .collect();
    let items: Vec<Elem> = load(ctx)?
        .into_iter()
        .filter(|a| {
            owners.is_empty()
                || owners.iter().any(|o| {
                    leaf(&a.children, "OwnerID").is_some_and(|x| x.eq_ignore_ascii_case(o))
                })
        })
        .collect();
    Ok(Answer::found(items))
}

pub fn del(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let d = e.child("AlertDel").unwrap_or(e);
    let owner = d.child_text("OwnerID").unwrap_or("");
    let tag = d.child_text("AlertTag").unwrap_or("");
    let mut alerts = load(ctx)?;
    let before = alerts.len();
    alerts.retain(|a| !same(a, owner, tag));
    if alerts.len() == before {
        return Err(status(3120, &[("value", tag)]));
    }
    save(ctx, &alerts)?;
    Ok(Answer::status(Status::ok()))
}
