//! The authority on disk: secret keys (files 0600 in a 0700 directory), the signed
//! descriptor and the authority's settings.
//!
//! ```text
//! DIR/authority.json          id, name, base URL (no secrets)
//! DIR/descriptor.bin          the signed descriptor, as served at /v1/descriptor
//! DIR/keys/signing-<id>.key   Ed25519 seed (32 B)
//! DIR/keys/capsule-<id>.key   X25519 secret (32 B)
//! DIR/keys/code-hash.key      HMAC key for authorization-code hashes (32 B)
//! DIR/quet.db                 SQLite database (WAL)
//! ```
//!
//! Key rotation: [`announce_signing_key`] adds a new key to the descriptor while the
//! old one stays current; [`activate_signing_key`] makes it current, the descriptor
//! being signed by the previously current key so that phones pinned to the old
//! descriptor accept the update. Old keys stay listed, so old bulletins verify.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use quet_protocol::authority::{AuthorityDescriptor, AuthorityId, AuthorityKeys, SigningKeyEntry};
use rand_core::Rng;
use serde::{Deserialize, Serialize};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::error::ServerError;
use crate::rng::system_rng;

/// Everything the server needs to act as the authority.
pub struct Authority {
    /// Secret keys.
    pub keys: AuthorityKeys,
    /// The parsed descriptor.
    pub descriptor: AuthorityDescriptor,
    /// The signed descriptor bytes.
    pub descriptor_bytes: Vec<u8>,
    /// HMAC key for authorization-code hashes.
    pub code_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("id", &self.descriptor.id)
            .field("fingerprint", &self.descriptor.fingerprint())
            .finish_non_exhaustive()
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
    /// Public base URL (`https://...`).
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

/// Creates a new authority in `opts.data_dir`. Refuses to overwrite one.
pub fn init(opts: &InitOptions) -> Result<InitReport, ServerError> {
    let data = &opts.data_dir;
    fs::create_dir_all(data).map_err(io(data))?;
    if data.join("authority.json").exists() || keys_dir(data).exists() || db_path(data).exists() {
        return Err(ServerError::Other(format!(
            "{} already holds an authority; refusing to overwrite it",
            data.display()
        )));
    }
    let kdir = keys_dir(data);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&kdir)
        .map_err(io(&kdir))?;
    let mut rng = system_rng();
    let keys = AuthorityKeys::generate(&mut rng);
    let id = match opts.id {
        Some(id) => id,
        None => rng.next_u32(),
    };
    let descriptor = keys.descriptor(AuthorityId(id), &opts.name, &opts.base_url);
    let signer = keys.signing_key(1)?;
    let signed = descriptor.sign(1, signer)?;
    for (kid, k) in &keys.signing {
        write_secret_file(&kdir.join(format!("signing-{kid}.key")), &k.to_bytes())?;
    }
    for (kid, k) in &keys.capsule {
        write_secret_file(
            &kdir.join(format!("capsule-{kid}.key")),
            Zeroizing::new(k.to_bytes()).as_ref(),
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

/// Loads the authority from `data`, checking that keys and descriptor agree.
pub fn load(data: &Path) -> Result<Authority, ServerError> {
    let kdir = keys_dir(data);
    if !data.join("authority.json").exists() {
        return Err(ServerError::Other(format!(
            "{} holds no authority; run `quet-server init` first",
            data.display()
        )));
    }
    let mut signing = Vec::new();
    for id in key_ids(&kdir, "signing-")? {
        let seed = read_key32(&kdir.join(format!("signing-{id}.key")))?;
        signing.push((id, SigningKey::from_bytes(&seed)));
    }
    let mut capsule = Vec::new();
    for id in key_ids(&kdir, "capsule-")? {
        let b = read_key32(&kdir.join(format!("capsule-{id}.key")))?;
        capsule.push((id, StaticSecret::from(*b)));
    }
    let keys = AuthorityKeys { signing, capsule };
    let dpath = data.join("descriptor.bin");
    let descriptor_bytes = fs::read(&dpath).map_err(io(&dpath))?;
    let descriptor = AuthorityDescriptor::decode(&descriptor_bytes)?;
    for entry in &descriptor.signing_keys {
        if keys.signing_key(entry.key_id)?.verifying_key() != entry.key {
            return Err(ServerError::Other(format!(
                "signing key {} does not match the descriptor",
                entry.key_id
            )));
        }
    }
    for entry in &descriptor.capsule_keys {
        let public = x25519_dalek::PublicKey::from(keys.capsule_secret(entry.key_id)?).to_bytes();
        if public != entry.key {
            return Err(ServerError::Other(format!(
                "capsule key {} does not match the descriptor",
                entry.key_id
            )));
        }
    }
    let code_key = read_key32(&kdir.join("code-hash.key"))?;
    Ok(Authority {
        keys,
        descriptor,
        descriptor_bytes,
        code_key,
    })
}

/// Rotation step 1: generates signing key `max + 1` and lists it in the descriptor
/// (still signed by, and still using, the current key). Returns the new key id.
pub fn announce_signing_key(data: &Path) -> Result<u8, ServerError> {
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
    let current = desc.current_signing_key;
    let signed = desc.sign(current, auth.keys.signing_key(current)?)?;
    write_secret_file(
        &keys_dir(data).join(format!("signing-{next}.key")),
        seed.as_ref(),
    )?;
    replace_file(&data.join("descriptor.bin"), &signed)?;
    Ok(next)
}

/// Rotation step 2: makes an announced key current. The descriptor is signed by the
/// previously current key, so pinned clients accept it (`verify_update`).
pub fn activate_signing_key(data: &Path, key_id: u8) -> Result<(), ServerError> {
    let auth = load(data)?;
    let mut desc = auth.descriptor.clone();
    desc.signing_key(key_id)?;
    let old = desc.current_signing_key;
    desc.current_signing_key = key_id;
    let signed = desc.sign(old, auth.keys.signing_key(old)?)?;
    replace_file(&data.join("descriptor.bin"), &signed)
}
