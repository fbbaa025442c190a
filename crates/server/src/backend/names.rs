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
}
