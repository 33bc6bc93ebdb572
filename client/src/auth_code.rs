//! Authorization codes as typed by a person: 16 Crockford base32 symbols in groups
//! of four, the last a check symbol over GF(32) (spec/api.md), so a typo is caught
//! on the phone before it costs one of the few attempts the server allows.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn value(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// The check symbol value of `values` (each < 32): `c ← α·c ⊕ v` over the values
/// then a final zero, in GF(2)[x]/(x⁵ + x² + 1).
fn check(values: &[u8]) -> u8 {
    let mut c = 0u8;
    for &v in values.iter().chain(core::iter::once(&0)) {
        let reduce = if c & 0x10 != 0 { 0x25 } else { 0 };
        c = ((c << 1) ^ reduce ^ v) & 0x1f;
    }
    c
}

/// Normalizes a typed code (case, `-`, spaces, O/I/L) to `XXXX-XXXX-XXXX-XXXX`, or
/// `None` if it is not 16 symbols or its check symbol does not match (a typo).
pub fn normalize(text: &str) -> Option<String> {
    let values: Vec<u8> = text
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(value)
        .collect::<Option<_>>()?;
    let (last, body) = values.split_last()?;
    if values.len() != 16 || check(body) != *last {
        return None;
    }
    let s: Vec<char> = values
        .iter()
        .filter_map(|&v| ALPHABET.get(usize::from(v)).map(|&b| char::from(b)))
        .collect();
    let groups: Vec<String> = s.chunks(4).map(|g| g.iter().collect()).collect();
    Some(groups.join("-"))
}

/// Appends the check symbol to 15 symbols (tests and demos that need a well-formed
/// code); `None` if `first15` is not 15 valid symbols.
pub fn with_check_symbol(first15: &str) -> Option<String> {
    let values: Vec<u8> = first15.chars().map(value).collect::<Option<_>>()?;
    if values.len() != 15 {
        return None;
    }
    let c = ALPHABET.get(usize::from(check(&values)))?;
    normalize(&format!("{first15}{}", char::from(*c)))
}

/// A random well-formed code (check symbol included), in the normalized form: what
/// chaff carries, so its body has a real code's shape.
pub fn random(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> String {
    let first15: String = (0..15)
        .filter_map(|_| {
            let i = usize::try_from(rng.next_u32() % 32).ok()?;
            ALPHABET.get(i).map(|&b| char::from(b))
        })
        .collect();
    with_check_symbol(&first15).unwrap_or(first15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_and_catches_typos() {
        let code = with_check_symbol("ABCDEFGHJKMNPQR").unwrap();
        assert_eq!(normalize(&code.to_lowercase()), Some(code.clone()));
        assert_eq!(normalize(&code.replace('-', " ")), Some(code.clone()));
        // Every single-symbol typo is caught.
        let plain: Vec<char> = code.replace('-', "").chars().collect();
        for i in 0..16 {
            for &a in ALPHABET {
                let mut t = plain.clone();
                if t[i] == char::from(a) {
                    continue;
                }
                t[i] = char::from(a);
                assert_eq!(normalize(&t.iter().collect::<String>()), None);
            }
        }
        assert_eq!(normalize("ABCD"), None);
        assert_eq!(normalize("ABCD-EFGH-JKMN-PQR!"), None);
    }

    #[test]
    fn random_codes_are_well_formed() {
        let mut rng = quet_protocol::testing::test_rng(3);
        for _ in 0..50 {
            let c = random(&mut rng);
            assert_eq!(normalize(&c), Some(c.clone()));
        }
    }
}
