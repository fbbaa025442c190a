//! The COM backend's logic through the real server, with the fake request
//! processor (`crates/fakeqb`) as its driver and the simulator answering
//! behind it: the call sequence, preferences, sessions kept across
//! requests, QuickBooks' errors with their HRESULT, close-and-retry.
//! (On Windows the same backend drives QBXMLRP2 through COM: see
//! crates/qbconnector/tests/wine.rs for that path, end to end under wine.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;
use fakeqb::{Fault, Processor};
use qbc_server::backend::com::{ComBackend, ComSettings, Driver, DriverError};
use std::sync::{Arc, Mutex};

/// The users' company file.
const ACME: &str = "C:\\books\\acme.qbw";

/// What answers the fake: the simulator.
type Answer = Box<dyn FnMut(&str, &str) -> Result<String, Fault>>;

/// The fake as a driver; its call log shared with the test.
struct Fake {
    p: Processor<Answer>,
    log: Arc<Mutex<Vec<String>>>,
    /// Fail BeginSession with this many of `fail_with` first.
    failures: u32,
    fail_with: u32,
    /// A request with requestID="hold" waits here (QuickBooks hung).
    hold: Option<std::sync::mpsc::Receiver<()>>,
}

impl Fake {
    fn sync(&mut self) {
        let mut log = self.log.lock().unwrap();
        log.clear();
        log.extend(self.p.calls.iter().cloned());
    }
}

fn de(f: Fault) -> DriverError {
    DriverError {
        hresult: f.hresult,
        message: f.message,
    }
}

impl Driver for Fake {
    fn put_is_read_only(&mut self, v: bool) -> Result<(), DriverError> {
        self.p.put_is_read_only(v);
        self.sync();
        Ok(())
    }
    fn put_unattended_mode_pref(&mut self, v: i32) -> Result<(), DriverError> {
        let r = self.p.put_unattended_mode_pref(v).map_err(de);
        self.sync();
        r
    }
    fn put_personal_data_pref(&mut self, v: i32) -> Result<(), DriverError> {
        let r = self.p.put_personal_data_pref(v).map_err(de);
        self.sync();
        r
    }
    fn put_auth_flags(&mut self, f: u32) -> Result<(), DriverError> {
        self.p.put_auth_flags(f);
        self.sync();
        Ok(())
    }
    fn open_connection2(&mut self, id: &str, name: &str, t: i32) -> Result<(), DriverError> {
        let r = self.p.open_connection2(id, name, t).map_err(de);
        self.sync();
        r
    }
    fn begin_session(&mut self, file: &str, mode: i32) -> Result<String, DriverError> {
        if self.failures > 0 {
            self.failures -= 1;
            self.log
                .lock()
                .unwrap()
                .push(format!("injected {:#x}", self.fail_with));
            return Err(de(Fault::qb(self.fail_with)));
        }
        let r = self.p.begin_session(file, mode).map_err(de);
        self.sync();
        r
    }
    fn process_request(&mut self, t: &str, rq: &str) -> Result<String, DriverError> {
        if rq.contains("requestID=\"hold\"") {
            if let Some(h) = &self.hold {
                let _ = h.recv();
            }
        }
        // QuickBooks restarted under the session: its ticket is stale.
        if rq.contains("requestID=\"crash\"") {
            let _ = self.p.close_connection();
        }
        // What reached QuickBooks, whole (for the encoding test).
        self.p.calls.push(format!("Received({rq})"));
        let r = self.p.process_request(t, rq).map_err(de);
        self.sync();
        r
    }
    fn end_session(&mut self, t: &str) -> Result<(), DriverError> {
        let r = self.p.end_session(t).map_err(de);
        self.sync();
        r
    }
    fn close_connection(&mut self) -> Result<(), DriverError> {
        let r = self.p.close_connection().map_err(de);
        self.sync();
        r
    }
    fn current_company_file_name(&mut self, t: &str) -> Result<String, DriverError> {
        self.p.current_company_file_name(t).map_err(de)
    }
    fn end_quickbooks(&mut self) -> bool {
        self.p.calls.push("EndQuickBooks".into());
        self.sync();
        true
    }
}

/// A server whose backend is the COM logic over the fake, the fake
/// answering from a simulator company file in `dir`.
async fn start_com(
    settings: ComSettings,
    failures: u32,
    fail_with: u32,
) -> (Server, Arc<Mutex<Vec<String>>>) {
    start_com_holding(settings, failures, fail_with, None).await
}

async fn start_com_holding(
    settings: ComSettings,
    failures: u32,
    fail_with: u32,
    hold: Option<std::sync::mpsc::Receiver<()>>,
) -> (Server, Arc<Mutex<Vec<String>>>) {
    start_com_configured(settings, failures, fail_with, hold, |_| {}).await
}

async fn start_com_configured(
    settings: ComSettings,
    failures: u32,
    fail_with: u32,
    hold: Option<std::sync::mpsc::Receiver<()>>,
    edit: impl FnOnce(&mut qbc_server::Config),
) -> (Server, Arc<Mutex<Vec<String>>>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("books.qbsim");
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let backend = ComBackend::spawn(
        move || {
            let company =
                qbsim::Company::open(&path, qbsim::Config::default()).map_err(|e| DriverError {
                    hresult: 0x8004_0401,
                    message: e.to_string(),
                })?;
            let session = company.begin_session();
            let answer: Answer = Box::new(move |_f: &str, rq: &str| {
                company.process(session, rq.as_bytes()).map_err(|f| Fault {
                    hresult: f.hresult.0,
                    message: f.message.clone(),
                })
            });
            Ok(Fake {
                p: Processor::new(answer),
                log: l,
                failures,
                fail_with,
                hold,
            })
        },
        settings,
    )
    .unwrap();
    // QuickBooks' company files are full Windows paths. The configuration
    // names the memory backend only so that its check (which knows the
    // COM backend needs Windows) lets the test's own backend in.
    let c = connector(config(dir.path()));
    c.change(|cfg| {
        cfg.backend.kind = qbc_server::BackendKind::Memory;
        for u in &mut cfg.users {
            if u.connection().company_file.as_deref() == Some("acme.qbw") {
                u.company_file = Some(ACME.into());
            }
        }
        edit(cfg);
        Ok(())
    })
    .unwrap();
    let s = start_with(c, dir, Some(Arc::new(backend)), None).await;
    (s, log)
}

#[tokio::test]
async fn a_request_goes_through_the_whole_sequence() {
    let (s, log) = start_com(ComSettings::default(), 0, 0).await;
    let r = post(s.addr, "ann", &customer_add("Harbor Lights")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("<FullName>Harbor Lights</FullName>"),
        "{}",
        r.body
    );
    let calls = log.lock().unwrap().clone();
    // (Received(…) is the test's own record of what reached QuickBooks.)
    let names: Vec<&str> = calls
        .iter()
        .filter(|c| !c.starts_with("Received("))
        .map(|c| c.split('(').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "PutIsReadOnly",
            "PutUnattendedModePref",
            "PutPersonalDataPref",
            "PutAuthFlags",
            "OpenConnection2",
            "BeginSession",
            "ProcessRequest",
            "EndSession",
            "CloseConnection"
        ],
        "{calls:?}"
    );
    // The type library's values: localQBD 1, DoNotCare 2, AuthFlags 0xF.
    assert!(
        calls
            .iter()
            .any(|c| c.ends_with(", 1)") && c.starts_with("OpenConnection2")),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c == "BeginSession(\"C:\\\\books\\\\acme.qbw\", 2)"),
        "{calls:?}"
    );
    assert!(calls.iter().any(|c| c == "PutAuthFlags(0xf)"), "{calls:?}");
    assert!(
        calls.iter().any(|c| c == "PutIsReadOnly(false)"),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_read_only_users_preference_reaches_quickbooks() {
    let (s, log) = start_com(ComSettings::default(), 0, 0).await;
    let r = post(s.addr, "rob", &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(log
        .lock()
        .unwrap()
        .iter()
        .any(|c| c == "PutIsReadOnly(true)"));
}

#[tokio::test]
async fn a_persistent_session_keeps_one_quickbooks_session() {
    let (s, log) = start_com(ComSettings::default(), 0, 0).await;
    let ticket = open_session(s.addr, "ann").await;
    for i in 0..3 {
        let r = post_with(
            s.addr,
            "ann",
            &[("x-qb-ticket", &ticket)],
            &customer_add(&format!("C{i}")),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    {
        let calls = log.lock().unwrap();
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.starts_with("BeginSession"))
                .count(),
            1,
            "{calls:?}"
        );
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.starts_with("ProcessRequest"))
                .count(),
            3,
            "{calls:?}"
        );
        assert!(
            !calls.iter().any(|c| c.starts_with("EndSession")),
            "{calls:?}"
        );
    }
    assert_eq!(close_session(s.addr, "ann", &ticket).await.status, 204);
    let calls = log.lock().unwrap();
    assert!(
        calls.iter().any(|c| c.starts_with("EndSession")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn quickbooks_failing_to_start_reaches_the_client() {
    let (s, _log) = start_com(ComSettings::default(), 1, 0x8004_0408).await;
    assert_eq!(send(s.addr, "GET", "/healthz", &[], "").await.status, 200);
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "0x80040408");
    assert!(r.body.contains("Could not start QuickBooks."), "{}", r.body);
    // QuickBooks is unreachable: health says so.
    assert_eq!(send(s.addr, "GET", "/healthz", &[], "").await.status, 503);
}

#[tokio::test]
async fn a_refused_application_does_not_mark_quickbooks_down() {
    // 0x80040418: this application was never authorized for the file —
    // about one request's settings, not QuickBooks being unreachable.
    let (s, _log) = start_com(ComSettings::default(), 1, 0x8004_0418).await;
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "0x80040418");
    assert_eq!(send(s.addr, "GET", "/healthz", &[], "").await.status, 200);
}

#[tokio::test]
async fn a_lost_quickbooks_session_is_dropped_and_the_next_request_reconnects() {
    let (s, log) = start_com(ComSettings::default(), 0, 0).await;
    let ticket = open_session(s.addr, "ann").await;
    let crash = qbxml(
        "<CustomerQueryRq requestID=\"crash\"><MaxReturned>1</MaxReturned></CustomerQueryRq>",
    );
    let r = post_with(s.addr, "ann", &[("x-qb-ticket", &ticket)], &crash).await;
    // The connector's own ticket went stale: QuickBooks failed (502), not
    // the client's request.
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "0x8004040D");
    // The server's session that shared it is gone too.
    let r = post_with(
        s.addr,
        "ann",
        &[("x-qb-ticket", &ticket)],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "0x8004040D");
    // A new request opens a new QuickBooks session instead of failing on
    // the dead one.
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let calls = log.lock().unwrap().clone();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("OpenConnection2"))
            .count(),
        2,
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_client_cannot_force_the_authorization_dialog() {
    let (s, log) = start_com(ComSettings::default(), 0, 0).await;
    let r = post_with(
        s.addr,
        "ann",
        &[("x-qb-connection", "AuthFlags=0x8000000F")],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let calls = log.lock().unwrap().clone();
    assert!(calls.iter().any(|c| c == "PutAuthFlags(0xf)"), "{calls:?}");
}

/// The server's side wins for AuthFlags too: a client may narrow the
/// editions the configuration allows, not widen them.
#[tokio::test]
async fn a_client_may_only_narrow_auth_flags() {
    let settings = ComSettings {
        auth_flags: 0x6, // Pro and Premier only
        ..ComSettings::default()
    };
    let (s, log) = start_com(settings, 0, 0).await;
    let r = post_with(
        s.addr,
        "ann",
        &[("x-qb-connection", "AuthFlags=0xF")],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_with(
        s.addr,
        "ann",
        &[("x-qb-connection", "AuthFlags=0x8")],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("allows none"), "{}", r.body);
    let calls = log.lock().unwrap().clone();
    assert!(calls.iter().any(|c| c == "PutAuthFlags(0x6)"), "{calls:?}");
    assert!(!calls.iter().any(|c| c == "PutAuthFlags(0xf)"), "{calls:?}");
    use qbc_server::backend::com::effective_auth_flags as eff;
    assert_eq!(eff(0xF, None), Ok(0xF));
    assert_eq!(eff(0xF, Some(0x2)), Ok(0x2));
    assert_eq!(eff(0x8000_000F, Some(0x1)), Ok(0x8000_0001));
    assert_eq!(eff(0x6, Some(0x8000_000F)), Ok(0x6));
    assert!(eff(0x6, Some(0x9)).is_err());
}

#[test]
fn company_files_are_full_local_paths() {
    use qbc_server::backend::com::check_company_path as check;
    for ok in ["", "C:\\Data\\Acme.qbw", "d:/books/acme.qbw"] {
        assert_eq!(check(ok, false), Ok(()), "{ok}");
    }
    for (bad, why) in [
        ("acme.qbw", "full path"),
        ("..\\acme.qbw", "full path"),
        ("C:\\Data\\..\\Windows\\x.qbw", "`..`"),
        ("\\\\evil\\share\\x.qbw", "network shares"),
        ("//evil/share/x.qbw", "network shares"),
        ("\\\\?\\C:\\x.qbw", "device paths"),
        ("\\\\.\\pipe\\x", "device paths"),
        ("C:\\a\u{7}.qbw", "control"),
        // Devices, streams and second spellings, in any part.
        ("C:\\books\\COM1", "device"),
        ("C:\\NUL\\acme.qbw", "device"),
        ("C:\\books\\LPT\u{b2}.qbw", "device"),
        ("C:\\books\\acme.qbw:evil", "does not allow"),
        ("C:\\books\\acme.qbw.", "end with a dot"),
        ("C:\\books \\acme.qbw", "end with a dot or space"),
        ("C:\\books\\a|b.qbw", "does not allow"),
    ] {
        let e = check(bad, false).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
    assert_eq!(check("\\\\server\\share\\acme.qbw", true), Ok(()));
    assert!(check("\\\\?\\C:\\x.qbw", true).is_err());
}

#[tokio::test]
async fn close_and_retry_retries_listed_errors_only() {
    let settings = ComSettings {
        close_and_retry: true,
        retry_count: 2,
        ..ComSettings::default()
    };
    // Listed (0x80040408): two failures, then it works.
    let (s, log) = start_com(settings.clone(), 2, 0x8004_0408).await;
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ends = log
        .lock()
        .unwrap()
        .iter()
        .filter(|c| *c == "EndQuickBooks")
        .count();
    assert_eq!(ends, 2);
    // Not listed (0x80040420, the user denied access): no retry.
    let (s, log) = start_com(settings, 1, 0x8004_0420).await;
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.code(), "0x80040420");
    assert!(!log.lock().unwrap().iter().any(|c| c == "EndQuickBooks"));
}

#[tokio::test]
async fn sessions_on_one_file_share_quickbooks_session_and_others_are_refused() {
    let (s, log) = start_com(ComSettings::default(), 0, 0).await;
    let ticket = open_session(s.addr, "ann").await;
    // A request without a ticket, same user and file, while the session
    // is open: it joins QuickBooks' session instead of connecting again
    // (the request processor has one connection).
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    {
        let calls = log.lock().unwrap();
        let count = |p: &str| calls.iter().filter(|c| c.starts_with(p)).count();
        assert_eq!(count("OpenConnection2"), 1, "{calls:?}");
        assert_eq!(count("BeginSession"), 1, "{calls:?}");
        assert_eq!(count("EndSession"), 0, "{calls:?}");
    }
    // A read-only user would need other preferences: refused, and the
    // open session is untouched.
    let r = post(s.addr, "rob", &customer_query()).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("other settings"), "{}", r.body);
    let r = post_with(
        s.addr,
        "ann",
        &[("x-qb-ticket", &ticket)],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(close_session(s.addr, "ann", &ticket).await.status, 204);
    let calls = log.lock().unwrap().clone();
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("EndSession")).count(),
        1,
        "{calls:?}"
    );
    assert_eq!(calls.last().map(String::as_str), Some("CloseConnection()"));
}

#[tokio::test]
async fn a_hung_quickbooks_call_shows_in_health_until_it_returns() {
    let (release, hold) = std::sync::mpsc::channel();
    let settings = ComSettings {
        hung_after: std::time::Duration::from_millis(200),
        ..ComSettings::default()
    };
    let (s, _log) = start_com_holding(settings, 0, 0, Some(hold)).await;
    let addr = s.addr;
    let stuck = tokio::spawn(async move {
        let rq = qbxml(
            "<CustomerQueryRq requestID=\"hold\"><MaxReturned>1</MaxReturned></CustomerQueryRq>",
        );
        post(addr, "ann", &rq).await
    });
    // Eventually (the call stays stuck until released): 503.
    let mut status = 0;
    for _ in 0..300 {
        status = send(addr, "GET", "/healthz", &[], "").await.status;
        if status == 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 503);
    release.send(()).unwrap();
    let r = stuck.await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(send(addr, "GET", "/healthz", &[], "").await.status, 200);
}

/// One company file however a client spells it (case, `/`, doubled
/// separators): one queue, and one QuickBooks session that a request
/// spelling it otherwise joins instead of QuickBooks' 0x8004040A.
#[tokio::test]
async fn another_spelling_of_the_open_file_joins_its_session() {
    let (s, log) = start_com(ComSettings::default(), 0, 0).await;
    let auth = basic("cat", PASSWORD);
    let r = send(
        s.addr,
        "POST",
        "/session",
        &[
            ("authorization", &auth),
            ("x-qb-connection", "CompanyFile='C:\\books\\acme.qbw'"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ticket = r.header("x-qb-ticket").to_string();
    for spelling in ["c:/BOOKS//Acme.QBW", "C:\\\\books\\acme.qbw"] {
        let r = post_with(
            s.addr,
            "cat",
            &[("x-qb-connection", &format!("CompanyFile='{spelling}'"))],
            &customer_query(),
        )
        .await;
        assert_eq!(r.status, 200, "{spelling}: {}", r.body);
    }
    let calls = log.lock().unwrap().clone();
    let count = |p: &str| calls.iter().filter(|c| c.starts_with(p)).count();
    assert_eq!(count("BeginSession"), 1, "{calls:?}");
    assert_eq!(close_session(s.addr, "cat", &ticket).await.status, 204);
}

/// A body in ISO-8859-1 or windows-1252 reaches QuickBooks as the UTF-8
/// text that was validated, declared as UTF-8: its accented names intact
/// (they used to arrive as U+FFFD), and read back the same.
#[tokio::test]
async fn latin_1_and_windows_1252_bodies_reach_quickbooks_intact() {
    let (s, log) = start_com(ComSettings::default(), 0, 0).await;
    for (encoding, bytes, name) in encoded_adds() {
        let r = post_bytes(s.addr, "ann", &bytes).await;
        assert_eq!(r.status, 200, "{encoding}: {}", r.body);
        assert!(
            r.body.contains("statusCode=\"0\""),
            "{encoding}: {}",
            r.body
        );
        let calls = log.lock().unwrap().clone();
        let received = calls
            .iter()
            .rev()
            .find(|c| c.starts_with("Received("))
            .unwrap();
        assert!(received.contains(&name), "{encoding}: {received}");
        assert!(received.contains("encoding=\"UTF-8\""), "{received}");
        assert!(!received.contains('\u{FFFD}'), "{received}");
        let q = post(s.addr, "ann", &customer_query()).await;
        assert!(
            q.body.contains(&format!("<Name>{name}</Name>")),
            "{}",
            q.body
        );
    }
}

/// `connected_to_qb`: a hundred requests without a ticket on one
/// QuickBooks connection and session; when QuickBooks drops it, the next
/// request opens it again; shutdown closes it.
#[tokio::test]
async fn connected_to_qb_keeps_one_session_for_everyone() {
    let (s, log) = start_com_configured(ComSettings::default(), 0, 0, None, |c| {
        c.backend.connected_to_qb = true;
        c.default_connection.connection = format!("CompanyFile='{ACME}'");
    })
    .await;
    let count = |name: &str| {
        log.lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with(&format!("{name}(")))
            .count()
    };
    for i in 0..100 {
        // ann writes, rob (read-only) reads: both on the kept session.
        let r = match i % 2 {
            0 => post(s.addr, "ann", &customer_add(&format!("Kept {i}"))).await,
            _ => post(s.addr, "rob", &customer_query()).await,
        };
        assert_eq!(r.status, 200, "{i}: {}", r.body);
    }
    assert_eq!(count("OpenConnection2"), 1);
    assert_eq!(count("BeginSession"), 1);
    assert_eq!(count("ProcessRequest"), 100);
    assert_eq!(count("EndSession"), 0);
    // The read-only rule still holds on it.
    let r = post(s.addr, "rob", &customer_add("Not Kept")).await;
    assert_eq!(r.code(), "QBC_READ_ONLY", "{r:?}");
    // A read-only user's own ticket joins it (without connected_to_qb, a
    // read-only session beside a read-write one is refused).
    let ticket = open_session(s.addr, "rob").await;
    let r = post_with(
        s.addr,
        "rob",
        &[("x-qb-ticket", &ticket)],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(close_session(s.addr, "rob", &ticket).await.status, 204);
    assert_eq!(count("BeginSession"), 1);
    assert_eq!(count("EndSession"), 0, "the kept session stays open");

    // QuickBooks drops the session under a request: that request fails
    // (QuickBooks' error), the next one opens the session again.
    let crash = qbxml("<HostQueryRq requestID=\"crash\"/>");
    let r = post(s.addr, "ann", &crash).await;
    assert_eq!(r.status, 502, "{}", r.body);
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(count("BeginSession"), 2, "{:#?}", log.lock().unwrap());

    // Another company file is not on it (QuickBooks has one open: its own
    // answer, 0x8004040A, as without connected_to_qb).
    let r = post_with(
        s.addr,
        "cat",
        &[("x-qb-connection", "CompanyFile='C:\\books\\other.qbw'")],
        &host_query(),
    )
    .await;
    assert_eq!(r.code(), "0x8004040A", "{r:?}");

    // Shutdown closes it (QuickBooks ended the first one itself).
    let ended = count("EndSession");
    s.running.shutdown().await;
    assert_eq!(count("EndSession"), ended + 1, "{:#?}", log.lock().unwrap());
    let last = log.lock().unwrap().last().cloned().unwrap_or_default();
    assert_eq!(last, "CloseConnection()", "QuickBooks left as it was found");
}
