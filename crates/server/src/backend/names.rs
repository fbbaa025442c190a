//! What a company file may be called: the rules both file-backed
//! backends share.
//!
//! A client allowed to name its company file names a file on the
//! connector's machine. Each part of that name must be an ordinary file
//! name on every system the connector runs on, so that no name reaches a
//! device (`COM1`, `NUL`, `LPT²`), an alternate data stream (`a.qbw:x`)
//! or a second spelling of another file (Windows drops trailing dots and
//! spaces: `acme.qbw.` is `acme.qbw`, which would get a lane of its own).

/// Why one part of a path (a directory or the file) is refused, or `Ok`.
pub fn check_component(part: &str) -> Result<(), String> {
    if part.chars().any(char::is_control) {
        return Err("holds a control character".into());
    }
    if let Some(c) = part
        .chars()
        .find(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
    {
        return Err(format!(
            "holds `{c}`, which Windows does not allow in a file name"
        ));
    }
    if part.ends_with(['.', ' ']) || part.starts_with(' ') {
        return Err("may not start with a space or end with a dot or space".into());
    }
    if is_device_name(part) {
        return Err("is a Windows device name".into());
    }
    Ok(())
}

/// Windows' reserved device names, with any extension and with spaces
/// before it (`CON`, `nul.qbw`, `COM1 .qbw`, `LPT²`): Windows opens the
/// device, not a file, in any directory. The superscript digits ¹²³
/// count, as Windows reads them as 1–3, and so do COM0 and LPT0.
pub fn is_device_name(part: &str) -> bool {
    let stem = part.split('.').next().unwrap_or("").trim_end_matches(' ');
    let upper: Vec<char> = stem.chars().map(|c| c.to_ascii_uppercase()).collect();
    let word: String = upper.iter().collect();
    if matches!(
        word.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$"
    ) {
        return true;
    }
    match upper.as_slice() {
        ['C', 'O', 'M', d] | ['L', 'P', 'T', d] => {
            d.is_ascii_digit() || matches!(d, '¹' | '²' | '³')
        }
        _ => false,
    }
}

/// Why a company file name is refused, or `Ok`.
///
/// A name is one plain file inside the data directory that could be a
/// company file on any system the connector runs on: no path, nothing
/// Windows reads as a device or refuses in a name, and none of the side
/// files SQLite keeps beside an open database (`-wal`, `-shm`,
/// `-journal`, `-mj…`) — opening one of those as a company would write
/// into another company's log and lose its acknowledged writes.
pub fn check_name(name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("company file `{}`: {why}", name.escape_debug()));
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > 200 {
        return bad("longer than 200 bytes");
    }
    if name.contains(['/', '\\', ':']) {
        return bad("a plain file name inside the data directory, without a path, is expected");
    }
    if name.starts_with('.') {
        return bad("may not start with a dot");
    }
    check_component(name).or_else(|why| bad(&why))?;
    if let Some(suffix) = sqlite_side_file(name) {
        return bad(&format!(
            "ends in `{suffix}`, the name of a file SQLite keeps beside a company file"
        ));
    }
    Ok(())
}

/// The SQLite side-file suffix `name` ends with, compared without regard
/// to case (Windows' file names are case-insensitive).
pub fn sqlite_side_file(name: &str) -> Option<&str> {
    let lower = name.to_ascii_lowercase();
    for suffix in ["-wal", "-shm", "-journal"] {
        if lower.ends_with(suffix) {
            return Some(&name[name.len() - suffix.len()..]);
        }
    }
    // A super-journal: `<db>-mj` followed by hex digits.
    let i = lower.rfind("-mj")?;
    let tail = &lower[i + 3..];
    tail.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| &name[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_in_every_spelling() {
        for d in [
            "CON",
            "con.qbw",
            "CON .qbw",
            "nul",
            "AUX.tar.gz",
            "PRN",
            "COM1",
            "com9.qbw",
            "COM0",
            "LPT0",
            "COM¹",
            "COM².qbw",
            "lpt³",
            "LPT1 ",
            "CONIN$",
            "conout$.x",
            "CLOCK$",
        ] {
            assert!(is_device_name(d), "{d}");
        }
        for f in [
            "COM10",
            "console.qbw",
            "CONX",
            "LPT",
            "COM⁴",
            "COM½",
            "acme.qbw",
            "ACON.qbw",
        ] {
            assert!(!is_device_name(f), "{f}");
        }
    }

    #[test]
    fn components_that_alias_or_escape() {
        for bad in [
            "a.qbw:stream",
            "a<b",
            "a>b",
            "a|b",
            "a?b",
            "a*b",
            "a\"b",
            "acme.qbw.",
            "acme.qbw ",
            " acme.qbw",
            "a\u{7f}b",
            "COM¹.qbw",
        ] {
            assert!(check_component(bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_component("Acme Inc (2024).QBW"), Ok(()));
    }

    #[test]
    fn names_stay_inside_the_data_directory() {
        for ok in [
            "acme.qbw",
            "Acme Inc (2024).QBW",
            "x",
            "COM10.qbw",
            "console.qbw",
            "walnut-wall.qbw",
            "my-mjolnir.qbw",
            "Café ¹.qbw",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "..",
            "../x.qbw",
            "a/b.qbw",
            r"C:\Data\x.qbw",
            r"..\x",
            ".hidden",
            "CON",
            "nul.qbw",
            "com1.QBW",
            "acme.qbw.",
            "acme.qbw ",
            "a\0b",
            "a\nb",
            "/etc/passwd",
            // Windows devices, superscript digits and spaces included.
            "COM¹.qbw",
            "lpt²",
            "LPT³.x",
            "com0",
            "CON .qbw",
            "conin$",
            "CONOUT$.qbw",
            // SQLite's side files of a company file.
            "v0.qbw-wal",
            "v0.qbw-shm",
            "v0.qbw-journal",
            "V0.QBW-WAL",
            "v0.qbw-mj1A2B3C4D",
            "v0.qbw-mj",
            // Characters Windows refuses in names.
            "a<b.qbw",
            "a|b",
            "what?.qbw",
            "*.qbw",
            "a\"b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(201)).is_err());
    }
}
