//! The JSON form for Python: a dict (or JSON text) in, native values out
//! — dicts, lists, `bool`, `int`, `str`, and `decimal.Decimal` for
//! amounts, prices, quantities and percentages (which JSON text can only
//! carry as strings without losing digits).
//!
//! The dict is written as JSON by the package (`qbconnector._dumps`:
//! `Decimal`s as their exact text) and converted by `qbxml::json` as the
//! connector's `/json` does; the answer is walked into Python values by
//! the same walk that writes the connector's JSON answers.

use crate::qb_error;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::BoundObject;

/// A document as JSON text: a `str` as it is, anything else through
/// `qbconnector._dumps`.
pub fn text_of(py: Python<'_>, doc: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = doc.cast::<PyString>() {
        return s.extract();
    }
    py.import("qbconnector")?
        .getattr("_dumps")?
        .call1((doc,))?
        .extract()
}

/// A JSON request document → the validated request set, or `QBError`
/// naming the member at fault.
pub fn request(py: Python<'_>, text: &str) -> PyResult<qbxml::RequestSet> {
    qbxml::json::request_from_json(text, &qbxml::Limits::default()).map_err(|e| {
        let code = match e.hresult {
            Some(h) => h.to_string(),
            None => "QBC_BAD_JSON".to_string(),
        };
        qb_error(py, &e.to_string(), 0, &code, None, "")
    })
}

/// QuickBooks' qbXML answer to a request of `version` as Python values.
pub fn answer<'py>(
    py: Python<'py>,
    xml: String,
    version: qbxml::Version,
) -> PyResult<Bound<'py, PyAny>> {
    let set = py
        .detach(|| qbxml::parse_response(xml.into_bytes()))
        .map_err(|e| {
            qb_error(
                py,
                &format!("not a qbXML response: {e}"),
                0,
                "QBC_RESPONSE",
                None,
                "",
            )
        })?;
    let decimal = py.import("decimal")?.getattr("Decimal")?;
    let mut sink = PySink {
        py,
        decimal,
        stack: Vec::new(),
        key: None,
        result: None,
        err: None,
    };
    qbxml::json::visit(set.document(), version, &mut sink);
    if let Some(e) = sink.err {
        return Err(e);
    }
    Ok(sink.result.unwrap_or_else(|| py.None().into_bound(py)))
}

/// Builds Python values from the walk's calls.
struct PySink<'py> {
    py: Python<'py>,
    decimal: Bound<'py, PyAny>,
    stack: Vec<Bound<'py, PyAny>>,
    key: Option<String>,
    result: Option<Bound<'py, PyAny>>,
    /// The first error (the walk goes on; nothing more is built after).
    err: Option<PyErr>,
}

impl<'py> PySink<'py> {
    fn put(&mut self, value: Bound<'py, PyAny>) {
        if self.err.is_some() {
            return;
        }
        let done = match self.stack.last() {
            None => {
                self.result = Some(value);
                Ok(())
            }
            Some(top) => match top.cast::<PyDict>() {
                Ok(d) => d.set_item(self.key.take().unwrap_or_default(), value),
                Err(_) => match top.cast::<PyList>() {
                    Ok(l) => l.append(value),
                    Err(e) => Err(e.into()),
                },
            },
        };
        if let Err(e) = done {
            self.err = Some(e);
        }
    }

    fn value<T: IntoPyObject<'py>>(&mut self, v: T) {
        match v.into_pyobject(self.py) {
            Ok(o) => self.put(o.into_bound().into_any()),
            Err(e) => {
                if self.err.is_none() {
                    self.err = Some(e.into());
                }
            }
        }
    }
}

impl qbxml::json::Sink for PySink<'_> {
    fn start_object(&mut self) {
        let d = PyDict::new(self.py).into_any();
        self.put(d.clone());
        self.stack.push(d);
    }
    fn end_object(&mut self) {
        self.stack.pop();
    }
    fn start_array(&mut self) {
        let l = PyList::empty(self.py).into_any();
        self.put(l.clone());
        self.stack.push(l);
    }
    fn end_array(&mut self) {
        self.stack.pop();
    }
    fn key(&mut self, key: &str) {
        self.key = Some(key.to_string());
    }
    fn bool(&mut self, value: bool) {
        self.value(value);
    }
    fn int(&mut self, text: &str) {
        match text.parse::<i64>() {
            Ok(n) => self.value(n),
            Err(_) => self.value(text),
        }
    }
    fn decimal(&mut self, text: &str) {
        match self.decimal.call1((text,)) {
            Ok(d) => self.put(d),
            // Text Decimal cannot read stays text.
            Err(_) => self.value(text),
        }
    }
    fn string(&mut self, value: &str) {
        self.value(value);
    }
}
