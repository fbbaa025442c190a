//! HTTP: one request, from its head to its answer.
//!
//! A small router: each protocol the connector speaks is a [`FrontDoor`]
//! that owns some paths — the qbXML relay (`relay.rs`), its JSON form
//! (`json.rs`), persistent
//! sessions (`sessions.rs`), health and metrics (`ops.rs`), and whatever
//! a backend brings ([`crate::Backend::front_doors`]: the Web Connector
//! bridge's SOAP endpoint, later). A door gets, through its
//! [`Exchange`], what every protocol shares: who is asking (`login.rs`),
//! the request's headers and body within their limits (`body.rs`), the
//! way to the backend — validation once, the read-only rule, the company
//! file's lane, the backend timeout (`relay.rs`) — and it answers with a
//! [`Reply`] or a [`Refusal`] (`reply.rs`).
//!
//! Around every door, [`handle`] does what no door should have to: the
//! allow-list's verdict, shutdown, the Header, Response and Error events,
//! the metrics, and the audit line.

pub mod body;
pub mod json;
pub mod login;
pub mod ops;
pub mod relay;
pub mod reply;
pub mod sessions;

pub use reply::{code, Refusal, Reply, CONNECTION_HEADER, ERROR_HEADER, TICKET_HEADER};

use crate::backend::BoxFuture;
use crate::events::{guard, Audit, Header};
use crate::server::ConnInfo;
use crate::state::State;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// A protocol spoken over HTTP: the paths it owns, and how it answers.
pub trait FrontDoor: Send + Sync + 'static {
    /// Its paths (exact), each with the methods it takes.
    fn routes(&self) -> Vec<Route>;

    /// Answer one request to one of its routes (the method is one the
    /// route takes).
    fn handle<'a, 'b: 'a>(
        &'a self,
        x: &'a mut Exchange<'b>,
        req: Request<Incoming>,
    ) -> BoxFuture<'a, Result<Reply, Refusal>>;
}

/// One path a front door owns.
#[derive(Clone, Debug)]
pub struct Route {
    pub path: String,
    pub methods: Vec<Method>,
    /// Written to the audit log (not health checks and metrics).
    pub audited: bool,
    /// Another method gets 404 rather than 405.
    pub other_methods_not_found: bool,
}

impl Route {
    pub fn new(path: &str, methods: &[Method]) -> Route {
        Route {
            path: path.to_string(),
            methods: methods.to_vec(),
            audited: true,
            other_methods_not_found: false,
        }
    }

    pub fn unaudited(mut self) -> Route {
        self.audited = false;
        self
    }

    pub fn other_methods_not_found(mut self) -> Route {
        self.other_methods_not_found = true;
        self
    }
}

/// Paths → front doors.
pub struct Router {
    routes: HashMap<String, (Route, Arc<dyn FrontDoor>)>,
    /// While the server stops, everything but `/healthz` is refused (503);
    /// not on the separate metrics address, which answers to the end.
    refuse_while_stopping: bool,
}

impl Router {
    /// The doors, in order: a path is the first door's that claims it.
    pub fn new(doors: Vec<Arc<dyn FrontDoor>>) -> Router {
        let mut routes = HashMap::new();
        for door in doors {
            for r in door.routes() {
                routes.entry(r.path.clone()).or_insert((r, door.clone()));
            }
        }
        Router {
            routes,
            refuse_while_stopping: true,
        }
    }

    /// The connector's own doors, then the backend's.
    pub fn standard(state_metrics: ops::Metrics, extra: Vec<Arc<dyn FrontDoor>>) -> Router {
        let mut doors: Vec<Arc<dyn FrontDoor>> = vec![
            Arc::new(relay::Relay),
            Arc::new(json::Json),
            Arc::new(sessions::Sessions),
            Arc::new(ops::Ops {
                metrics: state_metrics,
            }),
        ];
        doors.extend(extra);
        Router::new(doors)
    }

    /// Only `/healthz` and `/metrics`, without credentials: the separate
    /// metrics address.
    pub fn metrics_only() -> Router {
        let mut r = Router::new(vec![Arc::new(ops::Ops {
            metrics: ops::Metrics::Open,
        })]);
        for (route, _) in r.routes.values_mut() {
            route.other_methods_not_found = true;
        }
        r.refuse_while_stopping = false;
        r
    }

    fn find(&self, path: &str) -> Option<&(Route, Arc<dyn FrontDoor>)> {
        self.routes.get(path)
    }
}

/// What the audit line says of a request.
#[derive(Default)]
pub struct Trace {
    pub user: String,
    pub company: String,
    pub request_types: Vec<String>,
    pub statuses: Vec<u32>,
    /// A `request` handler sent other qbXML in the client's place.
    pub request_replaced: bool,
}

/// One request's way through the connector: what a front door works with.
pub struct Exchange<'a> {
    pub state: Arc<State>,
    /// The settings this request uses from start to end (`live.rs`).
    pub live: Arc<crate::live::Live>,
    pub conn: &'a ConnInfo,
    /// Filled in as the request goes (the audit line).
    pub trace: &'a mut Trace,
    /// How long the client will wait for the backend, when it asked for
    /// less than the backend timeout (`X-QB-Timeout`).
    pub wait: Option<std::time::Duration>,
}

impl Exchange<'_> {
    /// How long this request may wait for its backend: the backend
    /// timeout, or less if the client asked for less.
    pub fn wait_limit(&self) -> std::time::Duration {
        match self.wait {
            Some(w) => w.min(self.live.backend_timeout),
            None => self.live.backend_timeout,
        }
    }
}

/// Answer one HTTP request.
pub async fn handle(
    state: Arc<State>,
    conn: Arc<ConnInfo>,
    router: &Router,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let start = Instant::now();
    let mut trace = Trace::default();
    // A handler that panics refuses the request (events::guard).
    let mut failed = None;
    for (name, value) in req.headers() {
        let shown = if name == hyper::header::AUTHORIZATION {
            "<not shown>"
        } else {
            value.to_str().unwrap_or("<not text>")
        };
        let header = Header {
            connection_id: conn.id,
            name: name.as_str(),
            value: shown,
        };
        if let Err(event) = guard("header", || state.events.header(&header)) {
            failed = Some(event);
            break;
        }
    }
    let route = router.find(req.uri().path());
    let audited = route.is_none_or(|(r, _)| r.audited);
    let mut reply = match failed {
        Some(event) => Reply::from(Refusal::EventFailed { event, late: false }),
        None => {
            let mut x = Exchange {
                state: state.clone(),
                live: state.live(),
                conn: &conn,
                trace: &mut trace,
                wait: None,
            };
            match route_to(&mut x, router, route, req).await {
                Ok(r) => r,
                Err(refusal) => Reply::from(refusal),
            }
        }
    };
    let took = start.elapsed();
    if !reply.code.is_empty() {
        state.error(conn.id, &reply.code, &reply.message);
    }
    let mut response = crate::events::Response {
        connection_id: conn.id,
        http_status: reply.status.as_u16(),
        body: &reply.body,
        duration: took,
        replace: None,
    };
    let mut response_replaced = false;
    match guard("response", || state.events.response(&mut response)) {
        Ok(()) => {
            if let Some(body) = response.replace.take() {
                reply.body = Bytes::from(body);
                response_replaced = true;
            }
        }
        Err(event) => {
            // "May have been carried out" only when it may have: the
            // answer was a success.
            let late = reply.status.is_success();
            reply = Reply::from(Refusal::EventFailed { event, late });
            state.error(conn.id, &reply.code, &reply.message);
        }
    }
    if audited {
        let audit = Audit {
            remote: conn.remote,
            user: &trace.user,
            company_file: &trace.company,
            request_types: &trace.request_types,
            http_status: reply.status.as_u16(),
            status_codes: &trace.statuses,
            error_code: &reply.code,
            duration: took,
            request_replaced: trace.request_replaced,
            response_replaced,
        };
        // The answer is decided (a write may be done, a session open):
        // a failing audit handler is reported, and the answer stands.
        if let Err(event) = guard("audit", || state.events.audit(&audit)) {
            state.error(
                conn.id,
                code::EVENT,
                &format!("the connector's `{event}` event handler failed (see the server log)"),
            );
        }
    }
    state.metrics.record(reply.status.as_u16(), took);
    reply.into_response()
}

/// The checks every path shares, then the door.
async fn route_to(
    x: &mut Exchange<'_>,
    router: &Router,
    route: Option<&(Route, Arc<dyn FrontDoor>)>,
    req: Request<Incoming>,
) -> Result<Reply, Refusal> {
    // The allow-list as it is now: a client taken off it is refused on
    // the connection it already has.
    if !x.conn.allowed || !x.live.allows(x.conn.remote.ip()) {
        return Err(Refusal::ClientDenied(x.conn.remote.ip()));
    }
    // While stopping, only health checks are answered (with 503).
    if router.refuse_while_stopping
        && x.state.shutting_down.load(Ordering::SeqCst)
        && req.uri().path() != "/healthz"
    {
        return Err(Refusal::ShuttingDown);
    }
    let Some((r, door)) = route else {
        return Err(Refusal::NotFound);
    };
    if !r.methods.contains(req.method()) {
        if r.other_methods_not_found {
            return Err(Refusal::NotFound);
        }
        let allow: Vec<&str> = r.methods.iter().map(Method::as_str).collect();
        return Err(Refusal::Method(allow.join(", ")));
    }
    door.handle(x, req).await
}
