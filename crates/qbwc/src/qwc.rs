//! The `.qwc` file an administrator loads into the Web Connector: where
//! the service is, who logs in, and which company file it serves
//! (shared/qbwc/PROTOCOL.md §1.6).
//!
//! [`write`] checks what the Web Connector would refuse later, with its
//! own error code: an `AppURL` that is not https (QBWC1010; only
//! `localhost` may use http), a host given as an IP address (QBWC1001),
//! an `AppSupport` on another domain (QBWC1000). The password is never
//! in the file: the user types it into the Web Connector.

use std::net::IpAddr;

/// How often the Web Connector runs the update by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    Minutes(u32),
    /// Shown as "Real Time"; as low as 1 s.
    Seconds(u32),
}

/// What a `.qwc` file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qwc {
    /// Also the application name QuickBooks shows and authorizes.
    pub app_name: String,
    pub app_description: String,
    /// The SOAP endpoint.
    pub app_url: String,
    /// A page on the same domain that answers 200 (the Web Connector
    /// fetches it when the file is added).
    pub app_support: String,
    pub user_name: String,
    /// One GUID per application (`{…}`).
    pub owner_id: String,
    /// One GUID per company file (`{…}`): the Web Connector stores it in
    /// the company file, so the server can tell it is the same file.
    pub file_id: String,
    pub schedule: Option<Schedule>,
    /// The application only reads.
    pub read_only: bool,
    /// QuickBooks editions (0x1 SimpleStart, 0x2 Pro, 0x4 Premier, 0x8
    /// Enterprise); `None`: all.
    pub auth_flags: Option<u32>,
}

/// `scheme`, `host` of a URL.
fn parts(url: &str) -> Result<(&str, &str), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL (https://host/path)"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    Ok((scheme, host))
}

/// The registrable-ish domain: the last two labels (`qb.example.com` →
/// `example.com`), as the Web Connector compares AppURL and AppSupport.
fn domain(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    labels[n.saturating_sub(2)..].join(".").to_ascii_lowercase()
}

fn check(q: &Qwc) -> Result<(), String> {
    for (what, v) in [
        ("AppName", &q.app_name),
        ("UserName", &q.user_name),
        ("AppURL", &q.app_url),
        ("AppSupport", &q.app_support),
    ] {
        if v.trim().is_empty() {
            return Err(format!("{what} is empty"));
        }
    }
    let (scheme, host) = parts(&q.app_url)?;
    let local = host.eq_ignore_ascii_case("localhost");
    if host.parse::<IpAddr>().is_ok() {
        return Err(format!(
            "AppURL: the host `{host}` is an IP address, which the Web Connector refuses \
             (QBWC1001): use a host name (localhost on the same machine)"
        ));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if local => {}
        "http" => {
            return Err(
                "AppURL: the Web Connector requires https except for localhost (QBWC1010)".into(),
            )
        }
        other => return Err(format!("AppURL: `{other}` is not http or https")),
    }
    let (_, support_host) = parts(&q.app_support)?;
    if domain(support_host) != domain(host) {
        return Err(format!(
            "AppSupport `{}` is not on AppURL's domain `{}` (QBWC1000)",
            q.app_support,
            domain(host)
        ));
    }
    for (what, v) in [("OwnerID", &q.owner_id), ("FileID", &q.file_id)] {
        if !is_guid(v) {
            return Err(format!("{what} `{v}` is not a GUID in braces"));
        }
    }
    if let Some(Schedule::Minutes(0) | Schedule::Seconds(0)) = q.schedule {
        return Err("the schedule's interval is at least 1".into());
    }
    Ok(())
}

/// `{8-4-4-4-12 hex}`.
pub fn is_guid(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return false;
    };
    let groups: Vec<&str> = inner.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

/// The `.qwc` file's text, or why the Web Connector would refuse it.
pub fn write(q: &Qwc) -> Result<String, String> {
    check(q)?;
    let mut out = String::from("<?xml version=\"1.0\"?>\n<QBWCXML>\n");
    element(&mut out, "AppName", &q.app_name);
    element(&mut out, "AppID", "");
    element(&mut out, "AppURL", &q.app_url);
    element(&mut out, "AppDescription", &q.app_description);
    element(&mut out, "AppSupport", &q.app_support);
    element(&mut out, "UserName", &q.user_name);
    element(&mut out, "OwnerID", &q.owner_id);
    element(&mut out, "FileID", &q.file_id);
    element(&mut out, "QBType", "QBFS");
    element(&mut out, "Style", "Document");
    if let Some(f) = q.auth_flags {
        element(&mut out, "AuthFlags", &format!("0x{f:X}"));
    }
    element(
        &mut out,
        "IsReadOnly",
        if q.read_only { "true" } else { "false" },
    );
    match q.schedule {
        Some(Schedule::Minutes(n)) => {
            out.push_str("<Scheduler>\n");
            element(&mut out, "RunEveryNMinutes", &n.to_string());
            out.push_str("</Scheduler>\n");
        }
        Some(Schedule::Seconds(n)) => {
            out.push_str("<Scheduler>\n");
            element(&mut out, "RunEveryNSeconds", &n.to_string());
            out.push_str("</Scheduler>\n");
        }
        None => {}
    }
    out.push_str("</QBWCXML>\n");
    Ok(out)
}

/// A GUID that depends only on `seed` (a company file's name, an
/// application's): the same file always gets the same FileID, so a
/// `.qwc` made again still matches what the Web Connector stored.
pub fn stable_guid(seed: &str) -> String {
    // Two FNV-1a passes with different offsets: 128 bits, no dependency.
    // Not a secret and not a security boundary; only stable and spread.
    let fnv = |offset: u64| {
        seed.bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
        })
    };
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142));
    // Marked as a version-5-like, RFC 4122 variant GUID.
    let a = (a & !0xF000) | 0x5000;
    let b = (b & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Qwc {
        Qwc {
            app_name: "QBConnector (acme.qbw)".into(),
            app_description: "Acme's books through the connector".into(),
            app_url: "https://qb.example.com:2080/qbwc".into(),
            app_support: "https://www.example.com/support".into(),
            user_name: "acme-wc".into(),
            owner_id: stable_guid("qbconnector"),
            file_id: stable_guid("acme.qbw"),
            schedule: Some(Schedule::Minutes(5)),
            read_only: false,
            auth_flags: Some(0xF),
        }
    }

    #[test]
    fn writes_what_the_sample_holds_and_the_schedule() {
        let text = write(&sample()).unwrap();
        for e in [
            "<AppName>QBConnector (acme.qbw)</AppName>",
            "<AppID></AppID>",
            "<AppURL>https://qb.example.com:2080/qbwc</AppURL>",
            "<UserName>acme-wc</UserName>",
            "<QBType>QBFS</QBType>",
            "<AuthFlags>0xF</AuthFlags>",
            "<IsReadOnly>false</IsReadOnly>",
            "<Scheduler>\n<RunEveryNMinutes>5</RunEveryNMinutes>\n</Scheduler>",
        ] {
            assert!(text.contains(e), "{e}\n{text}");
        }
        assert!(!text.to_lowercase().contains("password"));
    }

    #[test]
    fn refuses_what_the_web_connector_would() {
        let mut q = sample();
        q.app_url = "http://qb.example.com/qbwc".into();
        assert!(write(&q).unwrap_err().contains("QBWC1010"));
        q.app_url = "http://localhost:2080/qbwc".into();
        q.app_support = "http://localhost:2080/".into();
        assert!(write(&q).is_ok(), "http on localhost");
        q.app_url = "https://10.0.0.7/qbwc".into();
        assert!(write(&q).unwrap_err().contains("QBWC1001"));
        q.app_url = "https://[::1]:2080/qbwc".into();
        assert!(write(&q).unwrap_err().contains("QBWC1001"));
        let mut q = sample();
        q.app_support = "https://elsewhere.org/".into();
        assert!(write(&q).unwrap_err().contains("QBWC1000"));
        let mut q = sample();
        q.file_id = "90A44FB5".into();
        assert!(write(&q).unwrap_err().contains("GUID"));
        let mut q = sample();
        q.schedule = Some(Schedule::Seconds(0));
        assert!(write(&q).is_err());
    }

    #[test]
    fn stable_guids_are_stable_distinct_and_well_formed() {
        assert_eq!(stable_guid("acme.qbw"), stable_guid("acme.qbw"));
        assert_ne!(stable_guid("acme.qbw"), stable_guid("acme2.qbw"));
        for s in ["", "a", "C:\\Books\\Acme.QBW"] {
            assert!(is_guid(&stable_guid(s)), "{}", stable_guid(s));
        }
    }

    #[test]
    fn text_is_escaped() {
        let mut q = sample();
        q.app_description = "Smith & Sons <books>".into();
        assert!(write(&q)
            .unwrap()
            .contains("<AppDescription>Smith &amp; Sons &lt;books&gt;</AppDescription>"));
    }
}
