//! The request processor's rules, as the COM backend will meet them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fakeqb::{typelib::*, Fault, Processor, E_INVALIDARG};

const HOST_QUERY: &str = "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><HostQueryRq requestID=\"1\"/></QBXMLMsgsRq></QBXML>";

fn echo() -> impl FnMut(&str, &str) -> Result<String, Fault> {
    |file: &str, _rq: &str| Ok(format!("answered for {file}"))
}

#[test]
fn the_whole_sequence_with_preferences_first() {
    let mut p = Processor::new(echo());
    p.put_is_read_only(true);
    p.put_unattended_mode_pref(UMP_REQUIRED).unwrap();
    p.put_personal_data_pref(PDP_NOT_NEEDED).unwrap();
    p.put_auth_flags(0xF);
    p.open_connection2("", "Acme Sync", CONN_LOCAL_QBD).unwrap();
    let t = p
        .begin_session("C:\\books\\acme.qbw", FILE_DO_NOT_CARE)
        .unwrap();
    assert!(t.starts_with('{') && t.ends_with('}'), "{t}");
    assert_eq!(
        p.qbxml_versions_for_session(&t)
            .unwrap()
            .last()
            .map(String::as_str),
        Some("16.0")
    );
    assert_eq!(
        p.current_company_file_name(&t).unwrap(),
        "C:\\books\\acme.qbw"
    );
    assert!(p.was_auth_preferences_obeyed(&t).unwrap());
    // One session serves many requests.
    for _ in 0..3 {
        assert_eq!(
            p.process_request(&t, HOST_QUERY).unwrap(),
            "answered for C:\\books\\acme.qbw"
        );
    }
    p.end_session(&t).unwrap();
    p.close_connection().unwrap();
    assert!(p.prefs().read_only);
    assert_eq!(p.prefs().auth_flags, Some(0xF));
    assert_eq!(
        p.calls
            .iter()
            .filter(|c| c.starts_with("BeginSession"))
            .count(),
        1
    );
    assert_eq!(
        p.calls
            .iter()
            .filter(|c| c.starts_with("ProcessRequest"))
            .count(),
        3
    );
}

#[test]
fn order_tickets_and_files() {
    let mut p = Processor::new(echo());
    // A session needs a connection.
    assert_eq!(
        p.begin_session("a.qbw", FILE_SINGLE_USER)
            .unwrap_err()
            .hresult,
        0x8004_0401
    );
    p.open_connection2("", "App", CONN_LOCAL_QBD).unwrap();
    assert_eq!(
        p.open_connection2("", "App", CONN_LOCAL_QBD)
            .unwrap_err()
            .hresult,
        0x8004_0402
    );
    let t = p.begin_session("a.qbw", FILE_MULTI_USER).unwrap();
    // Another file while one is open: QuickBooks' 0x8004040A.
    let e = p.begin_session("b.qbw", FILE_MULTI_USER).unwrap_err();
    assert_eq!(e.hresult, 0x8004_040A);
    assert!(
        e.message
            .starts_with("QuickBooks company data file is already open"),
        "{e}"
    );
    // A wrong ticket, and the right one after EndSession: 0x8004040D.
    assert_eq!(
        p.process_request("{nope}", HOST_QUERY).unwrap_err().hresult,
        0x8004_040D
    );
    p.end_session(&t).unwrap();
    assert_eq!(
        p.process_request(&t, HOST_QUERY).unwrap_err().hresult,
        0x8004_040D
    );
    // No file and no running QuickBooks.
    assert_eq!(
        p.begin_session("", FILE_DO_NOT_CARE).unwrap_err().hresult,
        0x8004_0416
    );
    p.close_connection().unwrap();
    assert_eq!(p.close_connection().unwrap_err().hresult, 0x8004_0401);
}

#[test]
fn the_type_librarys_values_and_no_others() {
    let mut p = Processor::new(echo());
    // Values some public projects use by mistake (LaunchUI = 2 is remote,
    // DoNotCare = 0 is single-user): refused or taken for what they are.
    assert_eq!(
        p.open_connection2("", "App", 5).unwrap_err().hresult,
        E_INVALIDARG
    );
    assert_eq!(
        p.open_connection2("", "App", CONN_UNKNOWN)
            .unwrap_err()
            .hresult,
        E_INVALIDARG
    );
    assert_eq!(
        p.open_connection2("", "App", CONN_REMOTE_QBD)
            .unwrap_err()
            .hresult,
        0x8004_042A
    );
    p.open_connection2("", "App", CONN_LOCAL_QBD_LAUNCH_UI)
        .unwrap();
    assert_eq!(
        p.begin_session("a.qbw", 3).unwrap_err().hresult,
        E_INVALIDARG
    );
    let t = p.begin_session("a.qbw", FILE_SINGLE_USER).unwrap();
    assert_eq!(p.session_mode(), Some(FILE_SINGLE_USER));
    p.end_session(&t).unwrap();
    assert_eq!(
        p.put_unattended_mode_pref(0).unwrap_err().hresult,
        E_INVALIDARG
    );
    assert_eq!(
        p.put_personal_data_pref(4).unwrap_err().hresult,
        E_INVALIDARG
    );
}

#[test]
fn preferences_set_too_late_are_not_obeyed() {
    let mut p = Processor::new(echo());
    p.open_connection2("", "App", CONN_LOCAL_QBD).unwrap();
    p.put_is_read_only(true);
    let t = p.begin_session("a.qbw", FILE_DO_NOT_CARE).unwrap();
    assert!(!p.was_auth_preferences_obeyed(&t).unwrap());
}

#[test]
fn injected_failures_and_bad_xml() {
    let mut p = Processor::new(echo());
    p.open_connection2("", "App", CONN_LOCAL_QBD).unwrap();
    for (name, code) in fakeqb::INJECTED {
        let e = p
            .begin_session(&format!("C:\\x\\{name}.qbw"), FILE_DO_NOT_CARE)
            .unwrap_err();
        assert_eq!(e.hresult, *code, "{name}");
        assert!(!e.message.is_empty(), "{name}");
    }
    let e = p
        .begin_session("C:\\x\\cannot-start.qbw", FILE_DO_NOT_CARE)
        .unwrap_err();
    assert_eq!(e.to_string(), "0x80040408: Could not start QuickBooks.");
    let t = p.begin_session("ok.qbw", FILE_DO_NOT_CARE).unwrap();
    let e = p.process_request(&t, "<QBXML><not closed").unwrap_err();
    assert_eq!(e.hresult, 0x8004_0400);
    assert_eq!(
        e.message,
        "QuickBooks found an error when parsing the provided XML text stream."
    );
}

/// The fake answers from the simulator: what the COM backend's tests will
/// see under wine is QuickBooks' behaviour as the simulator gives it.
#[test]
fn answers_from_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let company =
        qbsim::Company::open(&dir.path().join("acme.qbsim"), qbsim::Config::default()).unwrap();
    let session = company.begin_session();
    let mut p = Processor::new(|_file: &str, rq: &str| {
        company.process(session, rq.as_bytes()).map_err(|f| Fault {
            hresult: f.hresult.0,
            message: f.message.clone(),
        })
    });
    p.open_connection2("", "App", CONN_LOCAL_QBD).unwrap();
    let t = p.begin_session("acme.qbw", FILE_DO_NOT_CARE).unwrap();
    let rs = p.process_request(&t, HOST_QUERY).unwrap();
    assert!(
        rs.contains("<HostQueryRs requestID=\"1\" statusCode=\"0\""),
        "{rs}"
    );
}
