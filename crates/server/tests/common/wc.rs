//! A test Web Connector: plays QBWC against the connector's SOAP endpoint
//! (the bytes a .NET document/literal client sends), with the simulator
//! as the QuickBooks behind it. The real Web Connector cannot run here.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{send, Resp};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const NS: &str = "http://developer.intuit.com/";

/// One SOAP call: (operation, [(parameter, value)]).
pub async fn call(addr: SocketAddr, path: &str, op: &str, params: &[(&str, &str)]) -> Resp {
    let mut parts = String::new();
    for (k, v) in params {
        let mut e = String::new();
        qbxml::escape_into(&mut e, v);
        parts.push_str(&format!("<{k}>{e}</{k}>"));
    }
    let env = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope \
         xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body><{op} xmlns=\"{NS}\">{parts}</{op}></soap:Body></soap:Envelope>"
    );
    let action = format!("\"{NS}{op}\"");
    send(
        addr,
        "POST",
        path,
        &[
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", &action),
        ],
        &env,
    )
    .await
}

/// The texts of every element named `name` (local name), unescaped.
pub fn texts(xml: &str, name: &str) -> Vec<String> {
    let mut r = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) if e.local_name().as_ref() == name => cur = Some(String::new()),
            Event::Empty(e) if e.local_name().as_ref() == name => out.push(String::new()),
            Event::Text(t) => {
                if let Some(c) = cur.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::GeneralRef(g) => {
                if let Some(c) = cur.as_mut() {
                    let ch = match &*g {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => g.resolve_char_ref().unwrap().unwrap(),
                    };
                    c.push(ch);
                }
            }
            Event::End(e) if e.local_name().as_ref() == name => {
                if let Some(c) = cur.take() {
                    out.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The result of a string-valued call.
pub fn result(resp: &Resp, op: &str) -> String {
    assert_eq!(resp.status, 200, "{op}: {}", resp.body);
    texts(&resp.body, &format!("{op}Result"))
        .pop()
        .unwrap_or_else(|| panic!("{op}: no result in {}", resp.body))
}

/// The HCP response QuickBooks gives on a session's first call; with
/// the FileID the Web Connector wrote under an application's OwnerID.
pub fn hcp(company: &str, file_id: Option<(&str, &str)>) -> String {
    let ext = file_id.map_or(String::new(), |(owner, id)| {
        format!(
            "<DataExtRet><OwnerID>{owner}</OwnerID>\
             <DataExtName>FileID</DataExtName><DataExtType>STR255TYPE</DataExtType>\
             <DataExtValue>{id}</DataExtValue></DataExtRet>"
        )
    });
    format!(
        "<?xml version=\"1.0\" ?><QBXML><QBXMLMsgsRs>\
         <HostQueryRs requestID=\"0\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\"><HostRet>\
         <ProductName>QuickBooks Enterprise Solutions 23.0 (test)</ProductName><MajorVersion>33</MajorVersion>\
         <MinorVersion>0</MinorVersion><Country>US</Country><SupportedQBXMLVersion>13.0</SupportedQBXMLVersion>\
         <SupportedQBXMLVersion>16.0</SupportedQBXMLVersion></HostRet></HostQueryRs>\
         <CompanyQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\"><CompanyRet>\
         <CompanyName>{company}</CompanyName>{ext}</CompanyRet></CompanyQueryRs>\
         </QBXMLMsgsRs></QBXML>"
    )
}

/// How a session ended.
#[derive(Debug, Default, Clone)]
pub struct Session {
    /// authenticate's status (`none`, `nvu`, `""`, a path).
    pub status: String,
    pub ticket: String,
    /// The qbXML requests handed over, in order.
    pub requests: Vec<String>,
    /// What getLastError said last (other than NoOp).
    pub last_error: String,
    pub noops: usize,
}

/// A Web Connector for one company file, with a simulator company as its
/// QuickBooks.
pub struct TestWc {
    pub addr: SocketAddr,
    pub path: String,
    pub user: String,
    pub password: String,
    /// strCompanyFileName it reports.
    pub file: String,
    pub hcp: String,
    pub qb: Arc<qbsim::Company>,
    /// The pause after a NoOp (QBWC: 5 s).
    pub noop_pause: Duration,
    /// NoOps after which the session stops by itself …
    pub max_noops: usize,
    /// … and once it has answered a request (a real Web Connector goes on
    /// while it gets NoOp; a test wants its answer and goes).
    pub noops_after_work: usize,
    /// Before answering each request.
    pub delay: Duration,
    /// Every request it was handed, over all sessions.
    pub seen: Arc<Mutex<Vec<String>>>,
    pub sessions: AtomicUsize,
    /// Set to end the session at its next NoOp.
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    /// When set, QuickBooks' answer to each request waits for a permit
    /// (a test decides when a slow QuickBooks answers, not a clock).
    pub hold: Option<Arc<tokio::sync::Semaphore>>,
}

impl TestWc {
    pub fn new(addr: SocketAddr, user: &str, password: &str, qb: Arc<qbsim::Company>) -> TestWc {
        TestWc {
            addr,
            path: "/qbwc".into(),
            user: user.into(),
            password: password.into(),
            file: String::new(),
            hcp: hcp("Test Co", None),
            qb,
            noop_pause: Duration::from_millis(20),
            max_noops: usize::MAX,
            noops_after_work: 0,
            delay: Duration::ZERO,
            seen: Arc::new(Mutex::new(Vec::new())),
            sessions: AtomicUsize::new(0),
            stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            hold: None,
        }
    }

    pub async fn call(&self, op: &str, params: &[(&str, &str)]) -> Resp {
        call(self.addr, &self.path, op, params).await
    }

    pub async fn authenticate(&self) -> (String, String) {
        let r = self
            .call(
                "authenticate",
                &[("strUserName", &self.user), ("strPassword", &self.password)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let s = texts(&r.body, "string");
        (s[0].clone(), s[1].clone())
    }

    pub async fn send_request(&self, ticket: &str, first: bool) -> String {
        let hcp = if first { self.hcp.as_str() } else { "" };
        let r = self
            .call(
                "sendRequestXML",
                &[
                    ("ticket", ticket),
                    ("strHCPResponse", hcp),
                    ("strCompanyFileName", &self.file),
                    ("qbXMLCountry", "US"),
                    ("qbXMLMajorVers", "16"),
                    ("qbXMLMinorVers", "0"),
                ],
            )
            .await;
        result(&r, "sendRequestXML")
    }

    pub async fn receive(&self, ticket: &str, response: &str, hresult: &str, msg: &str) -> i32 {
        let r = self
            .call(
                "receiveResponseXML",
                &[
                    ("ticket", ticket),
                    ("response", response),
                    ("hresult", hresult),
                    ("message", msg),
                ],
            )
            .await;
        result(&r, "receiveResponseXML").trim().parse().unwrap()
    }

    pub async fn get_last_error(&self, ticket: &str) -> String {
        let r = self.call("getLastError", &[("ticket", ticket)]).await;
        result(&r, "getLastError")
    }

    pub async fn close(&self, ticket: &str) -> String {
        let r = self.call("closeConnection", &[("ticket", ticket)]).await;
        result(&r, "closeConnection")
    }

    /// QuickBooks' answer to one request: (response, hresult, message).
    pub fn quickbooks(&self, session: qbsim::Session, xml: &str) -> (String, String, String) {
        match self.qb.process(session, xml.as_bytes()) {
            Ok(r) => (r, String::new(), String::new()),
            Err(f) => (String::new(), f.hresult.to_string(), f.message),
        }
    }

    /// One whole session, as QBWC runs it.
    pub async fn session(&self) -> Session {
        self.sessions.fetch_add(1, Ordering::SeqCst);
        let (ticket, status) = self.authenticate().await;
        let mut s = Session {
            status: status.clone(),
            ticket: ticket.clone(),
            ..Session::default()
        };
        if ["none", "nvu", "busy"].contains(&status.as_str()) {
            self.close(&ticket).await;
            return s;
        }
        let qb = self.qb.begin_session();
        let mut first = true;
        loop {
            let rq = self.send_request(&ticket, first).await;
            first = false;
            if rq.is_empty() {
                let e = self.get_last_error(&ticket).await;
                let limit = if s.requests.is_empty() {
                    self.max_noops
                } else {
                    self.noops_after_work
                };
                if e == "NoOp" && s.noops < limit && !self.stop.load(Ordering::SeqCst) {
                    s.noops += 1;
                    tokio::time::sleep(self.noop_pause).await;
                    continue;
                }
                s.last_error = e;
                break;
            }
            self.seen.lock().unwrap().push(rq.clone());
            s.requests.push(rq.clone());
            s.noops = 0;
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if let Some(hold) = &self.hold {
                if let Ok(permit) = hold.acquire().await {
                    permit.forget();
                }
            }
            let (resp, hr, msg) = self.quickbooks(qb, &rq);
            let pct = self.receive(&ticket, &resp, &hr, &msg).await;
            if pct < 0 {
                s.last_error = self.get_last_error(&ticket).await;
                break;
            }
            if pct >= 100 {
                break;
            }
        }
        self.qb.end_session(qb);
        self.close(&ticket).await;
        s
    }
}
