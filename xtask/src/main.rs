//! Project maintenance tasks. Run as `cargo xtask <task>`.
//!
//! * `gen-schema [--schema-dir DIR] [--check]` — read Intuit's qbXML XSDs and the
//!   annotated ops file (by default from `../shared/qbxml/schema`) and write the
//!   compact validation tables to `crates/qbxml/src/schema/gen_v*.rs`. With
//!   `--check` nothing is written; the task fails if the committed tables differ
//!   from what the schema files produce.
//! * `gen-openapi [--check]` — write the JSON form's OpenAPI document,
//!   generated from those tables by the `qbxml` crate (its `openapi`
//!   example, run through cargo: this task does not link `qbxml`, so that
//!   gen-schema can rebuild tables that `qbxml` fails to compile with), to
//!   `docs/openapi.json`; with `--check`, fail if the committed one differs.

mod dom;
mod emit;
mod model;
mod ops;
mod xsd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen-schema") => match gen_schema(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gen-schema: {e}");
                ExitCode::FAILURE
            }
        },
        Some("gen-openapi") => match gen_openapi(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gen-openapi: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!(
                "usage: cargo xtask gen-schema [--schema-dir DIR] [--check]\n       cargo xtask gen-openapi [--check]"
            );
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn gen_schema(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let mut schema_dir = root.join("../shared/qbxml/schema");
    let mut check = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--schema-dir" => {
                schema_dir = PathBuf::from(it.next().ok_or("--schema-dir needs a value")?)
            }
            "--check" => check = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let out_dir = match std::env::var_os("QBXML_GEN_OUT") {
        Some(d) => PathBuf::from(d),
        None => root.join("crates/qbxml/src/schema"),
    };

    // 13.0: the XSD gives structure and types, the ops file the QuickBooks
    // Desktop facts (max lengths, introducing version, defaults).
    let ops_tree = ops::load(&schema_dir.join("qbxmlops130.xml"))?;
    let mut v13 = xsd::compile(&schema_dir.join("qbxmlops130.xsd"))?;
    let report13 = ops::annotate(&mut v13, &ops_tree)?;
    let m13 = model::build(&v13, 130);
    eprintln!("qbXML 13.0: {}", report13);
    eprintln!("qbXML 13.0: {}", m13.stats);

    // 16.0: no annotated ops file exists publicly; carry the 13.0 facts over by
    // position key and mark what 13.0 did not have as introduced in 14.0.
    let mut v16 = xsd::compile(&schema_dir.join("qbxmlops160.xsd"))?;
    let report16 = ops::carry_over(&v13, &mut v16, 140);
    let m16 = model::build(&v16, 160);
    eprintln!("qbXML 16.0: {}", report16);
    eprintln!("qbXML 16.0: {}", m16.stats);

    let outputs = [
        ("gen_v13.rs", emit::rust(&m13, "13.0")),
        ("gen_v16.rs", emit::rust(&m16, "16.0")),
    ];
    let mut stale = Vec::new();
    for (file, text) in &outputs {
        let path = out_dir.join(file);
        if check {
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if &current != text {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), text.len());
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "generated tables are stale: {} (run `cargo xtask gen-schema`)",
            stale.join(", ")
        ));
    }
    Ok(())
}

fn gen_openapi(args: &[String]) -> Result<(), String> {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => return Err(format!("unknown arguments {args:?}")),
    };
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .current_dir(&root)
        .args([
            "run",
            "-q",
            "--locked",
            "-p",
            "qbxml",
            "--example",
            "openapi",
        ])
        .output()
        .map_err(|e| format!("cargo run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the openapi example failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let path = root.join("docs/openapi.json");
    if check {
        let current = std::fs::read(&path).unwrap_or_default();
        if current != out.stdout {
            return Err(format!(
                "{} is stale (run `cargo xtask gen-openapi`)",
                path.display()
            ));
        }
        return Ok(());
    }
    std::fs::write(&path, &out.stdout).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {} ({} bytes)", path.display(), out.stdout.len());
    Ok(())
}
