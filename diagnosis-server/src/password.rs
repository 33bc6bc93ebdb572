//! Console passwords: Argon2id (RustCrypto `argon2`, OWASP parameters m = 19 MiB,
//! t = 2, p = 1) stored as PHC strings, and generated one-time passwords.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::codes::CROCKFORD;
use crate::rng::random_bytes;

/// Shortest password a person may choose.
pub const MIN_LEN: usize = 12;
/// Longest password accepted (bounds the hashing work per request).
pub const MAX_LEN: usize = 256;

fn hasher() -> Argon2<'static> {
    // OWASP's first recommended Argon2id setting.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a chosen password's length; the message is bilingual.
pub fn check_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!(
            "Mật khẩu cần ít nhất {MIN_LEN} ký tự / The password needs at least {MIN_LEN} characters"
        ));
    }
    if password.len() > MAX_LEN {
        return Err(format!(
            "Mật khẩu dài tối đa {MAX_LEN} byte / The password is at most {MAX_LEN} bytes"
        ));
    }
    Ok(())
}

/// Hashes a password to a PHC string (fresh random salt).
pub fn hash(password: &str) -> Result<String, String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Verifies `password` against a stored PHC string. With `None` (no such
/// account) it still does the same work against a dummy hash, so the answer time
/// does not tell whether the account exists; it then returns `false`.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    if password.len() > MAX_LEN {
        return false;
    }
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("quet dummy password").unwrap_or_default());
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// A random one-time password: 20 Crockford symbols (100 bits) in groups of four.
pub fn generate() -> Zeroizing<String> {
    let raw: [u8; 20] = random_bytes();
    let symbols: Vec<char> = raw
        .iter()
        .map(|b| char::from(CROCKFORD[usize::from(b & 31)]))
        .collect();
    Zeroizing::new(
        symbols
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_the_right_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterY", Some(&h)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("x", Some("not a phc string")));
        assert_ne!(h, hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate();
        assert_eq!(a.len(), 24);
        assert!(check_policy(&a).is_ok());
        assert_ne!(*a, *generate());
        assert!(check_policy("short").is_err());
        assert!(check_policy(&"x".repeat(MAX_LEN + 1)).is_err());
    }
}
