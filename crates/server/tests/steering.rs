//! Events that steer a request, through real sockets: `authorization`
//! chooses the connection settings, `request` refuses or replaces the
//! qbXML (validated and held to the read-only rule again), `response`
//! replaces the answer, and the audit line says what a handler replaced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qbc_server::events::*;
use std::sync::{Arc, Mutex};

/// What the handlers do for the next requests.
#[derive(Clone, Default)]
struct Plan {
    /// authorization: accept anyone, and send them to this company file.
    company: Option<String>,
    /// request: refuse with this.
    refuse: Option<Refuse>,
    /// request: send this qbXML instead.
    replace: Option<String>,
    /// response: send this body instead.
    answer: Option<String>,
}

#[derive(Default)]
struct Steer {
    plan: Mutex<Plan>,
    seen: Mutex<Vec<String>>,
}

impl Steer {
    fn plan(&self, p: Plan) {
        *self.plan.lock().unwrap() = p;
        self.seen.lock().unwrap().clear();
    }
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Events for Steer {
    fn authorization(&self, e: &mut Authorization<'_>) {
        self.seen.lock().unwrap().push(format!(
            "authorization {:?} {:?} {} {:?}",
            e.user, e.password, e.accept, e.connection.company_file
        ));
        if let Some(c) = &self.plan.lock().unwrap().company {
            e.accept = true;
            e.connection.company_file = Some(c.clone());
        }
    }
    fn request(&self, e: &mut Request<'_>) {
        self.seen.lock().unwrap().push(format!(
            "request {} {} {:?}",
            e.user, e.company_file, e.request_types
        ));
        let plan = self.plan.lock().unwrap().clone();
        e.refuse = plan.refuse;
        e.replace = plan.replace.map(String::into_bytes);
    }
    fn response(&self, e: &mut Response<'_>) {
        if let Some(a) = &self.plan.lock().unwrap().answer {
            e.replace = Some(a.clone().into_bytes());
        }
    }
    fn audit(&self, e: &Audit<'_>) {
        self.seen.lock().unwrap().push(format!(
            "audit {} {} {:?} {} {} {}",
            e.user,
            e.company_file,
            e.request_types,
            e.http_status,
            e.request_replaced,
            e.response_replaced
        ));
    }
}

#[tokio::test]
async fn handlers_steer_requests() {
    let steer = Arc::new(Steer::default());
    let s = start_configured(|_| {}, None, Some(steer.clone())).await;

    // request: refused, with the default answer and with the handler's own.
    steer.plan(Plan {
        refuse: Some(Refuse::new("no queries on Sundays")),
        ..Plan::default()
    });
    let r = post(s.addr, "ann", &customer_add("Sunday Co")).await;
    assert_eq!((r.status, r.code()), (403, "QBC_REFUSED"), "{r:?}");
    assert!(r.body.contains("no queries on Sundays"), "{}", r.body);
    steer.plan(Plan {
        refuse: Some(Refuse {
            status: 429,
            code: "APP_QUOTA".into(),
            message: "quota used up".into(),
        }),
        ..Plan::default()
    });
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!((r.status, r.code()), (429, "APP_QUOTA"), "{r:?}");
    // A status that is not an error, a code that cannot be a header.
    steer.plan(Plan {
        refuse: Some(Refuse {
            status: 200,
            code: "bad\ncode".into(),
            message: "m".into(),
        }),
        ..Plan::default()
    });
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!((r.status, r.code()), (403, "QBC_REFUSED"), "{r:?}");
    // Nothing refused reached the company file.
    steer.plan(Plan::default());
    let r = post(s.addr, "ann", &customer_query()).await;
    assert!(!r.body.contains("Sunday Co"), "{}", r.body);

    // request: replaced. The answer is the replacement's; the audit says so.
    steer.plan(Plan {
        replace: Some(host_query()),
        ..Plan::default()
    });
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("<HostQueryRs"), "{}", r.body);
    let seen = steer.seen();
    assert!(
        seen.iter()
            .any(|l| l == "audit ann acme.qbw [\"HostQueryRq\"] 200 true false"),
        "{seen:#?}"
    );
    // A replacement that writes, for a read-only user: the rule applies.
    steer.plan(Plan {
        replace: Some(customer_add("Sneaky Co")),
        ..Plan::default()
    });
    let r = post(s.addr, "rob", &host_query()).await;
    assert_eq!((r.status, r.code()), (403, "QBC_READ_ONLY"), "{r:?}");
    // A replacement that is not qbXML: the answer a client's body gets.
    steer.plan(Plan {
        replace: Some("<QBXML><oops".into()),
        ..Plan::default()
    });
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!((r.status, r.code()), (400, "0x80040400"), "{r:?}");
    steer.plan(Plan::default());
    let r = post(s.addr, "rob", &customer_query()).await;
    assert!(!r.body.contains("Sneaky Co"), "{}", r.body);

    // response: replaced; status and headers stay.
    steer.plan(Plan {
        answer: Some("<custom/>".into()),
        ..Plan::default()
    });
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!((r.status, r.body.as_str()), (200, "<custom/>"), "{r:?}");
    assert!(
        steer.seen().iter().any(|l| l.ends_with(" 200 false true")),
        "{:#?}",
        steer.seen()
    );

    // authorization: an unknown user let in, sent to another company file
    // (the user's own settings come pre-filled for a known user).
    steer.plan(Plan::default());
    post(s.addr, "ann", &host_query()).await;
    assert!(
        steer.seen()[0]
            .starts_with("authorization \"ann\" \"correct horse\" true Some(\"acme.qbw\")"),
        "{:#?}",
        steer.seen()
    );
    steer.plan(Plan {
        company: Some("guest.qbw".into()),
        ..Plan::default()
    });
    let r = post(s.addr, "visitor", &customer_add("Guest Co")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        steer
            .seen()
            .iter()
            .any(|l| l.starts_with("request visitor guest.qbw")),
        "{:#?}",
        steer.seen()
    );
    assert!(s.dir.path().join("guest.qbw").exists());
    // ann's own file did not get it.
    steer.plan(Plan::default());
    let r = post(s.addr, "ann", &customer_query()).await;
    assert!(!r.body.contains("Guest Co"), "{}", r.body);

    // No Authorization header: the event fires with blank credentials.
    steer.plan(Plan::default());
    let r = send(
        s.addr,
        "POST",
        "/",
        &[("content-type", "text/xml")],
        &host_query(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(
        steer.seen()[0].starts_with("authorization \"\" \"\" false"),
        "{:#?}",
        steer.seen()
    );
    s.running.shutdown().await;
}
