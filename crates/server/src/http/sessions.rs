//! `POST /session` and `DELETE /session`: the seed's OpenQBConnection and
//! CloseQBConnection. A ticket names one backend session (where iterators
//! live) and belongs to the user who opened it.

use super::body::{settings, ticket_of};
use super::login::login;
use super::relay::wait;
use super::reply::{Refusal, Reply, TICKET_HEADER};
use super::{Exchange, FrontDoor, Route};
use crate::backend::BoxFuture;
use crate::state::{Ticket, MAX_SESSIONS, MAX_SESSIONS_PER_USER};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

pub struct Sessions;

impl FrontDoor for Sessions {
    fn routes(&self) -> Vec<Route> {
        vec![Route::new("/session", &[Method::POST, Method::DELETE])]
    }

    fn handle<'a, 'b: 'a>(
        &'a self,
        x: &'a mut Exchange<'b>,
        req: hyper::Request<Incoming>,
    ) -> BoxFuture<'a, Result<Reply, Refusal>> {
        Box::pin(async move {
            if req.method() == Method::DELETE {
                close(x, req).await
            } else {
                open(x, req).await
            }
        })
    }
}

/// POST /session — OpenQBConnection.
async fn open(x: &mut Exchange<'_>, req: hyper::Request<Incoming>) -> Result<Reply, Refusal> {
    let p = login(x, req.headers()).await?;
    let s = settings(&p, req.headers())?;
    let key = x.state.backend.company_key(&s)?;
    x.trace.company = key.clone();
    x.trace.request_types = vec!["OpenSession".into()];
    if x.state.lock_sessions().len() >= MAX_SESSIONS {
        return Err(Refusal::SessionsFull);
    }
    // The ticket is registered by the job itself: if the caller gave up
    // waiting, the session is still known and its idle timeout closes it.
    let state = x.state.clone();
    let user = p.name.to_lowercase();
    let entry = p.entry.clone();
    let job_key = key.clone();
    let done = x
        .state
        .lanes
        .submit(&key, async move {
            let backend = state.backend.clone();
            let session = backend.open(s).await?;
            let ticket = new_ticket();
            let refused = {
                let mut map = state.lock_sessions();
                let mine = map.values().filter(|t| t.user == user).count();
                // The user changed or went while QuickBooks opened the
                // session: it ends here (under the sessions lock, which
                // the sweep of stale sessions takes too, so it cannot slip
                // between the two).
                let current = entry
                    .as_ref()
                    .is_none_or(|e| state.live().users.iter().any(|u| Arc::ptr_eq(u, e)));
                match &ticket {
                    Some(_) if !current => Some((session, Opened::UserChanged)),
                    Some(ticket)
                        if map.len() < MAX_SESSIONS
                            && mine < MAX_SESSIONS_PER_USER
                            && !state.shutting_down.load(Ordering::SeqCst) =>
                    {
                        map.insert(
                            ticket.clone(),
                            Ticket {
                                user,
                                company_key: job_key,
                                session,
                                last_used: Instant::now(),
                                entry,
                            },
                        );
                        None
                    }
                    _ => Some((session, Opened::Full)),
                }
            };
            if let Some((session, why)) = refused {
                backend.close(session).await;
                return Ok(why);
            }
            let Some(ticket) = ticket else {
                return Ok(Opened::Full);
            };
            state.metrics.sessions_open.fetch_add(1, Ordering::Relaxed);
            Ok(Opened::Ticket(ticket))
        })
        .map_err(Refusal::Busy)?;
    let ticket = match wait(x, done).await? {
        Opened::Ticket(t) => t,
        Opened::Full => return Err(Refusal::SessionsFull),
        Opened::UserChanged => {
            return Err(Refusal::BadTicket(format!(
                "user `{}` was changed or removed while the session opened; it is closed",
                p.name
            )))
        }
    };
    x.state
        .status(x.conn.id, &format!("session opened by {} on {key}", p.name));
    let mut body =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<QBConnectorSession>\n<Ticket>");
    body.push_str(&ticket);
    body.push_str("</Ticket>\n<CompanyFile>");
    qbxml::escape_into(&mut body, &key);
    body.push_str("</CompanyFile>\n<IdleTimeoutSeconds>");
    body.push_str(&x.live.session_idle.as_secs().to_string());
    body.push_str("</IdleTimeoutSeconds>\n</QBConnectorSession>\n");
    Ok(
        Reply::ok(StatusCode::CREATED, body, "application/xml; charset=utf-8")
            .header(TICKET_HEADER, &ticket),
    )
}

/// DELETE /session — CloseQBConnection (closing a closed one is a no-op).
async fn close(x: &mut Exchange<'_>, req: hyper::Request<Incoming>) -> Result<Reply, Refusal> {
    let p = login(x, req.headers()).await?;
    x.trace.request_types = vec!["CloseSession".into()];
    let Some(ticket) = ticket_of(req.headers())? else {
        return Err(Refusal::BadTicket(
            "DELETE /session needs the X-QB-Ticket header".into(),
        ));
    };
    let removed = {
        let mut map = x.state.lock_sessions();
        match map.get(&ticket) {
            Some(t) if t.user == p.name.to_lowercase() => map.remove(&ticket),
            _ => None,
        }
    };
    if let Some(t) = removed {
        x.trace.company = t.company_key.clone();
        x.state
            .metrics
            .sessions_open
            .fetch_sub(1, Ordering::Relaxed);
        x.state.status(
            x.conn.id,
            &format!("session closed by {} on {}", p.name, t.company_key),
        );
        if tokio::time::timeout(x.live.backend_timeout, x.state.close_backend_session(t))
            .await
            .is_err()
        {
            return Err(Refusal::BackendTimeout(
                "the session is closed here; QuickBooks has not finished ending it yet",
            ));
        }
    }
    Ok(Reply::ok(
        StatusCode::NO_CONTENT,
        Bytes::new(),
        "text/plain",
    ))
}

/// How opening a session ended, when QuickBooks opened it.
enum Opened {
    Ticket(String),
    /// Over the limits (or shutting down): closed again.
    Full,
    /// The user changed while it opened: closed again.
    UserChanged,
}

/// 128 random bits, hex.
fn new_ticket() -> Option<String> {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}
