//! The client core: one [`Client`] over any [`Store`], with its jobs in their own
//! modules: check-in and stays (`checkin`), the diary (`diary`), the diary key and
//! unlocking (`unlock`), bulletin sync and matching (`sync`), case reports
//! (`report`) and retention (`retention`). This module holds the client itself and
//! the pinned authorities.
//!
//! Every operation takes `now` so that callers (and tests) control time. Nothing
//! here does I/O but the store: network steps are [`crate::transport::Request`]s
//! the caller performs (a browser with `fetch`, the CLI with a blocking
//! [`crate::Transport`]).

use quet_protocol::authority::AuthorityDescriptor;
use rand_core::CryptoRng;

use crate::error::{ClientError, Result};
use crate::store::{Op, Store};
use crate::vault::{Argon2Settings, DiarySecret};

/// The randomness source the client uses (the system RNG natively).
pub type Rng = Box<dyn CryptoRng + Send>;

/// The citizen client over a store `S`.
pub struct Client<S: Store> {
    pub(crate) store: S,
    pub(crate) rng: Rng,
    /// The diary secret while unlocked.
    pub(crate) unlocked: Option<DiarySecret>,
    /// Argon2id parameters for new passphrase slots.
    pub(crate) argon2: Argon2Settings,
}

impl<S: Store> core::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("unlocked", &self.unlocked.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Store> Client<S> {
    /// A client over `store`, drawing randomness from `rng` (pass
    /// `Box::new(rand_core::UnwrapErr(getrandom::SysRng))` natively). It starts
    /// locked; see [`Client::protection`].
    pub fn new(store: S, rng: Rng) -> Client<S> {
        Client {
            store,
            rng,
            unlocked: None,
            argon2: Argon2Settings::DEFAULT,
        }
    }

    /// Uses `settings` for passphrase slots created from now on (tests and
    /// benchmarks use cheaper ones; slots keep the parameters they were made with).
    pub fn set_argon2_settings(&mut self, settings: Argon2Settings) {
        self.argon2 = settings;
    }

    /// The underlying store (for inspection in tests).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The underlying store, mutably (a browser persists a snapshot after writes).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the store back (e.g. to snapshot it and reopen).
    pub fn into_store(self) -> S {
        self.store
    }

    // ----- authorities -----

    /// Every pinned authority descriptor.
    pub fn authorities(&self) -> Result<Vec<AuthorityDescriptor>> {
        self.store
            .authorities()?
            .iter()
            .map(|(_, bytes)| AuthorityDescriptor::decode(bytes).map_err(ClientError::Descriptor))
            .collect()
    }

    /// The pinned descriptor of `id`.
    pub fn authority(&self, id: u32) -> Result<AuthorityDescriptor> {
        self.authorities()?
            .into_iter()
            .find(|d| d.id.0 == id)
            .ok_or(ClientError::UnknownAuthority(id))
    }

    /// Decodes a signed descriptor without pinning it (to show its fingerprint
    /// before the user confirms).
    pub fn inspect_descriptor(bytes: &[u8]) -> Result<AuthorityDescriptor> {
        AuthorityDescriptor::decode(bytes).map_err(ClientError::Descriptor)
    }

    /// Pins a signed descriptor. If the authority is already pinned, the new
    /// descriptor must be signed by a key the pinned one lists (key rotation).
    pub fn pin_authority(&mut self, bytes: &[u8]) -> Result<AuthorityDescriptor> {
        let new = AuthorityDescriptor::decode(bytes).map_err(ClientError::Descriptor)?;
        let pinned = self.authorities()?;
        let accepted = match pinned.iter().find(|d| d.id == new.id) {
            Some(old) => old.verify_update(bytes).map_err(ClientError::Descriptor)?,
            None => new,
        };
        self.store
            .apply(vec![Op::PutAuthority(accepted.id.0, bytes.to_vec())])?;
        Ok(accepted)
    }

    /// Unpins an authority (and forgets its bulletin chain).
    pub fn remove_authority(&mut self, id: u32) -> Result<()> {
        if !self.store.authorities()?.iter().any(|(a, _)| *a == id) {
            return Err(ClientError::UnknownAuthority(id));
        }
        self.store.apply(vec![Op::RemoveAuthority(id)])
    }

    /// Picks the authority a report goes to: `authority`, or the only one pinned.
    pub(crate) fn pick_authority(&self, authority: Option<u32>) -> Result<AuthorityDescriptor> {
        match authority {
            Some(id) => self.authority(id),
            None => {
                let all = self.authorities()?;
                match all.len() {
                    0 => Err(ClientError::NoAuthority),
                    1 => all.into_iter().next().ok_or(ClientError::NoAuthority),
                    _ => Err(ClientError::AmbiguousAuthority),
                }
            }
        }
    }

    /// A metadata value as a big-endian integer, if present and well-formed.
    pub(crate) fn meta_u64(&self, key: &str) -> Result<Option<u64>> {
        Ok(self
            .store
            .meta(key)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes))
    }
}
