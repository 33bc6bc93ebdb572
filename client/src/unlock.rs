//! Setting up, unlocking and locking the diary key ([`crate::vault`]).
//!
//! Check-in and matching need only the diary *public* key, so they work locked.
//! Reading the diary, alert details and preparing a report need the secret:
//! [`Client::unlock_with_passphrase`] or [`Client::unlock_with_prf`]. Wrong
//! passphrases are counted in the store; from the fourth in a row the client
//! refuses attempts until [`crate::vault::unlock_delay_secs`] has passed.

use quet_protocol::time::UnixTime;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::client::Client;
use crate::error::{ClientError, Result};
use crate::store::{Op, Store};
use crate::vault::{DiaryPublicKey, DiarySecret, KeySlot, SlotKind, unlock_delay_secs};

const META_DIARY_PUBLIC: &str = "diary_public";
const META_UNLOCK_FAILURES: &str = "unlock_failures";

/// How the diary key is protected, for a settings screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Protection {
    /// Whether a diary key exists (false on a fresh store before the first
    /// check-in or setup).
    pub set_up: bool,
    /// The secret is stored unprotected (no PIN chosen yet): the UI should ask now.
    pub unprotected: bool,
    /// A passphrase/PIN slot exists.
    pub passphrase: bool,
    /// A WebAuthn PRF slot exists.
    pub prf: bool,
    /// The secret is available now (unlocked, or unprotected).
    pub unlocked: bool,
}

impl<S: Store> Client<S> {
    /// The diary public key, if set up.
    pub(crate) fn diary_public(&self) -> Result<Option<DiaryPublicKey>> {
        Ok(self
            .store
            .meta(META_DIARY_PUBLIC)?
            .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
            .map(DiaryPublicKey))
    }

    fn slot(&self, kind: SlotKind) -> Result<Option<KeySlot>> {
        self.store
            .meta(kind.meta_key())?
            .map(|bytes| {
                KeySlot::from_bytes(&bytes)
                    .map_err(|e| ClientError::Storage(format!("diary key slot: {e}")))
            })
            .transpose()
    }

    /// How the diary key is protected.
    pub fn protection(&self) -> Result<Protection> {
        let set_up = self.diary_public()?.is_some();
        let unprotected = self.slot(SlotKind::Unprotected)?.is_some();
        Ok(Protection {
            set_up,
            unprotected,
            passphrase: self.slot(SlotKind::Passphrase)?.is_some(),
            prf: self.slot(SlotKind::Prf)?.is_some(),
            unlocked: self.unlocked.is_some() || (set_up && unprotected),
        })
    }

    /// The diary public key, creating the key pair on first use. A key created
    /// here is stored unprotected until the user chooses a PIN (or PRF): check-in
    /// never waits for setup. Returns the ops to write with the caller's batch.
    pub(crate) fn ensure_diary_key(&mut self) -> Result<(DiaryPublicKey, Vec<Op>)> {
        if let Some(pk) = self.diary_public()? {
            return Ok((pk, Vec::new()));
        }
        let secret = DiarySecret::generate(&mut *self.rng);
        let pk = secret.public();
        let ops = vec![
            Op::PutMeta(META_DIARY_PUBLIC.into(), pk.0.to_vec()),
            Op::PutMeta(
                SlotKind::Unprotected.meta_key().into(),
                secret.unprotected_slot().to_bytes().to_vec(),
            ),
        ];
        self.unlocked = Some(secret);
        Ok((pk, ops))
    }

    /// The diary secret, if unlocked (or stored unprotected).
    pub(crate) fn secret(&self) -> Result<DiarySecret> {
        if let Some(s) = &self.unlocked {
            return Ok(s.clone());
        }
        let pk = self.diary_public()?.ok_or(ClientError::Locked)?;
        self.slot(SlotKind::Unprotected)?
            .and_then(|slot| DiarySecret::from_unprotected(&slot, &pk))
            .ok_or(ClientError::Locked)
    }

    /// Creates the diary key protected by `passphrase` from the start (the CLI does
    /// this on first use, so its key never sits unprotected). Fails if a key exists.
    pub fn set_up_with_passphrase(&mut self, passphrase: &[u8]) -> Result<()> {
        if self.diary_public()?.is_some() {
            return Err(ClientError::InvalidSetting(
                "the diary key is already set up; use set_passphrase".into(),
            ));
        }
        check_passphrase(passphrase)?;
        let secret = DiarySecret::generate(&mut *self.rng);
        let slot = KeySlot::passphrase(&mut *self.rng, self.argon2, passphrase, &secret)?;
        self.store.apply(vec![
            Op::PutMeta(META_DIARY_PUBLIC.into(), secret.public().0.to_vec()),
            Op::PutMeta(
                SlotKind::Passphrase.meta_key().into(),
                slot.to_bytes().to_vec(),
            ),
        ])?;
        self.unlocked = Some(secret);
        Ok(())
    }

    /// Sets (or changes) the passphrase/PIN. Needs the secret (unlocked or still
    /// unprotected); creates the key if there is none. Removes the unprotected slot.
    pub fn set_passphrase(&mut self, passphrase: &[u8]) -> Result<()> {
        if self.diary_public()?.is_none() {
            return self.set_up_with_passphrase(passphrase);
        }
        check_passphrase(passphrase)?;
        let secret = self.secret()?;
        let slot = KeySlot::passphrase(&mut *self.rng, self.argon2, passphrase, &secret)?;
        self.store.apply(vec![
            Op::PutMeta(
                SlotKind::Passphrase.meta_key().into(),
                slot.to_bytes().to_vec(),
            ),
            Op::DeleteMeta(SlotKind::Unprotected.meta_key().into()),
        ])?;
        self.unlocked = Some(secret);
        Ok(())
    }

    /// Adds (or replaces) a slot opened by a 32-byte WebAuthn PRF output. Needs the
    /// secret; creates the key if there is none. Removes the unprotected slot.
    pub fn set_prf(&mut self, prf_output: &[u8; 32]) -> Result<()> {
        let mut ops = Vec::new();
        let secret = if self.diary_public()?.is_none() {
            let secret = DiarySecret::generate(&mut *self.rng);
            ops.push(Op::PutMeta(
                META_DIARY_PUBLIC.into(),
                secret.public().0.to_vec(),
            ));
            secret
        } else {
            self.secret()?
        };
        let slot = KeySlot::prf(&mut *self.rng, prf_output, &secret)?;
        ops.push(Op::PutMeta(
            SlotKind::Prf.meta_key().into(),
            slot.to_bytes().to_vec(),
        ));
        ops.push(Op::DeleteMeta(SlotKind::Unprotected.meta_key().into()));
        self.store.apply(ops)?;
        self.unlocked = Some(secret);
        Ok(())
    }

    /// Removes the PRF slot; refused unless a passphrase slot remains (else the
    /// diary could never be opened again).
    pub fn remove_prf(&mut self) -> Result<()> {
        if self.slot(SlotKind::Passphrase)?.is_none() {
            return Err(ClientError::InvalidSetting(
                "set a PIN before removing the passkey".into(),
            ));
        }
        self.store
            .apply(vec![Op::DeleteMeta(SlotKind::Prf.meta_key().into())])
    }

    fn failures(&self) -> Result<(u32, u64)> {
        Ok(self
            .store
            .meta(META_UNLOCK_FAILURES)?
            .and_then(|v| <[u8; 12]>::try_from(v.as_slice()).ok())
            .map_or((0, 0), |b| {
                let (n, t) = b.split_at(4);
                (
                    n.try_into().map(u32::from_be_bytes).unwrap_or(0),
                    t.try_into().map(u64::from_be_bytes).unwrap_or(0),
                )
            }))
    }

    /// When the next unlock attempt is allowed, if it is not allowed at `now`.
    pub fn unlock_retry_at(&self, now: UnixTime) -> Result<Option<u64>> {
        let (n, last) = self.failures()?;
        let at = last.saturating_add(unlock_delay_secs(n));
        Ok((n > 0 && now.0 < at).then_some(at))
    }

    fn attempt(
        &mut self,
        now: UnixTime,
        try_open: impl FnOnce(&Self, &DiaryPublicKey) -> Result<Option<DiarySecret>>,
    ) -> Result<()> {
        let pk = self.diary_public()?.ok_or(ClientError::NotSetUp)?;
        if let Some(retry_at) = self.unlock_retry_at(now)? {
            return Err(ClientError::UnlockThrottled { retry_at });
        }
        match try_open(self, &pk)? {
            Some(secret) => {
                self.store
                    .apply(vec![Op::DeleteMeta(META_UNLOCK_FAILURES.into())])?;
                self.unlocked = Some(secret);
                Ok(())
            }
            None => {
                let (n, _) = self.failures()?;
                let n = n.saturating_add(1);
                let mut v = n.to_be_bytes().to_vec();
                v.extend_from_slice(&now.0.to_be_bytes());
                self.store
                    .apply(vec![Op::PutMeta(META_UNLOCK_FAILURES.into(), v)])?;
                let delay = unlock_delay_secs(n);
                Err(ClientError::WrongPassphrase {
                    failures: n,
                    retry_at: (delay > 0).then_some(now.0.saturating_add(delay)),
                })
            }
        }
    }

    /// Unlocks the diary with the passphrase/PIN.
    pub fn unlock_with_passphrase(&mut self, passphrase: &[u8], now: UnixTime) -> Result<()> {
        let slot = self.slot(SlotKind::Passphrase)?;
        self.attempt(now, |_, pk| match &slot {
            Some(slot) => slot.open_passphrase(passphrase, pk),
            None => Err(ClientError::InvalidSetting(
                "no PIN is set on this device".into(),
            )),
        })
    }

    /// Unlocks the diary with a WebAuthn PRF output.
    pub fn unlock_with_prf(&mut self, prf_output: &[u8; 32], now: UnixTime) -> Result<()> {
        let slot = self.slot(SlotKind::Prf)?;
        self.attempt(now, |_, pk| match &slot {
            Some(slot) => slot.open_prf(prf_output, pk),
            None => Err(ClientError::InvalidSetting(
                "no passkey is set on this device".into(),
            )),
        })
    }

    /// Forgets the diary secret (the UI locks after a while or when hidden).
    pub fn lock(&mut self) {
        self.unlocked = None;
    }

    /// Whether the diary can be read now.
    pub fn is_unlocked(&self) -> bool {
        self.secret().is_ok()
    }
}

/// A passphrase must not be empty (a PIN of at least 4 characters).
fn check_passphrase(passphrase: &[u8]) -> Result<()> {
    let p = Zeroizing::new(String::from_utf8_lossy(passphrase).trim().to_string());
    if p.chars().count() < 4 {
        return Err(ClientError::InvalidSetting(
            "a PIN or passphrase needs at least 4 characters".into(),
        ));
    }
    Ok(())
}
