//! The HTTP front door (issue 20): arbitrary bytes as what one client
//! sends on one connection — request heads, Basic credentials, connection
//! strings, tickets, qbXML and JSON bodies, pipelined requests — through
//! the connector's own connection code and every front door, in process,
//! to the in-memory backend (`qbc_server::fuzzing`). Nothing panics,
//! nothing hangs, and whatever comes in, what goes out is HTTP, never a
//! 500 (the harness has no event handler that could fail).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qbc_server::fuzzing::Harness;

/// What the memory backend answers: a customer with the elements the
/// JSON door types (amounts, booleans, dates, a nested reference).
const ANSWER: &str = "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n\
<CustomerQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\">\n\
<CustomerRet>\n<ListID>80000001-1700000000</ListID>\n<TimeCreated>2026-01-02T03:04:05-08:00</TimeCreated>\n\
<TimeModified>2026-01-02T03:04:05-08:00</TimeModified>\n<EditSequence>1700000000</EditSequence>\n\
<Name>Acme &amp; Sons</Name>\n<FullName>Acme &amp; Sons</FullName>\n<IsActive>true</IsActive>\n\
<Sublevel>0</Sublevel>\n<Balance>10.10</Balance>\n<TotalBalance>10.10</TotalBalance>\n\
<SalesTaxCodeRef>\n<ListID>20000-1</ListID>\n<FullName>Tax</FullName>\n</SalesTaxCodeRef>\n\
<JobStatus>None</JobStatus>\n</CustomerRet>\n</CustomerQueryRs>\n</QBXMLMsgsRs>\n</QBXML>\n";

thread_local! {
    static HARNESS: Harness = match Harness::new(ANSWER) {
        Ok(h) => h,
        Err(e) => panic!("the harness did not start: {e}"),
    };
}

fuzz_target!(|data: &[u8]| {
    HARNESS.with(|h| {
        let out = h.exchange(data);
        if out.is_empty() {
            // hyper closes without a word on a few inputs (nothing but
            // whitespace, a connection closed mid-head).
            return;
        }
        // HTTP/1.1, or HTTP/1.0 to a 1.0 request.
        assert!(
            out.starts_with(b"HTTP/1.1 ") || out.starts_with(b"HTTP/1.0 "),
            "not an HTTP answer: {:?}",
            String::from_utf8_lossy(&out[..out.len().min(200)])
        );
        assert!(
            out.get(9..12) != Some(b"500"),
            "a 500: {}",
            String::from_utf8_lossy(&out)
        );
    });
});
