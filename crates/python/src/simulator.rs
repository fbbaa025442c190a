//! `Simulator(path)`: a simulator company file in process, without HTTP —
//! for tests of code that talks qbXML.

use crate::qb_error;
use pyo3::prelude::*;
use std::path::PathBuf;

/// A company file of the QuickBooks Desktop simulator, opened (or
/// created) in process. `process(request_xml)` answers as QuickBooks'
/// request processor would; a message set it refuses whole raises
/// `QBError` with the HRESULT as `code`.
#[pyclass(module = "qbconnector._native", subclass)]
pub struct Simulator {
    company: qbsim::Company,
    session: qbsim::Session,
    path: PathBuf,
}

/// Open (or create) the company file at `path`, without the GIL.
fn open(py: Python<'_>, path: &std::path::Path) -> PyResult<qbsim::Company> {
    py.detach(|| qbsim::Company::open(path, qbsim::Config::default()))
        .map_err(|e| {
            qb_error(
                py,
                &format!("{}: {e}", path.display()),
                0,
                "QBC_BACKEND",
                None,
                "",
            )
        })
}

#[pymethods]
impl Simulator {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Simulator> {
        let company = open(py, &path)?;
        let session = company.begin_session();
        Ok(Simulator {
            company,
            session,
            path,
        })
    }

    /// Create the sample company (lists of `customers` customers, a third
    /// as many vendors, and a year of business) at `path`, and open it.
    #[staticmethod]
    #[pyo3(signature = (path, customers = 150, transactions = true))]
    fn sample(
        py: Python<'_>,
        path: PathBuf,
        customers: usize,
        transactions: bool,
    ) -> PyResult<Simulator> {
        let company = open(py, &path)?;
        let made = py.detach(|| -> Result<(), String> {
            let vendors = (customers / 3).max(1);
            qbsim::sample::generate(&company, qbsim::sample::SampleSize { customers, vendors })
                .map_err(|e| e.to_string())?;
            if transactions {
                qbsim::sample::transactions(&company, qbsim::sample::TxnPlan::default())
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        made.map_err(|e| qb_error(py, &e, 0, "QBC_BACKEND", None, ""))?;
        let session = company.begin_session();
        Ok(Simulator {
            company,
            session,
            path,
        })
    }

    /// Answer a qbXML request message set: the response's text.
    fn process(&self, py: Python<'_>, request: &str) -> PyResult<String> {
        let out = py.detach(|| self.company.process(self.session, request.as_bytes()));
        out.map_err(|f| qb_error(py, &f.to_string(), 0, &f.hresult.to_string(), None, ""))
    }

    /// Answer a message set in the JSON form (a dict, or JSON text): the
    /// response in the JSON form as native values (`Decimal` for amounts).
    fn process_json<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = crate::json::text_of(py, request)?;
        // Walked into native values from qbXML (the schema says which
        // text is an amount): the simulator answers this set in qbXML.
        let set = crate::json::request(py, &text)?.answered_in_qbxml();
        let out = py.detach(|| self.company.process_set(self.session, &set));
        let rs =
            out.map_err(|f| qb_error(py, &f.to_string(), 0, &f.hresult.to_string(), None, ""))?;
        crate::json::answer(py, rs.xml, set.version())
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }
}
