//! Authorization codes for confirmed cases and staff tokens, and their keyed hashes.
//!
//! A code is 15 random Crockford base32 symbols (75 bits) plus one check symbol,
//! shown as `XXXX-XXXX-XXXX-XXXX`. The check symbol is
//! `Σ α^(15 − i) · v_i` over the 15 symbol values `v_i` in GF(32) =
//! GF(2)[x]/(x⁵ + x² + 1) with α = x (Horner's rule `c ← α·c + v_i` over the symbols and one final zero),
//! written as a Crockford symbol. The weights are distinct non-zero field elements,
//! so it catches every single-symbol typo and every transposition of two different
//! symbols; a client can reject a mistyped code before sending it. Typing is case-insensitive; `-` and
//! spaces are ignored; `O`→`0`, `I`/`L`→`1` as Crockford specifies.
//!
//! Only `HMAC-SHA256(code key, normalized code)` is stored.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::rng::random_bytes;

/// Crockford's base32 alphabet.
pub const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code, the check symbol included.
pub const CODE_LEN: usize = 16;

fn symbol_value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    CROCKFORD
        .iter()
        .position(|&a| char::from(a) == c)
        .and_then(|p| u8::try_from(p).ok())
}

fn check_value(values: &[u8]) -> u8 {
    // Horner's rule in GF(32) = GF(2)[x] / (x^5 + x^2 + 1), alpha = x.
    // One extra step (a zero symbol) gives the check symbol weight 1 and the
    // symbols α^(15 − i), all distinct, so swapping the last symbol and the check
    // is caught too.
    values.iter().chain(&[0u8]).fold(0u8, |acc, v| {
        let mut a = acc << 1;
        if a & 0x20 != 0 {
            a ^= 0x25;
        }
        (a ^ v) & 31
    })
}

fn symbol(v: u8) -> char {
    CROCKFORD
        .get(usize::from(v & 31))
        .map(|&b| char::from(b))
        .unwrap_or('0')
}

/// A fresh random code, formatted `XXXX-XXXX-XXXX-XXXX`.
pub fn generate() -> String {
    let raw: [u8; 15] = random_bytes();
    let values: Vec<u8> = raw.iter().map(|b| b & 31).collect();
    let mut s: Vec<char> = values.iter().map(|&v| symbol(v)).collect();
    s.push(symbol(check_value(&values)));
    s.chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Normalizes typed text to the 16 canonical symbols; `None` if it cannot be a
/// code (wrong length, foreign symbol or bad check symbol).
pub fn normalize(text: &str) -> Option<String> {
    if text.len() > 64 {
        return None;
    }
    let mut values = Vec::with_capacity(CODE_LEN);
    for c in text.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        values.push(symbol_value(c)?);
        if values.len() > CODE_LEN {
            return None;
        }
    }
    let (body, check) = values.split_at_checked(CODE_LEN - 1)?;
    if check != [check_value(body)] {
        return None;
    }
    Some(values.iter().map(|&v| symbol(v)).collect())
}

/// The stored keyed hash of a normalized code.
pub fn code_hash(key: &[u8; 32], normalized: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(b"quet/v1/server/auth-code");
    mac.update(normalized.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A fresh staff token (`qst_` + 52 base32 characters, 256 bits).
pub fn new_staff_token() -> String {
    let raw: [u8; 32] = random_bytes();
    format!("qst_{}", data_encoding::BASE32_NOPAD.encode(&raw))
}

/// The stored hash of a staff token. Tokens carry 256 bits, so an unkeyed hash
/// suffices: the database alone does not let anyone log in.
pub fn token_hash(token: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"quet/v1/server/staff-token");
    h.update(token.as_bytes());
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_normalize_and_typos_are_caught() {
        for _ in 0..200 {
            let code = generate();
            assert_eq!(code.len(), 19);
            let n = normalize(&code).unwrap();
            assert_eq!(
                normalize(&code.to_lowercase().replace('-', " ")),
                Some(n.clone())
            );
            // Every single-symbol substitution is rejected.
            let chars: Vec<char> = n.chars().collect();
            for i in 0..CODE_LEN {
                for &a in CROCKFORD.iter() {
                    let a = char::from(a);
                    if a == chars[i] {
                        continue;
                    }
                    let mut typo = chars.clone();
                    typo[i] = a;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(normalize(&typo), None, "{n} -> {typo}");
                }
            }
            // Every adjacent transposition of distinct symbols is rejected.
            for i in 0..CODE_LEN - 1 {
                if chars[i] != chars[i + 1] {
                    let mut t = chars.clone();
                    t.swap(i, i + 1);
                    let t: String = t.into_iter().collect();
                    assert_eq!(normalize(&t), None);
                }
            }
        }
    }

    #[test]
    fn rejects_wrong_lengths_and_symbols() {
        let n = normalize(&generate()).unwrap();
        assert_eq!(normalize(&n[..15]), None);
        assert_eq!(normalize(&format!("{n}0")), None);
        assert_eq!(normalize("UUUU-UUUU-UUUU-UUUU"), None);
        assert_eq!(normalize(""), None);
    }

    #[test]
    fn hash_is_keyed() {
        let n = normalize(&generate()).unwrap();
        assert_ne!(code_hash(&[1; 32], &n), code_hash(&[2; 32], &n));
        assert_eq!(code_hash(&[1; 32], &n), code_hash(&[1; 32], &n));
    }
}
