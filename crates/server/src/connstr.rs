//! Connection settings in the QBConnectionString syntax.
//!
//! `ApplicationName="x" CompanyFile='y' ConnectionMode="multi"`: pairs of
//! `name = value` in any order, the value in single or double quotes (or
//! bare, up to the next space), whitespace around `=` optional, names
//! case-insensitive (connector FACTS §2.1). Clients send them in the
//! `X-QB-Connection` header; the configuration uses the same syntax for a
//! user's settings and for the seed's `DefaultConnectionString`.

use std::fmt;

/// How QuickBooks is asked to open the company file (BeginSession's mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnectionMode {
    /// `qbFileOpenDoNotCare` (2), the Integrator's default `cmDontCare`.
    #[default]
    DontCare,
    /// `qbFileOpenSingleUser` (0).
    SingleUser,
    /// `qbFileOpenMultiUser` (1).
    MultiUser,
}

impl ConnectionMode {
    /// Accepts our short names and the Integrator's enum names.
    pub fn parse(s: &str) -> Option<ConnectionMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dontcare" | "donotcare" | "cmdontcare" | "0" | "" => Some(ConnectionMode::DontCare),
            "single" | "singleuser" | "cmsingleusermode" | "1" => Some(ConnectionMode::SingleUser),
            "multi" | "multiuser" | "cmmultiusermode" | "2" => Some(ConnectionMode::MultiUser),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionMode::DontCare => "dontcare",
            ConnectionMode::SingleUser => "single",
            ConnectionMode::MultiUser => "multi",
        }
    }

    /// The QBFileMode value for BeginSession (connector FACTS §4.3).
    pub fn qb_file_mode(self) -> u32 {
        match self {
            ConnectionMode::SingleUser => 0,
            ConnectionMode::MultiUser => 1,
            ConnectionMode::DontCare => 2,
        }
    }
}

/// Connection settings; `None` means "not set here".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionString {
    pub application_name: Option<String>,
    pub app_id: Option<String>,
    pub company_file: Option<String>,
    pub connection_mode: Option<ConnectionMode>,
    pub auth_flags: Option<u32>,
    /// Settings the connector does not use, as given.
    pub extra: Vec<(String, String)>,
}

/// What is wrong with a connection string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnStrError(pub String);

impl fmt::Display for ConnStrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnStrError {}

impl ConnectionString {
    /// Parse; names the server does not use are kept in `extra` (a client
    /// may send all of its Integrator settings), credentials are refused.
    pub fn parse(s: &str) -> Result<ConnectionString, ConnStrError> {
        let mut out = ConnectionString::default();
        for (name, value) in qbxml::connstr::pairs(s).map_err(|e| ConnStrError(e.to_string()))? {
            out.set(&name, &value)?;
        }
        Ok(out)
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), ConnStrError> {
        let v = value.to_string();
        match name.to_ascii_lowercase().as_str() {
            "applicationname" | "appname" => self.application_name = Some(v),
            "appid" => self.app_id = Some(v),
            "companyfile" => self.company_file = Some(v),
            "connectionmode" | "qbconnectionmode" => {
                self.connection_mode = Some(ConnectionMode::parse(value).ok_or_else(|| {
                    ConnStrError(format!(
                        "ConnectionMode `{}` is not one of dontcare, single, multi",
                        clip(value)
                    ))
                })?)
            }
            "authflags" => {
                let t = value.trim();
                let n = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => t.parse(),
                };
                self.auth_flags = Some(n.map_err(|_| {
                    ConnStrError(format!("AuthFlags `{}` is not a number", clip(value)))
                })?)
            }
            "user" | "password" => {
                return Err(ConnStrError(format!(
                    "{name} does not belong in the connection settings: send credentials with HTTP Basic authentication"
                )))
            }
            _ => self.extra.push((name.to_string(), v)),
        }
        Ok(())
    }

    /// `self` where set, else `other`: the server side's settings win.
    pub fn or(&self, other: &ConnectionString) -> ConnectionString {
        ConnectionString {
            application_name: self
                .application_name
                .clone()
                .or_else(|| other.application_name.clone()),
            app_id: self.app_id.clone().or_else(|| other.app_id.clone()),
            company_file: self
                .company_file
                .clone()
                .or_else(|| other.company_file.clone()),
            connection_mode: self.connection_mode.or(other.connection_mode),
            auth_flags: self.auth_flags.or(other.auth_flags),
            extra: Vec::new(),
        }
    }
}

impl fmt::Display for ConnectionString {
    /// Writes the string back in the same syntax (values in double quotes,
    /// or single quotes when they hold a double quote).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut put = |f: &mut fmt::Formatter<'_>, k: &str, v: &str| {
            let q = if v.contains('"') { '\'' } else { '"' };
            let r = write!(f, "{sep}{k}={q}{v}{q}");
            sep = " ";
            r
        };
        if let Some(v) = &self.application_name {
            put(f, "ApplicationName", v)?;
        }
        if let Some(v) = &self.app_id {
            put(f, "AppID", v)?;
        }
        if let Some(v) = &self.company_file {
            put(f, "CompanyFile", v)?;
        }
        if let Some(v) = self.connection_mode {
            put(f, "ConnectionMode", v.as_str())?;
        }
        if let Some(v) = self.auth_flags {
            put(f, "AuthFlags", &format!("0x{v:X}"))?;
        }
        for (k, v) in &self.extra {
            put(f, k, v)?;
        }
        Ok(())
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_quotes_any_order_any_case() {
        let c = ConnectionString::parse(
            r#" CompanyFile= 'C:\Data\Acme.qbw' applicationname ="Sync" ConnectionMode=multi AuthFlags=0xF"#,
        )
        .unwrap();
        assert_eq!(c.company_file.as_deref(), Some(r"C:\Data\Acme.qbw"));
        assert_eq!(c.application_name.as_deref(), Some("Sync"));
        assert_eq!(c.connection_mode, Some(ConnectionMode::MultiUser));
        assert_eq!(c.auth_flags, Some(15));
        let again = ConnectionString::parse(&c.to_string()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn errors_say_what() {
        for (s, want) in [
            ("CompanyFile='x", "never closes"),
            ("Password='p'", "HTTP Basic"),
            ("ConnectionMode='both'", "not one of"),
            ("CompanyFile", "expected `=`"),
            ("AuthFlags=zz", "not a number"),
        ] {
            let e = ConnectionString::parse(s).unwrap_err();
            assert!(e.0.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn unknown_names_are_kept() {
        let c = ConnectionString::parse("Color='red' CompanyFile=a.qbw").unwrap();
        assert_eq!(c.extra, vec![("Color".to_string(), "red".to_string())]);
        assert_eq!(c.company_file.as_deref(), Some("a.qbw"));
        assert_eq!(c.to_string(), r#"CompanyFile="a.qbw" Color="red""#);
    }

    #[test]
    fn server_side_wins() {
        let user = ConnectionString::parse("CompanyFile='a.qbw'").unwrap();
        let client = ConnectionString::parse("CompanyFile='b.qbw' ApplicationName='x'").unwrap();
        let m = user.or(&client);
        assert_eq!(m.company_file.as_deref(), Some("a.qbw"));
        assert_eq!(m.application_name.as_deref(), Some("x"));
    }
}
