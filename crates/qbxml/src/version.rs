//! qbXML specification versions.

use std::fmt;

/// A qbXML version such as 13.0, as declared by `<?qbxml version="13.0"?>`.
///
/// Stored as `major * 10 + minor`, the encoding the generated schema tables
/// use for "introduced in" versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u8);

impl Version {
    pub const V1_0: Version = Version(10);
    pub const V2_0: Version = Version(20);
    pub const V5_0: Version = Version(50);
    pub const V7_0: Version = Version(70);
    pub const V8_0: Version = Version(80);
    pub const V13_0: Version = Version(130);
    pub const V14_0: Version = Version(140);
    pub const V16_0: Version = Version(160);
    /// The newest version this crate knows.
    pub const LATEST: Version = Version::V16_0;

    /// The versions QuickBooks Desktop 2023 (qbXML 16.0) accepts: the
    /// `SupportedQBXMLVersion` list of a HostQuery (FACTS §1: QB 2014 listed
    /// 1.0 … 13.0; 14.0, 15.0 and 16.0 came with QB 2018, 2022 and 2023).
    pub const SUPPORTED: &'static [Version] = &[
        Version(10),
        Version(11),
        Version(20),
        Version(21),
        Version(30),
        Version(40),
        Version(41),
        Version(50),
        Version(60),
        Version(70),
        Version(80),
        Version(90),
        Version(100),
        Version(110),
        Version(120),
        Version(130),
        Version(140),
        Version(150),
        Version(160),
    ];

    /// `Version::new(13, 0)`; `None` if it cannot be represented.
    pub const fn new(major: u8, minor: u8) -> Option<Version> {
        if minor > 9 || major > 24 {
            return None;
        }
        Some(Version(major * 10 + minor))
    }

    pub(crate) const fn from_code(code: u8) -> Version {
        Version(code)
    }

    pub(crate) const fn code(self) -> u8 {
        self.0
    }

    pub const fn major(self) -> u8 {
        self.0 / 10
    }

    pub const fn minor(self) -> u8 {
        self.0 % 10
    }

    /// Parse `"13.0"` (surrounding whitespace allowed). Does not check
    /// [`is_supported`](Self::is_supported).
    pub fn parse(s: &str) -> Option<Version> {
        let (maj, min) = s.trim().split_once('.')?;
        if maj.is_empty() || maj.len() > 2 || min.len() != 1 {
            return None;
        }
        if !maj.bytes().all(|b| b.is_ascii_digit()) || !min.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Version::new(maj.parse().ok()?, min.parse().ok()?)
    }

    pub fn is_supported(self) -> bool {
        Version::SUPPORTED.contains(&self)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major(), self.minor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(Version::parse("13.0"), Some(Version::V13_0));
        assert_eq!(
            Version::parse(" 2.1 ").map(|v| v.to_string()),
            Some("2.1".into())
        );
        for bad in [
            "", "13", "13.", ".0", "13.00", "x.0", "CA3.0", "-1.0", "300.0",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
        assert!(Version::parse("16.0").is_some_and(Version::is_supported));
        assert!(Version::parse("6.1").is_some_and(|v| !v.is_supported()));
        assert!(Version::parse("17.0").is_some_and(|v| !v.is_supported()));
    }
}
