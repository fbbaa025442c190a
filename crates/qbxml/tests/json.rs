//! The JSON form loses nothing: over generated requests of every type of
//! both schema versions, qbXML → JSON → qbXML gives the same elements and
//! JSON → qbXML → JSON the same JSON; and the public samples convert both
//! ways.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Rng;
use proptest::prelude::*;
use qbxml::json::{document_to_json, request_from_json, to_qbxml};
use qbxml::{parse_request, parse_response, Element, Limits, Version};

/// Names, attributes and text, recursively: what "the same document" means.
fn same_tree(a: Element<'_>, b: Element<'_>) -> Result<(), String> {
    if a.name() != b.name() {
        return Err(format!("{} vs {}", a.path(), b.path()));
    }
    let aa: Vec<_> = a.attrs().collect();
    let ba: Vec<_> = b.attrs().collect();
    if aa != ba {
        return Err(format!("attributes of {}: {aa:?} vs {ba:?}", a.path()));
    }
    // Whitespace between tags (an empty `<ShipAddress>\n  </ShipAddress>`)
    // is layout, not a value.
    let blank = |e: Element<'_>| e.text().trim().is_empty();
    if a.text() != b.text() && !(blank(a) && blank(b)) {
        return Err(format!(
            "text of {}: {:?} vs {:?}",
            a.path(),
            a.text(),
            b.text()
        ));
    }
    let ac: Vec<_> = a.children().collect();
    let bc: Vec<_> = b.children().collect();
    if ac.len() != bc.len() {
        return Err(format!(
            "children of {}: {} vs {}",
            a.path(),
            ac.len(),
            bc.len()
        ));
    }
    for (x, y) in ac.into_iter().zip(bc) {
        same_tree(x, y)?;
    }
    Ok(())
}

/// Every element as (path, attributes, text), sorted: a document's
/// content whatever the order of its elements.
type Content = Vec<(String, Vec<(String, String)>, String)>;

fn content(e: Element<'_>) -> Content {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        let attrs = e
            .attrs()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let text = if e.text().trim().is_empty() {
            ""
        } else {
            e.text()
        };
        out.push((e.path(), attrs, text.to_string()));
        stack.extend(e.children());
    }
    out.sort();
    out
}

/// qbXML text → JSON → qbXML → JSON: same elements, same JSON.
fn round_trip(xml: &str) -> Result<(), String> {
    let set = parse_request(xml).map_err(|e| format!("generated request invalid: {e}"))?;
    let json = document_to_json(set.document(), set.version());
    let back = request_from_json(&json, &Limits::default())
        .map_err(|e| format!("{e}\nJSON: {json}\nqbXML: {xml}"))?;
    same_tree(set.document().root(), back.document().root())
        .map_err(|e| format!("{e}\nJSON: {json}"))?;
    let again = document_to_json(back.document(), back.version());
    if again != json {
        return Err(format!("JSON changed:\n{json}\n{again}"));
    }
    Ok(())
}

const VERSIONS: &[Version] = &[
    Version::V2_0,
    Version::V8_0,
    Version::V13_0,
    Version::V14_0,
    Version::V16_0,
];

/// Every request type of both schema versions, several instances each.
#[test]
fn every_request_type_round_trips() {
    let mut rng = Rng(0x7A3F);
    let mut n = 0;
    for version in [Version::V13_0, Version::V16_0] {
        for p in common::request_types(version) {
            for _ in 0..3 {
                let e = common::element(&mut rng, p.decl(), Some(p), version, 0);
                let xml = common::document(version, "continueOnError", &[e]);
                round_trip(&xml).unwrap_or_else(|err| panic!("{}: {err}", p.name()));
                n += 1;
            }
        }
    }
    assert!(n > 1200, "{n}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Message sets of several requests of random types, in random order.
    #[test]
    fn message_sets_round_trip(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let version = *rng.pick(VERSIONS);
        let requests: Vec<_> = (0..1 + rng.below(4)).map(|_| common::request(&mut rng, version)).collect();
        let xml = common::document(version, "stopOnError", &requests);
        if let Err(e) = round_trip(&xml) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// The public samples: requests round trip as requests; responses
/// convert to JSON and back to the same elements.
#[test]
fn samples_convert_both_ways() {
    let Some(shared) = common::shared() else {
        return;
    };
    let mut requests = 0;
    for entry in std::fs::read_dir(shared.join("qbxml/samples/requests")).unwrap() {
        let path = entry.unwrap().path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(set) = parse_request(bytes) else {
            continue; // the invalid samples are samples.rs's business
        };
        round_trip(set.xml()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        requests += 1;
    }
    assert!(requests >= 20, "{requests}");
    let mut responses = 0;
    for entry in std::fs::read_dir(shared.join("qbxml/samples/responses")).unwrap() {
        let path = entry.unwrap().path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(set) = parse_response(bytes) else {
            continue;
        };
        let json = document_to_json(set.document(), Version::V13_0);
        // The one pass writes what the document walk writes.
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_eq!(
            qbxml::json::response_to_json(&text, Version::V13_0).unwrap(),
            json,
            "{}",
            path.display()
        );
        // A sample outside the schema (one puts onError on QBXMLMsgsRs)
        // converts to JSON, but the JSON is refused on the way back, by
        // the member that does not fit.
        let xml = match to_qbxml(&json, &Limits::default()) {
            Ok(xml) => xml,
            Err(e) if e.path.contains("@onError") => continue,
            Err(e) => panic!("{}: {e}\n{json}", path.display()),
        };
        let back = parse_response(xml).unwrap();
        // Real answers do not always come in schema order (one sample has
        // Salutation before FullName); the qbXML written from JSON does.
        // Nothing is lost: the same elements with the same values...
        assert_eq!(
            content(set.document().root()),
            content(back.document().root()),
            "{}",
            path.display()
        );
        // ...and from there on, the conversions are identities.
        let json2 = document_to_json(back.document(), Version::V13_0);
        let back2 = parse_response(to_qbxml(&json2, &Limits::default()).unwrap()).unwrap();
        same_tree(back.document().root(), back2.document().root()).unwrap();
        assert_eq!(document_to_json(back2.document(), Version::V13_0), json2);
        responses += 1;
    }
    assert!(responses >= 5, "{responses}");
}

/// A simulator-shaped answer with the things the one pass must read as
/// the document reader does: entities, character references, attributes,
/// empty elements, repeats, layout.
const ANSWER: &str = "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\" iteratorRemainingCount=\"2\" iteratorID=\"{x}\">\n<CustomerRet>\n<ListID>80000001-1</ListID>\n<Name>A &amp; B &#233;&#x20AC;</Name>\n<IsActive>true</IsActive>\n<BillAddress>\n<Addr1>1 Main</Addr1>\n</BillAddress>\n<ShipAddress/>\n<Balance>1.50</Balance>\n<DataExtRet>\n<OwnerID>0</OwnerID>\n<DataExtName>a</DataExtName>\n<DataExtType>STR255TYPE</DataExtType>\n<DataExtValue>x</DataExtValue>\n</DataExtRet>\n<DataExtRet>\n<OwnerID>0</OwnerID>\n<DataExtName>b</DataExtName>\n<DataExtType>STR255TYPE</DataExtType>\n<DataExtValue>y</DataExtValue>\n</DataExtRet>\n</CustomerRet>\n<CustomerRet>\n<ListID>80000002-1</ListID>\n<Name>C</Name>\n</CustomerRet>\n</CustomerQueryRs>\n</QBXMLMsgsRs>\n</QBXML>";

#[test]
fn the_one_pass_reads_an_answer_as_the_document_walk_does() {
    let one = qbxml::json::response_to_json_one_pass(ANSWER, Version::V13_0)
        .expect("an answer as the simulator writes it takes the one pass");
    let walked = qbxml::json::response_to_json_walked(ANSWER, Version::V13_0).unwrap();
    assert_eq!(one, walked);
    assert!(one.contains(r#""Name":"A & B é€""#), "{one}");
    assert!(one.contains(r#""ShipAddress":{}"#), "{one}");
    assert!(one.contains(r#""DataExtRet":[{"#), "{one}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Damaged answers: the one pass never panics, and never writes JSON
    /// for text the document reader refuses or reads otherwise.
    #[test]
    fn the_one_pass_never_reads_damaged_text_otherwise(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let mut text: Vec<char> = ANSWER.chars().collect();
        const NOISE: &[char] = &['<', '>', '/', '&', ';', '"', '\'', '=', ' ', '\n', '\r', '#', 'x', 'X', '+', '0', '9', 'A', '!', '?', '-', '[', ']', '\u{1}', '\u{FFFE}'];
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(text.len());
            match rng.below(3) {
                0 => { text.remove(at); }
                1 => text.insert(at, *rng.pick(NOISE)),
                _ => text[at] = *rng.pick(NOISE),
            }
        }
        let text: String = text.into_iter().collect();
        if let Some(one) = qbxml::json::response_to_json_one_pass(&text, Version::V13_0) {
            let walked = qbxml::json::response_to_json_walked(&text, Version::V13_0);
            prop_assert!(walked.as_ref().is_ok_and(|w| *w == one), "{text}\n{one}\n{walked:?}");
        }
    }
}

/// Texts at the edges of what the one pass reads (a review found each):
/// it must leave every one the document reader reads otherwise or
/// refuses to the reader, and the walk must always write JSON.
#[test]
fn the_one_pass_leaves_the_edges_to_the_reader() {
    let body = "<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode=\"0\" statusSeverity=\"Info\"><CustomerRet><Name>é</Name></CustomerRet></CustomerQueryRs></QBXMLMsgsRs></QBXML>";
    let cases = [
        format!("\n<?xml version=\"1.0\"?>{body}"),
        format!("<!-- c --><?xml version=\"1.0\"?>{body}"),
        format!("<?xml version=\"1.0\"?><?xml version=\"1.0\"?>{body}"),
        format!("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{body}"),
        format!("<?xml version=\"1.0\" encoding=\"EBCDIC\"?>{body}"),
        format!("<?xml version=\"1.0\"?><!-- a -- b -->{body}"),
        format!("<?xml version=\"1.0\"?><!-->{body}"),
        format!("<?xml version=\"1.0\"?><?qbxml version=\"13.0?>{body}"),
        format!("<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?>{body}"),
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>{body}"),
        body.replace(
            "statusSeverity=\"Info\"",
            "statusSeverity=\"Info\" a\\q=\"1\"",
        ),
        body.replace("<Name>é</Name>", "<Name><X/></Name>"),
        body.replace("<Name>é</Name>", "<Name>&#+65;</Name>"),
        body.replace(
            "<CustomerRet><Name>é</Name></CustomerRet>",
            "<CustomerRet>junk</CustomerRet>",
        ),
        body.to_string(),
    ];
    let mut one_pass = 0;
    for text in &cases {
        let walked = qbxml::json::response_to_json_walked(text, Version::V13_0);
        if let Ok(j) = &walked {
            assert!(
                qbxml::json::value::parse(j, 64).is_ok(),
                "the walk wrote JSON that is not JSON: {j}"
            );
        }
        if let Some(one) = qbxml::json::response_to_json_one_pass(text, Version::V13_0) {
            assert_eq!(walked.as_ref().ok(), Some(&one), "{text}");
            one_pass += 1;
        }
    }
    // The plain ones still take the one pass.
    assert!(one_pass >= 3, "{one_pass}");
    // Nothing of a document outside the schema is dropped by the walk.
    let kept = qbxml::json::response_to_json_walked(&cases[11], Version::V13_0).unwrap();
    assert!(kept.contains(r#""Name":{"X":{}}"#), "{kept}");
    let kept = qbxml::json::response_to_json_walked(&cases[13], Version::V13_0).unwrap();
    assert!(kept.contains(r##""#text":"junk""##), "{kept}");
}
