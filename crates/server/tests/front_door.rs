//! A protocol joins the connector from outside the crate: a backend brings
//! a front door of its own (as the Web Connector bridge will), and the
//! door gets, from shared code, what every protocol gets — credentials,
//! the body limits, validation once, the read-only rule, the company
//! file's lane, the events and the audit line — without touching the
//! router. The door here speaks a toy protocol: one request type name per
//! line (`HostQuery`, `CustomerQuery`, or `CustomerAdd <name>`), answered
//! with one `<type> <status code>` line per request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use hyper::body::Incoming;
use hyper::{Method, StatusCode};
use qbc_server::backend::{Answer, BoxFuture, Health, Report, Request};
use qbc_server::http::body::{read_body, settings};
use qbc_server::http::login::login;
use qbc_server::http::relay::{run, validate, Target};
use qbc_server::http::{Exchange, Refusal, Reply};
use qbc_server::{Backend, BackendError, FrontDoor, OpenSettings, Route, SessionId};
use std::sync::{Arc, Mutex};

/// The toy protocol.
struct Lines;

impl Lines {
    fn to_qbxml(body: &[u8]) -> Result<String, Refusal> {
        let text = std::str::from_utf8(body)
            .map_err(|_| Refusal::BadBody("the body is not UTF-8".into()))?;
        let mut inner = String::new();
        for (i, line) in text.lines().enumerate() {
            let rq = match line.split_once(' ') {
                Some(("CustomerAdd", name)) => format!(
                    "<CustomerAddRq requestID=\"{i}\"><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>"
                ),
                None => format!("<{line}Rq requestID=\"{i}\"/>"),
                Some(_) => return Err(Refusal::BadBody(format!("line {}", i + 1))),
            };
            inner.push_str(&rq);
        }
        Ok(qbxml(&inner))
    }
}

impl FrontDoor for Lines {
    fn routes(&self) -> Vec<Route> {
        // "/" is the qbXML relay's: a backend's door cannot take it over.
        vec![
            Route::new("/lines", &[Method::POST]),
            Route::new("/", &[Method::GET]),
        ]
    }

    fn handle<'a, 'b: 'a>(
        &'a self,
        x: &'a mut Exchange<'b>,
        req: hyper::Request<Incoming>,
    ) -> BoxFuture<'a, Result<Reply, Refusal>> {
        Box::pin(async move {
            let p = login(x, req.headers()).await?;
            let target = Target::Open(settings(&p, req.headers())?);
            let body = read_body(&x.live, req).await?;
            let request = validate(x, &p, Self::to_qbxml(&body)?.into_bytes())?;
            let answer = run(x, &p, target, request).await?;
            let lines: Vec<String> = x
                .trace
                .request_types
                .iter()
                .zip(&answer.outcome.statuses)
                .map(|(t, s)| format!("{} {}", t.trim_end_matches("Rq"), s.code))
                .collect();
            Ok(Reply::ok(
                StatusCode::OK,
                lines.join("\n"),
                "text/plain; charset=utf-8",
            ))
        })
    }
}

/// The simulator, with the door.
struct WithDoor(Arc<dyn Backend>);

impl Backend for WithDoor {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn company_key(&self, s: &OpenSettings) -> Result<String, BackendError> {
        self.0.company_key(s)
    }
    fn open(&self, s: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        self.0.open(s)
    }
    fn process(
        &self,
        session: SessionId,
        request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        self.0.process(session, request)
    }
    fn close(&self, session: SessionId) -> BoxFuture<'_, ()> {
        self.0.close(session)
    }
    fn health(&self) -> BoxFuture<'_, Health> {
        self.0.health()
    }
    fn observe(&self, report: Report) {
        self.0.observe(report)
    }
    fn front_doors(&self) -> Vec<Arc<dyn FrontDoor>> {
        vec![Arc::new(Lines)]
    }
}

/// The audit lines.
#[derive(Default)]
struct Audits(Mutex<Vec<String>>);

impl qbc_server::Events for Audits {
    fn audit(&self, e: &qbc_server::events::Audit<'_>) {
        self.0.lock().unwrap().push(format!(
            "{} {} {:?} {} {:?} {}",
            e.user, e.company_file, e.request_types, e.http_status, e.status_codes, e.error_code
        ));
    }
}

#[tokio::test]
async fn a_backend_brings_a_protocol_that_shares_the_request_path() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let sim = qbc_server::backend_from_config(&config).unwrap();
    let audits = Arc::new(Audits::default());
    let s = start_with(
        connector(config),
        dir,
        Some(Arc::new(WithDoor(sim))),
        Some(audits.clone()),
    )
    .await;
    let lines = |user: &'static str, body: &'static str| async move {
        let auth = basic(user, PASSWORD);
        send(s.addr, "POST", "/lines", &[("authorization", &auth)], body).await
    };

    // Credentials, as on every path.
    let r = send(s.addr, "POST", "/lines", &[], "HostQuery").await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.code(), "QBC_AUTH");
    let r = lines("nobody", "HostQuery").await;
    assert_eq!(r.status, 401, "{r:?}");

    // Through validation, the lane and the simulator.
    let r = lines("ann", "CustomerAdd Door Co\nCustomerQuery\nHostQuery").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body, "CustomerAdd 0\nCustomerQuery 0\nHostQuery 0",
        "{r:?}"
    );
    // What the door wrote is in the company file, for the qbXML relay too.
    let q = post(s.addr, "ann", &customer_query()).await;
    assert!(q.body.contains("<Name>Door Co</Name>"), "{}", q.body);

    // The shared rules: a read-only user's write, a request the schema
    // refuses (the validator's detail comes back).
    let r = lines("rob", "CustomerAdd Nope").await;
    assert_eq!((r.status, r.code()), (403, "QBC_READ_ONLY"), "{r:?}");
    let r = lines("ann", "CustomerQuery\nNoSuchQuery").await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("NoSuchQueryRq"), "{r:?}");

    // The router: the door's method list, and "/" stays the relay's.
    let auth = basic("ann", PASSWORD);
    let r = send(s.addr, "GET", "/lines", &[("authorization", &auth)], "").await;
    assert_eq!((r.status, r.header("allow")), (405, "POST"), "{r:?}");
    let r = send(s.addr, "GET", "/", &[("authorization", &auth)], "").await;
    assert_eq!((r.status, r.header("allow")), (405, "POST"), "{r:?}");

    s.running.shutdown().await;
    let audits = audits.0.lock().unwrap().clone();
    assert!(
        audits.contains(
            &"ann acme.qbw [\"CustomerAddRq\", \"CustomerQueryRq\", \"HostQueryRq\"] 200 [0, 0, 0] "
                .to_string()
        ),
        "{audits:#?}"
    );
    assert!(
        audits.contains(&"rob  [\"CustomerAddRq\"] 403 [] QBC_READ_ONLY".to_string()),
        "{audits:#?}"
    );
    assert!(
        audits
            .iter()
            .any(|a| a.starts_with(" ") && a.contains("401")),
        "{audits:#?}"
    );
}
