//! The authority on disk: secret keys (files 0600 in a 0700 directory), the signed
//! descriptor and the authority's settings.
//!
//! ```text
//! DIR/authority.json          id, name, base URL (no secrets)
//! DIR/descriptor.bin          the signed descriptor, as served at /v1/descriptor
//! DIR/keys/root.key           the ROOT key (Ed25519 seed): signs descriptors only.
//!                             Move it offline after `init`; commands that re-sign
//!                             the descriptor take `--root-key FILE`.
//! DIR/keys/signing-<id>.key   Ed25519 seed (32 B): bulletins, heads, certificates
//! DIR/keys/capsule-<id>.key   X25519 secret (32 B), one per weekly period; deleted
//!                             24 days after its period ends (forward secrecy)
//! DIR/keys/code-hash.key      HMAC key for authorization-code hashes (32 B)
//! DIR/quet.db                 SQLite database (WAL)
//! ```
//!
//! Capsule keys are weekly and announced in advance: `init` makes the current week's
//! and [`DEFAULT_CAPSULE_WEEKS_AHEAD`] more; [`extend_capsule_keys`] (with the root
//! key) adds more and drops destroyed ones from the descriptor. The running server
//! destroys each capsule secret
//! [`quet_protocol::authority::CAPSULE_SECRET_RETENTION_SECS`] after its period
//! ends ([`destroy_expired_capsule_keys`]): after that no code or envelope sealed
//! to it can be opened by anyone, the HA included.
//!
//! Signing-key rotation: [`announce_signing_key`] adds a new key to the descriptor
//! while the old one stays current; [`activate_signing_key`] makes it current. Both
//! re-sign the descriptor with the root key and raise its serial, so phones accept
//! the update and refuse any older descriptor. Old keys stay listed, so old
//! bulletins verify.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use ed25519_dalek::SigningKey;
use quet_protocol::authority::{
    AuthorityDescriptor, AuthorityId, AuthorityKeys, CAPSULE_PERIOD_SECS, CapsuleSecret,
    SigningKeyEntry,
};
use quet_protocol::time::{DAY_SECS, UnixTime};
use rand_core::Rng;
use serde::{Deserialize, Serialize};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::error::ServerError;
use crate::rng::system_rng;

/// Weekly capsule keys announced beyond the current week by `init` and `keys extend`.
pub const DEFAULT_CAPSULE_WEEKS_AHEAD: u8 = 8;

/// Everything the server needs to act as the authority.
pub struct Authority {
    /// Secret keys (no root key). Behind a lock: capsule secrets are destroyed while
    /// the server runs.
    pub keys: RwLock<AuthorityKeys>,
    /// The parsed descriptor.
    pub descriptor: AuthorityDescriptor,
    /// The signed descriptor bytes.
    pub descriptor_bytes: Vec<u8>,
    /// HMAC key for authorization-code hashes.
    pub code_key: Zeroizing<[u8; 32]>,
    /// The data directory (key files are deleted from it when destroyed).
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("id", &self.descriptor.id)
            .field("fingerprint", &self.descriptor.fingerprint())
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Read access to the keys (a poisoned lock still holds valid keys).
    pub fn keys(&self) -> std::sync::RwLockReadGuard<'_, AuthorityKeys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// When the last announced capsule period ends: venues and phones cannot seal
    /// after it, so the operator must run `keys extend` well before.
    pub fn capsule_keys_until(&self) -> UnixTime {
        self.descriptor
            .capsule_keys
            .iter()
            .map(|k| k.not_after)
            .max()
            .unwrap_or_default()
    }
}

/// `authority.json`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct AuthorityFile {
    /// Authority id.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Public base URL.
    pub base_url: String,
}

/// Options of `quet-server init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Data directory (created if missing; must not hold an authority).
    pub data_dir: PathBuf,
    /// Authority display name.
    pub name: String,
    /// Public base URL (`https://...`; `http://` only to a loopback address).
    pub base_url: String,
    /// Authority id; random if `None`.
    pub id: Option<u32>,
}

/// What `init` reports.
#[derive(Debug, Clone)]
pub struct InitReport {
    /// The authority id.
    pub id: u32,
    /// The descriptor fingerprint to publish out of band.
    pub fingerprint: String,
    /// Where the root key was written (move it offline).
    pub root_key: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ServerError + '_ {
    move |e| ServerError::Io(path.display().to_string(), e)
}

/// Writes a new file with mode 0600; fails if it exists.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Atomically replaces a (public) file: write a temporary file, fsync, rename.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))
}

fn read_key32(path: &Path) -> Result<Zeroizing<[u8; 32]>, ServerError> {
    let bytes = Zeroizing::new(fs::read(path).map_err(io(path))?);
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(ServerError::Other(format!(
            "{}: a key file must hold 32 bytes",
            path.display()
        )));
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

fn random32() -> Result<Zeroizing<[u8; 32]>, ServerError> {
    let mut b = Zeroizing::new([0u8; 32]);
    system_rng().fill_bytes(b.as_mut());
    Ok(b)
}

fn keys_dir(data: &Path) -> PathBuf {
    data.join("keys")
}

/// Path of the database inside the data directory.
pub fn db_path(data: &Path) -> PathBuf {
    data.join("quet.db")
}

/// The default place of the root key: `DIR/keys/root.key`.
pub fn default_root_key_path(data: &Path) -> PathBuf {
    keys_dir(data).join("root.key")
}

/// The start of the current capsule week: capsule periods begin at UTC midnight.
/// Where a new authority's first capsule period starts: two UTC midnights back. A
/// poster's code is sealed to the key of the UTC day in which its local day begins,
/// and local days east of UTC (Vietnam: UTC+7) begin the UTC day before; two days
/// back covers the local day in progress and the one just ended (visits of
/// yesterday reported today, as in the demo).
fn period_start(now: u64) -> UnixTime {
    UnixTime((now - now % DAY_SECS).saturating_sub(2 * DAY_SECS))
}

/// Creates a new authority in `opts.data_dir`. Refuses to overwrite one.
pub fn init(opts: &InitOptions) -> Result<InitReport, ServerError> {
    init_at(opts, crate::db::now())
}

/// [`init`] as of time `now` (tests start authorities in the past).
pub fn init_at(opts: &InitOptions, now: u64) -> Result<InitReport, ServerError> {
    let data = &opts.data_dir;
    fs::create_dir_all(data).map_err(io(data))?;
    if data.join("authority.json").exists() || keys_dir(data).exists() || db_path(data).exists() {
        return Err(ServerError::Other(format!(
            "{} already holds an authority; refusing to overwrite it",
            data.display()
        )));
    }
    if !quet_protocol::authority::base_url_allowed(&opts.base_url) {
        return Err(ServerError::Other(
            "the base URL must be https:// (http:// only to a loopback address, for tests)".into(),
        ));
    }
    let kdir = keys_dir(data);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&kdir)
        .map_err(io(&kdir))?;
    let mut rng = system_rng();
    let keys = AuthorityKeys::generate_scheduled(
        &mut rng,
        period_start(now),
        DEFAULT_CAPSULE_WEEKS_AHEAD + 1,
    );
    let id = match opts.id {
        Some(id) => id,
        None => rng.next_u32(),
    };
    let descriptor = keys.descriptor(AuthorityId(id), &opts.name, &opts.base_url);
    let signed = keys.sign_descriptor(&descriptor)?;
    let root = keys
        .root
        .as_ref()
        .ok_or_else(|| ServerError::Other("no root key generated".into()))?;
    let root_path = default_root_key_path(data);
    write_secret_file(&root_path, &root.to_bytes())?;
    for (kid, k) in &keys.signing {
        write_secret_file(&kdir.join(format!("signing-{kid}.key")), &k.to_bytes())?;
    }
    for k in &keys.capsule {
        write_secret_file(
            &kdir.join(format!("capsule-{}.key", k.key_id)),
            Zeroizing::new(k.secret.to_bytes()).as_ref(),
        )?;
    }
    write_secret_file(&kdir.join("code-hash.key"), random32()?.as_ref())?;
    let file = AuthorityFile {
        id,
        name: opts.name.clone(),
        base_url: opts.base_url.clone(),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| ServerError::Other(e.to_string()))?;
    replace_file(&data.join("authority.json"), &json)?;
    replace_file(&data.join("descriptor.bin"), &signed)?;
    let conn = crate::db::open(&db_path(data))?;
    drop(conn);
    Ok(InitReport {
        id,
        fingerprint: descriptor.fingerprint(),
        root_key: root_path,
    })
}

fn key_ids(dir: &Path, prefix: &str) -> Result<Vec<u8>, ServerError> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(rest) = name.strip_prefix(prefix)
            && let Some(num) = rest.strip_suffix(".key")
            && let Ok(id) = num.parse::<u8>()
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Loads the authority from `data`, checking that keys and descriptor agree. The
/// root key is not loaded. A capsule key the descriptor lists whose file is gone
/// was destroyed; a capsule key file the descriptor does not list is ignored.
pub fn load(data: &Path) -> Result<Authority, ServerError> {
    let kdir = keys_dir(data);
    if !data.join("authority.json").exists() {
        return Err(ServerError::Other(format!(
            "{} holds no authority; run `quet-server init` first",
            data.display()
        )));
    }
    let dpath = data.join("descriptor.bin");
    let descriptor_bytes = fs::read(&dpath).map_err(io(&dpath))?;
    let descriptor = AuthorityDescriptor::decode(&descriptor_bytes)?;
    let mut signing = Vec::new();
    for id in key_ids(&kdir, "signing-")? {
        let seed = read_key32(&kdir.join(format!("signing-{id}.key")))?;
        signing.push((id, SigningKey::from_bytes(&seed)));
    }
    let mut capsule = Vec::new();
    for entry in &descriptor.capsule_keys {
        let path = kdir.join(format!("capsule-{}.key", entry.key_id));
        if !path.exists() {
            continue;
        }
        let b = read_key32(&path)?;
        let secret = StaticSecret::from(*b);
        if x25519_dalek::PublicKey::from(&secret).to_bytes() != entry.key {
            return Err(ServerError::Other(format!(
                "capsule key {} does not match the descriptor",
                entry.key_id
            )));
        }
        capsule.push(CapsuleSecret {
            key_id: entry.key_id,
            secret,
            not_before: entry.not_before,
            not_after: entry.not_after,
        });
    }
    let keys = AuthorityKeys {
        root_public: descriptor.root_key,
        root: None,
        signing,
        capsule,
    };
    for entry in &descriptor.signing_keys {
        if keys.signing_key(entry.key_id)?.verifying_key() != entry.key {
            return Err(ServerError::Other(format!(
                "signing key {} does not match the descriptor",
                entry.key_id
            )));
        }
    }
    let code_key = read_key32(&kdir.join("code-hash.key"))?;
    Ok(Authority {
        keys: RwLock::new(keys),
        descriptor,
        descriptor_bytes,
        code_key,
        data_dir: data.to_path_buf(),
    })
}

/// Destroys the capsule secrets whose retention ended at `now`: deletes their files
/// (then syncs the directory) and drops them from memory. Returns the ids.
pub fn destroy_expired_capsule_keys(
    authority: &Authority,
    now: u64,
) -> Result<Vec<u8>, ServerError> {
    let gone = {
        let mut keys = authority.keys.write().unwrap_or_else(|p| p.into_inner());
        keys.destroy_expired_capsule_secrets(UnixTime(now))
    };
    let kdir = keys_dir(&authority.data_dir);
    for id in &gone {
        let path = kdir.join(format!("capsule-{id}.key"));
        if path.exists() {
            // Overwrite before unlinking, so the bytes do not linger in the file's
            // blocks on a simple file system.
            if let Ok(mut f) = fs::OpenOptions::new().write(true).open(&path) {
                let _ = f.write_all(&[0u8; 32]);
                let _ = f.sync_all();
            }
            fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    if !gone.is_empty()
        && let Ok(d) = fs::File::open(&kdir)
    {
        let _ = d.sync_all();
    }
    Ok(gone)
}

fn load_root(path: &Path, descriptor: &AuthorityDescriptor) -> Result<SigningKey, ServerError> {
    let seed = read_key32(path)?;
    let root = SigningKey::from_bytes(&seed);
    if root.verifying_key() != descriptor.root_key {
        return Err(ServerError::Other(format!(
            "{} is not this authority's root key",
            path.display()
        )));
    }
    Ok(root)
}

/// Re-signs `desc` (serial + 1) with the root key at `root_path` and installs it.
fn resign(
    data: &Path,
    auth: &Authority,
    mut desc: AuthorityDescriptor,
    root_path: &Path,
) -> Result<AuthorityDescriptor, ServerError> {
    let root = load_root(root_path, &auth.descriptor)?;
    desc.serial = auth.descriptor.serial + 1;
    let signed = desc.sign(&root, None)?;
    // Check as a pinned phone would before installing it.
    auth.descriptor.verify_update(&signed)?;
    replace_file(&data.join("descriptor.bin"), &signed)?;
    Ok(desc)
}

/// Rotation step 1: generates signing key `max + 1` and lists it in the descriptor
/// (still using the current key). Returns the new key id.
pub fn announce_signing_key(data: &Path, root_key: &Path) -> Result<u8, ServerError> {
    let auth = load(data)?;
    let next = auth
        .descriptor
        .signing_keys
        .iter()
        .map(|k| k.key_id)
        .max()
        .and_then(|m| m.checked_add(1))
        .ok_or_else(|| ServerError::Other("no free signing key id".into()))?;
    let seed = random32()?;
    let key = SigningKey::from_bytes(&seed);
    let mut desc = auth.descriptor.clone();
    desc.signing_keys.push(SigningKeyEntry {
        key_id: next,
        key: key.verifying_key(),
    });
    load_root(root_key, &auth.descriptor)?;
    write_secret_file(
        &keys_dir(data).join(format!("signing-{next}.key")),
        seed.as_ref(),
    )?;
    resign(data, &auth, desc, root_key)?;
    Ok(next)
}

/// Rotation step 2: makes an announced key current (restart the server after).
pub fn activate_signing_key(data: &Path, key_id: u8, root_key: &Path) -> Result<(), ServerError> {
    let auth = load(data)?;
    let mut desc = auth.descriptor.clone();
    desc.signing_key(key_id)?;
    desc.current_signing_key = key_id;
    resign(data, &auth, desc, root_key).map(|_| ())
}

/// Announces weekly capsule keys up to `weeks_ahead` weeks after the current one,
/// and drops from the descriptor the keys whose secrets were destroyed. Returns the
/// ids added. Restart the server afterwards.
pub fn extend_capsule_keys(
    data: &Path,
    root_key: &Path,
    weeks_ahead: u8,
    now: u64,
) -> Result<Vec<u8>, ServerError> {
    let auth = load(data)?;
    load_root(root_key, &auth.descriptor)?;
    let mut keys = AuthorityKeys {
        root_public: auth.descriptor.root_key,
        root: None,
        signing: Vec::new(),
        capsule: Vec::new(),
    };
    std::mem::swap(
        &mut keys.capsule,
        &mut auth.keys.write().unwrap_or_else(|p| p.into_inner()).capsule,
    );
    let horizon = period_start(now)
        .saturating_add((u64::from(weeks_ahead) + 1).saturating_mul(CAPSULE_PERIOD_SECS));
    let mut next = auth.capsule_keys_until().max(period_start(now));
    let mut rng = system_rng();
    let mut added = Vec::new();
    let kdir = keys_dir(data);
    while next < horizon {
        let id = keys.add_capsule_period(&mut rng, next, CAPSULE_PERIOD_SECS);
        let k = keys
            .capsule
            .iter()
            .find(|k| k.key_id == id)
            .ok_or_else(|| ServerError::Other("capsule key vanished".into()))?;
        let path = kdir.join(format!("capsule-{id}.key"));
        if path.exists() {
            fs::remove_file(&path).map_err(io(&path))?;
        }
        write_secret_file(&path, Zeroizing::new(k.secret.to_bytes()).as_ref())?;
        added.push(id);
        next = next.saturating_add(CAPSULE_PERIOD_SECS);
    }
    let mut desc = auth.descriptor.clone();
    // Keep listing keys whose secrets still exist (old codes may still be reported).
    desc.capsule_keys = keys.capsule.iter().map(CapsuleSecret::entry).collect();
    if desc.capsule_keys.len() > quet_protocol::authority::MAX_CAPSULE_KEYS {
        return Err(ServerError::Other(format!(
            "more than {} capsule keys would be listed; use fewer weeks ahead",
            quet_protocol::authority::MAX_CAPSULE_KEYS
        )));
    }
    resign(data, &auth, desc, root_key)?;
    Ok(added)
}

#[cfg(test)]
mod schedule_tests {
    use super::*;
    use quet_protocol::category::Category;
    use quet_protocol::code::{CodeIssuer, VenueInfo};
    use quet_protocol::testing::test_rng;
    use quet_protocol::time::Day;
    use quet_protocol::venue_keys::VenueMasterKey;

    /// An authority created at 01:00 UTC (08:00 in Vietnam) can seal the posters of
    /// the local day in progress (it began at 17:00 UTC the day before) and of the
    /// one just ended, and screen codes from now on.
    #[test]
    fn a_new_authority_seals_todays_and_yesterdays_local_posters() {
        let dir = tempfile::tempdir().unwrap();
        let now = 20_790 * DAY_SECS + 3_600;
        let opts = InitOptions {
            data_dir: dir.path().join("ha"),
            name: "Sở Y tế".into(),
            base_url: "http://127.0.0.1:9".into(),
            id: Some(7),
        };
        init_at(&opts, now).unwrap();
        let auth = load(&opts.data_dir).unwrap();
        let venue = VenueInfo {
            name: "Phở Thìn".into(),
            address: "13 Lò Đúc".into(),
            category: Category::Restaurant,
            max_stay_minutes: 120,
        };
        let mut rng = test_rng(1);
        let mut issuer =
            CodeIssuer::new(VenueMasterKey::generate(&mut rng), venue, &auth.descriptor).unwrap();
        let today = issuer.local_day(UnixTime(now)).unwrap();
        issuer.poster_code(&mut rng, today).unwrap();
        issuer
            .poster_code(&mut rng, Day(today.0 - 1))
            .expect("yesterday's local poster");
        issuer.screen_code(&mut rng, UnixTime(now)).unwrap();
    }
}
