//! The JSON form (issue 19): arbitrary text as a JSON request document
//! and as a QuickBooks answer. Nothing panics; a request the converter
//! accepts converts back to the same JSON; and the one pass over an
//! answer writes what the document walk writes, or leaves it to the walk.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = qbxml::Limits {
        max_size: 1 << 20,
        ..qbxml::Limits::default()
    };
    if let Ok(set) = qbxml::json::request_from_json(text, &limits) {
        let json = qbxml::json::document_to_json(set.document(), set.version());
        let again = match qbxml::json::request_from_json(&json, &limits) {
            Ok(a) => a,
            Err(e) => panic!("its own JSON refused: {e}\n{json}"),
        };
        assert_eq!(
            qbxml::json::document_to_json(again.document(), again.version()),
            json
        );
    }
    let _ = qbxml::json::to_qbxml(text, &limits);
    for v in [qbxml::Version::V13_0, qbxml::Version::V16_0] {
        if let Some(one) = qbxml::json::response_to_json_one_pass(text, v) {
            assert_eq!(
                qbxml::json::response_to_json_walked(text, v).ok(),
                Some(one),
                "{text}"
            );
        }
    }
});
