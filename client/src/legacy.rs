//! The at-rest format of stores written before the diary key (schema 1): every
//! sensitive row encrypted under one local storage key that sat in a file next to
//! the database. Kept only to migrate such stores ([`Client::migrate_local_key`]);
//! nothing new is written this way.
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

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::model::{ALERT_PAD, ActiveStay, Alert, DiaryEntry, padded_json};
use crate::store::{ExposureRow, Op, Store};
use crate::sync::exposure_row_id;
use crate::vault::{ALERT_LABEL, DiarySecret, KeySlot, SlotKind};

const BLOB_VERSION: u8 = 1;
const AAD_PREFIX: &[u8] = b"quet/v1/local/";

/// The legacy local storage key (32 bytes). Zeroized on drop; never printed.
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

impl<S: Store> Client<S> {
    /// Migrates a store whose rows are encrypted under the legacy local key: tokens
    /// and envelopes are stored as the protocol made them, diary entries and alerts
    /// sealed to a new diary key protected by `passphrase`, the active stay kept as
    /// the current format keeps it. One batch: all or nothing. The caller then
    /// deletes the key file.
    pub fn migrate_local_key(&mut self, key: &LocalKey, passphrase: &[u8]) -> Result<usize> {
        if self.diary_public()?.is_some() {
            return Err(ClientError::InvalidSetting(
                "this store is already migrated".into(),
            ));
        }
        let secret = DiarySecret::generate(&mut *self.rng);
        let pk = secret.public();
        let slot = KeySlot::passphrase(&mut *self.rng, self.argon2, passphrase, &secret)?;
        let mut ops = vec![
            Op::PutMeta("diary_public".into(), pk.0.to_vec()),
            Op::PutMeta(
                SlotKind::Passphrase.meta_key().into(),
                slot.to_bytes().to_vec(),
            ),
        ];
        let rows = self.store.check_ins()?;
        for mut row in rows.clone() {
            let rid = row.id.to_be_bytes();
            row.token = key.open("token", &rid, &row.token)?.to_vec();
            row.envelope = key.open("envelope", &rid, &row.envelope)?.to_vec();
            let plain = key.open("diary", &rid, &row.diary)?;
            let entry: DiaryEntry =
                serde_json::from_slice(&plain).map_err(|_| ClientError::LocalDecrypt)?;
            row.diary = self.seal_entry(&pk, row.id, &entry)?;
            row.active = match &row.active {
                Some(blob) => Some(
                    ActiveStay {
                        arrival: entry.arrival,
                        departure: entry.departure,
                        code: key.open("active", &rid, blob)?.to_vec(),
                    }
                    .to_bytes(),
                ),
                None => None,
            };
            ops.push(Op::PutCheckIn(row));
        }
        for e in self.store.exposures()? {
            let aad = exposure_row_id(e.check_in, &e.nonce);
            let plain = key.open("exposure", &aad, &e.blob)?;
            let alert: Alert =
                serde_json::from_slice(&plain).map_err(|_| ClientError::LocalDecrypt)?;
            let severity = match alert.severity.as_str() {
                "monitor" => 1,
                "test" => 2,
                _ => 3,
            };
            let blob = pk.seal(
                &mut *self.rng,
                ALERT_LABEL,
                &aad,
                &padded_json(&alert, ALERT_PAD)?,
            )?;
            ops.push(Op::PutExposure(ExposureRow {
                check_in: e.check_in,
                nonce: e.nonce,
                severity,
                found_at: alert.found_at,
                blob,
            }));
        }
        self.store.apply(ops)?;
        self.unlocked = Some(secret);
        Ok(rows.len())
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
