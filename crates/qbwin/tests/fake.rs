//! `qbwin::com` against the fake request processor (`fakeqb.dll`,
//! registered in the wine prefix by `.ci/wine-tests`): the late-bound
//! calls, both failure styles, and the rules a type-library IDispatch
//! enforces. Windows only; without the registration every test says it
//! skipped.
#![cfg(windows)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbwin::com::{Apartment, Arg, ComError, RequestProcessor, PROGID};
use std::sync::OnceLock;

const HOST_QUERY: &str = "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><HostQueryRq requestID=\"1\"/></QBXMLMsgsRq></QBXML>";

/// A company file for the fake (FAKEQB_DATA), made once per process.
fn data() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        drop(qbsim::Company::open(&d.path().join("acme.qbw"), qbsim::Config::default()).unwrap());
        std::env::set_var("FAKEQB_DATA", d.path());
        d
    })
    .path()
}

/// The fake, or None (and a message) when it is not registered.
fn fake() -> Option<RequestProcessor> {
    data();
    match RequestProcessor::create(PROGID) {
        Ok(rp) => Some(rp),
        Err(e) if e.hresult == 0x8004_01F3 || e.hresult == 0x8004_0154 => {
            eprintln!(
                "SKIP: {PROGID} is not registered ({e}); .ci/wine-tests registers fakeqb.dll"
            );
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn connect(rp: &mut RequestProcessor) -> String {
    rp.put_is_read_only(true).unwrap();
    rp.put_unattended_mode_pref(2).unwrap();
    rp.put_personal_data_pref(3).unwrap();
    rp.put_auth_flags(0x8000_000F).unwrap();
    rp.open_connection2("", "qbwin tests", 1).unwrap();
    rp.begin_session("C:\\books\\acme.qbw", 2).unwrap()
}

#[test]
fn the_whole_sequence_through_idispatch() {
    let _sta = Apartment::enter().unwrap();
    let Some(mut rp) = fake() else { return };
    let ticket = connect(&mut rp);
    assert!(ticket.starts_with('{'), "{ticket}");
    // A property get returning a SAFEARRAY of BSTRs.
    let versions = rp.qbxml_versions_for_session(&ticket).unwrap();
    assert_eq!(versions.first().map(String::as_str), Some("1.0"));
    assert_eq!(versions.last().map(String::as_str), Some("16.0"));
    assert_eq!(
        rp.current_company_file_name(&ticket).unwrap(),
        "C:\\books\\acme.qbw"
    );
    // The preferences came before the connection.
    assert!(rp.was_auth_preferences_obeyed(&ticket).unwrap());
    let rs = rp.process_request(&ticket, HOST_QUERY).unwrap();
    assert!(
        rs.contains("<HostQueryRs requestID=\"1\" statusCode=\"0\""),
        "{rs}"
    );
    rp.end_session(&ticket).unwrap();
    // The ticket is stale now.
    let e = rp.process_request(&ticket, HOST_QUERY).unwrap_err();
    assert_eq!(e.hresult, 0x8004_040D, "{e}");
    rp.close_connection().unwrap();
}

#[test]
fn failures_come_with_excepinfo() {
    let _sta = Apartment::enter().unwrap();
    let Some(mut rp) = fake() else { return };
    rp.open_connection2("", "qbwin tests", 1).unwrap();
    let e = rp
        .begin_session("C:\\books\\cannot-start.qbw", 2)
        .unwrap_err();
    assert_eq!(
        e,
        ComError {
            hresult: 0x8004_0408,
            message: "Could not start QuickBooks.".into(),
            source: Some("QBXMLRP2.RequestProcessor.1".into()),
            from_excepinfo: true,
        }
    );
    assert_eq!(e.to_string(), "0x80040408: Could not start QuickBooks.");
}

#[test]
fn failures_come_as_a_plain_hresult_with_ierrorinfo() {
    let _sta = Apartment::enter().unwrap();
    let Some(mut rp) = fake() else { return };
    rp.open_connection2("", "qbwin tests", 1).unwrap();
    let e = rp
        .begin_session("C:\\books\\raw-hresult.qbw", 2)
        .unwrap_err();
    assert_eq!(e.hresult, 0x8004_0403, "{e:?}");
    assert!(!e.from_excepinfo, "{e:?}");
    assert_eq!(
        e.message, "Could not open the specified QuickBooks company data file.",
        "{e:?}"
    );
    // The next plain failure, which leaves no error info of its own, does
    // not carry that message along (reading the error info takes it, and
    // the thread's error info is cleared before each call anyway).
    let e = rp
        .call_raw("BeginSession", false, &[Arg::Str("x")])
        .unwrap_err();
    assert_eq!(e.hresult, 0x8002_000E, "{e:?}");
    assert!(!e.from_excepinfo, "{e:?}");
    assert!(!e.message.contains("company data file"), "{e:?}");
}

#[test]
fn qbxml_quickbooks_cannot_parse_is_0x80040400() {
    let _sta = Apartment::enter().unwrap();
    let Some(mut rp) = fake() else { return };
    let ticket = connect(&mut rp);
    let e = rp.process_request(&ticket, "<QBXML><oops").unwrap_err();
    assert_eq!(e.hresult, 0x8004_0400, "{e}");
    assert!(e.from_excepinfo);
}

#[test]
fn the_type_librarys_rules() {
    let _sta = Apartment::enter().unwrap();
    let Some(mut rp) = fake() else { return };
    // A [propget] called as a method.
    let e = rp.call_raw("AuthPreferences", false, &[]).unwrap_err();
    assert_eq!(e.hresult, 0x8002_0003, "DISP_E_MEMBERNOTFOUND: {e}");
    // A method called as a property.
    let e = rp.call_raw("CloseConnection", true, &[]).unwrap_err();
    assert_eq!(e.hresult, 0x8002_0003, "{e}");
    // Unknown names, whatever their case.
    let e = rp.call_raw("OpenConnection3", false, &[]).unwrap_err();
    assert_eq!(e.hresult, 0x8002_0006, "DISP_E_UNKNOWNNAME: {e}");
    assert!(e.message.starts_with("OpenConnection3"), "{e}");
    assert!(rp
        .call_raw("closeconnection", false, &[])
        .is_err_and(|e| e.hresult == 0x8004_0401));
    // Arguments: counted and coerced.
    let e = rp
        .call_raw("BeginSession", false, &[Arg::Str("x")])
        .unwrap_err();
    assert_eq!(e.hresult, 0x8002_000E, "DISP_E_BADPARAMCOUNT: {e}");
    let e = rp
        .call_raw("BeginSession", false, &[Arg::Str("x"), Arg::Str("two")])
        .unwrap_err();
    assert_eq!(e.hresult, 0x8002_0005, "DISP_E_TYPEMISMATCH: {e}");
    // "1" coerces to the I4 1, as VARIANT rules say.
    rp.call_raw(
        "OpenConnection2",
        false,
        &[Arg::Str(""), Arg::Str("App"), Arg::Str("1")],
    )
    .unwrap();
    // Enumeration values outside the type library's.
    let e = rp.begin_session("C:\\books\\acme.qbw", 5).unwrap_err();
    assert_eq!(e.hresult, 0x8007_0057, "E_INVALIDARG: {e}");
}

#[test]
fn a_missing_request_processor_is_reported() {
    let _sta = Apartment::enter().unwrap();
    let e = match RequestProcessor::create("QBXMLRP2.NotInstalled") {
        Ok(_) => panic!("created an object for a ProgID nobody registered"),
        Err(e) => e,
    };
    assert_eq!(e.hresult, 0x8004_01F3, "CO_E_CLASSSTRING: {e}");
}
