//! The seed's amWindows authentication: Windows checks the password.

use windows::Win32::Foundation::{CloseHandle, HANDLE};
use windows::Win32::Security::{
    GetSidSubAuthority, GetSidSubAuthorityCount, GetTokenInformation, LogonUserW, TokenUser,
    LOGON32_LOGON_INTERACTIVE, LOGON32_LOGON_NETWORK, LOGON32_PROVIDER_DEFAULT, TOKEN_USER,
};
use windows_core::HSTRING;

/// Does Windows accept this user name and password? `DOMAIN\user`,
/// `user@domain` (UPN) and a plain `user` (a local account) are
/// understood. `interactive` chooses an interactive logon (the user must
/// be allowed to log on locally; what UseInteractiveLogon selects) over a
/// network logon (the default, cheaper, and what a remote client is).
///
/// The token is closed at once: the connector does not impersonate, it
/// only authenticates.
pub fn check(user: &str, password: &str, interactive: bool) -> Result<(), String> {
    if user.is_empty() || user.contains('\0') || password.contains('\0') {
        return Err("the user name is empty or contains NUL".into());
    }
    // Whatever the machine's policy on blank passwords, a remote client
    // never gets in without one.
    if password.is_empty() {
        return Err("empty password".into());
    }
    let (domain, name) = match user.split_once('\\') {
        Some((d, n)) => (Some(d), n),
        // A UPN carries its domain; LogonUser wants no domain then.
        None => (if user.contains('@') { None } else { Some(".") }, user),
    };
    let kind = if interactive {
        LOGON32_LOGON_INTERACTIVE
    } else {
        LOGON32_LOGON_NETWORK
    };
    let name = HSTRING::from(name);
    let domain = domain.map(HSTRING::from);
    let password = HSTRING::from(password);
    let mut token = HANDLE::default();
    // SAFETY: the strings outlive the call; the token is ours to close.
    let r = unsafe {
        match &domain {
            Some(d) => LogonUserW(
                &name,
                d,
                &password,
                kind,
                LOGON32_PROVIDER_DEFAULT,
                &mut token,
            ),
            None => LogonUserW(
                &name,
                windows_core::PCWSTR::null(),
                &password,
                kind,
                LOGON32_PROVIDER_DEFAULT,
                &mut token,
            ),
        }
    };
    match r {
        Ok(()) => {
            let guest = is_guest(token);
            // SAFETY: LogonUser gave us this handle.
            let _ = unsafe { CloseHandle(token) };
            if guest == Some(true) {
                // With the Guest account enabled, a network logon for a
                // name Windows does not know can succeed as Guest.
                return Err("Windows logged the user on as Guest".into());
            }
            Ok(())
        }
        Err(e) => Err(format!("{:#010X}: {}", e.code().0 as u32, e.message())),
    }
}

/// The well-known RID of the Guest account.
const GUEST_RID: u32 = 501;

/// Is the token Guest's? None when the token cannot be read (never on
/// Windows for a token LogonUser returned; under wine, whose LogonUser
/// returns no real token).
fn is_guest(token: HANDLE) -> Option<bool> {
    let mut len = 0u32;
    // SAFETY: a size query; the call fails with the size needed.
    let _ = unsafe { GetTokenInformation(token, TokenUser, None, 0, &mut len) };
    if len == 0 || len > 4096 {
        return None;
    }
    // u64s: the TOKEN_USER at the start needs pointer alignment.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: the buffer holds `len` bytes and outlives the reads below.
    unsafe {
        GetTokenInformation(
            token,
            TokenUser,
            Some(buf.as_mut_ptr() as *mut core::ffi::c_void),
            len,
            &mut len,
        )
    }
    .ok()?;
    // SAFETY: GetTokenInformation wrote a TOKEN_USER (its SID follows it
    // in the same buffer); the SID functions read within that SID.
    unsafe {
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let sid = user.User.Sid;
        if sid.0.is_null() {
            return None;
        }
        let count = *GetSidSubAuthorityCount(sid);
        if count == 0 {
            return Some(false);
        }
        Some(*GetSidSubAuthority(sid, u32::from(count) - 1) == GUEST_RID)
    }
}
