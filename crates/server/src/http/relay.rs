//! `POST /`: the qbXML relay — and the way to the backend that every
//! front door relaying qbXML shares.
//!
//! A request is parsed and validated once, here ([`validate`]): what
//! travels on is the parsed set ([`crate::backend::Request`]), and the
//! backend answers with its text and outcome ([`crate::backend::Answer`]).
//! Nothing is parsed again and no response text is searched.
//!
//! Invariant: nothing reaches a backend before authentication, validation
//! and the read-only rule; per company file, backend calls never overlap
//! (one turn per lane), and a started call is never cancelled.

use super::body::{content_type, read_body, settings, ticket_of, wait_of, Media, XML};
use super::login::{login, Principal};
use super::reply::{Refusal, Reply};
use super::{Exchange, FrontDoor, Route};
use crate::backend::{Answer, BackendError, BoxFuture, OpenSettings, Request};
use crate::queue::{NotDone, Pending};
use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Where a request goes: a persistent session (its ticket), or a session
/// of its own opened with these settings.
pub enum Target {
    Ticket(String),
    Open(OpenSettings),
}

/// What a door that takes a message set does first: who is asking, the
/// body's media type, how long the client will wait, where the request
/// goes (a ticket names its session; without one, the settings open
/// one), and the body within its size and time.
pub async fn receive(
    x: &mut Exchange<'_>,
    req: hyper::Request<Incoming>,
    media: Media,
) -> Result<(Principal, Target, bytes::Bytes), Refusal> {
    let p = login(x, req.headers()).await?;
    content_type(req.headers(), media)?;
    x.wait = wait_of(req.headers())?;
    let target = match ticket_of(req.headers())? {
        Some(t) => Target::Ticket(t),
        None => Target::Open(settings(&p, req.headers())?),
    };
    let body = read_body(&x.live, req).await?;
    Ok((p, target, body))
}

/// Parse and validate a body as QuickBooks' request processor would, and
/// apply the read-only rule: the request value that goes to the backend.
pub fn validate(x: &mut Exchange<'_>, p: &Principal, body: Vec<u8>) -> Result<Request, Refusal> {
    let set = qbxml::parse_request_with(body, &limits(x)).map_err(Refusal::NotQbxml)?;
    admit(x, p, set)
}

/// The parser's bounds for this request's body.
pub fn limits(x: &Exchange<'_>) -> qbxml::Limits {
    qbxml::Limits {
        max_size: x.live.max_request_bytes,
        ..qbxml::Limits::default()
    }
}

/// A validated set, however it came (qbXML, JSON): its types for the
/// trace, and the read-only rule.
pub fn admit(
    x: &mut Exchange<'_>,
    p: &Principal,
    set: qbxml::RequestSet,
) -> Result<Request, Refusal> {
    x.trace.request_types = set.requests().map(|r| r.name().to_string()).collect();
    if p.read_only {
        if let Some(why) = writes(&set) {
            return Err(Refusal::ReadOnly {
                user: p.name.clone(),
                why,
            });
        }
    }
    Ok(Arc::new(set))
}

/// Why a message set writes, if it does: a write request, a subscription
/// set, or error recovery — which stores (newMessageSetID) and deletes
/// (ClearAllMessageSets, a reused ID) state that read-write clients rely
/// on after a 504.
fn writes(set: &qbxml::RequestSet) -> Option<String> {
    if let Some(w) = set.requests().find(|r| r.access() == qbxml::Access::Write) {
        return Some(format!("{} writes", w.name()));
    }
    if set.kind() == qbxml::MessageSetKind::Subscriptions {
        return Some("subscriptions write".into());
    }
    if set.new_message_set_id().is_some() || set.old_message_set_id().is_some() {
        return Some("error recovery (newMessageSetID/oldMessageSetID) keeps state".into());
    }
    None
}

/// Run a validated request on its target, in the company file's turn,
/// within the backend timeout.
pub async fn run(
    x: &mut Exchange<'_>,
    p: &Principal,
    target: Target,
    request: Request,
) -> Result<Answer, Refusal> {
    let answer = match target {
        Target::Open(s) => once(x, p, s, request).await?,
        Target::Ticket(t) => on_ticket(x, p, &t, request).await?,
    };
    x.trace.statuses = answer.outcome.statuses.iter().map(|s| s.code).collect();
    Ok(answer)
}

/// The Request event: the request goes on as it is, is refused, or is
/// replaced by the handler's qbXML — validated and held to the read-only
/// rule here, as a client's body is.
fn request_event(
    x: &mut Exchange<'_>,
    p: &Principal,
    company: &str,
    request: Request,
) -> Result<Request, Refusal> {
    let mut ev = crate::events::Request {
        connection_id: x.conn.id,
        user: &p.name,
        company_file: company,
        request_types: &x.trace.request_types,
        body: request.xml().as_bytes(),
        refuse: None,
        replace: None,
    };
    crate::events::guard("request", || x.state.events.request(&mut ev))
        .map_err(|event| Refusal::EventFailed { event, late: false })?;
    let (refuse, replace) = (ev.refuse, ev.replace);
    if let Some(r) = refuse {
        return Err(Refusal::ByHandler(r));
    }
    match replace {
        Some(text) => {
            x.trace.request_replaced = true;
            validate(x, p, text)
        }
        None => Ok(request),
    }
}

/// Open, process, close, in the company file's turn.
async fn once(
    x: &mut Exchange<'_>,
    p: &Principal,
    settings: OpenSettings,
    request: Request,
) -> Result<Answer, Refusal> {
    let key = x.state.backend.company_key(&settings)?;
    x.trace.company = key.clone();
    let request = request_event(x, p, &key, request)?;
    let backend = x.state.backend.clone();
    // connected_to_qb: on the session the connector keeps open.
    let done = match x.live.persistent.clone() {
        Some(kept) if kept.serves(&key, &settings, &request) => {
            x.state.lanes.submit(&key, async move {
                kept.process(&backend, settings, request).await
            })
        }
        _ => {
            let deadline = Instant::now() + x.wait_limit();
            x.state.lanes.submit(&key, async move {
                backend.once_by(settings, request, deadline).await
            })
        }
    }
    .map_err(Refusal::Busy)?;
    wait(x, done).await
}

async fn on_ticket(
    x: &mut Exchange<'_>,
    p: &Principal,
    ticket: &str,
    request: Request,
) -> Result<Answer, Refusal> {
    let t = x
        .state
        .ticket(&p.name, p.entry.as_ref(), ticket)
        .ok_or_else(|| Refusal::BadTicket("unknown, expired, closed, or another user's".into()))?;
    x.trace.company = t.company_key.clone();
    let request = request_event(x, p, &t.company_key, request)?;
    let backend = x.state.backend.clone();
    let session = t.session.clone();
    let deadline = Instant::now() + x.wait_limit();
    let done = x
        .state
        .lanes
        .submit(&t.company_key, async move {
            backend.process_by(session, request, deadline).await
        })
        .map_err(Refusal::Busy)?;
    let out = wait(x, done).await;
    if let Some(t) = x.state.lock_sessions().get_mut(ticket) {
        t.last_used = Instant::now();
    }
    out
}

/// Wait for a started backend job, at most the backend timeout. A job
/// that outlives the wait still finishes in its lane (and keeps the
/// company file's turn until then); the client learns the outcome is
/// unknown.
pub async fn wait<T: Send + 'static>(
    x: &Exchange<'_>,
    job: Pending<Result<T, BackendError>>,
) -> Result<T, Refusal> {
    let mut limit = x.wait_limit();
    if x.state.backend.keeps_deadlines() {
        // The backend answers by the deadline itself, more precisely.
        limit += std::time::Duration::from_secs(2);
    }
    match job.finish(limit).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Refusal::Backend(e)),
        Err(NotDone::Refused(r)) => Err(Refusal::Busy(r)),
        Err(NotDone::Failed) => Err(Refusal::BackendPanicked),
        Err(NotDone::TimedOut) => {
            x.state
                .metrics
                .backend_timeouts
                .fetch_add(1, Ordering::Relaxed);
            Err(Refusal::BackendTimeout(
                "QuickBooks did not answer in time; the request may still complete \
                 (use newMessageSetID/oldMessageSetID to find out)",
            ))
        }
    }
}

/// `POST /`: qbXML in, QuickBooks' answer out.
pub struct Relay;

impl FrontDoor for Relay {
    fn routes(&self) -> Vec<Route> {
        vec![Route::new("/", &[Method::POST])]
    }

    fn handle<'a, 'b: 'a>(
        &'a self,
        x: &'a mut Exchange<'b>,
        req: hyper::Request<Incoming>,
    ) -> BoxFuture<'a, Result<Reply, Refusal>> {
        Box::pin(async move {
            let (p, target, body) = receive(x, req, XML).await?;
            let request = validate(x, &p, body.into())?;
            let answer = run(x, &p, target, request).await?;
            Ok(Reply::ok(
                StatusCode::OK,
                answer.xml,
                "text/xml; charset=utf-8",
            ))
        })
    }
}
