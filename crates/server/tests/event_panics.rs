//! An event handler is the owner's code, and it may panic: the request it
//! decides or reports on is refused with 500 `QBC_EVENT` (the Error event
//! says which handler failed), a connection whose `connection_request`
//! handler failed is closed, and the server goes on serving — the accept
//! loop included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qbc_server::backend::memory::MemoryBackend;
use qbc_server::events::*;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Handlers that panic in the event named, and record the Error events.
#[derive(Default)]
struct Panicky {
    which: Mutex<Option<&'static str>>,
    errors: Mutex<Vec<String>>,
}

impl Panicky {
    fn set(&self, event: Option<&'static str>) {
        *self.which.lock().unwrap() = event;
        self.errors.lock().unwrap().clear();
    }
    fn maybe(&self, event: &str) {
        if *self.which.lock().unwrap() == Some(event) {
            panic!("the {event} handler fails (on purpose)");
        }
    }
    fn errors(&self) -> Vec<String> {
        self.errors.lock().unwrap().clone()
    }
}

impl Events for Panicky {
    fn connection_request(&self, _: &mut ConnectionRequest) {
        self.maybe("connection_request");
    }
    fn connected(&self, _: &Connected) {
        self.maybe("connected");
    }
    fn disconnected(&self, _: &Disconnected) {
        self.maybe("disconnected");
    }
    fn header(&self, _: &Header<'_>) {
        self.maybe("header");
    }
    fn authorization(&self, _: &mut Authorization<'_>) {
        self.maybe("authorization");
    }
    fn request(&self, _: &mut Request<'_>) {
        self.maybe("request");
    }
    fn response(&self, _: &mut Response<'_>) {
        self.maybe("response");
    }
    fn error(&self, e: &Error<'_>) {
        self.errors
            .lock()
            .unwrap()
            .push(format!("{} {}", e.code, e.description));
        self.maybe("error");
    }
    fn status(&self, _: &Status<'_>) {
        self.maybe("status");
    }
    fn audit(&self, _: &Audit<'_>) {
        self.maybe("audit");
    }
}

#[tokio::test]
async fn a_panicking_handler_refuses_its_request_and_the_server_goes_on() {
    let events = Arc::new(Panicky::default());
    let backend = Arc::new(MemoryBackend::default());
    let s = start_configured(|_| {}, Some(backend.clone()), Some(events.clone())).await;

    // The handlers that decide or report on a request: 500 QBC_EVENT.
    for (event, reaches_backend) in [
        ("header", false),
        ("authorization", false),
        ("request", false),
        ("response", true),
    ] {
        events.set(Some(event));
        let before = backend.processed.load(Ordering::SeqCst);
        let r = post(s.addr, "ann", &host_query()).await;
        assert_eq!((r.status, r.code()), (500, "QBC_EVENT"), "{event}: {r:?}");
        assert!(
            r.body.contains(&format!("`{event}`")),
            "{event}: {}",
            r.body
        );
        assert_eq!(
            r.body.contains("may have been carried out"),
            reaches_backend,
            "{event}: {}",
            r.body
        );
        // Nothing reached the backend unless the handler runs after it.
        let ran = backend.processed.load(Ordering::SeqCst) - before;
        assert_eq!(ran, u64::from(reaches_backend), "{event}");
        let errors = events.errors();
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("QBC_EVENT") && e.contains(event)),
            "{event}: {errors:?}"
        );
        // The next request, with the handler fixed, is served.
        events.set(None);
        let r = post(s.addr, "ann", &host_query()).await;
        assert_eq!(r.status, 200, "after {event}: {r:?}");
    }

    // audit fires once the answer is decided: it stands, and Error says
    // which handler failed.
    events.set(Some("audit"));
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        events
            .errors()
            .iter()
            .any(|e| e.starts_with("QBC_EVENT") && e.contains("audit")),
        "{:?}",
        events.errors()
    );

    // A failing authorization handler still counts wrong passwords.
    events.set(Some("authorization"));
    let auth = basic("ann", "wrong password");
    for _ in 0..12 {
        let r = send(
            s.addr,
            "POST",
            "/",
            &[("authorization", &auth), ("content-type", "text/xml")],
            &host_query(),
        )
        .await;
        assert!(matches!(r.status, 500 | 429), "{r:?}");
    }
    events.set(None);
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!(
        (r.status, r.code()),
        (429, "QBC_LOCKED"),
        "locked out: {r:?}"
    );
    s.running.shutdown().await;
}

#[tokio::test]
async fn handlers_without_a_request_to_refuse_are_logged() {
    let events = Arc::new(Panicky::default());
    let s = start_configured(|_| {}, None, Some(events.clone())).await;
    // Handlers with no request to refuse: logged, and nothing else.
    for event in ["connected", "disconnected", "status"] {
        events.set(Some(event));
        let r = post(s.addr, "ann", &host_query()).await;
        assert_eq!(r.status, 200, "{event}: {r:?}");
    }
    // A failing Error handler does not change the refusal it reports.
    events.set(Some("error"));
    let r = post(s.addr, "nobody", &host_query()).await;
    assert_eq!((r.status, r.code()), (401, "QBC_AUTH"), "{r:?}");

    // connection_request: that connection is closed unanswered; the
    // accept loop goes on.
    events.set(Some("connection_request"));
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let _ = tcp
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let read = tcp.read_to_end(&mut buf).await;
    assert!(
        read.is_err() || buf.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
    assert!(
        events
            .errors()
            .iter()
            .any(|e| e.contains("connection_request")),
        "{:?}",
        events.errors()
    );
    events.set(None);
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!(r.status, 200, "{r:?}");
    s.running.shutdown().await;
}
