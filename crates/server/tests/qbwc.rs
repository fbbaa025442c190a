//! The Web Connector bridge end to end: clients post qbXML to the real
//! connector on loopback; test Web Connectors (`common/wc.rs`) play QBWC
//! against its SOAP endpoint with the simulator as their QuickBooks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::wc::{self, hcp, TestWc};
use common::*;
use qbc_server::backend::qbwc::QbwcCompany;
use qbc_server::{BackendKind, Config, Connector};
use std::sync::Arc;
use std::time::Duration;

const WC_PASSWORD: &str = "web connector secret";

struct Bridge {
    server: Server,
    /// One simulator company per company file: QuickBooks behind each
    /// Web Connector.
    qb: Vec<Arc<qbsim::Company>>,
}

impl Bridge {
    fn wc(&self, i: usize) -> TestWc {
        TestWc::new(
            self.server.addr,
            &format!("wc{i}"),
            WC_PASSWORD,
            self.qb[i].clone(),
        )
    }

    /// Company file `i`'s (OwnerID, FileID).
    fn ids(&self, i: usize) -> (String, String) {
        let c = self.server.running.control().configuration();
        let co = &c.backend.qbwc.companies[i];
        (co.owner_id(), co.file_id())
    }
}

fn bridge_config(dir: &std::path::Path, n: usize) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".into(),
        ..Config::default()
    };
    c.backend.kind = BackendKind::Qbwc;
    c.backend.data_dir = dir.to_path_buf();
    let hash = qbc_server::auth::PasswordHash::create(WC_PASSWORD).unwrap();
    c.backend.qbwc.companies = (0..n)
        .map(|i| QbwcCompany {
            name: format!("c{i}"),
            user: format!("wc{i}"),
            password_hash: hash.as_str().to_string(),
            ..QbwcCompany::default()
        })
        .collect();
    c.backend.qbwc.default_company = "c0".into();
    c
}

/// The connector with the bridge over `n` company files; users `ann`
/// (company c0), `rob` (c0, read-only) and `cat` (names the file).
async fn start_bridge(n: usize, edit: impl FnOnce(&mut Config)) -> Bridge {
    let dir = tempfile::tempdir().unwrap();
    let mut config = bridge_config(dir.path(), n);
    edit(&mut config);
    let qb = (0..n)
        .map(|i| {
            Arc::new(
                qbsim::Company::open(
                    &dir.path().join(format!("qb{i}.qbw")),
                    qbsim::Config::default(),
                )
                .unwrap(),
            )
        })
        .collect();
    let server = start_with(users(Connector::new(config).unwrap()), dir, None, None).await;
    Bridge { server, qb }
}

fn users(c: Connector) -> Connector {
    c.add_user("ann", PASSWORD, "CompanyFile='c0'", false)
        .unwrap();
    c.add_user("rob", PASSWORD, "CompanyFile='c0'", true)
        .unwrap();
    c.add_user("cat", PASSWORD, "", false).unwrap();
    c.change(|cfg| {
        cfg.users[2].client_company_file = true;
        Ok(())
    })
    .unwrap();
    c
}

/// A client request and a Web Connector session run together; the
/// client's answer.
async fn through(b: &Bridge, wc: &TestWc, user: &str, xml: &str) -> (Resp, wc::Session) {
    through_in(b, wc, user, None, xml).await
}

/// The same, for a client that names the company file.
async fn through_in(
    b: &Bridge,
    wc: &TestWc,
    user: &str,
    company: Option<&str>,
    xml: &str,
) -> (Resp, wc::Session) {
    let addr = b.server.addr;
    let (user, xml) = (user.to_string(), xml.to_string());
    let conn = company.map(|c| format!("CompanyFile='{c}'"));
    let mut client = tokio::spawn(async move {
        match conn {
            Some(c) => post_with(addr, &user, &[("x-qb-connection", &c)], &xml).await,
            None => post(addr, &user, &xml).await,
        }
    });
    // The Web Connector comes until the job is there for it.
    for _ in 0..1000 {
        let s = wc.session().await;
        if !s.requests.is_empty() || s.status == "nvu" {
            return (client.await.unwrap(), s);
        }
        // Answered without a request (refused): the client has it soon.
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(20), &mut client).await {
            return (r.unwrap(), s);
        }
    }
    panic!("the job never reached the Web Connector");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_are_what_quickbooks_gives_byte_for_byte() {
    let b = start_bridge(1, |_| {}).await;
    let wc = b.wc(0);
    let (r, s) = through(&b, &wc, "ann", &customer_add("Bridged Customer")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<Name>Bridged Customer</Name>"),
        "{}",
        r.body
    );
    assert_eq!(s.requests.len(), 1, "handed over once");
    assert_eq!(s.status, "", "the open company file");
    // The same query, through the bridge and straight to QuickBooks.
    let (r, _) = through(&b, &wc, "ann", &customer_query()).await;
    let direct = b.qb[0]
        .process(b.qb[0].begin_session(), customer_query().as_bytes())
        .unwrap();
    assert_eq!(r.body, direct, "byte for byte");
    assert_eq!(r.header("content-type"), "text/xml; charset=utf-8");
    // A read-only user's write never reaches the Web Connector.
    let r = post(b.server.addr, "rob", &customer_add("Nope")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(wc.seen.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_soap_calls_the_web_connector_makes() {
    let b = start_bridge(1, |c| c.auth.max_failures = 3).await;
    let wc = b.wc(0);
    let r = wc.call("serverVersion", &[]).await;
    assert!(wc::result(&r, "serverVersion").starts_with("QBConnector "));
    let r = wc
        .call("clientVersion", &[("strVersion", "2.3.0.215")])
        .await;
    assert_eq!(wc::result(&r, "clientVersion"), "");
    // Nothing to do: `none`, and a ticket all the same.
    let (ticket, status) = wc.authenticate().await;
    assert_eq!(status, "none");
    assert!(!ticket.is_empty());
    // An unknown ticket is a session that is over, not a fault.
    assert_eq!(wc.send_request("{nope}", true).await, "");
    assert_eq!(
        wc.get_last_error("{nope}").await,
        "QBConnector: this session has ended."
    );
    assert_eq!(wc.receive("{nope}", "<QBXML/>", "", "").await, -1);
    assert_eq!(wc.close("{nope}").await, "OK");
    // The interactive calls are answered, cleanly.
    let r = wc
        .call(
            "getInteractiveURL",
            &[("wcTicket", "t"), ("sessionID", "s")],
        )
        .await;
    assert_eq!(wc::result(&r, "getInteractiveURL"), "");
    let r = wc.call("interactiveDone", &[("wcTicket", "t")]).await;
    assert_eq!(wc::result(&r, "interactiveDone"), "Done");
    let r = wc
        .call(
            "interactiveRejected",
            &[("wcTicket", "t"), ("reason", "no")],
        )
        .await;
    assert!(wc::result(&r, "interactiveRejected").contains("not use interactive"));
    // A body that is not a call: a SOAP fault.
    let r = send(
        b.server.addr,
        "POST",
        "/qbwc",
        &[("content-type", "text/xml")],
        "<nonsense/>",
    )
    .await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("Fault"), "{}", r.body);
    // GET: the AppSupport page.
    let r = send(b.server.addr, "GET", "/qbwc", &[], "").await;
    assert_eq!(r.status, 200);
    // Bad passwords: nvu, then the lockout holds even the right one.
    let mut bad = b.wc(0);
    bad.password = "wrong password".into();
    for _ in 0..3 {
        assert_eq!(bad.authenticate().await.1, "nvu");
    }
    assert_eq!(wc.authenticate().await.1, "nvu", "locked out");
    let mut unknown = b.wc(0);
    unknown.user = "nobody".into();
    assert_eq!(unknown.authenticate().await.1, "nvu");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn iterators_run_through_one_web_connector_session() {
    let b = start_bridge(1, |_| {}).await;
    for i in 0..5 {
        b.qb[0]
            .process(
                b.qb[0].begin_session(),
                customer_add(&format!("Cust {i}")).as_bytes(),
            )
            .unwrap();
    }
    let mut wc = b.wc(0);
    wc.noops_after_work = usize::MAX;
    let wc = Arc::new(wc);
    let ticket = open_session(b.server.addr, "ann").await;
    // The Web Connector keeps its session open while the client's is.
    let runner = {
        let wc = wc.clone();
        tokio::spawn(async move { wc.session().await })
    };
    let page = |extra: &str| {
        qbxml(&format!(
            "<CustomerQueryRq requestID=\"1\" {extra}><MaxReturned>2</MaxReturned></CustomerQueryRq>"
        ))
    };
    let auth = basic("ann", PASSWORD);
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "text/xml"),
        ("x-qb-ticket", ticket.as_str()),
    ];
    let r = send(b.server.addr, "POST", "/", &h, &page("iterator=\"Start\"")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("iteratorRemainingCount=\"3\""),
        "{}",
        r.body
    );
    let id = r
        .body
        .split("iteratorID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut names = 2;
    loop {
        let r = send(
            b.server.addr,
            "POST",
            "/",
            &h,
            &page(&format!("iterator=\"Continue\" iteratorID=\"{id}\"")),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        names += r.body.matches("<CustomerRet>").count();
        if r.body.contains("iteratorRemainingCount=\"0\"") {
            break;
        }
    }
    assert_eq!(names, 5, "every page, in one QuickBooks session");
    // Every page went to the one Web Connector session.
    assert_eq!(wc.seen.lock().unwrap().len(), 3);
    assert_eq!(wc.sessions.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The Web Connector session ends (a new authenticate replaces it):
    // the client's ticket is lost, as a COM session QuickBooks closed.
    let r2 = b.wc(0);
    let (_t, status) = r2.authenticate().await;
    assert_eq!(status, "", "the client's session is still open: work");
    let r = send(b.server.addr, "POST", "/", &h, &customer_query()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "0x8004040D");
    let r = close_session(b.server.addr, "ann", &ticket).await;
    assert!(r.status < 500, "{}", r.body);
    runner.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_whose_answer_is_lost_is_never_sent_again() {
    let b = start_bridge(1, |_| {}).await;
    let wc = b.wc(0);
    let addr = b.server.addr;
    let client = tokio::spawn(async move { post(addr, "ann", &customer_add("Maybe Done")).await });
    // The Web Connector takes the write, QuickBooks does it, and the
    // answer never comes back (the Web Connector starts over).
    let (ticket, status) = loop {
        let (t, s) = wc.authenticate().await;
        if s != "none" {
            break (t, s);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(status, "");
    let rq = wc.send_request(&ticket, true).await;
    assert!(rq.contains("Maybe Done"));
    wc.quickbooks(b.qb[0].begin_session(), &rq);
    let _ = wc.authenticate().await;
    let r = client.await.unwrap();
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "QBC_QBWC_LOST");
    // Nothing is waiting: the next session has nothing to do.
    let mut next = b.wc(0);
    next.max_noops = 0;
    let s = next.session().await;
    assert!(s.requests.is_empty(), "not sent again: {:?}", s.requests);
    // QuickBooks' error recovery passes through: a write with
    // newMessageSetID, then its status asked with oldMessageSetID.
    let with_id = customer_add("Recoverable").replace(
        "<QBXMLMsgsRq onError=\"stopOnError\">",
        "<QBXMLMsgsRq onError=\"stopOnError\" newMessageSetID=\"m-1\">",
    );
    let (r, _) = through(&b, &next, "ann", &with_id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ask = qbxml("").replace(
        "<QBXMLMsgsRq onError=\"stopOnError\">",
        "<QBXMLMsgsRq onError=\"stopOnError\" oldMessageSetID=\"m-1\">",
    );
    let (r, s) = through(&b, &next, "ann", &ask).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        s.requests[0].contains("oldMessageSetID=\"m-1\""),
        "unchanged"
    );
    assert!(r.body.contains("Recoverable"), "{}", r.body);
    // Recorded: the lost write says so (written by the time it stops).
    let Server { running, dir, .. } = b.server;
    running.shutdown().await;
    let db = rusqlite::Connection::open(dir.path().join("qbwc.sqlite")).unwrap();
    let (state, error): (String, String) = db
        .query_row(
            "SELECT state, error FROM jobs WHERE request LIKE '%Maybe Done%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "lost");
    assert!(error.contains("not sent again"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_company_file_is_refused_before_anything_is_sent() {
    let b = start_bridge(2, |c| {
        c.backend.qbwc.companies[0].company_file = r"C:\Books\Acme.QBW".into();
    })
    .await;
    // The path differs.
    let mut wc = b.wc(0);
    wc.file = r"C:\Books\Other.QBW".into();
    let (r, s) = through(&b, &wc, "ann", &customer_query()).await;
    assert_eq!(
        s.status, r"C:\Books\Acme.QBW",
        "authenticate names the file"
    );
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "QBC_QBWC_WRONG_FILE");
    assert!(s.requests.is_empty());
    assert!(s.last_error.contains("Other.QBW"), "{}", s.last_error);
    // Same path, case aside: served.
    wc.file = r"c:\books\acme.qbw".into();
    let (r, _) = through(&b, &wc, "ann", &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The FileID on the company record is another company file's.
    let mut wc1 = b.wc(1);
    let (owner, file_id) = b.ids(1);
    wc1.hcp = hcp(
        "Test Co",
        Some((&owner, "{00000000-0000-0000-0000-000000000001}")),
    );
    let (r, s) = through_in(&b, &wc1, "cat", Some("c1"), &customer_query()).await;
    assert_eq!(r.code(), "QBC_QBWC_WRONG_FILE", "{}", r.body);
    assert!(s.last_error.contains("FileID"), "{}", s.last_error);
    assert!(wc1.seen.lock().unwrap().is_empty());
    // Another application's FileID is not this one's business; its own
    // FileID: served.
    wc1.hcp = hcp(
        "Test Co",
        Some((
            "{11111111-2222-3333-4444-555555555555}",
            "{00000000-0000-0000-0000-000000000001}",
        )),
    );
    let (r, _) = through_in(&b, &wc1, "cat", Some("c1"), &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    wc1.hcp = hcp("Test Co", Some((&owner, &file_id)));
    let (r, _) = through_in(&b, &wc1, "cat", Some("c1"), &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Is a Web Connector session open (`/metrics`)?
async fn session_open(addr: std::net::SocketAddr) -> bool {
    let auth = common::basic("ann", common::PASSWORD);
    let r = common::send(addr, "GET", "/metrics", &[("authorization", &auth)], "").await;
    r.body
        .lines()
        .any(|l| l.starts_with("qbconnector_qbwc_session_open") && l.ends_with(" 1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offline_is_503_at_once_and_slow_is_504() {
    let b = start_bridge(1, |c| {
        c.backend.qbwc.offline_after_secs = 1;
        c.backend.qbwc.wait_secs = 600;
    })
    .await;
    // No Web Connector since the start, past offline_after.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = post(b.server.addr, "ann", &customer_query()).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "QBC_QBWC_OFFLINE");
    assert!(!r.header("retry-after").is_empty());
    // It calls (nothing to do), so it is online; a request it does not
    // take within the client's wait: 503, nothing sent.
    let wc = b.wc(0);
    // A client asked a moment ago: the keep-alive opens a session.
    assert_eq!(wc.authenticate().await.1, "");
    let r = post_with(
        b.server.addr,
        "ann",
        &[("x-qb-timeout", "0.3")],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "QBC_QBWC_NOT_TAKEN");
    // Taken, but QuickBooks is slow: 504 at the client's wait; the answer
    // is recorded when it comes. The Web Connector is in its session
    // (authenticated: its argon2 run is behind it) and polling before the
    // client asks, and QuickBooks answers only once the client has had
    // its 504: no clock decides the order.
    let mut slow = b.wc(0);
    let hold = Arc::new(tokio::sync::Semaphore::new(0));
    slow.hold = Some(hold.clone());
    let slow = Arc::new(slow);
    let session = {
        let slow = slow.clone();
        tokio::spawn(async move { slow.session().await })
    };
    while !session_open(b.server.addr).await {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = post_with(
        b.server.addr,
        "ann",
        &[("x-qb-timeout", "2")],
        &customer_add("Slow One"),
    )
    .await;
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.code(), "QBC_QBWC_TIMEOUT");
    hold.add_permits(1);
    let s = session.await.unwrap();
    assert_eq!(s.status, "", "a session was open");
    assert_eq!(s.requests.len(), 1);
    // The answer that came late is on record.
    let Server { running, dir, .. } = b.server;
    running.shutdown().await;
    let db = rusqlite::Connection::open(dir.path().join("qbwc.sqlite")).unwrap();
    let (state, answer): (String, String) = db
        .query_row(
            "SELECT state, answer FROM jobs WHERE request LIKE '%Slow One%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "answered");
    assert!(answer.contains("<Name>Slow One</Name>"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_keeps_the_record_and_sends_nothing_twice() {
    let b = start_bridge(2, |_| {}).await;
    let qb = b.qb.clone();
    let Server { running, addr, dir } = b.server;
    let wc0 = TestWc::new(addr, "wc0", WC_PASSWORD, qb[0].clone());
    // c0: a write in QuickBooks' hands when the connector stops.
    let handed = tokio::spawn(async move { post(addr, "ann", &customer_add("Handed Over")).await });
    let ticket = loop {
        let (t, s) = wc0.authenticate().await;
        if s != "none" {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let rq = loop {
        let rq = wc0.send_request(&ticket, true).await;
        if !rq.is_empty() {
            break rq;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let session = qb[0].begin_session();
    let (answer, _, _) = wc0.quickbooks(session, &rq);
    // c1: a job queued, its Web Connector online but not taking it.
    let wc1 = TestWc::new(addr, "wc1", WC_PASSWORD, qb[1].clone());
    wc1.authenticate().await;
    let queued = tokio::spawn(async move {
        post_with(
            addr,
            "cat",
            &[("x-qb-connection", "CompanyFile='c1'")],
            &customer_add("Never Sent"),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.shutdown().await;
    let r = handed.await.unwrap();
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "QBC_QBWC_LOST");
    let r = queued.await.unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "QBC_QBWC_STOPPED");

    // The connector comes back on the same state file.
    let config = bridge_config(dir.path(), 2);
    let server = start_with(users(Connector::new(config).unwrap()), dir, None, None).await;
    let wc0 = TestWc::new(server.addr, "wc0", WC_PASSWORD, qb[0].clone());
    // The Web Connector goes on with its session: the answer is taken.
    let pct = wc0.receive(&ticket, &answer, "", "").await;
    assert!((0..=100).contains(&pct), "{pct}");
    wc0.close(&ticket).await;
    // Nothing is sent again, to either Web Connector.
    let mut wc1 = TestWc::new(server.addr, "wc1", WC_PASSWORD, qb[1].clone());
    wc1.max_noops = 0;
    assert!(wc0.session().await.requests.is_empty());
    assert!(wc1.session().await.requests.is_empty());
    let Server { running, dir, .. } = server;
    running.shutdown().await;
    let db = rusqlite::Connection::open(dir.path().join("qbwc.sqlite")).unwrap();
    let state = |name: &str| -> (String, Option<String>) {
        db.query_row(
            "SELECT state, answer FROM jobs WHERE request LIKE ?1",
            [format!("%{name}%")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    let (s, a) = state("Handed Over");
    assert_eq!(s, "answered");
    assert_eq!(
        a.as_deref(),
        Some(answer.as_str()),
        "QuickBooks' answer, kept"
    );
    assert_eq!(state("Never Sent").0, "withdrawn");
    assert!(!qb[1]
        .process(qb[1].begin_session(), customer_query().as_bytes())
        .unwrap()
        .contains("Never Sent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_per_company_file() {
    let b = start_bridge(2, |_| {}).await;
    let (r, _) = through(&b, &b.wc(0), "ann", &customer_query()).await;
    assert_eq!(r.status, 200);
    let auth = basic("ann", PASSWORD);
    let m = send(
        b.server.addr,
        "GET",
        "/metrics",
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(m.status, 200);
    for line in [
        "qbconnector_qbwc_queue_length{company=\"c0\"} 0",
        "qbconnector_qbwc_jobs_answered_total{company=\"c0\"} 1",
        "qbconnector_qbwc_jobs_answered_total{company=\"c1\"} 0",
        "qbconnector_qbwc_last_contact_seconds{company=\"c1\"} -1",
        "product=\"QuickBooks Enterprise Solutions 23.0 (test)\",version=\"33.0\",country=\"US\"",
    ] {
        assert!(m.body.contains(line), "{line} in\n{}", m.body);
    }
}

/// 100 company files, each with its Web Connector and its client, for
/// QBC_QBWC_LOAD_SECS seconds (30): every client gets its own company's
/// answers, nothing is handed over twice, nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_web_connectors_and_a_hundred_clients() {
    let n = 100;
    let secs: u64 = std::env::var("QBC_QBWC_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let b = start_bridge(n, |c| c.max_connections_per_client = 4096).await;
    let stop_at = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut wcs = Vec::new();
    let mut handles = Vec::new();
    for i in 0..n {
        let mut wc = b.wc(i);
        wc.noop_pause = Duration::from_millis(50);
        wc.noops_after_work = usize::MAX;
        let wc = Arc::new(wc);
        wcs.push(wc.clone());
        handles.push(tokio::spawn(async move {
            while !wc.stop.load(std::sync::atomic::Ordering::SeqCst) {
                wc.session().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    let addr = b.server.addr;
    let clients: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(async move {
                let conn = format!("CompanyFile='c{i}'");
                let mut acked = Vec::new();
                let mut k = 0;
                while tokio::time::Instant::now() < stop_at {
                    let name = format!("C{i}-{k}");
                    k += 1;
                    let r = post_with(
                        addr,
                        "cat",
                        &[("x-qb-connection", &conn)],
                        &customer_add(&name),
                    )
                    .await;
                    assert_eq!(r.status, 200, "{name}: {}", r.body);
                    assert!(
                        r.body.contains(&format!("<Name>{name}</Name>")),
                        "{}",
                        r.body
                    );
                    acked.push(name);
                }
                acked
            })
        })
        .collect();
    let mut total = 0;
    for (i, c) in clients.into_iter().enumerate() {
        let acked = c.await.unwrap();
        total += acked.len();
        // Its company file holds exactly what it was told was added.
        let all = b.qb[i]
            .process(b.qb[i].begin_session(), customer_query().as_bytes())
            .unwrap();
        let held = wc::texts(&all, "Name");
        let mut want = acked.clone();
        want.sort();
        let mut got = held.clone();
        got.sort();
        assert_eq!(got, want, "company c{i}");
        // Each job was handed over once.
        let seen = wcs[i].seen.lock().unwrap().clone();
        assert_eq!(seen.len(), acked.len(), "c{i}: handed over once each");
    }
    for wc in &wcs {
        wc.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    for h in handles {
        h.await.unwrap();
    }
    assert!(total >= n, "every client got answers: {total}");
    eprintln!("{total} requests through {n} Web Connectors in {secs} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_for_several_company_files_through_their_own_paths() {
    let b = start_bridge(2, |c| {
        for co in &mut c.backend.qbwc.companies {
            co.user = "shared".into();
        }
    })
    .await;
    let mut wc1 = b.wc(1);
    wc1.user = "shared".into();
    // Through the shared path the user names no one company file.
    assert_eq!(wc1.authenticate().await.1, "nvu");
    // Through its own path, its own company file's work.
    wc1.path = "/qbwc/c1".into();
    let (r, s) = through_in(&b, &wc1, "cat", Some("c1"), &customer_add("Via Own Path")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.requests.len(), 1);
    let mine = b.qb[1]
        .process(b.qb[1].begin_session(), customer_query().as_bytes())
        .unwrap();
    assert!(mine.contains("Via Own Path"));
    let other = b.qb[0]
        .process(b.qb[0].begin_session(), customer_query().as_bytes())
        .unwrap();
    assert!(!other.contains("Via Own Path"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_in_a_client_session_whose_answer_is_lost_is_lost_not_undone() {
    let b = start_bridge(1, |_| {}).await;
    let ticket = open_session(b.server.addr, "ann").await;
    let auth = basic("ann", PASSWORD);
    let addr = b.server.addr;
    let client = tokio::spawn(async move {
        let h = [
            ("authorization", auth.as_str()),
            ("content-type", "text/xml"),
            ("x-qb-ticket", ticket.as_str()),
        ];
        send(addr, "POST", "/", &h, &customer_add("In A Session")).await
    });
    let wc = b.wc(0);
    let (t, status) = wc.authenticate().await;
    assert_eq!(status, "", "a client session is open");
    let rq = loop {
        let rq = wc.send_request(&t, true).await;
        if !rq.is_empty() {
            break rq;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(rq.contains("In A Session"));
    // The Web Connector session ends without the answer.
    wc.close(&t).await;
    let r = client.await.unwrap();
    // Not 0x8004040D ("nothing happened, start over"): it may be done.
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "QBC_QBWC_LOST");
    // A header that is not a number of seconds.
    let r = post_with(addr, "ann", &[("x-qb-timeout", "soon")], &customer_query()).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_whose_answer_is_lost_is_answered_in_the_next_session() {
    let b = start_bridge(1, |_| {}).await;
    let addr = b.server.addr;
    let client = tokio::spawn(async move { post(addr, "ann", &customer_query()).await });
    let wc = b.wc(0);
    let ticket = loop {
        let (t, s) = wc.authenticate().await;
        if s != "none" {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let rq = loop {
        let rq = wc.send_request(&ticket, true).await;
        if !rq.is_empty() {
            break rq;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The session ends without the answer; the read goes back in line
    // and the next session gets the same request.
    wc.close(&ticket).await;
    let s = wc.session().await;
    assert_eq!(s.requests, [rq]);
    let r = client.await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<CustomerQueryRs"), "{}", r.body);
}
