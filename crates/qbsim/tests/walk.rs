//! Every request type of both schema versions against a sample company
//! (issue 21): generated valid instances of each (the content-model
//! generator the qbxml tests use), none panics, every answer validates
//! against Intuit's response XSD (xmllint, when there), and the request
//! types answered 1030 ("not supported") are exactly those
//! docs/SIMULATOR.md lists as not simulated. Its table of every request
//! type is this walk's: `QBSIM_WRITE_TYPES=1 cargo test -p qbsim --test
//! walk` writes it after a change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../qbxml/tests/common/mod.rs"]
mod gen;

use qbxml::Version;
use std::collections::{BTreeMap, BTreeSet};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SIMULATOR.md");
const BEGIN: &str = "<!-- request types: written by crates/qbsim/tests/walk.rs -->";
const END: &str = "<!-- end of request types -->";
/// Instances of each type (different random choices of optional parts).
const INSTANCES: u64 = 2;

#[test]
fn every_request_type_is_answered_or_documented() {
    let sim = common::Sim::with_sample(20, 10);
    // name → (answered in 13.0, in 16.0): None where the version lacks it.
    let mut states: BTreeMap<String, [Option<bool>; 2]> = BTreeMap::new();
    for (v, version) in [Version::V13_0, Version::V16_0].into_iter().enumerate() {
        for (i, p) in gen::request_types(version).into_iter().enumerate() {
            let mut answered = true;
            for n in 0..INSTANCES {
                let mut rng = gen::Rng(0x5eed + 1000 * n + i as u64);
                let e = gen::element(&mut rng, p.decl(), Some(p), version, 0);
                let mut text = String::new();
                e.write_to(&mut text);
                // send_v parses the answer (a panic there is a failure).
                let set = sim.send_v(&version.to_string(), "continueOnError", &text);
                let codes: Vec<u32> = set.responses().map(|r| r.status_code()).collect();
                assert_eq!(codes.len(), 1, "{}: one answer", p.name());
                if std::env::var_os("QBSIM_WALK_SHOW").is_some() {
                    let r = set.responses().next().unwrap();
                    eprintln!("{version} {} {} {}", p.name(), codes[0], r.message());
                }
                answered &= codes[0] != 1030;
            }
            states.entry(p.name().to_string()).or_default()[v] = Some(answered);
        }
    }
    sim.check_schema();

    let table = render(&states);
    let doc = std::fs::read_to_string(DOC).unwrap();
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/SIMULATOR.md has no request-type table between its markers");
    };
    let written = &doc[b + BEGIN.len()..e];
    if std::env::var_os("QBSIM_WRITE_TYPES").is_some() {
        let new = format!("{}{BEGIN}{table}{END}{}", &doc[..b], &doc[e + END.len()..]);
        std::fs::write(DOC, new).unwrap();
        return;
    }
    assert!(
        written == table,
        "docs/SIMULATOR.md's request-type table is not this walk's: a type answered 1030 that \
         it says is simulated, or the other way round. Rewrite it with \
         `QBSIM_WRITE_TYPES=1 cargo test -p qbsim --test walk` and check the difference."
    );
}

/// The table: every request type, its state in each version, and counts.
fn render(states: &BTreeMap<String, [Option<bool>; 2]>) -> String {
    let cell = |s: Option<bool>| match s {
        None => "—",
        Some(true) => "answered",
        Some(false) => "**1030** (not simulated)",
    };
    let count = |v: usize, want: bool| states.values().filter(|s| s[v] == Some(want)).count();
    let mut out = format!(
        "\n\n| | qbXML 13.0 | qbXML 16.0 |\n|---|---|---|\n| request types | {} | {} |\n| answered | {} | {} |\n| not simulated (1030) | {} | {} |\n\n",
        count(0, true) + count(0, false),
        count(1, true) + count(1, false),
        count(0, true),
        count(1, true),
        count(0, false),
        count(1, false),
    );
    out.push_str("| request type | 13.0 | 16.0 |\n|---|---|---|\n");
    let not: BTreeSet<&String> = states
        .iter()
        .filter(|(_, s)| s.contains(&Some(false)))
        .map(|(n, _)| n)
        .collect();
    // The ones still to do first, then the rest, each alphabetically.
    for (name, s) in states
        .iter()
        .filter(|(n, _)| not.contains(n))
        .chain(states.iter().filter(|(n, _)| !not.contains(n)))
    {
        out.push_str(&format!("| `{name}` | {} | {} |\n", cell(s[0]), cell(s[1])));
    }
    out.push('\n');
    out
}
