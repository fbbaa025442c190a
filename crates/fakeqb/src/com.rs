//! The COM shell: `fakeqb.dll` as `QBXMLRP2.RequestProcessor`.
//!
//! An in-process COM server with the shape of Intuit's request processor
//! (connector FACTS §4.1–4.2), so that the connector's COM backend runs its
//! real call path — `CLSIDFromProgID`, `CoCreateInstance`, late-bound
//! `GetIDsOfNames` + `Invoke`, VARIANT coercion, both failure styles — under
//! wine. What it answers is the [`Processor`] model, with the simulator
//! linked in as its backend.
//!
//! It behaves the way a type-library `IDispatch` on an Apartment-threaded
//! object does, because the connector must cope with that:
//! - `Agile = false`: no free-threaded marshaler. A caller in another
//!   apartment goes through COM's proxy; every call runs on the thread
//!   that created the object, and a call that arrives on another thread
//!   anyway is refused (`RPC_E_WRONG_THREAD`);
//! - names are looked up case-insensitively; `[propget]` members
//!   (`AuthPreferences`, `QBXMLVersionsForSession`, the version
//!   properties) need `DISPATCH_PROPERTYGET` and methods need
//!   `DISPATCH_METHOD`, otherwise `DISP_E_MEMBERNOTFOUND`;
//! - arguments are coerced with `VariantChangeType` (`DISP_E_TYPEMISMATCH`
//!   naming the argument), counted (`DISP_E_BADPARAMCOUNT`), never named;
//! - failures come back as `DISP_E_EXCEPTION` with EXCEPINFO (scode,
//!   Intuit's message, source `QBXMLRP2.RequestProcessor.1`) — except a
//!   company file named `…raw-hresult…`, whose 0x80040403 is returned as a
//!   plain HRESULT with the message in the thread's IErrorInfo.
//!
//! Environment: `FAKEQB_DATA` is the folder of simulator company files
//! (BeginSession's file name is looked up there by its last path
//! component); `FAKEQB_LOG` names a file that gets every call, one per
//! line, with the calling thread.
//!
//! Registration (`regsvr32 fakeqb.dll`) writes the ProgID with our own
//! CLSID: only ever in a throwaway wine prefix or VM, never on a machine
//! with QuickBooks.

use crate::{Backend, Fault, Processor};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::rc::Rc;
use std::thread::ThreadId;
use windows::Win32::Foundation::{
    CLASS_E_CLASSNOTAVAILABLE, CLASS_E_NOAGGREGATION, DISP_E_BADPARAMCOUNT, DISP_E_EXCEPTION,
    DISP_E_MEMBERNOTFOUND, DISP_E_TYPEMISMATCH, DISP_E_UNKNOWNNAME, E_NOTIMPL, E_POINTER,
    E_UNEXPECTED, HMODULE, S_FALSE, S_OK, VARIANT_BOOL,
};
use windows::Win32::System::Com::{
    IClassFactory, IClassFactory_Impl, IDispatch, IDispatch_Impl, ITypeInfo, DISPATCH_FLAGS,
    DISPATCH_METHOD, DISPATCH_PROPERTYGET, DISPPARAMS, EXCEPINFO, SAFEARRAY,
};
use windows::Win32::System::LibraryLoader::{
    GetModuleFileNameW, GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
    GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
};
use windows::Win32::System::Ole::{
    CreateErrorInfo, SafeArrayCreateVector, SafeArrayDestroy, SafeArrayPutElement,
};
use windows::Win32::System::Registry::{
    RegDeleteTreeW, RegSetKeyValueW, HKEY_CLASSES_ROOT, REG_SZ,
};
use windows::Win32::System::Variant::{
    VariantChangeType, VariantClear, VARENUM, VARIANT, VAR_CHANGE_FLAGS, VT_ARRAY, VT_BOOL,
    VT_BSTR, VT_DISPATCH, VT_I4,
};
use windows_core::{
    implement, IUnknown, Interface, Ref, BOOL, BSTR, GUID, HRESULT, HSTRING, PCWSTR,
};

/// Our own CLSID, not Intuit's.
pub const CLSID: GUID = GUID::from_u128(0x9cdf9e72_e9b5_4f10_a001_4b76e525f477);
const CLSID_TEXT: &str = "{9CDF9E72-E9B5-4F10-A001-4B76E525F477}";
pub const PROGID: &str = "QBXMLRP2.RequestProcessor";
const PROGID_1: &str = "QBXMLRP2.RequestProcessor.1";
/// EXCEPINFO's source, as QBXMLRP2 fills it.
const SOURCE: &str = "QBXMLRP2.RequestProcessor.1";
/// The call came in on a thread other than the object's (an Apartment
/// object's calls must all come from its own apartment).
const RPC_E_WRONG_THREAD: HRESULT = HRESULT(0x8001_010E_u32 as i32);
const DISP_E_NONAMEDARGS: HRESULT = HRESULT(0x8002_0007_u32 as i32);
/// olectl.h's SELFREG_E_CLASS: registration failed.
const SELFREG_E_CLASS: HRESULT = HRESULT(0x8004_0201_u32 as i32);

/// The simulator, linked into the DLL: company files by name in
/// `FAKEQB_DATA`, kept open across sessions as QuickBooks keeps its file.
struct Simulator {
    dir: Option<PathBuf>,
    files: HashMap<PathBuf, qbsim::Company>,
    open: Option<(PathBuf, qbsim::Session)>,
}

impl Simulator {
    fn path(&self, company_file: &str) -> Result<PathBuf, Fault> {
        let cannot = |why: String| Fault {
            hresult: 0x8004_0403,
            message: format!("Could not open the specified QuickBooks company data file: {why}"),
        };
        let Some(dir) = &self.dir else {
            return Err(cannot("FAKEQB_DATA is not set".into()));
        };
        let name = company_file.rsplit(['\\', '/']).next().unwrap_or_default();
        if name.is_empty() || name == "." || name == ".." {
            return Err(cannot(format!("`{company_file}` names no file")));
        }
        let path = dir.join(name);
        if !path.is_file() {
            return Err(cannot(format!("{} does not exist", path.display())));
        }
        Ok(path)
    }
}

impl Backend for Simulator {
    fn open(&mut self, company_file: &str) -> Result<(), Fault> {
        let path = self.path(company_file)?;
        if !self.files.contains_key(&path) {
            let company =
                // Held exclusively, as QuickBooks holds its open file (and
                // as the connector's simulator backend does): no file
                // locks per transaction, which under wine are wineserver
                // round trips.
                qbsim::Company::open(
                    &path,
                    qbsim::Config {
                        exclusive: true,
                        ..qbsim::Config::default()
                    },
                )
                .map_err(|e| Fault {
                    hresult: 0x8004_0403,
                    message: format!(
                        "Could not open the specified QuickBooks company data file: {e}"
                    ),
                })?;
            self.files.insert(path.clone(), company);
        }
        let session = self
            .files
            .get(&path)
            .map(|c| c.begin_session())
            .ok_or_else(|| Fault::qb(0x8004_0402))?;
        self.open = Some((path, session));
        Ok(())
    }

    fn process(&mut self, _company_file: &str, request: &str) -> Result<String, Fault> {
        let (path, session) = self.open.as_ref().ok_or_else(|| Fault::qb(0x8004_0402))?;
        let company = self.files.get(path).ok_or_else(|| Fault::qb(0x8004_0402))?;
        company
            .process(*session, request.as_bytes())
            .map_err(|f| Fault {
                hresult: f.hresult.0,
                message: f.message,
            })
    }

    fn close(&mut self) {
        if let Some((path, session)) = self.open.take() {
            if let Some(c) = self.files.get(&path) {
                c.end_session(session);
            }
        }
    }
}

/// What one request processor object and its AuthPreferences share.
struct State {
    p: Processor<Simulator>,
    thread: ThreadId,
    log: Option<PathBuf>,
    logged: usize,
}

type Shared = Rc<RefCell<State>>;

impl State {
    fn new() -> Shared {
        Rc::new(RefCell::new(State {
            p: Processor::new(Simulator {
                dir: std::env::var_os("FAKEQB_DATA").map(PathBuf::from),
                files: HashMap::new(),
                open: None,
            }),
            thread: std::thread::current().id(),
            log: std::env::var_os("FAKEQB_LOG").map(PathBuf::from),
            logged: 0,
        }))
    }

    /// Append the calls made since the last flush to `FAKEQB_LOG`.
    fn flush_log(&mut self) {
        let fresh = self.p.calls.get(self.logged..).unwrap_or_default();
        if let (Some(path), false) = (&self.log, fresh.is_empty()) {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let thread = std::thread::current().id();
                for call in fresh {
                    let _ = writeln!(f, "{thread:?} {call}");
                }
            }
        }
        self.logged = self.p.calls.len();
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Method,
    PropGet,
}

#[derive(Clone, Copy)]
enum Arg {
    Str,
    Int,
    Bool,
}

struct Member {
    name: &'static str,
    kind: Kind,
    args: &'static [Arg],
}

enum Val {
    Str(String),
    Int(i32),
    Bool(bool),
}

impl Val {
    fn text(&self) -> &str {
        match self {
            Val::Str(s) => s,
            _ => "",
        }
    }
    fn int(&self) -> i32 {
        match self {
            Val::Int(i) => *i,
            Val::Bool(b) => i32::from(*b),
            Val::Str(_) => 0,
        }
    }
}

enum Out {
    Nothing,
    Str(String),
    Int(i32),
    Bool(bool),
    Strs(Vec<String>),
    Disp(IDispatch),
}

/// A failure and how it is raised: EXCEPINFO (`DISP_E_EXCEPTION`) or a
/// plain HRESULT with IErrorInfo.
struct Raise {
    fault: Fault,
    plain: bool,
}

impl From<Fault> for Raise {
    fn from(fault: Fault) -> Raise {
        Raise {
            fault,
            plain: false,
        }
    }
}

const RP: &[Member] = &[
    m("OpenConnection", Kind::Method, &[Arg::Str, Arg::Str]),
    m(
        "OpenConnection2",
        Kind::Method,
        &[Arg::Str, Arg::Str, Arg::Int],
    ),
    m("BeginSession", Kind::Method, &[Arg::Str, Arg::Int]),
    m("EndSession", Kind::Method, &[Arg::Str]),
    m("CloseConnection", Kind::Method, &[]),
    m("ProcessRequest", Kind::Method, &[Arg::Str, Arg::Str]),
    m("GetCurrentCompanyFileName", Kind::Method, &[Arg::Str]),
    m("QBXMLVersionsForSession", Kind::PropGet, &[Arg::Str]),
    m("AuthPreferences", Kind::PropGet, &[]),
    m("MajorVersion", Kind::PropGet, &[]),
    m("MinorVersion", Kind::PropGet, &[]),
    m("ReleaseLevel", Kind::PropGet, &[]),
    m("ReleaseNumber", Kind::PropGet, &[]),
    m("ConnectionType", Kind::PropGet, &[]),
];

const AP: &[Member] = &[
    m("PutIsReadOnly", Kind::Method, &[Arg::Bool]),
    m("GetIsReadOnly", Kind::Method, &[Arg::Str]),
    m("PutUnattendedModePref", Kind::Method, &[Arg::Int]),
    m("GetUnattendedModePref", Kind::Method, &[Arg::Str]),
    m("PutPersonalDataPref", Kind::Method, &[Arg::Int]),
    m("GetPersonalDataPref", Kind::Method, &[Arg::Str]),
    m("PutAuthFlags", Kind::Method, &[Arg::Int]),
    m("GetAuthFlags", Kind::Method, &[Arg::Str]),
    m("WasAuthPreferencesObeyed", Kind::Method, &[Arg::Str]),
];

const fn m(name: &'static str, kind: Kind, args: &'static [Arg]) -> Member {
    Member { name, kind, args }
}

fn request_processor(s: &Shared, name: &str, a: &[Val]) -> Result<Out, Raise> {
    let mut st = s.try_borrow_mut().map_err(|_| Fault::qb(0x8004_0402))?;
    let p = &mut st.p;
    let arg = |i: usize| a.get(i).map_or("", Val::text);
    let int = |i: usize| a.get(i).map_or(0, Val::int);
    let out = match name {
        "OpenConnection" => p
            .open_connection2(arg(0), arg(1), crate::typelib::CONN_LOCAL_QBD)
            .map(|()| Out::Nothing),
        "OpenConnection2" => p
            .open_connection2(arg(0), arg(1), int(2))
            .map(|()| Out::Nothing),
        "BeginSession" => {
            let plain = arg(0).to_ascii_lowercase().contains("raw-hresult");
            let r = p.begin_session(arg(0), int(1)).map(Out::Str);
            return r
                .map_err(|fault| {
                    st.flush_log();
                    Raise { fault, plain }
                })
                .inspect(|_| st.flush_log());
        }
        "EndSession" => p.end_session(arg(0)).map(|()| Out::Nothing),
        "CloseConnection" => p.close_connection().map(|()| Out::Nothing),
        "ProcessRequest" => p.process_request(arg(0), arg(1)).map(Out::Str),
        "GetCurrentCompanyFileName" => p.current_company_file_name(arg(0)).map(Out::Str),
        "QBXMLVersionsForSession" => p.qbxml_versions_for_session(arg(0)).map(Out::Strs),
        "AuthPreferences" => Ok(Out::Disp(Object::auth_preferences(s.clone()).into())),
        "MajorVersion" => Ok(Out::Int(16)),
        "MinorVersion" => Ok(Out::Int(0)),
        "ReleaseLevel" => Ok(Out::Int(3)),
        "ReleaseNumber" => Ok(Out::Int(0)),
        "ConnectionType" => Ok(Out::Int(p.connection_type())),
        _ => Err(Fault::qb(0x8004_0402)),
    };
    st.flush_log();
    out.map_err(Raise::from)
}

fn auth_preferences(s: &Shared, name: &str, a: &[Val]) -> Result<Out, Raise> {
    let mut st = s.try_borrow_mut().map_err(|_| Fault::qb(0x8004_0402))?;
    let p = &mut st.p;
    let arg = |i: usize| a.get(i).map_or("", Val::text);
    let int = |i: usize| a.get(i).map_or(0, Val::int);
    let out = match name {
        "PutIsReadOnly" => {
            p.put_is_read_only(int(0) != 0);
            Ok(Out::Nothing)
        }
        "PutUnattendedModePref" => p.put_unattended_mode_pref(int(0)).map(|()| Out::Nothing),
        "PutPersonalDataPref" => p.put_personal_data_pref(int(0)).map(|()| Out::Nothing),
        "PutAuthFlags" => {
            // AuthFlags is a bit mask with the top bit (ForceAuthDialog):
            // the I4 is reinterpreted, not converted.
            p.put_auth_flags(int(0) as u32);
            Ok(Out::Nothing)
        }
        "GetIsReadOnly" => p.session_prefs(arg(0)).map(|x| Out::Bool(x.read_only)),
        "GetUnattendedModePref" => p
            .session_prefs(arg(0))
            .map(|x| Out::Int(x.unattended_mode.unwrap_or(crate::typelib::UMP_OPTIONAL))),
        "GetPersonalDataPref" => p
            .session_prefs(arg(0))
            .map(|x| Out::Int(x.personal_data.unwrap_or(crate::typelib::PDP_OPTIONAL))),
        "GetAuthFlags" => p
            .session_prefs(arg(0))
            .map(|x| Out::Int(x.auth_flags.unwrap_or(0) as i32)),
        "WasAuthPreferencesObeyed" => p.was_auth_preferences_obeyed(arg(0)).map(Out::Bool),
        _ => Err(Fault::qb(0x8004_0402)),
    };
    st.flush_log();
    out.map_err(Raise::from)
}

/// What answers a dispatch object's calls.
type Handler = fn(&Shared, &str, &[Val]) -> Result<Out, Raise>;

/// One late-bound object: the request processor or its AuthPreferences,
/// told apart by their member tables and handlers; both share the state.
#[implement(IDispatch, Agile = false)]
struct Object {
    s: Shared,
    members: &'static [Member],
    handler: Handler,
}

impl Object {
    fn request_processor(s: Shared) -> Object {
        Object {
            s,
            members: RP,
            handler: request_processor,
        }
    }

    fn auth_preferences(s: Shared) -> Object {
        Object {
            s,
            members: AP,
            handler: auth_preferences,
        }
    }
}

impl IDispatch_Impl for Object_Impl {
    fn GetTypeInfoCount(&self) -> windows_core::Result<u32> {
        Ok(0)
    }
    fn GetTypeInfo(&self, _: u32, _: u32) -> windows_core::Result<ITypeInfo> {
        Err(E_NOTIMPL.into())
    }
    fn GetIDsOfNames(
        &self,
        _riid: *const GUID,
        names: *const PCWSTR,
        count: u32,
        _lcid: u32,
        ids: *mut i32,
    ) -> windows_core::Result<()> {
        // SAFETY: COM hands us `count` names and room for `count` ids.
        unsafe { ids_of_names(self.members, names, count, ids) }
    }
    fn Invoke(
        &self,
        id: i32,
        _riid: *const GUID,
        _lcid: u32,
        flags: DISPATCH_FLAGS,
        params: *const DISPPARAMS,
        result: *mut VARIANT,
        excep: *mut EXCEPINFO,
        argerr: *mut u32,
    ) -> windows_core::Result<()> {
        let call = Call {
            id,
            flags,
            params,
            result,
            excep,
            argerr,
        };
        // SAFETY: the pointers are Invoke's, as COM passes them.
        unsafe { invoke(&self.s, self.members, call, self.handler) }
    }
}

/// Invoke's arguments, as COM passes them.
struct Call {
    id: i32,
    flags: DISPATCH_FLAGS,
    params: *const DISPPARAMS,
    result: *mut VARIANT,
    excep: *mut EXCEPINFO,
    argerr: *mut u32,
}

/// DISPIDs are the members' positions, from 1. Parameter names are not
/// supported (QBXMLRP2's callers pass arguments by position).
unsafe fn ids_of_names(
    members: &[Member],
    names: *const PCWSTR,
    count: u32,
    ids: *mut i32,
) -> windows_core::Result<()> {
    if names.is_null() || ids.is_null() || count == 0 {
        return Err(E_POINTER.into());
    }
    let mut all = true;
    for i in 0..count as usize {
        let found = if i == 0 {
            let name = unsafe { (*names).to_string() }.unwrap_or_default();
            members
                .iter()
                .position(|m| m.name.eq_ignore_ascii_case(&name))
                .map(|p| p as i32 + 1)
        } else {
            None
        };
        unsafe { *ids.add(i) = found.unwrap_or(-1) };
        all &= found.is_some();
    }
    if all {
        Ok(())
    } else {
        Err(DISP_E_UNKNOWNNAME.into())
    }
}

unsafe fn invoke(
    s: &Shared,
    members: &[Member],
    c: Call,
    call: Handler,
) -> windows_core::Result<()> {
    let Call {
        id,
        flags,
        params,
        result,
        excep,
        argerr,
    } = c;
    if s.try_borrow().map(|st| st.thread).ok() != Some(std::thread::current().id()) {
        return Err(RPC_E_WRONG_THREAD.into());
    }
    let Some(member) = usize::try_from(id - 1).ok().and_then(|i| members.get(i)) else {
        return Err(DISP_E_MEMBERNOTFOUND.into());
    };
    let wanted = match member.kind {
        Kind::Method => DISPATCH_METHOD,
        Kind::PropGet => DISPATCH_PROPERTYGET,
    };
    if flags.0 & wanted.0 == 0 {
        return Err(DISP_E_MEMBERNOTFOUND.into());
    }
    if params.is_null() {
        return Err(E_POINTER.into());
    }
    let params = unsafe { &*params };
    if params.cNamedArgs != 0 {
        return Err(DISP_E_NONAMEDARGS.into());
    }
    let n = params.cArgs as usize;
    if n != member.args.len() {
        return Err(DISP_E_BADPARAMCOUNT.into());
    }
    let mut args = Vec::with_capacity(n);
    for (i, kind) in member.args.iter().enumerate() {
        // Arguments come right to left.
        let src = unsafe { params.rgvarg.add(n - 1 - i) };
        match unsafe { coerce(src, *kind) } {
            Some(v) => args.push(v),
            None => {
                if !argerr.is_null() {
                    unsafe { *argerr = (n - 1 - i) as u32 };
                }
                return Err(DISP_E_TYPEMISMATCH.into());
            }
        }
    }
    match call(s, member.name, &args) {
        Ok(out) => unsafe { set_result(result, out) },
        Err(Raise { fault, plain }) if plain || excep.is_null() => unsafe { raise_plain(&fault) },
        Err(Raise { fault, .. }) => {
            unsafe {
                *excep = EXCEPINFO {
                    bstrSource: ManuallyDrop::new(BSTR::from(SOURCE)),
                    bstrDescription: ManuallyDrop::new(BSTR::from(fault.message.as_str())),
                    scode: fault.hresult as i32,
                    ..Default::default()
                };
            }
            Err(DISP_E_EXCEPTION.into())
        }
    }
}

/// One argument, coerced to what the member takes.
unsafe fn coerce(src: *const VARIANT, kind: Arg) -> Option<Val> {
    let vt = match kind {
        Arg::Str => VT_BSTR,
        Arg::Int => VT_I4,
        Arg::Bool => VT_BOOL,
    };
    let mut dst = VARIANT::default();
    unsafe { VariantChangeType(&mut dst, src, VAR_CHANGE_FLAGS(0), vt) }.ok()?;
    let v = unsafe {
        let inner = &dst.Anonymous.Anonymous.Anonymous;
        match kind {
            Arg::Str => Val::Str(inner.bstrVal.to_string()),
            Arg::Int => Val::Int(inner.lVal),
            Arg::Bool => Val::Bool(inner.boolVal.0 != 0),
        }
    };
    let _ = unsafe { VariantClear(&mut dst) };
    Some(v)
}

unsafe fn set_result(result: *mut VARIANT, out: Out) -> windows_core::Result<()> {
    if result.is_null() {
        return Ok(());
    }
    let mut v = VARIANT::default();
    let set = |v: &mut VARIANT, vt: VARENUM| {
        let inner = unsafe { &mut v.Anonymous.Anonymous };
        inner.vt = vt;
    };
    unsafe {
        match out {
            Out::Nothing => {}
            Out::Str(s) => {
                set(&mut v, VT_BSTR);
                (*v.Anonymous.Anonymous).Anonymous.bstrVal = ManuallyDrop::new(BSTR::from(s));
            }
            Out::Int(i) => {
                set(&mut v, VT_I4);
                (*v.Anonymous.Anonymous).Anonymous.lVal = i;
            }
            Out::Bool(b) => {
                set(&mut v, VT_BOOL);
                (*v.Anonymous.Anonymous).Anonymous.boolVal = VARIANT_BOOL(if b { -1 } else { 0 });
            }
            Out::Disp(d) => {
                set(&mut v, VT_DISPATCH);
                (*v.Anonymous.Anonymous).Anonymous.pdispVal = ManuallyDrop::new(Some(d));
            }
            Out::Strs(list) => {
                let psa: *mut SAFEARRAY = SafeArrayCreateVector(VT_BSTR, 0, list.len() as u32);
                if psa.is_null() {
                    return Err(E_UNEXPECTED.into());
                }
                for (i, s) in list.iter().enumerate() {
                    let b = BSTR::from(s.as_str());
                    // The BSTR itself is the element; the array copies it.
                    if let Err(e) =
                        SafeArrayPutElement(psa, &(i as i32), b.as_ptr() as *const c_void)
                    {
                        let _ = SafeArrayDestroy(psa);
                        return Err(e);
                    }
                }
                set(&mut v, VARENUM(VT_ARRAY.0 | VT_BSTR.0));
                (*v.Anonymous.Anonymous).Anonymous.parray = psa;
            }
        }
        *result = v;
    }
    Ok(())
}

/// The other failure style: the HRESULT itself, with the message in the
/// thread's IErrorInfo.
unsafe fn raise_plain(fault: &Fault) -> windows_core::Result<()> {
    unsafe {
        if let Ok(info) = CreateErrorInfo() {
            let _ = info.SetDescription(&HSTRING::from(fault.message.as_str()));
            let _ = info.SetSource(&HSTRING::from(SOURCE));
            if let Ok(info) = info.cast::<windows::Win32::System::Com::IErrorInfo>() {
                let _ = windows::Win32::System::Com::SetErrorInfo(0, &info);
            }
        }
    }
    Err(windows_core::Error::from_hresult(HRESULT(
        fault.hresult as i32,
    )))
}

#[implement(IClassFactory, Agile = false)]
struct Factory;

impl IClassFactory_Impl for Factory_Impl {
    fn CreateInstance(
        &self,
        outer: Ref<IUnknown>,
        riid: *const GUID,
        ppv: *mut *mut c_void,
    ) -> windows_core::Result<()> {
        if ppv.is_null() {
            return Err(E_POINTER.into());
        }
        // SAFETY: checked for null above.
        unsafe { *ppv = std::ptr::null_mut() };
        if !outer.is_null() {
            return Err(CLASS_E_NOAGGREGATION.into());
        }
        let object: IUnknown = Object::request_processor(State::new()).into();
        // SAFETY: riid and ppv are the caller's.
        unsafe { object.query(riid, ppv).ok() }
    }

    fn LockServer(&self, _lock: BOOL) -> windows_core::Result<()> {
        Ok(())
    }
}

/// # Safety
/// COM's contract for `DllGetClassObject`.
#[no_mangle]
pub unsafe extern "system" fn DllGetClassObject(
    clsid: *const GUID,
    riid: *const GUID,
    ppv: *mut *mut c_void,
) -> HRESULT {
    if clsid.is_null() || riid.is_null() || ppv.is_null() {
        return E_POINTER;
    }
    unsafe { *ppv = std::ptr::null_mut() };
    if unsafe { *clsid } != CLSID {
        return CLASS_E_CLASSNOTAVAILABLE;
    }
    let factory: IClassFactory = Factory.into();
    unsafe { factory.query(riid, ppv) }
}

/// Stay loaded: the objects hold the simulator's open files.
#[no_mangle]
pub extern "system" fn DllCanUnloadNow() -> HRESULT {
    S_FALSE
}

/// The keys regsvr32 writes (COM-UNDER-WINE.md §2).
#[no_mangle]
pub extern "system" fn DllRegisterServer() -> HRESULT {
    let Some(path) = module_path() else {
        return SELFREG_E_CLASS;
    };
    let progid_clsid = format!("{PROGID}\\CLSID");
    let progid_curver = format!("{PROGID}\\CurVer");
    let progid1_clsid = format!("{PROGID_1}\\CLSID");
    let inproc = format!("CLSID\\{CLSID_TEXT}\\InprocServer32");
    let clsid_progid = format!("CLSID\\{CLSID_TEXT}\\ProgID");
    let clsid_vi = format!("CLSID\\{CLSID_TEXT}\\VersionIndependentProgID");
    let keys: [(&str, Option<&str>, &str); 8] = [
        (
            PROGID,
            None,
            "fakeqb: a fake QuickBooks request processor for tests",
        ),
        (&progid_clsid, None, CLSID_TEXT),
        (&progid_curver, None, PROGID_1),
        (&progid1_clsid, None, CLSID_TEXT),
        (&inproc, None, &path),
        (&inproc, Some("ThreadingModel"), "Apartment"),
        (&clsid_progid, None, PROGID_1),
        (&clsid_vi, None, PROGID),
    ];
    for (key, name, value) in keys {
        let data: Vec<u16> = value.encode_utf16().chain(Some(0)).collect();
        let name = name.map(HSTRING::from);
        let err = unsafe {
            RegSetKeyValueW(
                HKEY_CLASSES_ROOT,
                &HSTRING::from(key),
                name.as_ref().map_or(PCWSTR::null(), |n| PCWSTR(n.as_ptr())),
                REG_SZ.0,
                Some(data.as_ptr() as *const c_void),
                (data.len() * 2) as u32,
            )
        };
        if err.is_err() {
            return SELFREG_E_CLASS;
        }
    }
    S_OK
}

#[no_mangle]
pub extern "system" fn DllUnregisterServer() -> HRESULT {
    let clsid_key = format!("CLSID\\{CLSID_TEXT}");
    for key in [PROGID, PROGID_1, clsid_key.as_str()] {
        let _ = unsafe { RegDeleteTreeW(HKEY_CLASSES_ROOT, &HSTRING::from(key)) };
    }
    S_OK
}

/// This DLL's own path, for InprocServer32.
fn module_path() -> Option<String> {
    let mut module = HMODULE::default();
    let anchor = DllRegisterServer as *const () as *const u16;
    unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            PCWSTR(anchor),
            &mut module,
        )
    }
    .ok()?;
    let mut buf = vec![0u16; 32_768];
    let n = unsafe { GetModuleFileNameW(Some(module), &mut buf) } as usize;
    (n > 0 && n < buf.len()).then(|| String::from_utf16_lossy(&buf[..n]))
}
