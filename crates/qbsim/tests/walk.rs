//! Every request type of both schema versions against a sample company
//! (issue 21): generated valid instances of each (the content-model
//! generator the qbxml tests use), none panics, every answer validates
//! against Intuit's response XSD (xmllint, when there), and only the types
//! Intuit documents as not in QuickBooks Desktop answer 1030 ("not
//! supported"). The table of every request type in docs/SIMULATOR.md is
//! this walk's, with each type's state and evidence level:
//! `QBSIM_WRITE_TYPES=1 cargo test -p qbsim --test walk` writes it after a
//! change.
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

/// Request types the ops file marks "not in QBD": QuickBooks Desktop
/// answers them 1030 itself.
const NOT_IN_DESKTOP: &[&str] = &[
    "PayrollLastPeriodQueryRq",
    "SalesTaxReturnLineQueryRq",
    "SalesTaxReturnQueryRq",
];

/// Request types that real QuickBooks requests or responses in
/// ../shared/qbxml/samples exercise (evidence V); checked against the
/// samples when they are there.
const WITH_SAMPLES: &[&str] = &[
    "AccountAddRq",
    "AccountQueryRq",
    "CompanyQueryRq",
    "CustomerAddRq",
    "CustomerQueryRq",
    "EstimateAddRq",
    "EstimateQueryRq",
    "GeneralSummaryReportQueryRq",
    "HostQueryRq",
    "InvoiceAddRq",
    "InvoiceQueryRq",
    "ItemInventoryAddRq",
    "ItemInventoryQueryRq",
    "ItemQueryRq",
    "ItemServiceAddRq",
    "JournalEntryAddRq",
    "ListDelRq",
    "PreferencesQueryRq",
    "PurchaseOrderQueryRq",
    "ReceivePaymentAddRq",
    "ReceivePaymentQueryRq",
    "SalesOrderAddRq",
    "SalesOrderQueryRq",
    "SalesReceiptAddRq",
    "SalesReceiptQueryRq",
    "TimeTrackingQueryRq",
    "VehicleMileageQueryRq",
    "VendorQueryRq",
];

/// Request types whose answer rests on at least one decision taken without
/// evidence ([I], listed in docs/SIMULATOR.md "Decisions without
/// evidence"): a type's name, or a prefix every type of a family shares.
const DECIDED: &[&str] = &[
    "Alert",
    "AccountTaxLineInfo",
    "ARRefundCreditCard",
    "BarCode",
    "BillingRate",
    "BudgetSummaryReport",
    "BuildAssembly",
    "Charge",
    "ClearedStatus",
    "CompanyActivity",
    "Currency",
    "CustomDetailReport",
    "CustomSummaryReport",
    "DataEventRecoveryInfo",
    "EmployeeDefault",
    "Form1099CategoryAccountMapping",
    "GeneralDetailReport",
    "InventorySite",
    "ItemAssembliesCanBuild",
    "ItemSites",
    "JobReport",
    "Lead",
    "ListDisplay",
    "ListMerge",
    "Paycheck",
    "PayrollDetailReport",
    "PayrollLiability",
    "PayrollPriorPayment",
    "PayrollSummaryReport",
    "PayrollYearToDate",
    "PreferencesMod",
    "PriceLevel",
    "QBCommandExec",
    "SalesTaxPayable",
    "SpecialAccount",
    "SpecialItem",
    "TimeReport",
    "TimeTracking",
    "ToDo",
    "Transfer",
    "TxnDisplay",
    "UnitOfMeasureSet",
    "VehicleMileage",
    "WorkersCompCode",
];

/// Request types the simulated company refuses whatever they ask, with
/// the status each answers (3250: not available without a payroll
/// subscription; 3260: not permitted to a connector's clients).
const REFUSED: &[(&str, u32)] = &[
    ("PayrollLiabilityAdjustmentAddRq", 3250),
    ("PayrollPriorPaymentAddRq", 3250),
    ("PayrollYearToDateAdjustmentAddRq", 3250),
    ("QBCommandExecRq", 3260),
];

/// What one version did with a type: the status codes of its instances.
type Codes = Option<Vec<u32>>;

#[test]
fn every_request_type_is_answered_or_documented() {
    let sim = common::Sim::with_sample(20, 10);
    // name → codes in 13.0, in 16.0 (None where the version lacks it).
    let mut states: BTreeMap<String, [Codes; 2]> = BTreeMap::new();
    for (v, version) in [Version::V13_0, Version::V16_0].into_iter().enumerate() {
        for (i, p) in gen::request_types(version).into_iter().enumerate() {
            let mut seen = Vec::new();
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
                seen.push(codes[0]);
            }
            states.entry(p.name().to_string()).or_default()[v] = Some(seen);
        }
    }
    sim.check_schema();
    // Only what Desktop itself does not have answers 1030.
    for (name, s) in &states {
        let any_1030 = s.iter().flatten().any(|c| c.contains(&1030));
        assert_eq!(
            any_1030,
            NOT_IN_DESKTOP.contains(&name.as_str()),
            "{name}: 1030 is only for what Intuit documents as not in QuickBooks Desktop"
        );
    }

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

/// A version's cell: what the type does there.
fn cell(name: &str, codes: &Codes) -> String {
    let Some(codes) = codes else {
        return "—".into();
    };
    if codes.contains(&1030) {
        return if NOT_IN_DESKTOP.contains(&name) {
            "1030: not in Desktop (Intuit)".into()
        } else {
            "**1030** (not simulated)".into()
        };
    }
    if let Some((_, c)) = REFUSED.iter().find(|(n, _)| *n == name) {
        assert!(
            codes.iter().all(|x| x == c),
            "{name} answered {codes:?}, not always {c}"
        );
        return format!("refused: {c}");
    }
    "answered".into()
}

/// How well a type's answers are grounded: V (real captures), D (Intuit's
/// schema and ops notes, FACTS), I (rests on a decision without evidence).
fn evidence(name: &str) -> &'static str {
    if NOT_IN_DESKTOP.contains(&name) {
        "D"
    } else if WITH_SAMPLES.contains(&name) {
        "V"
    } else if DECIDED.iter().any(|d| name.starts_with(d)) {
        "I"
    } else {
        "D"
    }
}

/// The table: counts per version and state, then every request type.
fn render(states: &BTreeMap<String, [Codes; 2]>) -> String {
    let count = |v: usize, want: &str| {
        states
            .iter()
            .filter(|(n, s)| s[v].is_some() && cell(n, &s[v]).starts_with(want))
            .count()
    };
    let total = |v: usize| states.values().filter(|s| s[v].is_some()).count();
    let mut out = format!(
        "\n\n| | qbXML 13.0 | qbXML 16.0 |\n|---|---|---|\n| request types | {} | {} |\n\
         | answered | {} | {} |\n| refused as the simulated company's QuickBooks refuses them | {} | {} |\n\
         | 1030: not in QuickBooks Desktop (Intuit's ops file) | {} | {} |\n| not simulated | {} | {} |\n\n",
        total(0),
        total(1),
        count(0, "answered"),
        count(1, "answered"),
        count(0, "refused"),
        count(1, "refused"),
        count(0, "1030: not in"),
        count(1, "1030: not in"),
        count(0, "**1030**"),
        count(1, "**1030**"),
    );
    let ev = |e: &str| states.keys().filter(|n| evidence(n) == e).count();
    out.push_str(&format!(
        "Evidence: **V** {} types (real QuickBooks requests or responses in the samples), \
         **D** {} (Intuit's schema and ops notes, FACTS), **I** {} (rest on at least one \
         decision without evidence, listed above).\n\n",
        ev("V"),
        ev("D"),
        ev("I")
    ));
    out.push_str("| request type | 13.0 | 16.0 | evidence |\n|---|---|---|---|\n");
    for (name, s) in states {
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} |\n",
            cell(name, &s[0]),
            cell(name, &s[1]),
            evidence(name)
        ));
    }
    out.push('\n');
    out
}

/// The samples exercise exactly the types WITH_SAMPLES names.
#[test]
fn the_sample_list_is_the_samples() {
    let Some(shared) = common::shared() else {
        common::skip("../shared/qbxml/samples is not here: the sample list is not checked");
        return;
    };
    let mut found = BTreeSet::new();
    for dir in ["requests", "responses"] {
        let Ok(entries) = std::fs::read_dir(shared.join("qbxml/samples").join(dir)) else {
            continue;
        };
        for f in entries.flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            for part in text.split('<').skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                for suffix in ["Rq", "Rs"] {
                    if let Some(base) = name.strip_suffix(suffix) {
                        let rq = format!("{base}Rq");
                        if !base.is_empty()
                            && !matches!(base, "QBXMLMsgs" | "SignonMsgs" | "QBXML")
                            && qbxml::schema::Schema::for_version(Version::LATEST)
                                .request(&rq)
                                .is_some()
                        {
                            found.insert(rq);
                        }
                    }
                }
            }
        }
    }
    let listed: BTreeSet<String> = WITH_SAMPLES.iter().map(|s| s.to_string()).collect();
    assert_eq!(found, listed);
}
