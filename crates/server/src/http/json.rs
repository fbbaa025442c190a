//! `POST /json`: the JSON form of qbXML (docs/PROTOCOL.md §14), and
//! `GET /openapi.json`, its OpenAPI document.
//!
//! A front door on the relay's way: the JSON becomes the request set
//! (`qbxml::json::request_from_json`: qbXML text in schema order,
//! validated once, with errors told at the member's JSON path), and from
//! there it is the relay's request — the same login, read-only rule,
//! ticket or connection settings, Request event, lane and backend
//! timeout. QuickBooks' answer is turned into JSON on the way back.
//! Refusals are answered in JSON too.

use super::body::JSON;
use super::relay::{admit, limits, receive, run};
use super::reply::{Refusal, Reply, JSON_TYPE};
use super::{Exchange, FrontDoor, Route};
use crate::backend::{BackendError, BackendErrorKind, BoxFuture};
use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use std::sync::OnceLock;

/// The JSON door's paths.
pub struct Json;

impl FrontDoor for Json {
    fn routes(&self) -> Vec<Route> {
        vec![
            Route::new("/json", &[Method::POST]),
            Route::new("/openapi.json", &[Method::GET]).unaudited(),
        ]
    }

    fn handle<'a, 'b: 'a>(
        &'a self,
        x: &'a mut Exchange<'b>,
        req: hyper::Request<Incoming>,
    ) -> BoxFuture<'a, Result<Reply, Refusal>> {
        Box::pin(async move {
            if req.uri().path() == "/openapi.json" {
                return Ok(Reply::ok(StatusCode::OK, openapi(), JSON_TYPE));
            }
            // Every refusal from here on is answered in JSON.
            Ok(send(x, req).await.unwrap_or_else(Reply::json_refusal))
        })
    }
}

/// The OpenAPI document, generated once (it is the committed
/// docs/openapi.json: `cargo xtask gen-openapi --check` keeps them equal).
fn openapi() -> bytes::Bytes {
    static DOC: OnceLock<bytes::Bytes> = OnceLock::new();
    DOC.get_or_init(|| bytes::Bytes::from(qbxml::json::openapi()))
        .clone()
}

async fn send(x: &mut Exchange<'_>, req: hyper::Request<Incoming>) -> Result<Reply, Refusal> {
    let (p, target, body) = receive(x, req, JSON).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| Refusal::BadBody(format!("JSON must be UTF-8 (byte {})", e.valid_up_to())))?;
    let set = qbxml::json::request_from_json(text, &limits(x)).map_err(Refusal::NotJson)?;
    let version = set.version();
    let request = admit(x, &p, set)?;
    let answer = run(x, &p, target, request).await?;
    // The simulator answers a set read from JSON in JSON, from its
    // records (the request set says so): nothing to read back.
    if answer.json {
        return Ok(Reply::ok(StatusCode::OK, answer.xml, JSON_TYPE));
    }
    // QuickBooks' answer is relayed as qbXML by `POST /`, whatever it
    // holds; here it must be read to be converted. QuickBooks has run the
    // request by now: the refusal says so (a write may be done).
    let json = qbxml::json::response_to_json(&answer.xml, version).map_err(|e| {
        Refusal::Backend(BackendError::new(
            BackendErrorKind::Failed,
            None,
            format!(
                "QuickBooks answered, so the request may have been carried out, but its answer \
                 is not qbXML that converts to JSON ({e}); send it as qbXML to POST / to see \
                 the answer, or use error recovery (newMessageSetID) for writes"
            ),
        ))
    })?;
    Ok(Reply::ok(StatusCode::OK, json, JSON_TYPE))
}
