//! QuickBooks' status codes and HRESULTs with their exact messages.
//!
//! This is the one place to add to: every component (validator, simulator,
//! server, client) takes codes, severities and message texts from these two
//! tables. Sources and evidence levels are in `../shared/qbxml/FACTS.md` §1–2;
//! `Evidence` records how sure we are of each text.

use std::fmt;

/// `statusSeverity` as QuickBooks writes it on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    Info,
    Warn,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Warn => "Warn",
            Severity::Error => "Error",
        }
    }

    /// Parse the wire value; also accepts Intuit's documentation spellings
    /// (INFO, WARNING, ERROR).
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "Info" | "INFO" | "info" => Some(Severity::Info),
            "Warn" | "WARN" | "Warning" | "WARNING" | "warn" => Some(Severity::Warn),
            "Error" | "ERROR" | "error" => Some(Severity::Error),
            _ => None,
        }
    }

    /// The severity QuickBooks uses for a code range (FACTS §2): 0–499 Info,
    /// 500–999 Warn, everything else Error.
    pub fn for_code(code: u32) -> Severity {
        match code {
            0..=499 => Severity::Info,
            500..=999 => Severity::Warn,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a message text is known (FACTS evidence levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Seen in genuine QuickBooks output.
    Seen,
    /// Intuit documentation or schema.
    Documented,
    /// Reported by third parties.
    Reported,
    /// Our inference; the text may differ from QuickBooks'.
    Inferred,
}

/// One status code of a `*Rs` element.
#[derive(Debug)]
pub struct StatusInfo {
    pub code: u32,
    pub severity: Severity,
    /// The `statusMessage`, with placeholders in angle brackets, e.g.
    /// `The string "<value>" in the field "<field>" is too long.`
    pub template: &'static str,
    pub evidence: Evidence,
}

use Evidence::*;
use Severity::*;

const fn st(
    code: u32,
    severity: Severity,
    template: &'static str,
    evidence: Evidence,
) -> StatusInfo {
    StatusInfo {
        code,
        severity,
        template,
        evidence,
    }
}

/// Status codes, sorted by code. Note the two spaces before "QuickBooks error
/// message:" and the trailing space of 3200: both are on the wire.
pub static STATUS_CODES: &[StatusInfo] = &[
    st(0, Info, "Status OK", Seen),
    st(1, Info, "A query request did not find a matching object in QuickBooks", Seen),
    st(500, Warn, "The query request has not been fully completed. There was a required element (\"<value>\") that could not be found in QuickBooks.", Seen),
    st(501, Warn, "Unable to represent <object> \"<value>\" in this version of the qbXML spec.", Documented),
    st(510, Warn, "Unable to return object.", Documented),
    st(530, Warn, "The field \"<field>\" is not supported by this implementation.", Seen),
    st(531, Warn, "The enum value \"<value>\" in the field \"<field>\" is not supported by this implementation.", Documented),
    st(550, Warn, "The <object> object was saved successfully, but its corresponding Notes record could not be saved.", Documented),
    st(570, Warn, "Unable to link to transaction \"<value>\" because it has already been closed.", Documented),
    st(1000, Error, "There has been an internal error when processing the request.", Documented),
    st(1010, Error, "System not available", Documented),
    st(1030, Error, "This request is not supported by this implementation.", Documented),
    st(1060, Error, "The request ID \"<value>\" is invalid, possibly too long, max 50 chars.", Documented),
    st(3000, Error, "The given object ID \"<value>\" in the field \"<field>\" is invalid. ", Seen),
    st(3010, Error, "There was an error when converting the boolean value \"<value>\" in the field \"<field>\"", Documented),
    st(3020, Error, "There was an error when converting the date value \"<value>\" in the field \"<field>\"", Documented),
    st(3030, Error, "Invalid date range: From date is greater than To date.", Documented),
    st(3031, Error, "The \"From\" or \"To\" values in the provided <field> are invalid.", Documented),
    st(3035, Error, "There was an error when converting the time interval value \"<value>\" in the field \"<field>\"", Inferred),
    st(3040, Error, "There was an error when converting the amount \"<value>\" in the field \"<field>\". ", Seen),
    st(3045, Error, "There was an error when converting the price \"<value>\" in the field \"<field>\". ", Reported),
    st(3050, Error, "There was an error when converting the quantity \"<value>\" in the field \"<field>\". ", Inferred),
    st(3055, Error, "There was an error when converting the percent \"<value>\" in the field \"<field>\". ", Inferred),
    st(3060, Error, "There was an error when converting the number \"<value>\" in the field \"<field>\". ", Inferred),
    st(3065, Error, "The enumerated value \"<value>\" in the field \"<field>\" is invalid. ", Inferred),
    st(3070, Error, "The string \"<value>\" in the field \"<field>\" is too long.", Seen),
    st(3100, Error, "The name \"<value>\" of the list element is already in use.", Seen),
    st(3120, Error, "Object \"<value>\" specified in the request cannot be found.  QuickBooks error message: Invalid argument.  The specified record does not exist in the list.", Seen),
    st(3140, Error, "There is an invalid reference to QuickBooks <type> \"<value>\" in the <object>.  QuickBooks error message: Invalid argument.  The specified record does not exist in the list.", Seen),
    st(3150, Error, "There is a missing element: \"<field>\".", Inferred),
    st(3170, Error, "There was an error when modifying a <object> named \"<value>\".  QuickBooks error message: This list has been modified by another user.", Reported),
    st(3171, Error, "An attempt to <action> the <object> \"<value>\" failed.  QuickBooks error message: <reason>", Inferred),
    st(3176, Error, "There was an error when deleting the <object> list element \"<value>\".  QuickBooks error message: This list element is in use.", Inferred),
    st(3180, Error, "There was an error when saving a <object> list, element \"<value>\". QuickBooks error message: This list has been modified by another user.", Seen),
    st(3200, Error, "The provided edit sequence \"<value>\" is out-of-date. ", Seen),
    st(3210, Error, "The \"<field>\" field has an invalid value \"<value>\".  QuickBooks error message: <reason>", Seen),
    st(3231, Error, "The request has not been processed.", Reported),
    st(3250, Error, "This feature is not enabled or not available in this version of QuickBooks.", Reported),
    st(3260, Error, "Insufficient permission level to perform this action.", Reported),
    st(3391, Error, "The iteratorID \"<value>\" is not valid.", Reported),
];

/// Look up a status code.
pub fn status(code: u32) -> Option<&'static StatusInfo> {
    STATUS_CODES
        .binary_search_by_key(&code, |s| s.code)
        .ok()
        .map(|i| &STATUS_CODES[i])
}

impl StatusInfo {
    /// Fill the placeholders: `format(&[("value", "abc"), ("field", "Name")])`.
    /// Unfilled placeholders stay as written.
    pub fn format(&self, args: &[(&str, &str)]) -> String {
        fill(self.template, args)
    }
}

fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('>') {
            Some(close) => {
                let key = &after[..close];
                match args.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('<');
                        out.push_str(key);
                        out.push('>');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A COM HRESULT from the request processor, e.g. `0x80040400`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HResult(pub u32);

impl HResult {
    pub const PARSE_ERROR: HResult = HResult(0x8004_0400);
    pub const UNSUPPORTED_VERSION: HResult = HResult(0x8004_0423);

    /// Intuit's message for this HRESULT, if known.
    pub fn message(self) -> Option<&'static str> {
        HRESULTS
            .iter()
            .find(|h| h.code == self.0)
            .map(|h| h.message)
    }

    /// Parse `0x80040400` (case-insensitive, `0x` optional).
    pub fn parse(s: &str) -> Option<HResult> {
        let s = s.trim();
        let hex = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        u32::from_str_radix(hex, 16).ok().map(HResult)
    }
}

impl fmt::Display for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08X}", self.0)
    }
}

#[derive(Debug)]
pub struct HResultInfo {
    pub code: u32,
    /// Intuit's text where known; otherwise a description of the condition.
    pub message: &'static str,
    pub evidence: Evidence,
}

const fn hr(code: u32, message: &'static str, evidence: Evidence) -> HResultInfo {
    HResultInfo {
        code,
        message,
        evidence,
    }
}

/// HRESULTs of the request processor (FACTS §1 table, connector FACTS §4.5).
pub static HRESULTS: &[HResultInfo] = &[
    hr(0x8004_0400, "QuickBooks found an error when parsing the provided XML text stream.", Seen),
    hr(0x8004_0401, "Could not access QuickBooks.", Reported),
    hr(0x8004_0402, "Unexpected error. Check the qbsdklog.txt file for possible, additional information.", Reported),
    hr(0x8004_0408, "Could not start QuickBooks.", Reported),
    hr(0x8004_040A, "QuickBooks company data file is already open and it is different from the one requested.", Reported),
    hr(0x8004_040D, "The ticket parameter is invalid.", Reported),
    hr(0x8004_0410, "The QuickBooks company data file is currently open in a mode other than the one specified by your application.", Reported),
    hr(0x8004_0414, "A modal dialog box is showing in the QuickBooks user interface. Your application cannot access QuickBooks until the user dismisses the dialog box.", Reported),
    hr(0x8004_0416, "If QuickBooks is not running, the company data file name must be supplied to BeginSession.", Documented),
    hr(0x8004_0418, "This application has not accessed this QuickBooks company data file before. Only the QuickBooks administrator can grant an application permission to access a QuickBooks company data file for the first time.", Reported),
    hr(0x8004_041A, "This application does not have permission to access this QuickBooks company data file. The QuickBooks administrator can grant access permission through the Integrated Application preferences.", Reported),
    hr(0x8004_041B, "Unable to lock the necessary information to allow this application to access this company data file. Try again later.", Reported),
    hr(0x8004_041C, "An internal QuickBooks error occurred while trying to access the QuickBooks company data file.", Reported),
    hr(0x8004_041D, "This application is not allowed to log into this QuickBooks company data file automatically. The QuickBooks administrator can grant permission for an automatic login through the Integrated Application preferences.", Reported),
    hr(0x8004_041E, "The application certificate has expired.", Inferred),
    hr(0x8004_041F, "This version of QuickBooks cannot accept qbXML requests.", Inferred),
    hr(0x8004_0420, "The QuickBooks user has denied access.", Reported),
    hr(0x8004_0422, "This application requires Single User file access mode and there is already another application sharing data with this QuickBooks company data file.", Reported),
    hr(0x8004_0423, "The version of qbXML that was requested is not supported or is unknown.", Reported),
    hr(0x8004_0424, "QuickBooks did not finish its initialization. Please try again later.", Reported),
    hr(0x8004_0427, "Unregistered QuickBooks.", Reported),
    hr(0x8004_042A, "Remote access is not allowed.", Inferred),
    hr(0x8004_042C, "The application certificate has been revoked.", Inferred),
    hr(0x8004_0154, "Class not registered: the QuickBooks request processor (QBXMLRP2) is not installed.", Inferred),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(STATUS_CODES.windows(2).all(|w| w[0].code < w[1].code));
        for s in STATUS_CODES {
            assert_eq!(
                Severity::for_code(s.code),
                s.severity,
                "severity of {} must follow its range",
                s.code
            );
        }
        let mut codes: Vec<u32> = HRESULTS.iter().map(|h| h.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), HRESULTS.len());
    }

    #[test]
    fn formats_like_quickbooks() {
        let s =
            status(3070).map(|s| s.format(&[("value", "a5ad6d73"), ("field", "AccountNumber")]));
        assert_eq!(
            s.as_deref(),
            Some("The string \"a5ad6d73\" in the field \"AccountNumber\" is too long.")
        );
        let s = status(3210).map(|s| {
            s.format(&[
                ("field", "AppliedToTxnAdd payment amount"),
                ("value", "129.43"),
                ("reason", "You cannot pay more than the amount due."),
            ])
        });
        assert_eq!(s.as_deref(), Some("The \"AppliedToTxnAdd payment amount\" field has an invalid value \"129.43\".  QuickBooks error message: You cannot pay more than the amount due."));
        assert_eq!(
            status(3231).map(|s| s.template),
            Some("The request has not been processed.")
        );
        assert!(status(2).is_none());
    }

    #[test]
    fn hresults() {
        assert_eq!(HResult::PARSE_ERROR.to_string(), "0x80040400");
        assert_eq!(HResult::parse("0x8004040a"), Some(HResult(0x8004_040A)));
        assert_eq!(
            HResult::UNSUPPORTED_VERSION.message(),
            Some("The version of qbXML that was requested is not supported or is unknown.")
        );
    }
}
