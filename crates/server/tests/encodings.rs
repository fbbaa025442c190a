//! A request travels as one parsed value: a body in another encoding is
//! decoded once and answered intact, and no request is parsed twice on
//! its way to the backend (a counter in qbxml shows it). Its own test
//! binary, so that no other test parses meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[tokio::test]
async fn encoded_bodies_and_one_parse_per_request() {
    let s = start().await;
    // Open the company file first (creating it parses nothing, but keep
    // the count to requests alone).
    assert_eq!(post(s.addr, "ann", &host_query()).await.status, 200);
    let before = qbxml::requests_parsed();
    let mut sent = 0;
    for (encoding, bytes, name) in encoded_adds() {
        let r = post_bytes(s.addr, "ann", &bytes).await;
        sent += 1;
        assert_eq!(r.status, 200, "{encoding}: {}", r.body);
        assert!(
            r.body.contains(&format!("<Name>{name}</Name>")),
            "{encoding}: {}",
            r.body
        );
        let q = post(s.addr, "ann", &customer_query()).await;
        sent += 1;
        assert!(
            q.body.contains(&format!("<Name>{name}</Name>")),
            "{}",
            q.body
        );
    }
    // On a persistent session too.
    let ticket = open_session(s.addr, "ann").await;
    for _ in 0..3 {
        let r = post_with(
            s.addr,
            "ann",
            &[("x-qb-ticket", &ticket)],
            &customer_query(),
        )
        .await;
        assert_eq!(r.status, 200);
        sent += 1;
    }
    close_session(s.addr, "ann", &ticket).await;
    assert_eq!(
        qbxml::requests_parsed() - before,
        sent,
        "each request parsed exactly once between the socket and the simulator"
    );
}
