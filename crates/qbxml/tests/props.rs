//! Property tests: builder → writer → parser round trips, and random
//! mutations of valid requests never panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Rng;
use proptest::prelude::*;
use qbxml::schema::{Decl, Schema};
use qbxml::{
    parse_request, parse_response, Elem, OnError, RequestBuilder, ResponseWriter, RsHead, Status,
    Version,
};

const VERSIONS: &[Version] = &[
    Version::V2_0,
    Version::V5_0,
    Version::V8_0,
    Version::V13_0,
    Version::V14_0,
    Version::V16_0,
];

/// Shuffle children the way a careless caller would, but only across
/// distinct schema positions: members of one repeating group keep their
/// relative order (their order is data, not schema).
fn shuffle_blocks(rng: &mut Rng, e: &mut Elem, decl: Decl) {
    let mut runs: Vec<Vec<Elem>> = Vec::new();
    let mut last_key = None;
    for c in std::mem::take(&mut e.children) {
        let key = decl.child(&c.name).map(|p| p.sort_key());
        if key.is_some() && key == last_key {
            if let Some(run) = runs.last_mut() {
                run.push(c);
                continue;
            }
        }
        last_key = key;
        runs.push(vec![c]);
    }
    for i in (1..runs.len()).rev() {
        let j = rng.below(i + 1);
        runs.swap(i, j);
    }
    e.children = runs.into_iter().flatten().collect();
    for c in &mut e.children {
        if let Some(p) = decl.child(&c.name) {
            shuffle_blocks(rng, c, p.decl());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Requests built from shuffled children come out in schema order,
    /// validate, and read back as built.
    #[test]
    fn builder_writer_parser_round_trip(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let version = *rng.pick(VERSIONS);
        let schema = Schema::for_version(version);
        let n = 1 + rng.below(4);
        let originals: Vec<Elem> = (0..n).map(|_| common::request(&mut rng, version)).collect();
        let mut builder = RequestBuilder::new(version).on_error(OnError::ContinueOnError);
        for rq in &originals {
            let mut shuffled = rq.clone();
            let decl = schema.request(&rq.name).unwrap().decl();
            shuffle_blocks(&mut rng, &mut shuffled, decl);
            builder.push(shuffled);
        }
        let xml = builder.to_xml().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let set = parse_request(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(set.version(), version);
        prop_assert_eq!(set.on_error(), Some(OnError::ContinueOnError));
        prop_assert_eq!(set.len(), originals.len());
        for (r, original) in set.requests().zip(&originals) {
            prop_assert!(r.error().is_none(), "{:?}\n{}", r.error(), xml);
            prop_assert_eq!(&Elem::from_element(r.element()), original);
        }
    }

    /// Responses written with items in any order read back in schema order.
    #[test]
    fn response_writer_parser_round_trip(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let version = *rng.pick(&[Version::V13_0, Version::V16_0]);
        let schema = Schema::for_version(version);
        let rs_types: Vec<_> = schema.responses().unwrap().children().filter(|p| p.introduced() <= version).collect();
        let mut writer = ResponseWriter::new(version);
        let mut expected = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let p = *rng.pick(&rs_types);
            let generated = common::element(&mut rng, p.decl(), Some(p), version, 0);
            let mut shuffled = generated.clone();
            shuffle_blocks(&mut rng, &mut shuffled, p.decl());
            let request_id = rng.chance(50).then(|| format!("{}", rng.below(1000)));
            let status = Status::from_code(*rng.pick(&[0, 1, 500, 3070, 3120]), &[("value", "a&b\"c"), ("field", "Name")]);
            let mut head = RsHead::new(p.name(), request_id.as_deref(), status.clone());
            head.iterator_remaining_count = rng.chance(30).then(|| rng.below(50) as u32);
            writer.response(&head, shuffled.children.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let remaining = head.iterator_remaining_count;
            expected.push((p.name(), request_id.clone(), status, remaining, generated.children));
        }
        let xml = writer.finish();
        prop_assert!(xml.starts_with("<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n"));
        prop_assert!(xml.ends_with("</QBXMLMsgsRs>\n</QBXML>"));
        let set = parse_response(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(set.len(), expected.len());
        for (rs, (name, request_id, status, remaining, items)) in set.responses().zip(expected) {
            prop_assert_eq!(rs.name(), name);
            prop_assert_eq!(rs.request_id(), request_id.as_deref());
            prop_assert_eq!(rs.status_code(), status.code);
            prop_assert_eq!(rs.severity(), status.severity);
            prop_assert_eq!(rs.message(), status.message.as_str());
            prop_assert_eq!(rs.iterator_remaining_count(), remaining);
            let got: Vec<Elem> = rs.items().map(Elem::from_element).collect();
            prop_assert_eq!(got, items);
        }
    }
}

/// Bytes that make mutations XML-ish.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "&",
    "&amp;",
    "&#",
    ";",
    "\"",
    "'",
    "=",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?",
    "?>",
    "<!DOCTYPE x>",
    "<QBXML>",
    "</QBXML>",
    "<Name>",
    "</Name>",
    "\u{0}",
    "\u{FFFF}",
    "é",
    "\r\n",
    " ",
    "x",
];

fn mutate(rng: &mut Rng, s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len().max(1);
        let at = rng.below(len);
        match rng.below(5) {
            0 => {
                let end = (at + rng.below(16)).min(b.len());
                b.drain(at.min(b.len())..end);
            }
            1 => {
                let t = rng.pick(TOKENS).as_bytes().to_vec();
                let at = at.min(b.len());
                b.splice(at..at, t);
            }
            2 => {
                let end = (at + rng.below(64)).min(b.len());
                let piece = b[at.min(b.len())..end].to_vec();
                let to = rng.below(b.len() + 1);
                b.splice(to..to, piece);
            }
            3 => {
                if let Some(x) = b.get_mut(at) {
                    *x = rng.next() as u8;
                }
            }
            _ => {
                b.truncate(at);
            }
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Random mutations of valid requests: an answer, never a panic.
    #[test]
    fn mutations_never_panic(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let version = *rng.pick(VERSIONS);
        let requests: Vec<Elem> = (0..1 + rng.below(3)).map(|_| common::request(&mut rng, version)).collect();
        let doc = common::document(version, "stopOnError", &requests);
        let bytes = mutate(&mut rng, &doc);
        match parse_request(bytes.clone()) {
            Ok(set) => {
                for r in set.requests() {
                    let _ = (r.name(), r.error(), r.access(), r.request_id());
                }
            }
            Err(e) => {
                prop_assert!(!e.detail.is_empty());
                prop_assert!(e.line >= 1);
            }
        }
        let _ = parse_response(bytes);
    }
}
