//! Print the content of a qbXML element declaration: `decl CustomerRet`.
use qbxml::schema::{Decl, Schema};
use qbxml::Version;

fn show(d: Decl, depth: usize, max: usize) {
    for p in d.children() {
        let mut notes = String::new();
        if let Some(v) = p.default_value() {
            notes.push_str(&format!(" default={v}"));
        }
        if p.not_in_desktop() {
            notes.push_str(" not-in-QBD");
        }
        println!(
            "{}{} (v{}){notes}",
            "  ".repeat(depth),
            p.name(),
            p.introduced()
        );
        if depth < max {
            show(p.decl(), depth + 1, max);
        }
    }
}

fn main() {
    let v = if std::env::var("V13").is_ok() {
        Version::V13_0
    } else {
        Version::V16_0
    };
    let s = Schema::for_version(v);
    for name in std::env::args().skip(1) {
        println!("== {name}");
        let found = s
            .request(&name)
            .or_else(|| s.response(&name))
            .map(|p| p.decl());
        match found {
            Some(d) => show(
                d,
                0,
                std::env::var("DEPTH")
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(2),
            ),
            None => {
                // Search one level down in requests and responses.
                let all = s.request_types().chain(
                    s.responses()
                        .into_iter()
                        .flat_map(|r| r.children().collect::<Vec<_>>()),
                );
                for rq in all {
                    if let Some(p) = rq.decl().child(&name) {
                        show(p.decl(), 0, 2);
                        break;
                    }
                }
            }
        }
    }
}
