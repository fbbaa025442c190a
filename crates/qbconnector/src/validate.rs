//! `qbconnector validate`: check qbXML requests (and responses) the way
//! QuickBooks would and say what is wrong.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

fn read(path: &PathBuf) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(path)
    }
}

pub fn validate(files: &[PathBuf], response: bool, quiet: bool) -> ExitCode {
    match check(files, response, quiet) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("qbconnector: {e}");
            ExitCode::from(2)
        }
    }
}

fn check(files: &[PathBuf], response: bool, quiet: bool) -> Result<ExitCode, String> {
    let stdin = [PathBuf::from("-")];
    let files = if files.is_empty() { &stdin[..] } else { files };
    let mut failed = false;
    for path in files {
        let name = path.display();
        let bytes = match read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{name}: cannot read: {e}");
                failed = true;
                continue;
            }
        };
        if response {
            match qbxml::parse_response(bytes) {
                Ok(set) => {
                    if !quiet {
                        outln!("{name}: ok, {} responses", set.len())?;
                        for r in set.responses() {
                            outln!(
                                "  {} status {} ({}) {}",
                                r.name(),
                                r.status_code(),
                                r.severity(),
                                r.message()
                            )?;
                        }
                    }
                }
                Err(e) => {
                    failed = true;
                    outln!("{name}: {e}")?;
                }
            }
            continue;
        }
        match qbxml::parse_request(bytes) {
            Ok(set) => {
                let errors: Vec<_> = set
                    .requests()
                    .filter_map(|r| r.error().map(|e| (r, e)))
                    .collect();
                if !errors.is_empty() {
                    failed = true;
                }
                if !quiet || !errors.is_empty() {
                    let access = match set.access() {
                        qbxml::Access::Read => "read-only",
                        qbxml::Access::Write => "writes",
                    };
                    let verdict = if errors.is_empty() {
                        "valid".to_string()
                    } else {
                        format!(
                            "accepted as a message set, but {} request(s) would fail",
                            errors.len()
                        )
                    };
                    outln!(
                        "{name}: {verdict}: qbXML {}, {} request{}, {access}",
                        set.version(),
                        set.len(),
                        if set.len() == 1 { "" } else { "s" },
                    )?;
                }
                for (r, e) in errors {
                    outln!(
                        "  {}: QuickBooks would answer status {} ({}): {}\n    {} (line {}, column {}, {})",
                        r.name(),
                        e.status_code,
                        e.severity,
                        e.message,
                        e.detail,
                        e.line,
                        e.column,
                        e.path
                    )?;
                }
            }
            Err(e) => {
                failed = true;
                outln!("{name}: {} {}", e.hresult, e.message())?;
                outln!("  {}", e.detail)?;
                if e.line > 0 {
                    outln!(
                        "  at line {}, column {}{}",
                        e.line,
                        e.column,
                        if e.path.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", e.path)
                        }
                    )?;
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
