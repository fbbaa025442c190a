//! `QBClient`: the seed's client side, over `qbc-client` — one kept-alive
//! connection, sessions (tickets), iterators, one error family.
//!
//! Every call releases the GIL while it waits; the client may be shared
//! by many Python threads (its connection is used by one request at a
//! time, in turn).

use crate::{qb_error, runtime};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use qbc_client::Error;
use qbxml::Elem;
use std::sync::Mutex;

/// The Rust client's error as `QBError`.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::ConnectionString(_) => qb_error(py, &message, 0, "QBC_CONNECTION_STRING", None, ""),
        Error::Transport(_) => qb_error(py, &message, 0, "QBC_TRANSPORT", None, ""),
        Error::Http { status, code, .. } => qb_error(py, &message, status, &code, None, ""),
        Error::HResult {
            status, hresult, ..
        } => qb_error(py, &message, status, &hresult.to_string(), None, ""),
        Error::Status {
            code, message: m, ..
        } => qb_error(py, &message, 200, "", Some(code), &m),
        Error::Response(_) => qb_error(py, &message, 0, "QBC_RESPONSE", None, ""),
        Error::Json(_) => qb_error(py, &message, 0, "QBC_BAD_JSON", None, ""),
    }
}

/// A record (or any element) as a dict: a child with children is a dict,
/// a leaf its text; a name that appears more than once is a list.
fn to_dict<'py>(py: Python<'py>, e: &Elem) -> PyResult<Bound<'py, PyDict>> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for c in &e.children {
        *seen.entry(c.name.as_ref()).or_default() += 1;
    }
    let d = PyDict::new(py);
    for c in &e.children {
        let value: Bound<'py, PyAny> = if c.children.is_empty() {
            c.text.clone().into_pyobject(py)?.into_any()
        } else {
            to_dict(py, c)?.into_any()
        };
        let key = c.name.as_ref();
        if seen.get(key).copied().unwrap_or(0) > 1 {
            match d.get_item(key)? {
                Some(list) => list.cast::<PyList>()?.append(value)?,
                None => d.set_item(key, PyList::new(py, [value])?)?,
            }
        } else {
            d.set_item(key, value)?;
        }
    }
    Ok(d)
}

/// `{"ActiveStatus": "All", "NameFilter": {"MatchCriterion": "StartsWith", …}}`
/// → child elements (the builder puts them in schema order).
fn filters(into: &mut Elem, d: &Bound<'_, PyDict>) -> PyResult<()> {
    for (k, v) in d.iter() {
        let name: String = k.extract()?;
        if let Ok(sub) = v.cast::<PyDict>() {
            let mut child = Elem::new(name);
            filters(&mut child, sub)?;
            into.push(child);
        } else if let Ok(list) = v.cast::<PyList>() {
            for item in list.iter() {
                into.push(Elem::leaf(name.clone(), text_of(&item)?));
            }
        } else {
            into.push(Elem::leaf(name, text_of(&v)?));
        }
    }
    Ok(())
}

fn text_of(v: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = v.extract::<bool>() {
        return Ok(if b { "true" } else { "false" }.into());
    }
    Ok(v.str()?.to_string())
}

/// The seed's client side (use `qbconnector.QBClient`).
#[pyclass(module = "qbconnector._native", subclass)]
pub struct Client {
    inner: qbc_client::Client,
    on_ssl_server_authentication: Mutex<Option<Py<PyAny>>>,
    /// The same, as the Rust client's hook (for the clients `query` makes).
    hook: Mutex<Option<qbc_client::verify::Hook>>,
}

/// The connector's certificate, shown to `on_ssl_server_authentication`:
/// `accept` starts as the usual verdict (the system's roots or the pinned
/// certificate; `status` says why not) and decides.
#[pyclass(module = "qbconnector", name = "SSLServerAuthenticationEvent", get_all)]
pub struct SslServerAuthenticationEvent {
    cert_encoded: Vec<u8>,
    cert_subject: String,
    cert_issuer: String,
    status: String,
    #[pyo3(set)]
    accept: bool,
}

/// Ask the Python handler about a certificate; a handler that raises
/// refuses it (its traceback printed).
fn ask(handler: &Py<PyAny>, cert: &qbc_client::ServerCertificate) -> bool {
    if crate::events::closing() {
        return cert.trusted;
    }
    // Off the runtime's context: the handler may itself send a request.
    tokio::task::block_in_place(|| {
        Python::attach(|py| {
            let event = SslServerAuthenticationEvent {
                cert_encoded: cert.der.clone(),
                cert_subject: cert.subject.clone(),
                cert_issuer: cert.issuer.clone(),
                status: cert.status.clone(),
                accept: cert.trusted,
            };
            let Ok(event) = Bound::new(py, event) else {
                return false;
            };
            match handler.call1(py, (event.clone(),)) {
                Ok(_) => event.try_borrow().map(|e| e.accept).unwrap_or(false),
                Err(e) => {
                    crate::events::report(py, &e);
                    false
                }
            }
        })
    })
}

#[pymethods]
impl Client {
    /// `URL='http://host:2080' User='…' Password='…'` and the seed's other
    /// keys (CompanyFile, ApplicationName, Timeout, SSLAcceptServerCert,
    /// SSLAcceptServerCertFile, …).
    #[new]
    fn new(py: Python<'_>, connection_string: &str) -> PyResult<Client> {
        let _rt = runtime()?.enter();
        qbc_client::Client::from_connection_string(connection_string)
            .map(|inner| Client {
                inner,
                on_ssl_server_authentication: Mutex::new(None),
                hook: Mutex::new(None),
            })
            .map_err(|e| to_py(py, e))
    }

    /// The seed's SSLServerAuthentication event: a callable taking an
    /// `SSLServerAuthenticationEvent`, whose `accept` decides about the
    /// connector's certificate (for connections made after it is set).
    #[getter]
    fn get_on_ssl_server_authentication(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.on_ssl_server_authentication
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|h| h.clone_ref(py))
    }

    #[setter]
    fn set_on_ssl_server_authentication(
        &self,
        py: Python<'_>,
        handler: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let handler = handler.filter(|h| !h.is_none(py));
        let hook: Option<qbc_client::verify::Hook> = match &handler {
            Some(h) => {
                if !h.bind(py).is_callable() {
                    return Err(pyo3::exceptions::PyTypeError::new_err(
                        "on_ssl_server_authentication takes a callable (one argument: the event)",
                    ));
                }
                let h = h.clone_ref(py);
                Some(std::sync::Arc::new(
                    move |cert: &qbc_client::ServerCertificate| ask(&h, cert),
                ))
            }
            None => None,
        };
        self.inner.set_server_authentication(hook.clone());
        *self.hook.lock().unwrap_or_else(|e| e.into_inner()) = hook;
        *self
            .on_ssl_server_authentication
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = handler;
        Ok(())
    }

    /// Send a qbXML request; QuickBooks' answer as text. `QBError` when
    /// the connector or QuickBooks refused the whole message set.
    fn send(&self, py: Python<'_>, xml: &str) -> PyResult<String> {
        let rt = runtime()?;
        let c = self.inner.clone();
        py.detach(|| rt.block_on(c.send(xml)))
            .map_err(|e| to_py(py, e))
    }

    /// Send a message set in the JSON form (a dict, or JSON text); the
    /// answer in the JSON form as native values (`Decimal` for amounts).
    /// `QBError` when the document does not fit the schema (its message
    /// names the member), or the connector or QuickBooks refused it.
    fn send_json<'py>(
        &self,
        py: Python<'py>,
        doc: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = crate::json::text_of(py, doc)?;
        let set = crate::json::request(py, &text)?;
        // The validated set's qbXML goes to the connector; its answer is
        // what /json would have converted.
        let version = set.version();
        let rt = runtime()?;
        let c = self.inner.clone();
        let xml = py
            .detach(|| rt.block_on(c.send(set.xml())))
            .map_err(|e| to_py(py, e))?;
        crate::json::answer(py, xml, version)
    }

    /// Send, and answer the responses parsed: a list of dicts (`type`,
    /// `request_id`, `status_code`, `status_severity`, `status_message`,
    /// `records`, and for iterators `iterator_id` and
    /// `iterator_remaining_count`). With `check`, the first request that
    /// failed (severity Error) raises `QBError` with its status.
    #[pyo3(signature = (xml, check = true))]
    fn request<'py>(
        &self,
        py: Python<'py>,
        xml: &str,
        check: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = self.send(py, xml)?;
        let set = py
            .detach(|| qbxml::parse_response(text.into_bytes()))
            .map_err(|e| to_py(py, Error::Response(e.to_string())))?;
        let out = PyList::empty(py);
        for r in set.responses() {
            if check && r.is_error() {
                return Err(to_py(
                    py,
                    Error::Status {
                        request: r.name().to_string(),
                        request_id: r.request_id().map(str::to_string),
                        code: r.status_code(),
                        message: r.message().to_string(),
                    },
                ));
            }
            let d = PyDict::new(py);
            d.set_item("type", r.name())?;
            d.set_item("request_id", r.request_id())?;
            d.set_item("status_code", r.status_code())?;
            d.set_item("status_severity", format!("{:?}", r.severity()))?;
            d.set_item("status_message", r.message())?;
            let records = PyList::empty(py);
            for item in r.items() {
                records.append(to_dict(py, &Elem::from_element(item))?)?;
            }
            d.set_item("records", records)?;
            d.set_item("iterator_id", r.iterator_id())?;
            d.set_item("iterator_remaining_count", r.iterator_remaining_count())?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// Open a persistent session (the seed's OpenQBConnection): requests
    /// go on it until `close_session`. Returns the ticket.
    fn _open_session(&self, py: Python<'_>) -> PyResult<String> {
        let rt = runtime()?;
        let c = self.inner.clone();
        py.detach(|| rt.block_on(c.open_session()))
            .map_err(|e| to_py(py, e))
    }

    /// Close the session (closing a closed one is a no-op).
    fn close_session(&self, py: Python<'_>) -> PyResult<()> {
        let rt = runtime()?;
        let c = self.inner.clone();
        py.detach(|| rt.block_on(c.close_session()))
            .map_err(|e| to_py(py, e))
    }

    /// The open session's ticket, if any.
    #[getter]
    fn ticket(&self) -> Option<String> {
        self.inner.ticket()
    }

    /// Iterate the records of `<kind>QueryRq` with `filters` across pages
    /// (an iterator, `max_returned` per page). In the client's session if
    /// one is open; else on a connection and in a session of its own, so
    /// that threads sharing this client may each page at once.
    #[pyo3(signature = (kind, max_returned = 500, version = "13.0", **filters))]
    fn query(
        &self,
        py: Python<'_>,
        kind: &str,
        max_returned: u32,
        version: &str,
        filters: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<QueryIter> {
        let name = if kind.ends_with("QueryRq") {
            kind.to_string()
        } else {
            format!("{kind}QueryRq")
        };
        let mut rq = Elem::new(name);
        if let Some(f) = filters {
            self::filters(&mut rq, f)?;
        }
        let version = qbxml::Version::parse(version).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "qbXML version `{version}`: 13.0 or 16.0"
            ))
        })?;
        let client = match self.inner.ticket() {
            Some(_) => self.inner.clone(),
            None => {
                let _rt = runtime()?.enter();
                let own = qbc_client::Client::new(self.inner.settings().clone())
                    .map_err(|e| to_py(py, e))?;
                own.set_server_authentication(
                    self.hook.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                );
                own
            }
        };
        Ok(QueryIter {
            pages: Mutex::new(Some(client.pages(rq, max_returned, version))),
            buffer: Mutex::new(std::collections::VecDeque::new()),
        })
    }
}

/// Records of a query, page after page (`QBClient.query`).
#[pyclass(module = "qbconnector._native")]
pub struct QueryIter {
    pages: Mutex<Option<qbc_client::Pages>>,
    buffer: Mutex<std::collections::VecDeque<Elem>>,
}

#[pymethods]
impl QueryIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        loop {
            if let Some(e) = self
                .buffer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front()
            {
                return to_dict(py, &e).map(Some);
            }
            let Some(mut pages) = self.pages.lock().unwrap_or_else(|e| e.into_inner()).take()
            else {
                return Ok(None);
            };
            let rt = runtime()?;
            let page = py.detach(|| rt.block_on(pages.next()));
            match page {
                Ok(Some(items)) => {
                    self.buffer
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(items);
                    *self.pages.lock().unwrap_or_else(|e| e.into_inner()) = Some(pages);
                }
                Ok(None) => return Ok(None),
                Err(e) => return Err(to_py(py, e)),
            }
        }
    }

    /// Records QuickBooks still has for this query.
    #[getter]
    fn remaining(&self) -> Option<u32> {
        self.pages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|p| p.remaining())
    }

    /// Stop early: QuickBooks frees the iterator (and a session opened for
    /// it is closed). Also done when the iterator is dropped before its
    /// end (a `break`).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(pages) = self.pages.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Ok(());
        };
        let rt = runtime()?;
        py.detach(|| rt.block_on(pages.stop()))
            .map_err(|e| to_py(py, e))
    }
}

impl Drop for QueryIter {
    /// Dropped before the end (a `break` out of the loop): stop the
    /// iterator and close the session opened for it, on the runtime.
    fn drop(&mut self) {
        let pages = self
            .pages
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let (Some(pages), Ok(rt)) = (pages, runtime()) {
            rt.spawn(async move {
                let _ = pages.stop().await;
            });
        }
    }
}
