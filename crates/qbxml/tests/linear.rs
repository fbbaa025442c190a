//! Work is linear in the input, for the shapes hostile or mangled input can
//! take. Time is too noisy to assert on a shared machine, so this counts
//! instructions with valgrind (deterministic): the test binary re-runs
//! itself under `valgrind --tool=callgrind` on an input of size n and 4n;
//! linear work gives a ratio near 4, quadratic near 16. Skips (with a
//! message) when valgrind is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

const CHILD_FILE: &str = "QBXML_LINEAR_FILE";
const CHILD_MODE: &str = "QBXML_LINEAR_MODE";

/// In the child process: parse the file named by the environment.
#[test]
fn child_parse_entry() {
    let Some(file) = std::env::var_os(CHILD_FILE) else {
        return;
    };
    let bytes = std::fs::read(file).unwrap();
    let limits = qbxml::Limits {
        max_size: usize::MAX,
        max_elements: usize::MAX,
        max_text: usize::MAX,
        ..qbxml::Limits::default()
    };
    if std::env::var(CHILD_MODE).as_deref() == Ok("response") {
        let _ = qbxml::parse_response_with(bytes, &limits);
    } else {
        let _ = qbxml::parse_request_with(bytes, &limits);
    }
}

fn instructions(exe: &Path, file: &Path, mode: &str) -> u64 {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args([
            "child_parse_entry",
            "--exact",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_FILE, file)
        .env(CHILD_MODE, mode)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("refs:"))
        .unwrap_or_else(|| panic!("no instruction count from valgrind:\n{stderr}"));
    line.rsplit(':')
        .next()
        .unwrap()
        .trim()
        .replace(',', "")
        .parse()
        .unwrap()
}

fn request(body: &str) -> String {
    format!("<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"continueOnError\">{body}</QBXMLMsgsRq></QBXML>")
}

fn response(body: &str) -> String {
    format!("<?xml version=\"1.0\" ?><QBXML><QBXMLMsgsRs>{body}</QBXMLMsgsRs></QBXML>")
}

/// A name, the parse mode, and the input for a repetition count.
type Family = (&'static str, &'static str, Box<dyn Fn(usize) -> String>);

/// Input families, each a function of a repetition count, with the mode.
fn families() -> Vec<Family> {
    vec![
        (
            "valid requests",
            "request",
            Box::new(|n| {
                request(&"<CustomerAddRq requestID=\"1\"><CustomerAdd><Name>Acme &amp; Sons</Name><CompanyName>Acme</CompanyName><BillAddress><Addr1>1 Main</Addr1><City>X</City></BillAddress><Phone>555</Phone></CustomerAdd></CustomerAddRq>".repeat(n))
            }),
        ),
        (
            "requests at the far end of the message-set choice",
            "request",
            Box::new(|n| {
                request(&"<DataExtDelRq><DataExtDel><OwnerID>0</OwnerID><DataExtName>n</DataExtName><OtherDataExtType>Company</OtherDataExtType></DataExtDel></DataExtDelRq>".repeat(n))
            }),
        ),
        (
            "an error at the very end (message built once)",
            "request",
            Box::new(|n| {
                request(&format!("{}<CustomerAddRq><CustomerAdd><Name>x</Name><CompanyNme/></CustomerAdd></CustomerAddRq>", "<CustomerQueryRq><MaxReturned>5</MaxReturned></CustomerQueryRq>\n".repeat(n)))
            }),
        ),
        (
            "references, comments and CDATA in text",
            "request",
            Box::new(|n| {
                request(&format!("<CustomerAddRq><CustomerAdd><Name>x</Name><Notes>{}</Notes></CustomerAdd></CustomerAddRq>", "&amp;&#233;<!-- c --><![CDATA[<x>]]>\r\n".repeat(n * 4)))
            }),
        ),
        (
            "nesting near the depth limit",
            "response",
            Box::new(|n| response(&format!("{}{}", "<a>".repeat(60), "</a>".repeat(60)).repeat(n))),
        ),
        (
            "many attributes",
            "response",
            Box::new(|n| {
                response(&"<XRs statusCode=\"0\" statusSeverity=\"Info\" a=\"1\" b=\"2\" c=\"3\" d=\"4\" e=\"&amp;\" f=\"6\" g=\"7\" h=\"8\" i=\"9\" j=\"10\"/>".repeat(n))
            }),
        ),
        (
            "long names",
            "response",
            Box::new(|n| {
                response(
                    &format!(
                        "<XRs statusCode=\"0\" statusSeverity=\"Info\"><{0}>t</{0}></XRs>",
                        "N".repeat(2000)
                    )
                    .repeat(n / 8 + 1),
                )
            }),
        ),
    ]
}

#[test]
fn work_grows_linearly() {
    let has_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_valgrind {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: valgrind not found; linear-work check not run"
        );
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = std::env::temp_dir().join(format!("qbxml-linear-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("empty.xml");
    std::fs::write(&base, "").unwrap();
    let startup = instructions(&exe, &base, "request");
    let mut report = Vec::new();
    for (i, (name, mode, make)) in families().into_iter().enumerate() {
        let (small, large) = (
            dir.join(format!("{i}-s.xml")),
            dir.join(format!("{i}-l.xml")),
        );
        let n = 250;
        std::fs::write(&small, make(n)).unwrap();
        std::fs::write(&large, make(4 * n)).unwrap();
        let a = instructions(&exe, &small, mode).saturating_sub(startup) as f64;
        let b = instructions(&exe, &large, mode).saturating_sub(startup) as f64;
        let ratio = b / a;
        report.push(format!(
            "{name}: {a:.0} → {b:.0} instructions, ×{ratio:.2} for ×4 input"
        ));
        assert!(
            (3.0..5.0).contains(&ratio),
            "{name}: ×{ratio:.2}\n{}",
            report.join("\n")
        );
    }
    eprintln!("{}", report.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
