//! Parse files as qbXML requests (or, with `--response`, responses) and
//! print the outcome. Used by the instruction-count linearity test and
//! handy for poking at inputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let mut response = false;
    for arg in std::env::args().skip(1) {
        if arg == "--response" {
            response = true;
            continue;
        }
        let bytes = std::fs::read(&arg).expect("readable file");
        let limits = qbxml::Limits {
            max_size: usize::MAX,
            max_elements: usize::MAX,
            max_text: usize::MAX,
            ..qbxml::Limits::default()
        };
        if response {
            match qbxml::parse_response_with(bytes, &limits) {
                Ok(set) => println!("{arg}: ok {}", set.len()),
                Err(e) => println!(
                    "{arg}: {:?} {:?} {}:{} {}",
                    e.kind, e.detail, e.line, e.column, e.path
                ),
            }
        } else {
            match qbxml::parse_request_with(bytes, &limits) {
                Ok(set) => {
                    println!("{arg}: ok {} {}", set.version(), set.len());
                    for r in set.requests() {
                        if let Some(e) = r.error() {
                            println!(
                                "  {} {} {:?} {:?} {}:{} {}",
                                r.name(),
                                e.status_code,
                                e.message,
                                e.detail,
                                e.line,
                                e.column,
                                e.path
                            );
                        }
                    }
                }
                Err(e) => println!(
                    "{arg}: {:?} {:?} {}:{} {}",
                    e.kind, e.detail, e.line, e.column, e.path
                ),
            }
        }
    }
}
