//! The QuickBooks Web Connector's SOAP 1.1 messages, as values.
//!
//! The Web Connector (QBWC) is the HTTP client: it calls a SOAP service
//! with eleven operations (shared/qbwc/PROTOCOL.md §1.2, the WSDL in
//! shared/qbwc/wsdl). This crate is the format only, like `qbxml`: it
//! reads a call's body into a [`Call`] ([`read`]) and writes an answer
//! ([`write`], [`fault`]); it knows nothing of HTTP, queues or tickets.
//!
//! The reader is tolerant, as the Web Connector's variants and its peers
//! require: the operation is the local name of the first element in the
//! SOAP Body, parameters are read by local name whatever their prefix,
//! namespace or `xsi:type` (the `Document`, `DocWrapped` and `RPC` styles
//! of a .qwc all read the same), missing parameters are empty, and the
//! `SOAPAction` header (quoted or not) is only a fallback. The writer is
//! exact: document/literal wrapped in `http://developer.intuit.com/`, every
//! string written as an element even when empty, and
//! `receiveResponseXMLResult` as an integer.
//!
//! A DOCTYPE is refused (no entity of any kind is expanded); the body's
//! size is bounded by the caller, which has the bytes. [`qwc`] writes the
//! `.qwc` file an administrator loads into the Web Connector.

pub mod qwc;
mod read;
mod write;

pub use read::{read, ReadError};
pub use write::{fault, write};

/// The service's namespace (QBWC's guide: "You must keep the namespace").
pub const NAMESPACE: &str = "http://developer.intuit.com/";

/// One call of the Web Connector, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// What the server is (shown in QBWC's "More Information").
    ServerVersion,
    /// QBWC's version (`2.3.0.215`): the server may warn or refuse.
    ClientVersion {
        version: String,
    },
    Authenticate {
        user: String,
        password: String,
    },
    /// Ask for the next request. `hcp_response` holds QuickBooks'
    /// Host/Company/Preferences answers on a session's first call only.
    SendRequestXml {
        ticket: String,
        hcp_response: String,
        company_file: String,
        country: String,
        major: i32,
        minor: i32,
    },
    /// QuickBooks' answer to the last request; or, when its request
    /// processor failed, an empty `response` and the `hresult`/`message`.
    ReceiveResponseXml {
        ticket: String,
        response: String,
        hresult: String,
        message: String,
    },
    /// QBWC could not open the company file.
    ConnectionError {
        ticket: String,
        hresult: String,
        message: String,
    },
    GetLastError {
        ticket: String,
    },
    CloseConnection {
        ticket: String,
    },
    GetInteractiveUrl {
        ticket: String,
        session_id: String,
    },
    InteractiveDone {
        ticket: String,
    },
    InteractiveRejected {
        ticket: String,
        reason: String,
    },
}

impl Call {
    /// The operation's name as the WSDL spells it.
    pub fn operation(&self) -> &'static str {
        match self {
            Call::ServerVersion => "serverVersion",
            Call::ClientVersion { .. } => "clientVersion",
            Call::Authenticate { .. } => "authenticate",
            Call::SendRequestXml { .. } => "sendRequestXML",
            Call::ReceiveResponseXml { .. } => "receiveResponseXML",
            Call::ConnectionError { .. } => "connectionError",
            Call::GetLastError { .. } => "getLastError",
            Call::CloseConnection { .. } => "closeConnection",
            Call::GetInteractiveUrl { .. } => "getInteractiveURL",
            Call::InteractiveDone { .. } => "interactiveDone",
            Call::InteractiveRejected { .. } => "interactiveRejected",
        }
    }

    /// The session ticket the call carries, if it carries one.
    pub fn ticket(&self) -> Option<&str> {
        match self {
            Call::ServerVersion | Call::ClientVersion { .. } | Call::Authenticate { .. } => None,
            Call::SendRequestXml { ticket, .. }
            | Call::ReceiveResponseXml { ticket, .. }
            | Call::ConnectionError { ticket, .. }
            | Call::GetLastError { ticket }
            | Call::CloseConnection { ticket }
            | Call::GetInteractiveUrl { ticket, .. }
            | Call::InteractiveDone { ticket }
            | Call::InteractiveRejected { ticket, .. } => Some(ticket),
        }
    }
}

/// The answer to a call: the result the WSDL gives its operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Every operation but authenticate and receiveResponseXML answers a
    /// string; `operation` names which (`sendRequestXML`, …).
    Text {
        operation: &'static str,
        text: String,
    },
    /// authenticate: the ticket, then the status (`nvu`, `none`, `busy`,
    /// `""` or a company file), then optionally the seconds to postpone
    /// and the scheduler's lower bound (both written when the latter is
    /// given: a lower bound without a postponement goes in slot 3).
    Authenticate {
        ticket: String,
        status: String,
        postpone_secs: Option<u32>,
        min_run_every_secs: Option<u32>,
    },
    /// receiveResponseXML: percent done (0–100), or negative for an error.
    Progress(i32),
}
