//! Data event recovery (`DataEventRecoveryInfoQuery`, `…Del`): what an
//! event subscriber missed while it was away. The simulator takes no
//! event subscriptions (`QBXMLSubscriptionMsgsRq`), so no subscriber has
//! recovery information: a query finds none (1) and a delete names an
//! unknown subscriber (3120) [I].

use crate::{status, Answer, Ctx, Res};
use qbxml::{Request, Status};

pub fn recovery_query(_ctx: &Ctx<'_>, _rq: &Request<'_>) -> Res<Answer> {
    Ok(Answer::status(Status::from_code(1, &[])))
}

pub fn recovery_del(_ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let id = rq.element().child_text("SubscriberID").unwrap_or("");
    Err(status(3120, &[("value", id)]))
}
