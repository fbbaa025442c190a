//! Everything the connector asks of Windows, in one crate, so that the
//! unsafe code it takes is in one place and the rest of the workspace can
//! forbid it.
//!
//! - [`com`]: QuickBooks' request processor (`QBXMLRP2.RequestProcessor`)
//!   through late-bound `IDispatch`, on a single-threaded apartment, with
//!   both ways a COM call can fail turned into one [`com::ComError`];
//! - [`logon`]: checking a Windows user's password with `LogonUser` (the
//!   seed's amWindows authentication);
//! - [`service`]: installing, starting, stopping and running the connector
//!   as a Windows service.
//!
//! On other platforms the crate is empty: the server compiles its COM
//! backend's logic everywhere (and tests it with the fake request
//! processor's model), but only a Windows build can reach QuickBooks.

#[cfg(windows)]
#[allow(unsafe_code)]
pub mod com;
#[cfg(windows)]
#[allow(unsafe_code)]
pub mod logon;
#[cfg(windows)]
pub mod service;
