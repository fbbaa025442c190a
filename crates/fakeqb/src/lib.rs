//! A fake `QBXMLRP2.RequestProcessor` for the COM backend's tests.
//!
//! QuickBooks cannot run here; the rules of its request processor can.
//! This crate is those rules as plain Rust (`../shared/connector/FACTS.md`
//! §4): connection before session, one session at a time and tickets that
//! go stale, the authorization preferences an application must set before
//! it connects, the enumeration values of the type library (checked here
//! on their own, so a client that sends the wrong ones — several public
//! projects do — fails), XML that QuickBooks cannot parse, and the
//! HRESULTs QuickBooks answers with Intuit's messages. Failures QuickBooks
//! produces on its own (it cannot start, the user denied access, a modal
//! dialog is open) are injected by naming them in the company file.
//!
//! What answers a request is a [`Backend`]: the simulator, in the tests.
//!
//! The model is plain Rust, built and tested on every platform. On
//! Windows, [`com`] wraps it in the COM object the connector meets:
//! `fakeqb.dll`, an Apartment-threaded late-bound `IDispatch` server that
//! registers as `QBXMLRP2.RequestProcessor` (in a throwaway wine prefix,
//! never beside a real QuickBooks) and answers from the simulator linked
//! into the DLL.

use qbxml::HResult;

#[cfg(windows)]
#[allow(unsafe_code)]
pub mod com;

/// The type library's enumeration values (FACTS §4.3). Written out here
/// again, not taken from the server's `backend::com::typelib`: the fake is
/// the independent check of the values the backend sends, so a wrong value
/// in one place fails the tests instead of agreeing with itself.
pub mod typelib {
    /// `QBXMLRPConnectionType`.
    pub const CONN_UNKNOWN: i32 = 0;
    pub const CONN_LOCAL_QBD: i32 = 1;
    pub const CONN_REMOTE_QBD: i32 = 2;
    pub const CONN_LOCAL_QBD_LAUNCH_UI: i32 = 3;
    pub const CONN_REMOTE_QBOE: i32 = 4;
    /// `QBFileMode`.
    pub const FILE_SINGLE_USER: i32 = 0;
    pub const FILE_MULTI_USER: i32 = 1;
    pub const FILE_DO_NOT_CARE: i32 = 2;
    /// `QBXMLRPUnattendedModePrefType`.
    pub const UMP_REQUIRED: i32 = 1;
    pub const UMP_OPTIONAL: i32 = 2;
    /// `QBXMLRPPersonalDataPrefType`.
    pub const PDP_REQUIRED: i32 = 1;
    pub const PDP_OPTIONAL: i32 = 2;
    pub const PDP_NOT_NEEDED: i32 = 3;
}

/// `E_INVALIDARG`: an argument outside the type library's values.
pub const E_INVALIDARG: u32 = 0x8007_0057;

/// A failed call: the HRESULT and its message, as the COM shell will
/// report it (EXCEPINFO or IErrorInfo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub hresult: u32,
    pub message: String,
}

impl Fault {
    /// QuickBooks' own failure, with Intuit's message.
    pub fn qb(code: u32) -> Fault {
        let message = match HResult(code).message() {
            Some(m) => m.to_string(),
            // Not in Intuit's table (FACTS §4.5): the words the
            // feasibility study's fake used for it.
            None if code == 0x8004_0403 => {
                "Could not open the specified QuickBooks company data file.".to_string()
            }
            None => format!("QuickBooks request processor error {}.", HResult(code)),
        };
        Fault {
            hresult: code,
            message,
        }
    }

    fn invalid_arg(what: &str) -> Fault {
        Fault {
            hresult: E_INVALIDARG,
            message: format!("The parameter is incorrect: {what}."),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", HResult(self.hresult), self.message)
    }
}

impl std::error::Error for Fault {}

/// What answers `ProcessRequest` once the fake has accepted it.
pub trait Backend {
    /// BeginSession opens the company file (QuickBooks answers
    /// 0x80040403 when it cannot).
    fn open(&mut self, _company_file: &str) -> Result<(), Fault> {
        Ok(())
    }
    fn process(&mut self, company_file: &str, request: &str) -> Result<String, Fault>;
    /// EndSession.
    fn close(&mut self) {}
}

impl<F: FnMut(&str, &str) -> Result<String, Fault>> Backend for F {
    fn process(&mut self, company_file: &str, request: &str) -> Result<String, Fault> {
        self(company_file, request)
    }
}

/// The authorization preferences an application sets (`AuthPreferences`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefs {
    pub read_only: bool,
    pub unattended_mode: Option<i32>,
    pub personal_data: Option<i32>,
    pub auth_flags: Option<u32>,
}

#[derive(Debug)]
struct Connection {
    app_name: String,
    conn_type: i32,
}

#[derive(Debug)]
struct Session {
    ticket: String,
    file: String,
    mode: i32,
    /// The preferences were set before the connection was opened.
    prefs_obeyed: bool,
}

/// Failures injected by naming them in the company file passed to
/// `BeginSession` (e.g. `C:\\books\\cannot-start.qbw`).
pub const INJECTED: &[(&str, u32)] = &[
    ("cannot-start", 0x8004_0408),
    ("not-authorized", 0x8004_0418),
    ("no-permission", 0x8004_041A),
    ("user-denied", 0x8004_0420),
    ("modal-dialog", 0x8004_0414),
    ("not-initialized", 0x8004_0424),
    ("other-mode", 0x8004_0410),
    ("file-locked", 0x8004_041B),
    // The COM shell answers this one as a plain HRESULT with IErrorInfo
    // instead of DISP_E_EXCEPTION with EXCEPINFO: the other error style a
    // client must handle.
    ("raw-hresult", 0x8004_0403),
];

/// The qbXML versions a QuickBooks 2023 answers `QBXMLVersionsForSession`
/// with (FACTS of the qbXML layer: 1.0 … 16.0).
pub fn versions() -> Vec<String> {
    qbxml::Version::SUPPORTED
        .iter()
        .map(|v| v.to_string())
        .collect()
}

/// One request processor object: the state QuickBooks keeps per object.
pub struct Processor<B: Backend> {
    backend: B,
    prefs: Prefs,
    prefs_set_after_connect: bool,
    connection: Option<Connection>,
    session: Option<Session>,
    tickets: u32,
    /// Every call, in order (the tests read it: "the preferences reached
    /// the fake", "one session for many requests").
    pub calls: Vec<String>,
}

impl<B: Backend> Processor<B> {
    pub fn new(backend: B) -> Processor<B> {
        Processor {
            backend,
            prefs: Prefs::default(),
            prefs_set_after_connect: false,
            connection: None,
            session: None,
            tickets: 0,
            calls: Vec::new(),
        }
    }

    pub fn prefs(&self) -> &Prefs {
        &self.prefs
    }

    fn note_pref(&mut self, call: String) {
        if self.connection.is_some() {
            self.prefs_set_after_connect = true;
        }
        self.calls.push(call);
    }

    pub fn put_is_read_only(&mut self, read_only: bool) {
        self.note_pref(format!("PutIsReadOnly({read_only})"));
        self.prefs.read_only = read_only;
    }

    pub fn put_unattended_mode_pref(&mut self, v: i32) -> Result<(), Fault> {
        self.note_pref(format!("PutUnattendedModePref({v})"));
        if !(typelib::UMP_REQUIRED..=typelib::UMP_OPTIONAL).contains(&v) {
            return Err(Fault::invalid_arg("QBXMLRPUnattendedModePrefType"));
        }
        self.prefs.unattended_mode = Some(v);
        Ok(())
    }

    pub fn put_personal_data_pref(&mut self, v: i32) -> Result<(), Fault> {
        self.note_pref(format!("PutPersonalDataPref({v})"));
        if !(typelib::PDP_REQUIRED..=typelib::PDP_NOT_NEEDED).contains(&v) {
            return Err(Fault::invalid_arg("QBXMLRPPersonalDataPrefType"));
        }
        self.prefs.personal_data = Some(v);
        Ok(())
    }

    pub fn put_auth_flags(&mut self, flags: u32) {
        self.note_pref(format!("PutAuthFlags({flags:#x})"));
        self.prefs.auth_flags = Some(flags);
    }

    pub fn open_connection2(
        &mut self,
        app_id: &str,
        app_name: &str,
        conn_type: i32,
    ) -> Result<(), Fault> {
        self.calls.push(format!(
            "OpenConnection2({app_id:?}, {app_name:?}, {conn_type})"
        ));
        if !(typelib::CONN_LOCAL_QBD..=typelib::CONN_REMOTE_QBOE).contains(&conn_type) {
            return Err(Fault::invalid_arg("QBXMLRPConnectionType"));
        }
        if conn_type == typelib::CONN_REMOTE_QBOE || conn_type == typelib::CONN_REMOTE_QBD {
            // No RDS and no QuickBooks Online here.
            return Err(Fault::qb(0x8004_042A));
        }
        if app_name.trim().is_empty() {
            return Err(Fault::invalid_arg("appName"));
        }
        if self.connection.is_some() {
            return Err(Fault::qb(0x8004_0402));
        }
        self.connection = Some(Connection {
            app_name: app_name.to_string(),
            conn_type,
        });
        Ok(())
    }

    pub fn begin_session(&mut self, file: &str, mode: i32) -> Result<String, Fault> {
        self.calls.push(format!("BeginSession({file:?}, {mode})"));
        let Some(conn) = &self.connection else {
            return Err(Fault::qb(0x8004_0401));
        };
        if !(typelib::FILE_SINGLE_USER..=typelib::FILE_DO_NOT_CARE).contains(&mode) {
            return Err(Fault::invalid_arg("QBFileMode"));
        }
        if file.trim().is_empty() && conn.conn_type != typelib::CONN_LOCAL_QBD_LAUNCH_UI {
            // No QuickBooks running here to take the open file from.
            return Err(Fault::qb(0x8004_0416));
        }
        let lower = file.to_ascii_lowercase();
        if let Some((_, code)) = INJECTED.iter().find(|(name, _)| lower.contains(name)) {
            return Err(Fault::qb(*code));
        }
        if let Some(s) = &self.session {
            return Err(Fault::qb(if s.file.eq_ignore_ascii_case(file) {
                0x8004_0402
            } else {
                0x8004_040A
            }));
        }
        self.backend.open(file)?;
        self.tickets += 1;
        let ticket = format!(
            "{{{:08X}-51B7-4C4E-8F1A-{:012X}}}",
            self.tickets,
            u64::from(self.tickets) * 7919
        );
        self.session = Some(Session {
            ticket: ticket.clone(),
            file: file.to_string(),
            mode,
            prefs_obeyed: !self.prefs_set_after_connect,
        });
        Ok(ticket)
    }

    fn session(&self, ticket: &str) -> Result<&Session, Fault> {
        match &self.session {
            Some(s) if s.ticket == ticket => Ok(s),
            _ => Err(Fault::qb(0x8004_040D)),
        }
    }

    pub fn process_request(&mut self, ticket: &str, request: &str) -> Result<String, Fault> {
        self.calls
            .push(format!("ProcessRequest({ticket}, {} bytes)", request.len()));
        let file = self.session(ticket)?.file.clone();
        // QuickBooks parses and validates before it does anything.
        if let Err(e) = qbxml::parse_request(request.as_bytes().to_vec()) {
            return Err(Fault {
                hresult: e.hresult.0,
                message: e.message().to_string(),
            });
        }
        self.backend.process(&file, request)
    }

    pub fn end_session(&mut self, ticket: &str) -> Result<(), Fault> {
        self.calls.push(format!("EndSession({ticket})"));
        self.session(ticket)?;
        self.session = None;
        self.backend.close();
        Ok(())
    }

    /// Closing the connection ends a session left open [I].
    pub fn close_connection(&mut self) -> Result<(), Fault> {
        self.calls.push("CloseConnection()".into());
        if self.connection.is_none() {
            return Err(Fault::qb(0x8004_0401));
        }
        if self.session.take().is_some() {
            self.backend.close();
        }
        self.connection = None;
        self.prefs_set_after_connect = false;
        Ok(())
    }

    pub fn qbxml_versions_for_session(&self, ticket: &str) -> Result<Vec<String>, Fault> {
        self.session(ticket)?;
        Ok(versions())
    }

    pub fn current_company_file_name(&self, ticket: &str) -> Result<String, Fault> {
        Ok(self.session(ticket)?.file.clone())
    }

    /// The preferences a session was opened with (GetIsReadOnly(ticket)
    /// and the like).
    pub fn session_prefs(&self, ticket: &str) -> Result<Prefs, Fault> {
        self.session(ticket)?;
        Ok(self.prefs.clone())
    }

    pub fn was_auth_preferences_obeyed(&self, ticket: &str) -> Result<bool, Fault> {
        Ok(self.session(ticket)?.prefs_obeyed)
    }

    /// The application name of the open connection.
    pub fn application(&self) -> Option<&str> {
        self.connection.as_ref().map(|c| c.app_name.as_str())
    }

    /// The connection type of the open connection.
    pub fn connection_type(&self) -> i32 {
        self.connection
            .as_ref()
            .map_or(typelib::CONN_UNKNOWN, |c| c.conn_type)
    }

    /// The file mode of the open session.
    pub fn session_mode(&self) -> Option<i32> {
        self.session.as_ref().map(|s| s.mode)
    }
}
