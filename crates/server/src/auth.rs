//! Passwords, the verified-credential cache and the failure throttle.
//!
//! Passwords are stored as argon2id hashes. Verifying one costs tens of
//! milliseconds of CPU on purpose, which would cap a busy client at a few
//! dozen requests per second and hand an attacker a cheap way to burn the
//! server's cores. So a successful verification is remembered for a short
//! time under a *keyed* hash of (user, password): the cache never holds a
//! password, and without the per-process key its entries are useless.
//! Failed attempts are counted per client address and per user name; past
//! the limit both are locked out for a while, without running argon2 at all.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use blake2::digest::core_api::{Block, Buffer, UpdateCore, VariableOutputCore};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The longest user name and password the server takes, in bytes:
/// anything longer is refused before it costs memory in the throttle's
/// tables or time in argon2, so no configured user may be longer either.
pub const MAX_NAME: usize = 256;
pub const MAX_PASSWORD: usize = 1024;

/// The most an accepted hash may make one verification cost: memory
/// (KiB), passes and lanes. A hash written by hand with a larger cost
/// would make every login of that user (and every unknown-user check at
/// the same cost) a denial of service. The default is m=19456, t=2, p=1.
const MAX_M_KIB: u64 = 256 * 1024;
const MAX_T: u64 = 16;
const MAX_P: u64 = 16;

/// A parsed argon2id PHC string.
#[derive(Clone, Debug)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn parse(s: &str) -> Result<PasswordHash, String> {
        if s.is_empty() {
            return Err("missing: set it with `qbconnector user passwd NAME`".into());
        }
        let h = argon2::PasswordHash::new(s)
            .map_err(|e| format!("not an argon2id hash in PHC form ($argon2id$v=19$m=…): {e}"))?;
        if h.algorithm.as_str() != "argon2id" {
            return Err(format!(
                "the hash uses {}, not argon2id: set the password again",
                h.algorithm
            ));
        }
        for (name, max) in [("m", MAX_M_KIB), ("t", MAX_T), ("p", MAX_P)] {
            let v = h.params.get_decimal(name).map_or(0, u64::from);
            if v > max {
                return Err(format!(
                    "the hash's cost {name}={v} is over {max}: set the password again"
                ));
            }
        }
        Ok(PasswordHash(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Hash a new password (argon2id, the crate's default cost, random salt).
    pub fn create(password: &str) -> Result<PasswordHash, String> {
        PasswordHash::create_with(password, Argon2::default())
    }

    /// Hash a password at the cost `like` was hashed with (the default
    /// cost when `like` has none it can tell): what an unknown user name
    /// is checked against must cost what a known user's check costs, or
    /// the time of a refusal tells which names exist.
    pub fn create_like(password: &str, like: &PasswordHash) -> Result<PasswordHash, String> {
        let params = argon2::PasswordHash::new(&like.0)
            .ok()
            .and_then(|h| argon2::Params::try_from(&h).ok())
            .unwrap_or_default();
        let hasher = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        PasswordHash::create_with(password, hasher)
    }

    fn create_with(password: &str, hasher: Argon2<'_>) -> Result<PasswordHash, String> {
        let mut salt = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
            .map_err(|_| "no system randomness".to_string())?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        hasher
            .hash_password(password.as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| e.to_string())
    }

    /// Constant-time inside argon2.
    pub fn verify(&self, password: &str) -> bool {
        match argon2::PasswordHash::new(&self.0) {
            Ok(h) => Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok(),
            Err(_) => false,
        }
    }
}

/// The seed's amWindows: Windows checks the password (LogonUser, network
/// logon unless `interactive`). A success is cached like a verified hash.
#[cfg(windows)]
pub fn windows_logon(user: &str, password: &str, interactive: bool) -> bool {
    match qbwin::logon::check(user, password, interactive) {
        Ok(()) => true,
        Err(e) => {
            tracing::info!("LogonUser refused `{user}`: {e}");
            false
        }
    }
}

/// Not a Windows build: the configuration check refuses Windows users.
#[cfg(not(windows))]
pub fn windows_logon(_user: &str, _password: &str, _interactive: bool) -> bool {
    false
}

/// BLAKE2b-256 keyed with `key` (RFC 7693: the key, zero-padded, is the
/// first block), that block compressed. Tags hash at least the 8-byte
/// length, so the key block is never the last one, as the RFC requires.
fn keyed_core(key: &[u8; 32]) -> blake2::Blake2bVarCore {
    let mut core = blake2::Blake2bVarCore::new_with_params(&[], &[], key.len(), 32);
    let mut block = Block::<blake2::Blake2bVarCore>::default();
    block[..key.len()].copy_from_slice(key);
    core.update_blocks(std::slice::from_ref(&block));
    core
}

/// Remembers verified (user, password) pairs under a keyed hash.
pub struct CredentialCache {
    /// Keyed BLAKE2b-256 with the key block already compressed: each tag
    /// then costs one compression, not two (the tag is taken on every
    /// request). The same function as `Blake2bMac256` (a test checks).
    keyed: blake2::Blake2bVarCore,
    ttl: Duration,
    /// Tag → (user index, users version, fresh until).
    entries: Mutex<HashMap<[u8; 32], (usize, u64, Instant)>>,
}

/// Entries at most; beyond, expired ones are dropped, then all.
const CACHE_MAX: usize = 10_000;

impl CredentialCache {
    pub fn new(ttl: Duration) -> CredentialCache {
        let mut key = [0u8; 32];
        // Without randomness the key stays zero and the cache is merely
        // unkeyed, not wrong; ring's SystemRandom does not fail on Linux.
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key);
        CredentialCache {
            keyed: keyed_core(&key),
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn tag(&self, user: &str, password: &str) -> [u8; 32] {
        let mut core = self.keyed.clone();
        let mut buffer = Buffer::<blake2::Blake2bVarCore>::default();
        for part in [
            &(user.len() as u64).to_le_bytes()[..],
            user.as_bytes(),
            password.as_bytes(),
        ] {
            buffer.digest_blocks(part, |blocks| core.update_blocks(blocks));
        }
        let mut full = Default::default();
        core.finalize_variable_core(&mut buffer, &mut full);
        let mut out = [0u8; 32];
        out.copy_from_slice(&full[..32]);
        out
    }

    /// The user index remembered for these credentials, if still fresh
    /// and remembered for these users (`version`: `Live::users_version`;
    /// after a user is changed or removed, every password is verified
    /// again, so an old password cannot pass from here).
    pub fn get(&self, user: &str, password: &str, version: u64) -> Option<usize> {
        let tag = self.tag(user, password);
        let map = self.entries.lock().ok()?;
        // The map lookup is by the keyed tag; compare it again in constant
        // time so that nothing about a near miss leaks through timing.
        let (k, (index, v, until)) = map.get_key_value(&tag)?;
        if bool::from(k.ct_eq(&tag)) && *v == version && Instant::now() < *until {
            Some(*index)
        } else {
            None
        }
    }

    pub fn put(&self, user: &str, password: &str, index: usize, version: u64) {
        if self.ttl.is_zero() {
            return; // remembered for no time at all
        }
        let tag = self.tag(user, password);
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= CACHE_MAX {
                let now = Instant::now();
                map.retain(|_, (_, _, until)| *until > now);
                if map.len() >= CACHE_MAX {
                    map.clear();
                }
            }
            map.insert(tag, (index, version, Instant::now() + self.ttl));
        }
    }
}

/// Failed attempts per client address and per user name.
pub struct Throttle {
    max_failures: u32,
    window: Duration,
    by_ip: Mutex<HashMap<IpAddr, Failures>>,
    by_user: Mutex<HashMap<String, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    /// Start of the window, or of the lockout once locked.
    since: Instant,
}

/// Why a request is refused before its password is looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locked {
    Address(Duration),
    User(Duration),
}

impl Locked {
    pub fn retry_after(self) -> Duration {
        match self {
            Locked::Address(d) | Locked::User(d) => d,
        }
    }
}

const THROTTLE_MAX: usize = 100_000;

impl Throttle {
    pub fn new(max_failures: u32, window: Duration) -> Throttle {
        Throttle {
            max_failures,
            window,
            by_ip: Mutex::new(HashMap::new()),
            by_user: Mutex::new(HashMap::new()),
        }
    }

    fn locked_in<K: std::hash::Hash + Eq>(
        &self,
        map: &Mutex<HashMap<K, Failures>>,
        key: &K,
    ) -> Option<Duration> {
        let map = map.lock().ok()?;
        let f = map.get(key)?;
        let age = f.since.elapsed();
        (f.count >= self.max_failures && age < self.window).then(|| self.window - age)
    }

    pub fn check(&self, ip: IpAddr, user: &str) -> Option<Locked> {
        let ip = prefix(ip);
        if let Some(d) = self.locked_in(&self.by_ip, &ip) {
            return Some(Locked::Address(d));
        }
        if user.is_empty() {
            return None;
        }
        // The usual case, nobody failing lately, without lowercasing.
        if self.by_user.lock().map(|m| m.is_empty()).unwrap_or(false) {
            return None;
        }
        self.locked_in(&self.by_user, &user.to_lowercase())
            .map(Locked::User)
    }

    /// Count a failure; returns a lockout if this failure starts one.
    pub fn fail(&self, ip: IpAddr, user: &str) -> Option<Locked> {
        let ip = prefix(ip);
        let by_ip = self
            .bump(&self.by_ip, ip)
            .then_some(Locked::Address(self.window));
        let by_user = if user.is_empty() {
            None
        } else {
            self.bump(&self.by_user, user.to_lowercase())
                .then_some(Locked::User(self.window))
        };
        by_ip.or(by_user)
    }

    /// True when this failure reaches the limit.
    fn bump<K: std::hash::Hash + Eq>(&self, map: &Mutex<HashMap<K, Failures>>, key: K) -> bool {
        let Ok(mut map) = map.lock() else {
            return false;
        };
        if map.len() >= THROTTLE_MAX && !map.contains_key(&key) {
            let window = self.window;
            map.retain(|_, f| f.since.elapsed() < window);
            if map.len() >= THROTTLE_MAX {
                // Full of live entries: a flood of names or addresses. Keep
                // the lockouts already running rather than forget them;
                // argon2's cost bounds what the new ones can try.
                return false;
            }
        }
        let now = Instant::now();
        let f = map.entry(key).or_insert(Failures {
            count: 0,
            since: now,
        });
        if f.since.elapsed() >= self.window {
            *f = Failures {
                count: 0,
                since: now,
            };
        }
        f.count += 1;
        if f.count == self.max_failures {
            f.since = now; // the lockout runs from here
            true
        } else {
            false
        }
    }

    /// A success clears the user's count (not the address's: one good
    /// password must not reset an attacker's budget for other names).
    pub fn succeed(&self, user: &str) {
        if let Ok(mut map) = self.by_user.lock() {
            // The usual case: nobody has failed lately.
            if !map.is_empty() {
                map.remove(&user.to_lowercase());
            }
        }
    }
}

/// The unit an address is counted in: an IPv4 address, or an IPv6 /64
/// (one host usually has a whole /64 to pick addresses from).
pub fn prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Decode `Authorization: Basic …`. `None` for another scheme or bad
/// base64/UTF-8; a missing header is `Some(("", ""))` (the seed fires the
/// Authorization event with blank user and password).
pub fn parse_basic(header: Option<&[u8]>) -> Option<(String, String)> {
    use base64::Engine;
    let Some(h) = header else {
        return Some((String::new(), String::new()));
    };
    let h = std::str::from_utf8(h).ok()?.trim();
    let (scheme, rest) = h.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// The unknown-user hash costs what the users' hashes cost.
    #[test]
    fn a_hash_like_another_has_its_cost() {
        let cheap = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$Ao+aYXmIRexHzQmo0GwmIA";
        let like = PasswordHash::parse(cheap).unwrap();
        let made = PasswordHash::create_like("pw", &like).unwrap();
        assert!(made.as_str().contains("$m=8,t=1,p=1$"), "{}", made.as_str());
        assert!(made.verify("pw") && !made.verify("other"));
        let default = PasswordHash::create("pw").unwrap();
        let made = PasswordHash::create_like("pw", &default).unwrap();
        assert!(
            made.as_str().contains("$m=19456,t=2,p=1$"),
            "{}",
            made.as_str()
        );
    }

    /// The tag is keyed BLAKE2b-256 exactly, whatever the lengths (one
    /// block, block boundaries, several blocks).
    #[test]
    fn the_credential_tag_is_keyed_blake2b() {
        use blake2::digest::{KeyInit, Mac};
        let cache = CredentialCache::new(Duration::from_secs(60));
        let key: [u8; 32] = std::array::from_fn(|i| i as u8 * 7 + 1);
        let cache = CredentialCache {
            keyed: keyed_core(&key),
            ..cache
        };
        for (u, p) in [
            ("", ""),
            ("ann", "pw"),
            ("a", &"p".repeat(119)),
            ("a", &"p".repeat(120)),
            ("b", &"q".repeat(300)),
            ("c", &"r".repeat(247)),
            (&"u".repeat(120), ""),
            (&"u".repeat(256), "ü"),
        ] {
            let mut mac =
                <blake2::Blake2bMac<blake2::digest::consts::U32> as KeyInit>::new_from_slice(&key)
                    .unwrap();
            mac.update(&(u.len() as u64).to_le_bytes());
            mac.update(u.as_bytes());
            mac.update(p.as_bytes());
            let want: [u8; 32] = mac.finalize().into_bytes().into();
            assert_eq!(cache.tag(u, p), want, "{} + {}", u.len(), p.len());
        }
        assert_ne!(cache.tag("ann", "pw"), cache.tag("an", "npw"));
    }

    #[test]
    fn hashes_that_would_make_a_login_a_denial_of_service_are_refused() {
        let h = PasswordHash::create("s3cret").unwrap();
        let costly = h.as_str().replace("m=19456", "m=4194304");
        let e = PasswordHash::parse(&costly).unwrap_err();
        assert!(e.contains("m=4194304"), "{e}");
        let slow = h.as_str().replace("t=2", "t=1000");
        assert!(PasswordHash::parse(&slow).is_err());
        assert!(PasswordHash::parse(h.as_str()).is_ok());
    }

    #[test]
    fn hash_verify_and_reject_other_algorithms() {
        let h = PasswordHash::create("s3cret").unwrap();
        assert!(h.as_str().starts_with("$argon2id$"));
        assert!(h.verify("s3cret"));
        assert!(!h.verify("s3cret "));
        assert!(PasswordHash::parse(h.as_str()).is_ok());
        assert!(PasswordHash::parse("s3cret").is_err());
        let i = h.as_str().replace("argon2id", "argon2i");
        assert!(PasswordHash::parse(&i).unwrap_err().contains("argon2i"));
    }

    #[test]
    fn cache_is_keyed_by_user_and_password() {
        let c = CredentialCache::new(Duration::from_secs(60));
        c.put("ann", "pw", 3, 7);
        assert_eq!(c.get("ann", "pw", 7), Some(3));
        assert_eq!(c.get("ann", "pw2", 7), None);
        assert_eq!(c.get("annp", "w", 7), None);
        // The users changed since: verified again.
        assert_eq!(c.get("ann", "pw", 8), None);
    }

    #[test]
    fn lockout_after_n_failures() {
        let t = Throttle::new(3, Duration::from_secs(300));
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(t.fail(ip, "bob"), None);
        assert_eq!(t.fail(ip, "bob"), None);
        assert!(t.check(ip, "bob").is_none());
        assert!(t.fail(ip, "bob").is_some());
        assert!(matches!(t.check(ip, "bob"), Some(Locked::Address(_))));
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        assert!(matches!(t.check(other, "BOB"), Some(Locked::User(_))));
        assert!(t.check(other, "carol").is_none());
    }

    #[test]
    fn basic_header() {
        assert_eq!(
            parse_basic(Some(b"Basic YWxpY2U6cDpx")),
            Some(("alice".into(), "p:q".into()))
        );
        assert_eq!(parse_basic(None), Some((String::new(), String::new())));
        assert_eq!(parse_basic(Some(b"Bearer abc")), None);
        assert_eq!(parse_basic(Some(b"Basic !!!")), None);
        assert_eq!(parse_basic(Some(b"Basic YWxpY2U=")), None);
    }
}
