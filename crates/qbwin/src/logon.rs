//! The seed's amWindows authentication: Windows checks the password.

use windows::Win32::Foundation::{CloseHandle, HANDLE};
use windows::Win32::Security::{
    LogonUserW, LOGON32_LOGON_INTERACTIVE, LOGON32_LOGON_NETWORK, LOGON32_PROVIDER_DEFAULT,
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
            // SAFETY: LogonUser gave us this handle.
            let _ = unsafe { CloseHandle(token) };
            Ok(())
        }
        Err(e) => Err(format!("{:#010X}: {}", e.code().0 as u32, e.message())),
    }
}
