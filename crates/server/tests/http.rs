//! The server over real sockets: relay, errors, limits, sessions, metrics,
//! shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qbc_server::backend::memory::MemoryBackend;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn relays_to_the_simulator_byte_for_byte() {
    let s = start().await;
    let r = post(s.addr, "ann", &customer_add("Acme Widgets")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").starts_with("text/xml"));
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
    assert!(r.body.contains("<FullName>Acme Widgets</FullName>"));
    // The same name again: QuickBooks' 3100, relayed as a 200 (it is an
    // answer, not a transport error).
    let r = post(s.addr, "ann", &customer_add("Acme Widgets")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("statusCode=\"3100\""), "{}", r.body);
    // Exactly what the simulator writes: compare with the company file
    // opened directly after the server is gone.
    let q = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(q.status, 200);
    let dir = s.dir;
    s.running.shutdown().await;
    let c = qbsim::Company::open(&dir.path().join("acme.qbw"), qbsim::Config::default()).unwrap();
    let direct = c
        .process(c.begin_session(), customer_query().as_bytes())
        .unwrap();
    assert_eq!(q.body, direct);
}

/// A client that half-closes (shuts its sending side once its requests
/// are out) gets the answers to both of its pipelined requests.
#[tokio::test]
async fn a_half_closed_connection_gets_its_answers() {
    let s = start().await;
    let auth = basic("ann", PASSWORD);
    let body = host_query();
    let one = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\n\
         content-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(format!("{one}{one}").as_bytes())
        .await
        .unwrap();
    tcp.shutdown().await.unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
    assert_eq!(out.matches("<HostRet>").count(), 2, "{out}");
    s.running.shutdown().await;
}

#[tokio::test]
async fn credentials_right_wrong_missing_malformed() {
    let s = start().await;
    let xml = host_query();
    assert_eq!(post(s.addr, "ann", &xml).await.status, 200);
    for (auth, why) in [
        (Some(basic("ann", "wrong password")), "wrong"),
        (Some(basic("nobody", PASSWORD)), "wrong"),
        (None, "required"),
        (Some("Basic !!notbase64".to_string()), "malformed"),
        (Some("Bearer abc".to_string()), "malformed"),
        (Some(basic("", "")), "wrong"),
    ] {
        let mut h = vec![("content-type", "text/xml")];
        if let Some(a) = &auth {
            h.push(("authorization", a.as_str()));
        }
        let r = send(s.addr, "POST", "/", &h, &xml).await;
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(
            r.header("www-authenticate"),
            "Basic realm=\"QBConnector\", charset=\"UTF-8\""
        );
        assert_eq!(r.code(), "QBC_AUTH");
        assert!(r.body.contains(why), "{auth:?}: {}", r.body);
        assert!(r.body.starts_with("<?xml"), "{}", r.body);
    }
}

/// The seed's Authorization hook: accept an unknown user (who then gets
/// the default connection settings), refuse a known one.
struct Hook;
impl qbc_server::Events for Hook {
    fn authorization(&self, e: &mut qbc_server::events::Authorization<'_>) {
        if e.user == "guest" && e.password == "let me in" {
            assert_eq!(e.user_index, -1);
            e.accept = true;
        }
        if e.user == "rob" {
            assert_eq!(e.user_index, 1);
            e.accept = false;
        }
    }
}

#[tokio::test]
async fn authorization_hook_overrides_both_ways() {
    let s = start_configured(
        |c| {
            c.default_connection.connection = "CompanyFile='guest.qbw'".into();
            c.default_connection.read_only = true;
        },
        None,
        Some(Arc::new(Hook)),
    )
    .await;
    // A read-only user never creates a file: make it first.
    let r = post_with(
        s.addr,
        "cat",
        &[("x-qb-connection", "CompanyFile='guest.qbw'")],
        &customer_add("Only In Guest"),
    )
    .await;
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
    let auth = basic("guest", "let me in");
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "text/xml"),
    ];
    let r = send(s.addr, "POST", "/", &h, &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("Only In Guest"),
        "default settings: {}",
        r.body
    );
    // The default settings are read-only here.
    let r = send(s.addr, "POST", "/", &h, &customer_add("X")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "QBC_READ_ONLY");
    // A known user with the right password, refused by the hook.
    assert_eq!(post(s.addr, "rob", &host_query()).await.status, 401);
}

#[tokio::test]
async fn lockout_after_repeated_failures() {
    let s = start_configured(|c| c.auth.max_failures = 3, None, None).await;
    let bad = basic("ann", "nope nope");
    let h = [
        ("authorization", bad.as_str()),
        ("content-type", "text/xml"),
    ];
    for _ in 0..3 {
        assert_eq!(
            send(s.addr, "POST", "/", &h, &host_query()).await.status,
            401
        );
    }
    // Locked: even the right password is refused now, without argon2.
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.code(), "QBC_LOCKED");
    assert!(r.header("retry-after").parse::<u64>().unwrap() > 0);
}

#[tokio::test]
async fn content_type_paths_and_methods() {
    let s = start().await;
    let auth = basic("ann", PASSWORD);
    let a = auth.as_str();
    let r = send(s.addr, "POST", "/", &[("authorization", a)], &host_query()).await;
    assert_eq!(r.status, 415);
    let r = send(
        s.addr,
        "POST",
        "/",
        &[
            ("authorization", a),
            ("content-type", "application/xml; charset=utf-8"),
        ],
        &host_query(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(send(s.addr, "GET", "/", &[], "").await.status, 405);
    assert_eq!(
        send(s.addr, "GET", "/etc/passwd", &[], "").await.status,
        404
    );
    let h = send(s.addr, "GET", "/healthz", &[], "").await;
    assert_eq!((h.status, h.body.as_str()), (200, "ok\n"));
}

#[tokio::test]
async fn invalid_qbxml_is_400_with_the_validators_detail() {
    let s = start().await;
    for (xml, want) in [
        ("not xml at all", "0x80040400"),
        (
            &qbxml("<CustomerAddRq><CustomerAdd><Nmae>x</Nmae></CustomerAdd></CustomerAddRq>")
                as &str,
            "Nmae",
        ),
        (
            "<?xml version=\"1.0\"?><?qbxml version=\"99.0\"?><QBXML/>",
            "0x80040423",
        ),
    ] {
        let r = post(s.addr, "ann", xml).await;
        assert_eq!(r.status, 400, "{xml}");
        assert!(r.code().starts_with("0x8004"), "{}", r.code());
        assert!(r.body.contains(want), "{}", r.body);
    }
}

#[tokio::test]
async fn company_file_names_stay_in_the_data_directory() {
    let s = start().await;
    for name in [
        "../escape.qbw",
        "/etc/passwd",
        r"C:\x.qbw",
        "a/b.qbw",
        ".hidden",
    ] {
        let conn = format!("CompanyFile='{name}'");
        let r = post_with(s.addr, "cat", &[("x-qb-connection", &conn)], &host_query()).await;
        assert_eq!(r.status, 400, "{name}: {}", r.body);
    }
    assert!(!s.dir.path().parent().unwrap().join("escape.qbw").exists());
    // cat may choose; ann may not (her file is fixed, so hers wins) and
    // rob's entry does not allow it either.
    let r = post_with(
        s.addr,
        "cat",
        &[("x-qb-connection", "CompanyFile='other.qbw'")],
        &host_query(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(s.dir.path().join("other.qbw").exists());
    let r = post_with(
        s.addr,
        "ann",
        &[("x-qb-connection", "CompanyFile='third.qbw'")],
        &host_query(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        !s.dir.path().join("third.qbw").exists(),
        "the user's setting wins"
    );
    let r = post_with(
        s.addr,
        "ann",
        &[("x-qb-connection", "Color='red' URL='https://x'")],
        &host_query(),
    )
    .await;
    assert_eq!(
        r.status, 200,
        "names the connector does not use are ignored"
    );
    for bad in ["CompanyFile='x", "Password='p'", "ConnectionMode=both"] {
        let r = post_with(s.addr, "ann", &[("x-qb-connection", bad)], &host_query()).await;
        assert_eq!((r.status, r.code()), (400, "QBC_BAD_CONNECTION"), "{bad}");
    }
}

#[tokio::test]
async fn user_may_not_choose_a_company_file_unless_allowed() {
    let s = start_configured(
        |c| {
            // A user with no file of their own and no permission to choose.
            c.users[2].client_company_file = false;
        },
        None,
        None,
    )
    .await;
    let r = post_with(
        s.addr,
        "cat",
        &[("x-qb-connection", "CompanyFile='x.qbw'")],
        &host_query(),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "QBC_COMPANY_FILE_DENIED"));
    assert!(!s.dir.path().join("x.qbw").exists());
}

#[tokio::test]
async fn allow_list() {
    let s = start_configured(
        |c| c.allowed_clients = vec!["10.0.0.0/8".into()],
        None,
        None,
    )
    .await;
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!((r.status, r.code()), (403, "QBC_CLIENT_DENIED"));
    assert!(r.body.contains("127.0.0.1"));
    let s = start_configured(
        |c| c.allowed_clients = vec!["10.0.0.0/8".into(), "127.0.0.1".into()],
        None,
        None,
    )
    .await;
    assert_eq!(post(s.addr, "ann", &host_query()).await.status, 200);
}

#[tokio::test]
async fn oversized_bodies_are_413_declared_or_not() {
    let s = start_configured(|c| c.max_request_bytes = 1000, None, None).await;
    let big = qbxml(&format!(
        "<CustomerAddRq><CustomerAdd><Name>{}</Name></CustomerAdd></CustomerAddRq>",
        "x".repeat(2000)
    ));
    let r = post(s.addr, "ann", &big).await;
    assert_eq!((r.status, r.code()), (413, "QBC_TOO_LARGE"));
    // Chunked, so no Content-Length to refuse up front.
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let auth = basic("ann", PASSWORD);
    let head = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..3 {
        let chunk = "y".repeat(500);
        let _ = tcp
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await;
    }
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    // Nothing reached the company file.
    let r = post(s.addr, "ann", &customer_query()).await;
    assert!(!r.body.contains("<CustomerRet>"), "{}", r.body);
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let s = start_configured(|c| c.request_timeout_secs = 1, None, None).await;
    // Slowloris: a head that never ends. The server closes the connection.
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(b"POST / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let mut closed = false;
    for _ in 0..60 {
        // Keep trickling a header byte; the server must still give up.
        let _ = tcp.write_all(b"x").await;
        match tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => {
                // hyper may answer 408 before closing.
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "a trickled head kept the connection open for 30 s");
    // A body that stops halfway: 408.
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let auth = basic("ann", PASSWORD);
    let head = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: text/xml\r\ncontent-length: 500\r\n\r\n<?xml"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("QBC_REQUEST_TIMEOUT"));
}

#[tokio::test]
async fn a_thousand_concurrent_connections() {
    let backend = Arc::new(MemoryBackend::default());
    let s = start_configured(|_| {}, Some(backend.clone()), None).await;
    let addr = s.addr;
    let xml = Arc::new(host_query());
    // Open all the connections first, then send on all of them at once.
    let mut streams = Vec::new();
    for _ in 0..1000 {
        streams.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut tasks = Vec::new();
    for tcp in streams {
        let xml = xml.clone();
        tasks.push(tokio::spawn(async move {
            let auth = basic("ann", PASSWORD);
            send_on(
                tcp,
                "POST",
                "/",
                &[("authorization", &auth), ("content-type", "text/xml")],
                &xml,
            )
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        ok += 1;
    }
    assert_eq!(ok, 1000);
    assert_eq!(backend.processed.load(Ordering::SeqCst), 1000);
}

#[tokio::test]
async fn one_company_file_never_interleaves_two_run_in_parallel() {
    let backend = Arc::new(MemoryBackend::default().holding(Duration::from_millis(20)));
    let s = start_configured(|_| {}, Some(backend.clone()), None).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            post(addr, "ann", &host_query()).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(backend.max_per_company.load(Ordering::SeqCst), 1);

    // Two files: each request waits (up to 10 s) until both are in flight.
    let backend = Arc::new(MemoryBackend::default().waiting_for(2));
    let s = start_configured(|_| {}, Some(backend.clone()), None).await;
    let addr = s.addr;
    let a = tokio::spawn(async move {
        post_with(
            addr,
            "cat",
            &[("x-qb-connection", "CompanyFile='a.qbw'")],
            &host_query(),
        )
        .await
    });
    let addr = s.addr;
    let b = tokio::spawn(async move {
        post_with(
            addr,
            "cat",
            &[("x-qb-connection", "CompanyFile='b.qbw'")],
            &host_query(),
        )
        .await
    });
    assert_eq!(a.await.unwrap().status, 200);
    assert_eq!(b.await.unwrap().status, 200);
    assert_eq!(
        backend.max_total.load(Ordering::SeqCst),
        2,
        "the two files ran together"
    );
    assert_eq!(backend.max_per_company.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn full_queue_is_503_and_slow_backend_is_504() {
    let backend = Arc::new(MemoryBackend::default().holding(Duration::from_secs(3)));
    let s = start_configured(
        |c| {
            c.queue_depth = 1;
            c.backend_timeout_secs = 1;
        },
        Some(backend.clone()),
        None,
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let addr = s.addr;
        tasks.push(tokio::spawn(async move {
            post(addr, "ann", &host_query()).await
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 503 {
            assert_eq!(r.code(), "QBC_BUSY");
            assert_eq!(r.header("retry-after"), "1");
        }
        if r.status == 504 {
            assert_eq!(r.code(), "QBC_BACKEND_TIMEOUT");
        }
        statuses.push(r.status);
    }
    statuses.sort();
    assert_eq!(
        statuses,
        vec![503, 504, 504],
        "one runs, one waits, one is refused"
    );
    // Timed out or not, the backend never ran two at once.
    assert_eq!(backend.max_per_company.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn sessions_keep_iterators_and_belong_to_their_user() {
    let s = start().await;
    for i in 0..5 {
        assert_eq!(
            post(s.addr, "ann", &customer_add(&format!("Cust {i}")))
                .await
                .status,
            200
        );
    }
    let auth = basic("ann", PASSWORD);
    let r = send(s.addr, "POST", "/session", &[("authorization", &auth)], "").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ticket = r.header("x-qb-ticket").to_string();
    assert_eq!(ticket.len(), 32);
    assert!(r.body.contains(&ticket));
    assert_eq!(s.running.open_sessions(), 1);
    // An iterator lives in the backend session: Start, then Continue on
    // the same ticket.
    let start_it = qbxml("<CustomerQueryRq requestID=\"1\" iterator=\"Start\"><MaxReturned>2</MaxReturned></CustomerQueryRq>");
    let r = post_with(s.addr, "ann", &[("x-qb-ticket", &ticket)], &start_it).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("iteratorRemainingCount=\"3\""),
        "{}",
        r.body
    );
    let id_start = r.body.find("iteratorID=\"").unwrap() + 12;
    let id = &r.body[id_start..id_start + 38];
    let cont = qbxml(&format!(
        "<CustomerQueryRq requestID=\"2\" iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>2</MaxReturned></CustomerQueryRq>"
    ));
    let r = post_with(s.addr, "ann", &[("x-qb-ticket", &ticket)], &cont).await;
    assert!(
        r.body.contains("iteratorRemainingCount=\"1\""),
        "{}",
        r.body
    );
    // Without the ticket the iterator is unknown (a new session): 3391.
    let r = post(s.addr, "ann", &cont).await;
    assert!(r.body.contains("statusCode=\"3391\""), "{}", r.body);
    // Another user cannot use or close the ticket.
    let r = post_with(s.addr, "rob", &[("x-qb-ticket", &ticket)], &cont).await;
    assert_eq!((r.status, r.code()), (400, "0x8004040D"));
    let r = close_session(s.addr, "rob", &ticket).await;
    assert_eq!(r.status, 204);
    assert_eq!(s.running.open_sessions(), 1, "rob's DELETE closed nothing");
    let r = close_session(s.addr, "ann", &ticket).await;
    assert_eq!(r.status, 204);
    assert_eq!(s.running.open_sessions(), 0);
    let r = post_with(s.addr, "ann", &[("x-qb-ticket", &ticket)], &cont).await;
    assert_eq!(r.status, 400);
    // Closing again is a no-op, as CloseQBConnection is.
    let r = close_session(s.addr, "ann", &ticket).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn idle_sessions_expire() {
    let s = start_configured(|c| c.session_idle_secs = 1, None, None).await;
    let auth = basic("ann", PASSWORD);
    let r = send(s.addr, "POST", "/session", &[("authorization", &auth)], "").await;
    let ticket = r.header("x-qb-ticket").to_string();
    let mut gone = false;
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.running.open_sessions() == 0 {
            gone = true;
            break;
        }
    }
    assert!(gone, "an idle ticket outlived 30 s with a 1 s timeout");
    let r = post_with(s.addr, "ann", &[("x-qb-ticket", &ticket)], &host_query()).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn metrics_need_a_configured_user() {
    let s = start().await;
    post(s.addr, "ann", &host_query()).await;
    assert_eq!(send(s.addr, "GET", "/metrics", &[], "").await.status, 401);
    let auth = basic("ann", PASSWORD);
    let r = send(s.addr, "GET", "/metrics", &[("authorization", &auth)], "").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("qbconnector_requests_total{code=\"200\"} 1"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("qbconnector_auth_failures_total 1"),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains("qbconnector_queue_depth{company=\"acme.qbw\"} 0"));
}

#[tokio::test]
async fn metrics_on_their_own_address() {
    let rec = Arc::new(Recorder::default());
    let s = start_configured(
        |c| c.metrics.listen = Some("127.0.0.1:0".into()),
        None,
        Some(rec.clone()),
    )
    .await;
    let m = s.running.metrics_addr().unwrap();
    let r = send(m, "GET", "/metrics", &[], "").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("qbconnector_connections_open"));
    // The metrics address relays nothing; the main one serves no metrics.
    assert_eq!(post(m, "ann", &host_query()).await.status, 404);
    let auth = basic("ann", PASSWORD);
    assert_eq!(
        send(s.addr, "GET", "/metrics", &[("authorization", &auth)], "")
            .await
            .status,
        404
    );
    // Neither address audits /metrics, served or not.
    let audits: Vec<String> = rec
        .all()
        .into_iter()
        .filter(|l| l.starts_with("audit"))
        .collect();
    assert_eq!(audits.len(), 1, "only the relayed POST: {audits:#?}");
    assert!(audits[0].contains("404"), "{audits:#?}");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let backend = Arc::new(MemoryBackend::default().holding(Duration::from_millis(800)));
    let s = start_configured(|_| {}, Some(backend.clone()), None).await;
    let addr = s.addr;
    let in_flight = tokio::spawn(async move { post(addr, "ann", &host_query()).await });
    // Wait until the request is inside the backend.
    for _ in 0..500 {
        if backend.max_total.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.running.shutdown().await;
    assert_eq!(in_flight.await.unwrap().status, 200);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

/// Records what the events say.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl qbc_server::Events for Recorder {
    fn connected(&self, e: &qbc_server::events::Connected) {
        self.push(format!("connected {}", e.connection_id));
    }
    fn disconnected(&self, e: &qbc_server::events::Disconnected) {
        self.push(format!(
            "disconnected {} {}",
            e.connection_id, e.status_code
        ));
    }
    fn header(&self, e: &qbc_server::events::Header<'_>) {
        self.push(format!("header {}: {}", e.name, e.value));
    }
    fn request(&self, e: &mut qbc_server::events::Request<'_>) {
        self.push(format!(
            "request {} {} {:?}",
            e.user, e.company_file, e.request_types
        ));
    }
    fn response(&self, e: &mut qbc_server::events::Response<'_>) {
        self.push(format!("response {}", e.http_status));
    }
    fn error(&self, e: &qbc_server::events::Error<'_>) {
        self.push(format!("error {} {}", e.code, e.description));
    }
    fn audit(&self, e: &qbc_server::events::Audit<'_>) {
        self.push(format!(
            "audit {} {} {} {:?} {} {:?} {}",
            e.remote.ip(),
            e.user,
            e.company_file,
            e.request_types,
            e.http_status,
            e.status_codes,
            e.error_code
        ));
    }
}

impl Recorder {
    fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn events_and_one_audit_line_per_request() {
    let rec = Arc::new(Recorder::default());
    let s = start_configured(|_| {}, None, Some(rec.clone())).await;
    let two = qbxml(
        "<CustomerAddRq requestID=\"1\"><CustomerAdd><Name>Ev</Name></CustomerAdd></CustomerAddRq>\
         <CustomerAddRq requestID=\"2\"><CustomerAdd><Name>Ev</Name></CustomerAdd></CustomerAddRq>",
    );
    let mut h = vec![];
    let auth = basic("ann", PASSWORD);
    h.push(("authorization", auth.as_str()));
    h.push(("content-type", "text/xml"));
    assert_eq!(
        send(
            s.addr,
            "POST",
            "/",
            &h,
            &two.replace("stopOnError", "continueOnError")
        )
        .await
        .status,
        200
    );
    assert_eq!(post(s.addr, "rob", &customer_add("No")).await.status, 403);
    s.running.shutdown().await;
    let ev = rec.all();
    let has = |p: &str| ev.iter().any(|e| e.starts_with(p));
    assert!(has("connected "), "{ev:#?}");
    assert!(has("disconnected "), "{ev:#?}");
    assert!(has("header authorization: <not shown>"), "{ev:#?}");
    assert!(
        !ev.iter().any(|e| e.contains(&auth[6..])),
        "credentials leaked into events"
    );
    assert!(
        has("request ann acme.qbw [\"CustomerAddRq\", \"CustomerAddRq\"]"),
        "{ev:#?}"
    );
    assert!(
        has("audit 127.0.0.1 ann acme.qbw [\"CustomerAddRq\", \"CustomerAddRq\"] 200 [0, 3100] "),
        "{ev:#?}"
    );
    assert!(
        has("audit 127.0.0.1 rob  [\"CustomerAddRq\"] 403 [] QBC_READ_ONLY"),
        "{ev:#?}"
    );
    assert!(
        has("error QBC_READ_ONLY user `rob` is read-only"),
        "{ev:#?}"
    );
    assert_eq!(ev.iter().filter(|e| e.starts_with("audit")).count(), 2);
}

#[tokio::test]
async fn seed_style_configuration_settings() {
    let dir = tempfile::tempdir().unwrap();
    let c = qbc_server::Connector::new(config(dir.path())).unwrap();
    let i = c
        .add_user("ann", PASSWORD, "CompanyFile='acme.qbw'", false)
        .unwrap();
    assert_eq!(c.config(&format!("ReadOnly[{i}]=true")).unwrap(), "true");
    assert_eq!(c.config("ReadOnly[0]").unwrap(), "true");
    assert!(c.config("ReadOnly[7]=true").is_err());
    assert_eq!(
        c.config("DefaultConnectionString=CompanyFile='d.qbw'")
            .unwrap(),
        "CompanyFile='d.qbw'"
    );
    assert!(c.config("DefaultConnectionString=CompanyFile='x").is_err());
    assert_eq!(c.config("LocalPort=0").unwrap(), "0");
    assert_eq!(
        c.config("AllowedClients=127.0.0.1, 10.0.0.0/8").unwrap(),
        "127.0.0.1,10.0.0.0/8"
    );
    assert!(c.config("AllowedClients=nonsense").is_err());
    assert!(c.config("Nope=1").is_err());
    assert!(c.add_user("ANN", "x", "", false).is_err());
    let running = c.listen().await.unwrap();
    assert!(running.listening());
    assert_ne!(running.local_port(), 0);
    assert_eq!(running.local_host(), "127.0.0.1");
    // ReadOnly[0] took effect.
    let r = post(running.local_addr(), "ann", &customer_add("Z")).await;
    assert_eq!(r.status, 403);
    running.shutdown().await;
}

/// ConnectedToQB with the simulator: set and read back as the seed does,
/// and requests of every kind of user answered on the kept session.
#[tokio::test]
async fn connected_to_qb_with_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let c = connector(config(dir.path()));
    assert_eq!(c.config("ConnectedToQB").unwrap(), "false");
    assert_eq!(c.config("ConnectedToQB=true").unwrap(), "true");
    assert!(c.config("ConnectedToQB=maybe").is_err());
    c.config("DefaultConnectionString=CompanyFile='acme.qbw'")
        .unwrap();
    let s = start_with(c, dir, None, None).await;
    let r = post(s.addr, "ann", &customer_add("Kept Co")).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = post(s.addr, "rob", &customer_query()).await;
    assert!(r.body.contains("<Name>Kept Co</Name>"), "{}", r.body);
    assert_eq!(
        post(s.addr, "rob", &customer_add("No")).await.code(),
        "QBC_READ_ONLY"
    );
    // A persistent session of a client's own still works beside it.
    let ticket = open_session(s.addr, "ann").await;
    let r = post_with(
        s.addr,
        "ann",
        &[("x-qb-ticket", &ticket)],
        &customer_query(),
    )
    .await;
    assert!(r.body.contains("Kept Co"), "{}", r.body);
    s.running.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let s = start_configured(|c| c.request_timeout_secs = 1, None, None).await;
    // Connected, then silent: no request ever starts.
    let mut idle = TcpStream::connect(s.addr).await.unwrap();
    // And a keep-alive connection that goes quiet after one request.
    let mut kept = TcpStream::connect(s.addr).await.unwrap();
    let auth = basic("ann", PASSWORD);
    let xml = host_query();
    let req = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{xml}",
        xml.len()
    );
    kept.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    for (name, tcp) in [("idle", &mut idle), ("kept", &mut kept)] {
        let mut closed = false;
        for _ in 0..60 {
            match tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(_)) => {} // e.g. a 408 before the close
                Err(_) => {}
            }
        }
        assert!(
            closed,
            "{name}: a silent connection stayed open 30 s with a 1 s timeout"
        );
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_loses_its_connection() {
    // 1 MiB answers, one connection slot, a 1 s timeout.
    let big = format!(
        "<?xml version=\"1.0\" ?><QBXML><QBXMLMsgsRs><HostQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"{}\"/></QBXMLMsgsRs></QBXML>",
        "x".repeat(1 << 20)
    );
    let backend = Arc::new(MemoryBackend::new(&big));
    let s = start_configured(
        |c| {
            c.max_connections = 1;
            c.request_timeout_secs = 1;
        },
        Some(backend),
        None,
    )
    .await;
    // Pipeline many requests and never read an answer.
    let mut stalled = TcpStream::connect(s.addr).await.unwrap();
    let auth = basic("ann", PASSWORD);
    let xml = host_query();
    let req = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{xml}",
        xml.len()
    );
    for _ in 0..64 {
        if tokio::time::timeout(
            Duration::from_millis(200),
            stalled.write_all(req.as_bytes()),
        )
        .await
        .is_err()
        {
            break;
        }
    }
    // The one slot frees once the server gives up writing to it.
    let mut served = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(tcp) = TcpStream::connect(s.addr).await else {
            continue;
        };
        let auth = basic("ann", PASSWORD);
        let h = [
            ("authorization", auth.as_str()),
            ("content-type", "text/xml"),
        ];
        if let Ok(Ok(r)) =
            tokio::time::timeout(Duration::from_secs(5), send_on(tcp, "POST", "/", &h, &xml)).await
        {
            if r.status == 200 {
                served = true;
                break;
            }
        }
    }
    assert!(
        served,
        "a client that never reads held the only slot for 30 s"
    );
    drop(stalled);
}

#[tokio::test]
async fn one_client_cannot_take_every_slot() {
    let s = start_configured(|c| c.max_connections_per_client = 2, None, None).await;
    let a = TcpStream::connect(s.addr).await.unwrap();
    let b = TcpStream::connect(s.addr).await.unwrap();
    // Let the server count them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(s.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(30), third.read(&mut buf))
        .await
        .expect("the third connection is closed at once")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    drop(a);
    drop(b);
    let mut ok = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let tcp = TcpStream::connect(s.addr).await.unwrap();
        let auth = basic("ann", PASSWORD);
        let h = [
            ("authorization", auth.as_str()),
            ("content-type", "text/xml"),
        ];
        if let Ok(r) = send_on(tcp, "POST", "/", &h, &host_query()).await {
            ok = r.status == 200;
            break;
        }
    }
    assert!(ok, "slots come back when connections close");
}

/// Transactions and reports go through the connector like any request:
/// an invoice and a payment move the customer's balance, and a report
/// (answered off the async threads) sees them.
#[tokio::test]
async fn transactions_and_reports_through_the_connector() {
    let s = start().await;
    let setup = qbxml(
        "<CustomerAddRq><CustomerAdd><Name>Harbor Lights</Name></CustomerAdd></CustomerAddRq>\
         <AccountAddRq><AccountAdd><Name>Sales</Name><AccountType>Income</AccountType></AccountAdd></AccountAddRq>\
         <ItemServiceAddRq><ItemServiceAdd><Name>Design</Name><SalesOrPurchase><Price>85.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemServiceAdd></ItemServiceAddRq>",
    );
    let r = post(s.addr, "ann", &setup).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(
        s.addr,
        "ann",
        &qbxml("<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Harbor Lights</FullName></CustomerRef><InvoiceLineAdd><ItemRef><FullName>Design</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<BalanceRemaining>170.00</BalanceRemaining>"),
        "{}",
        r.body
    );
    let r = post(
        s.addr,
        "ann",
        &qbxml("<CustomerQueryRq><FullName>Harbor Lights</FullName></CustomerQueryRq>"),
    )
    .await;
    assert!(r.body.contains("<Balance>170.00</Balance>"), "{}", r.body);
    let r = post(
        s.addr,
        "ann",
        &qbxml("<GeneralSummaryReportQueryRq><GeneralSummaryReportType>TrialBalance</GeneralSummaryReportType></GeneralSummaryReportQueryRq>"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<ReportTitle>Trial Balance</ReportTitle>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"170.00\""), "{}", r.body);
}
