//! QuickBooks' request processor through late-bound `IDispatch`.
//!
//! Why late-bound: QBXMLRP2's interface differs across QuickBooks SDK
//! releases (IRequestProcessor2/3/4…), but the names and the type
//! library's values do not (connector FACTS §4.2–4.3). Looking members up
//! by name with `GetIDsOfNames` and calling `Invoke` works with every
//! release, as VBScript and the /n software component do.
//!
//! Threading: QBXMLRP2 is an Apartment-threaded object. [`Apartment`]
//! makes the calling thread a single-threaded apartment, and a
//! [`RequestProcessor`] must be created and used on that one thread (it is
//! neither `Send` nor `Sync`). From any other apartment every call would
//! go through COM's proxy (about 12× slower, COM-UNDER-WINE.md §3).
//!
//! Errors: a COM call fails in one of two ways and callers see one
//! [`ComError`] for both. A type-library object answers `DISP_E_EXCEPTION`
//! and fills EXCEPINFO (its `scode` is QuickBooks' HRESULT); a hand-written
//! one returns the HRESULT itself and leaves its message in the thread's
//! IErrorInfo. The thread's error info is cleared before every call, so a
//! stale message from an earlier failure is never reported with a new one.

use std::ffi::c_void;
use std::mem::ManuallyDrop;
use windows::Win32::Foundation::{DISP_E_EXCEPTION, RPC_E_CHANGED_MODE, VARIANT_BOOL};
use windows::Win32::System::Com::{
    CLSIDFromProgID, CoCreateInstance, CoInitializeEx, CoUninitialize, IDispatch, SetErrorInfo,
    CLSCTX_ALL, COINIT_APARTMENTTHREADED, COINIT_DISABLE_OLE1DDE, DISPATCH_FLAGS, DISPATCH_METHOD,
    DISPATCH_PROPERTYGET, DISPPARAMS, EXCEPINFO, SAFEARRAY,
};
use windows::Win32::System::Ole::{SafeArrayGetElement, SafeArrayGetLBound, SafeArrayGetUBound};
use windows::Win32::System::Variant::{
    VariantChangeType, VariantClear, VARENUM, VARIANT, VAR_CHANGE_FLAGS, VT_ARRAY, VT_BOOL,
    VT_BSTR, VT_DISPATCH, VT_I4,
};
use windows::Win32::UI::WindowsAndMessaging::{
    DispatchMessageW, PeekMessageW, TranslateMessage, MSG, PM_REMOVE,
};
use windows_core::{BSTR, GUID, HSTRING, PCWSTR};

/// The ProgID QuickBooks registers.
pub const PROGID: &str = "QBXMLRP2.RequestProcessor";

/// A failed COM call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComError {
    pub hresult: u32,
    /// The object's message; empty when it gave none.
    pub message: String,
    /// EXCEPINFO's source, when the failure came that way.
    pub source: Option<String>,
    /// DISP_E_EXCEPTION with EXCEPINFO (true) or a plain HRESULT.
    pub from_excepinfo: bool,
}

impl std::fmt::Display for ComError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#010X}: {}", self.hresult, self.message)
    }
}

impl std::error::Error for ComError {}

impl ComError {
    fn plain(e: &windows_core::Error) -> ComError {
        let code = e.code();
        let message = e.message();
        // windows-rs falls back to the system's text for the code when the
        // object left no IErrorInfo; that text is not the object's.
        let message = if message == code.message() {
            String::new()
        } else {
            message
        };
        ComError {
            hresult: code.0 as u32,
            message,
            source: None,
            from_excepinfo: false,
        }
    }
}

/// The calling thread as a single-threaded apartment, for as long as this
/// lives. Declare it before the COM objects it hosts, so that it drops
/// after them.
pub struct Apartment {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Apartment {
    pub fn enter() -> Result<Apartment, ComError> {
        // SAFETY: paired with CoUninitialize in Drop, on this thread (the
        // guard is not Send).
        let hr = unsafe { CoInitializeEx(None, COINIT_APARTMENTTHREADED | COINIT_DISABLE_OLE1DDE) };
        if hr == RPC_E_CHANGED_MODE || hr.is_err() {
            return Err(ComError {
                hresult: hr.0 as u32,
                message: "this thread is already a multithreaded apartment".into(),
                source: None,
                from_excepinfo: false,
            });
        }
        Ok(Apartment {
            _not_send: std::marker::PhantomData,
        })
    }
}

impl Apartment {
    /// Dispatch the window messages waiting for this thread. A
    /// single-threaded apartment must do this while it waits for work:
    /// COM delivers calls into the apartment as messages, and a program
    /// that broadcasts to every window waits for each thread to answer.
    pub fn pump(&self) {
        let mut msg = MSG::default();
        // SAFETY: this thread's own queue; msg outlives each call.
        unsafe {
            while PeekMessageW(&mut msg, None, 0, 0, PM_REMOVE).as_bool() {
                let _ = TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
        }
    }
}

impl Drop for Apartment {
    fn drop(&mut self) {
        // SAFETY: CoInitializeEx succeeded on this thread.
        unsafe { CoUninitialize() };
    }
}

/// An argument to a late-bound call.
#[derive(Clone, Debug)]
pub enum Arg<'a> {
    Str(&'a str),
    Int(i32),
    Bool(bool),
}

/// A late-bound object, with the DISPIDs it has told us.
struct Dispatch {
    disp: IDispatch,
    ids: Vec<(&'static str, i32)>,
}

impl Dispatch {
    fn id(&mut self, name: &'static str) -> Result<i32, ComError> {
        if let Some((_, id)) = self.ids.iter().find(|(n, _)| *n == name) {
            return Ok(*id);
        }
        let wide = HSTRING::from(name);
        let names = [PCWSTR(wide.as_ptr())];
        let mut id = 0i32;
        // SAFETY: one name, room for one id; the name outlives the call.
        unsafe {
            self.disp
                .GetIDsOfNames(&GUID::zeroed(), names.as_ptr(), 1, 0x0400, &mut id)
        }
        .map_err(|e| ComError {
            message: format!("{name}: {}", e.message()),
            ..ComError::plain(&e)
        })?;
        self.ids.push((name, id));
        Ok(id)
    }

    /// Call a member; its result as a VARIANT the caller owns.
    fn call(
        &mut self,
        name: &'static str,
        flags: DISPATCH_FLAGS,
        args: &[Arg<'_>],
    ) -> Result<Owned, ComError> {
        let id = self.id(name)?;
        // Arguments go right to left.
        let mut vars: Vec<Owned> = args.iter().rev().map(Owned::from_arg).collect();
        let params = DISPPARAMS {
            rgvarg: vars.as_mut_ptr() as *mut VARIANT,
            rgdispidNamedArgs: std::ptr::null_mut(),
            cArgs: vars.len() as u32,
            cNamedArgs: 0,
        };
        let mut result = Owned::default();
        let mut excep = EXCEPINFO::default();
        let mut argerr = 0u32;
        // SAFETY: every pointer is to a local that outlives the call; the
        // VARIANTs are owned and cleared on drop (Owned is repr(transparent)).
        let r = unsafe {
            let _ = SetErrorInfo(0, None);
            self.disp.Invoke(
                id,
                &GUID::zeroed(),
                0x0400,
                flags,
                &params,
                Some(&mut result.0),
                Some(&mut excep),
                Some(&mut argerr),
            )
        };
        drop(vars);
        match r {
            Ok(()) => Ok(result),
            Err(e) if e.code() == DISP_E_EXCEPTION => {
                // SAFETY: Invoke filled EXCEPINFO; its BSTRs are ours.
                Err(unsafe { from_excepinfo(&mut excep) })
            }
            Err(e) => Err(ComError::plain(&e)),
        }
    }
}

/// EXCEPINFO to a ComError, freeing its strings.
unsafe fn from_excepinfo(x: &mut EXCEPINFO) -> ComError {
    if let Some(fill) = x.pfnDeferredFillIn {
        // SAFETY: the object asks to be called back to fill the rest.
        let _ = unsafe { fill(x) };
    }
    // wCode is the object's own error number, not an HRESULT: it stays
    // in the message (made into 0x8004xxxx it could pose as one of
    // QuickBooks' codes, and trigger close-and-retry).
    let hresult = if x.scode != 0 {
        x.scode as u32
    } else {
        DISP_E_EXCEPTION.0 as u32
    };
    let mut message = x.bstrDescription.to_string();
    if x.scode == 0 && x.wCode != 0 {
        message = format!("error {} of the object: {message}", x.wCode);
    }
    let source = Some(x.bstrSource.to_string()).filter(|s| !s.is_empty());
    // SAFETY: each BSTR is dropped once, here.
    unsafe {
        ManuallyDrop::drop(&mut x.bstrDescription);
        ManuallyDrop::drop(&mut x.bstrSource);
        ManuallyDrop::drop(&mut x.bstrHelpFile);
    }
    ComError {
        hresult,
        message,
        source,
        from_excepinfo: true,
    }
}

/// A VARIANT that clears itself.
#[repr(transparent)]
#[derive(Default)]
struct Owned(VARIANT);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: an owned, initialized VARIANT.
        let _ = unsafe { VariantClear(&mut self.0) };
    }
}

impl Owned {
    fn vt(&self) -> VARENUM {
        // SAFETY: vt is always initialized.
        unsafe { self.0.Anonymous.Anonymous.vt }
    }

    fn from_arg(a: &Arg<'_>) -> Owned {
        let mut v = Owned::default();
        // SAFETY: writing the union member the vt names.
        unsafe {
            let inner = &mut *v.0.Anonymous.Anonymous;
            match a {
                Arg::Str(s) => {
                    inner.vt = VT_BSTR;
                    inner.Anonymous.bstrVal = ManuallyDrop::new(BSTR::from(*s));
                }
                Arg::Int(i) => {
                    inner.vt = VT_I4;
                    inner.Anonymous.lVal = *i;
                }
                Arg::Bool(b) => {
                    inner.vt = VT_BOOL;
                    inner.Anonymous.boolVal = VARIANT_BOOL(if *b { -1 } else { 0 });
                }
            }
        }
        v
    }

    fn coerced(&self, vt: VARENUM) -> Result<Owned, ComError> {
        let mut out = Owned::default();
        // SAFETY: both VARIANTs are valid; out is cleared on drop.
        unsafe { VariantChangeType(&mut out.0, &self.0, VAR_CHANGE_FLAGS(0), vt) }
            .map_err(|e| ComError::plain(&e))?;
        Ok(out)
    }

    fn string(&self) -> Result<String, ComError> {
        let v = self.coerced(VT_BSTR)?;
        // SAFETY: vt is VT_BSTR after the coercion.
        Ok(unsafe { v.0.Anonymous.Anonymous.Anonymous.bstrVal.to_string() })
    }

    fn boolean(&self) -> Result<bool, ComError> {
        let v = self.coerced(VT_BOOL)?;
        // SAFETY: vt is VT_BOOL.
        Ok(unsafe { v.0.Anonymous.Anonymous.Anonymous.boolVal.0 != 0 })
    }

    fn dispatch(&self) -> Result<IDispatch, ComError> {
        if self.vt() == VT_DISPATCH {
            // SAFETY: vt says pdispVal is set; cloning adds a reference.
            if let Some(d) = unsafe { (*self.0.Anonymous.Anonymous.Anonymous.pdispVal).clone() } {
                return Ok(d);
            }
        }
        Err(mismatch("an object"))
    }

    fn strings(&self) -> Result<Vec<String>, ComError> {
        if self.vt() != VARENUM(VT_ARRAY.0 | VT_BSTR.0) {
            return Err(mismatch("an array of strings"));
        }
        // SAFETY: vt says parray is a one-dimensional array of BSTRs.
        unsafe {
            let psa: *mut SAFEARRAY = self.0.Anonymous.Anonymous.Anonymous.parray;
            let lo = SafeArrayGetLBound(psa, 1).map_err(|e| ComError::plain(&e))?;
            let hi = SafeArrayGetUBound(psa, 1).map_err(|e| ComError::plain(&e))?;
            let mut out = Vec::new();
            for i in lo..=hi {
                let mut b = BSTR::new();
                SafeArrayGetElement(psa, &i, &mut b as *mut BSTR as *mut c_void)
                    .map_err(|e| ComError::plain(&e))?;
                out.push(b.to_string());
            }
            Ok(out)
        }
    }
}

fn mismatch(what: &str) -> ComError {
    ComError {
        hresult: 0x8002_0005,
        message: format!("the request processor did not answer with {what}"),
        source: None,
        from_excepinfo: false,
    }
}

/// `QBXMLRP2.RequestProcessor`, created on the calling STA thread.
pub struct RequestProcessor {
    rp: Dispatch,
    /// The AuthPreferences object, fetched once.
    prefs: Option<Dispatch>,
}

impl RequestProcessor {
    /// Create the object registered under `progid` (normally [`PROGID`]).
    /// `REGDB_E_CLASSNOTREG` / `CO_E_CLASSSTRING` mean the QuickBooks SDK's
    /// request processor is not installed.
    pub fn create(progid: &str) -> Result<RequestProcessor, ComError> {
        let name = HSTRING::from(progid);
        // SAFETY: plain COM activation on an initialized apartment.
        let disp: IDispatch = unsafe {
            let clsid = CLSIDFromProgID(&name).map_err(|e| ComError::plain(&e))?;
            CoCreateInstance(&clsid, None, CLSCTX_ALL).map_err(|e| ComError::plain(&e))?
        };
        Ok(RequestProcessor {
            rp: Dispatch {
                disp,
                ids: Vec::new(),
            },
            prefs: None,
        })
    }

    fn method(&mut self, name: &'static str, args: &[Arg<'_>]) -> Result<Owned, ComError> {
        self.rp.call(name, DISPATCH_METHOD, args)
    }

    /// The `AuthPreferences` object. It is a property: called as a
    /// property get (a type-library IDispatch refuses DISPATCH_METHOD for
    /// it).
    fn auth_preferences(&mut self) -> Result<&mut Dispatch, ComError> {
        if self.prefs.is_none() {
            let disp = self
                .rp
                .call("AuthPreferences", DISPATCH_PROPERTYGET, &[])?
                .dispatch()?;
            self.prefs = Some(Dispatch {
                disp,
                ids: Vec::new(),
            });
        }
        self.prefs.as_mut().ok_or_else(|| mismatch("an object"))
    }

    fn prefs(&mut self, name: &'static str, arg: Arg<'_>) -> Result<(), ComError> {
        self.auth_preferences()?
            .call(name, DISPATCH_METHOD, &[arg])?;
        Ok(())
    }

    pub fn put_is_read_only(&mut self, read_only: bool) -> Result<(), ComError> {
        self.prefs("PutIsReadOnly", Arg::Bool(read_only))
    }

    pub fn put_unattended_mode_pref(&mut self, pref: i32) -> Result<(), ComError> {
        self.prefs("PutUnattendedModePref", Arg::Int(pref))
    }

    pub fn put_personal_data_pref(&mut self, pref: i32) -> Result<(), ComError> {
        self.prefs("PutPersonalDataPref", Arg::Int(pref))
    }

    /// The mask goes as its bits (ForceAuthDialog is the sign bit).
    pub fn put_auth_flags(&mut self, flags: u32) -> Result<(), ComError> {
        self.prefs("PutAuthFlags", Arg::Int(flags as i32))
    }

    pub fn open_connection2(
        &mut self,
        app_id: &str,
        app_name: &str,
        conn_type: i32,
    ) -> Result<(), ComError> {
        self.method(
            "OpenConnection2",
            &[Arg::Str(app_id), Arg::Str(app_name), Arg::Int(conn_type)],
        )?;
        Ok(())
    }

    pub fn begin_session(&mut self, company_file: &str, mode: i32) -> Result<String, ComError> {
        self.method("BeginSession", &[Arg::Str(company_file), Arg::Int(mode)])?
            .string()
    }

    pub fn process_request(&mut self, ticket: &str, request: &str) -> Result<String, ComError> {
        self.method("ProcessRequest", &[Arg::Str(ticket), Arg::Str(request)])?
            .string()
    }

    pub fn end_session(&mut self, ticket: &str) -> Result<(), ComError> {
        self.method("EndSession", &[Arg::Str(ticket)])?;
        Ok(())
    }

    pub fn close_connection(&mut self) -> Result<(), ComError> {
        self.method("CloseConnection", &[])?;
        Ok(())
    }

    pub fn current_company_file_name(&mut self, ticket: &str) -> Result<String, ComError> {
        self.method("GetCurrentCompanyFileName", &[Arg::Str(ticket)])?
            .string()
    }

    /// A property get, like `AuthPreferences`.
    pub fn qbxml_versions_for_session(&mut self, ticket: &str) -> Result<Vec<String>, ComError> {
        self.rp
            .call(
                "QBXMLVersionsForSession",
                DISPATCH_PROPERTYGET,
                &[Arg::Str(ticket)],
            )?
            .strings()
    }

    /// AuthPreferences.WasAuthPreferencesObeyed(ticket).
    pub fn was_auth_preferences_obeyed(&mut self, ticket: &str) -> Result<bool, ComError> {
        self.auth_preferences()?
            .call(
                "WasAuthPreferencesObeyed",
                DISPATCH_METHOD,
                &[Arg::Str(ticket)],
            )?
            .boolean()
    }

    /// Any member by name, for tests of the object's own rules (e.g. a
    /// property called as a method).
    pub fn call_raw(
        &mut self,
        name: &'static str,
        property_get: bool,
        args: &[Arg<'_>],
    ) -> Result<String, ComError> {
        let flags = if property_get {
            DISPATCH_PROPERTYGET
        } else {
            DISPATCH_METHOD
        };
        let v = self.rp.call(name, flags, args)?;
        if v.vt() == VARENUM(0) {
            return Ok(String::new());
        }
        v.string()
    }
}
