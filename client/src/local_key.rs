//! At-rest encryption of every sensitive row under the phone's local storage key.
//!
//! ```text
//! blob = u8 version (1) || [24] random nonce || XChaCha20-Poly1305(key, nonce, aad, plaintext)
//! aad  = "quet/v1/local/" || table || row id bytes
//! ```
//!
//! The associated data binds a blob to its table and row, so rows cannot be
//! swapped in the database without the open failing. Plaintexts are padded by the
//! caller where their length would say something (the diary).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{ClientError, Result};

const BLOB_VERSION: u8 = 1;
const AAD_PREFIX: &[u8] = b"quet/v1/local/";

/// The local storage key (32 bytes). Zeroized on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LocalKey([u8; 32]);

impl core::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LocalKey(<redacted>)")
    }
}

impl LocalKey {
    /// Wraps key bytes (e.g. read from the key file or the platform keystore).
    pub fn from_bytes(bytes: [u8; 32]) -> LocalKey {
        LocalKey(bytes)
    }

    /// A fresh random key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> LocalKey {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        LocalKey(k)
    }

    /// The raw key, for writing the key file. Never log it.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn aad(table: &str, row: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_PREFIX.len() + table.len() + 1 + row.len());
        aad.extend_from_slice(AAD_PREFIX);
        aad.extend_from_slice(table.as_bytes());
        aad.push(b'/');
        aad.extend_from_slice(row);
        aad
    }

    /// Encrypts `plaintext` for `table`/`row` with a fresh random nonce.
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        table: &str,
        row: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(&Key::from(self.0));
        let ct = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &Self::aad(table, row),
                },
            )
            .map_err(|_| ClientError::Storage("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + 24 + ct.len());
        out.push(BLOB_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a blob sealed for `table`/`row`.
    pub fn open(&self, table: &str, row: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let (&version, rest) = blob.split_first().ok_or(ClientError::LocalDecrypt)?;
        if version != BLOB_VERSION || rest.len() < 24 {
            return Err(ClientError::LocalDecrypt);
        }
        let (nonce, ct) = rest.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| ClientError::LocalDecrypt)?;
        let cipher = XChaCha20Poly1305::new(&Key::from(self.0));
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: &Self::aad(table, row),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| ClientError::LocalDecrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quet_protocol::testing::test_rng;

    #[test]
    fn round_trips_and_binds_row() {
        let mut rng = test_rng(1);
        let key = LocalKey::generate(&mut rng);
        let blob = key.seal(&mut rng, "diary", b"7", b"Pho Thin").unwrap();
        assert_eq!(&*key.open("diary", b"7", &blob).unwrap(), b"Pho Thin");
        assert!(!blob.windows(8).any(|w| w == b"Pho Thin"));
        assert!(matches!(
            key.open("diary", b"8", &blob),
            Err(ClientError::LocalDecrypt)
        ));
        assert!(matches!(
            key.open("token", b"7", &blob),
            Err(ClientError::LocalDecrypt)
        ));
        let other = LocalKey::generate(&mut rng);
        assert!(matches!(
            other.open("diary", b"7", &blob),
            Err(ClientError::LocalDecrypt)
        ));
        assert!(matches!(
            key.open("diary", b"7", &blob[..10]),
            Err(ClientError::LocalDecrypt)
        ));
        assert_eq!(format!("{key:?}"), "LocalKey(<redacted>)");
    }
}
