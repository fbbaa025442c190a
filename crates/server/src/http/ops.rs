//! `/healthz` and `/metrics`: for load balancers and monitoring.
//!
//! `/healthz` needs no credentials and gives no details (they go to the
//! log). `/metrics` is for configured users on the main address, or open
//! on a separate address (`[metrics] listen`) meant for a monitoring
//! network; neither is audited.

use super::login::{known, login};
use super::reply::{code, Refusal, Reply};
use super::{Exchange, FrontDoor, Route};
use crate::backend::{BoxFuture, Health};
use crate::state::State;
use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use std::sync::atomic::Ordering;

/// Where `/metrics` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metrics {
    /// Here, for configured users.
    ForUsers,
    /// Here, without credentials (the separate metrics address).
    Open,
    /// Not here (a separate address serves it): 404.
    Elsewhere,
}

/// The two paths.
pub struct Ops {
    pub metrics: Metrics,
}

impl FrontDoor for Ops {
    fn routes(&self) -> Vec<Route> {
        // `/metrics` is routed even where it is not served, so that its 404
        // there is not audited either; with another method it is no such
        // path (PROTOCOL §1).
        vec![
            Route::new("/healthz", &[Method::GET]).unaudited(),
            Route::new("/metrics", &[Method::GET])
                .unaudited()
                .other_methods_not_found(),
        ]
    }

    fn handle<'a, 'b: 'a>(
        &'a self,
        x: &'a mut Exchange<'b>,
        req: hyper::Request<Incoming>,
    ) -> BoxFuture<'a, Result<Reply, Refusal>> {
        Box::pin(async move {
            if req.uri().path() == "/healthz" {
                return Ok(health(&x.state).await);
            }
            if self.metrics == Metrics::Elsewhere {
                return Err(Refusal::NotFound);
            }
            if self.metrics == Metrics::ForUsers {
                let p = login(x, req.headers()).await?;
                if p.name.is_empty() || !known(x, &p.name) {
                    return Err(Refusal::MetricsForUsers);
                }
            }
            Ok(metrics(&x.state).await)
        })
    }
}

async fn health(state: &State) -> Reply {
    if state.shutting_down.load(Ordering::SeqCst) {
        return Reply::ok(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n",
            "text/plain",
        );
    }
    match state.backend.health().await {
        Health::Ok => Reply::ok(StatusCode::OK, "ok\n", "text/plain"),
        // No details to an unauthenticated caller; they go to the log.
        Health::Down(why) => {
            state.error(0, code::BACKEND, &why);
            Reply::ok(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable\n",
                "text/plain",
            )
        }
    }
}

async fn metrics(state: &State) -> Reply {
    let mut text = state.metrics.render(&state.lanes.depths());
    backend_metrics(state, &mut text).await;
    text.shrink_to_fit();
    Reply::ok(StatusCode::OK, text, "text/plain; version=0.0.4")
}

/// Whether the backend can reach QuickBooks, and the company files it
/// has open (the COM backend's health; the simulator is always up).
async fn backend_metrics(state: &State, o: &mut String) {
    use std::fmt::Write;
    let name = state.backend.name();
    let _ = writeln!(
        o,
        "# HELP qbconnector_backend_up Whether the backend reached QuickBooks on its last try (1) or failed (0, with the reason)."
    );
    let _ = writeln!(o, "# TYPE qbconnector_backend_up gauge");
    match state.backend.health().await {
        Health::Ok => {
            let _ = writeln!(o, "qbconnector_backend_up{{backend=\"{name}\"}} 1");
        }
        Health::Down(why) => {
            let _ = writeln!(
                o,
                "qbconnector_backend_up{{backend=\"{name}\",reason=\"{}\"}} 0",
                crate::metrics::label(&why)
            );
        }
    }
    let _ = writeln!(
        o,
        "# HELP qbconnector_company_open Company files open in QuickBooks through this connector now."
    );
    let _ = writeln!(o, "# TYPE qbconnector_company_open gauge");
    for file in state.backend.open_companies() {
        let _ = writeln!(
            o,
            "qbconnector_company_open{{company=\"{}\"}} 1",
            crate::metrics::label(&file)
        );
    }
    o.push_str(&state.backend.metrics());
}
