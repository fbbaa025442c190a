//! `qbconnector._native`: the Python package's classes, over the Rust
//! crates — no second implementation in Python.
//!
//! - [`connector::Connector`] is the seed's QBConnector class (the Python
//!   package's `QBConnector` adds the `get_x`/`set_x` pairs in Python);
//! - [`events`] turns Python callables into the server's `Events`;
//! - [`client::Client`] is `QBClient`, over `qbc-client`;
//! - [`simulator::Simulator`] is a company file in process, over `qbsim`.
//! - [`json`]: the JSON form's dicts in, native values (`Decimal`s) out.
//!
//! Everything that waits (listening, stopping, sending, QuickBooks)
//! releases the GIL while it waits, on one shared multi-threaded runtime.

use pyo3::prelude::*;
use std::sync::OnceLock;

mod client;
mod connector;
mod events;
mod json;
mod simulator;

/// The runtime every connector and client of this process runs on.
pub(crate) fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("qbconnector")
            .on_thread_start(events::mark_server_thread)
            .on_thread_stop(events::release_thread_state)
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))
    })
    .as_ref()
    .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.clone()))
}

/// A `QBError` (defined in Python, `qbconnector/__init__.py`) with its
/// fields.
pub(crate) fn qb_error(
    py: Python<'_>,
    message: &str,
    http_status: u16,
    code: &str,
    status_code: Option<u32>,
    status_message: &str,
) -> PyErr {
    let made = py
        .import("qbconnector")
        .and_then(|m| m.getattr("QBError"))
        .and_then(|cls| cls.call1((message, http_status, code, status_code, status_message)));
    match made {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// A configuration error as `QBError` (no HTTP status, no code).
pub(crate) fn config_error(py: Python<'_>, message: impl AsRef<str>) -> PyErr {
    qb_error(py, message.as_ref(), 0, "QBC_CONFIG", None, "")
}

/// Python is exiting (`atexit`): no handler is called from now on, and
/// every connector still listening stops (in-flight requests finish,
/// without their handlers), so that no server thread calls into an
/// interpreter that is going away.
#[pyfunction]
fn _closing(py: Python<'_>) {
    events::set_closing();
    connector::stop_all(py);
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_closing, m)?)?;
    m.add_class::<connector::Connector>()?;
    m.add_class::<client::Client>()?;
    m.add_class::<client::QueryIter>()?;
    m.add_class::<client::SslServerAuthenticationEvent>()?;
    m.add_class::<simulator::Simulator>()?;
    events::register(m)?;
    m.add("BUILD_INFO", qbc_server::settings::build_info())?;
    m.add("EVENTS", events::NAMES.to_vec())?;
    Ok(())
}
