//! Parse + validate arbitrary bytes as a qbXML request and as a response.
//! Any panic, hang or runaway allocation is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = qbxml::Limits {
        max_size: 1 << 20,
        ..qbxml::Limits::default()
    };
    if let Ok(set) = qbxml::parse_request_with(data, &limits) {
        for r in set.requests() {
            let _ = (
                r.name(),
                r.error(),
                r.access(),
                r.request_id(),
                r.iterator(),
                r.meta_data(),
            );
            let _ = qbxml::Elem::from_element(r.element()).to_xml();
        }
        let _ = set.access();
    }
    if let Ok(set) = qbxml::parse_response_with(data, &limits) {
        for r in set.responses() {
            let _ = (
                r.status_code(),
                r.severity(),
                r.message(),
                r.ret_count(),
                r.iterator_id(),
            );
        }
    }
});
