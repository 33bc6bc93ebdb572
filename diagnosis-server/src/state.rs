//! Shared server state: the authority, the database handle, the in-memory cache of
//! public objects, the rate limits, upload slots and metrics.
//!
//! The database is one SQLite connection behind a mutex, used only from blocking
//! threads. [`AppState::write`] runs a closure in one `BEGIN IMMEDIATE` transaction
//! that commits only if the closure succeeds. Public downloads never touch the
//! database: they are served from [`PublicCache`], rebuilt after every publication
//! and every minute (retention).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::body::Bytes;
use axum::http::HeaderValue;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::Semaphore;

use crate::client_addr::TrustedProxies;
use crate::config::Config;
use crate::connections::KeyedSlots;
use crate::db::now;
use crate::error::ApiError;
use crate::keystore::Authority;
use crate::limiter::Limits;
use crate::metrics::Metrics;
use crate::publish::{index_json, live};

/// A bulletin ready to serve.
#[derive(Debug, Clone)]
pub struct CachedBulletin {
    /// The bytes.
    pub bytes: Bytes,
    /// Strong ETag `"<sha256 hex>"`.
    pub etag: HeaderValue,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
}

/// Public objects served from memory.
#[derive(Debug, Clone, Default)]
pub struct PublicCache {
    /// The index JSON.
    pub index: Bytes,
    /// Latest live sequence (0 if none).
    pub latest: u64,
    /// Live bulletins by sequence.
    pub bulletins: HashMap<u64, CachedBulletin>,
    /// `GET /v1/districts` JSON.
    pub districts: Bytes,
    /// The signed head (`/v1/bulletins/head`), if one was signed.
    pub head: Option<Bytes>,
}

/// Everything handlers share.
pub struct Inner {
    /// Settings.
    pub config: Config,
    /// Keys and descriptor.
    pub authority: Authority,
    /// Descriptor bytes for serving.
    pub descriptor: Bytes,
    /// The database.
    pub db: Mutex<Connection>,
    /// Public cache.
    pub cache: RwLock<Arc<PublicCache>>,
    /// Rate limits of the public write endpoints.
    pub limits: Limits,
    /// Proxies whose forwarding headers name the client.
    pub trusted: TrustedProxies,
    /// Upload bodies being received, all clients together.
    pub upload_bodies: Semaphore,
    /// Upload bodies being received, per client address.
    pub upload_bodies_per_address: Arc<KeyedSlots<std::net::IpAddr>>,
    /// Concurrent upload slots (verification and storing, after the body is read).
    pub uploads: Semaphore,
    /// Whether clients reach the server over TLS (HSTS; `Secure` cookies).
    pub https: bool,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Moving average of the time a real upload spends storing, microseconds
    /// (chaff waits as long, so both look alike on the wire).
    pub store_micros: AtomicU64,
}

/// Cloneable handle on [`Inner`].
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state from an opened database and loaded authority.
    /// `config` must have passed [`Config::validate`] (an invalid trusted-proxy
    /// list is treated as empty here).
    pub fn new(config: Config, authority: Authority, conn: Connection) -> Self {
        let limits = Limits::new(&config);
        let trusted = config.trusted().unwrap_or_default();
        let upload_bodies = Semaphore::new(config.max_upload_bodies);
        let upload_bodies_per_address = KeyedSlots::new(config.max_upload_bodies_per_address);
        let uploads = Semaphore::new(config.max_concurrent_uploads);
        let https = config.served_over_tls(&authority.descriptor.base_url);
        let descriptor = Bytes::from(authority.descriptor_bytes.clone());
        AppState(Arc::new(Inner {
            config,
            authority,
            descriptor,
            db: Mutex::new(conn),
            cache: RwLock::new(Arc::new(PublicCache::default())),
            limits,
            trusted,
            upload_bodies,
            upload_bodies_per_address,
            uploads,
            https,
            metrics: Arc::new(Metrics::default()),
            store_micros: AtomicU64::new(5_000),
        }))
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Inner) -> Result<T, ApiError> + Send + 'static,
    {
        let s = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = s.db.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn, &s)
        })
        .await
        .map_err(|e| ApiError::internal("blocking task", e))?
    }

    /// Runs `f` in one IMMEDIATE transaction on a blocking thread; commits if `f`
    /// returns `Ok`, rolls back otherwise.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &Inner) -> Result<T, ApiError> + Send + 'static,
    {
        let s = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = s.db.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx, &s)?;
            tx.commit()?;
            Ok(out)
        })
        .await
        .map_err(|e| ApiError::internal("blocking task", e))?
    }

    /// Rebuilds the public cache from the database (blocking), re-signing the head
    /// first if it is due (older than `head_interval_secs`, or expired).
    pub fn refresh_cache_blocking(&self) -> Result<(), ApiError> {
        let t = now();
        let (rows, head, districts) = {
            let mut conn = self.db.lock().unwrap_or_else(|p| p.into_inner());
            let mut head = crate::head::stored(&conn)?;
            if crate::head::is_due(head.as_ref(), t, self.config.head_interval_secs) {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let fresh =
                    crate::head::refresh(&tx, &self.authority, t, self.config.head_lifetime_secs)
                        .map_err(|e| ApiError::internal("sign head", e))?;
                tx.commit()?;
                head = Some(fresh);
            }
            (live(&conn, t)?, head, crate::districts::list(&conn)?)
        };
        let districts = serde_json::json!({ "districts": districts }).to_string();
        let mut bulletins = HashMap::with_capacity(rows.len());
        for b in &rows {
            let etag = HeaderValue::from_str(&format!("\"{}\"", b.sha256))
                .map_err(|e| ApiError::internal("etag", e))?;
            bulletins.insert(
                b.sequence,
                CachedBulletin {
                    bytes: Bytes::from(b.bytes.clone()),
                    etag,
                    expires_at: b.expires_at,
                },
            );
        }
        let cache = PublicCache {
            index: Bytes::from(index_json(self.authority.descriptor.id.0, &rows)),
            latest: rows.last().map(|b| b.sequence).unwrap_or(0),
            bulletins,
            districts: Bytes::from(districts),
            head: head.map(|h| Bytes::from(h.bytes)),
        };
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cache);
        Ok(())
    }

    /// Rebuilds the public cache (async).
    pub async fn refresh_cache(&self) -> Result<(), ApiError> {
        let s = self.clone();
        tokio::task::spawn_blocking(move || s.refresh_cache_blocking())
            .await
            .map_err(|e| ApiError::internal("blocking task", e))?
    }

    /// The current public cache.
    pub fn cache(&self) -> Arc<PublicCache> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Folds one real upload's storing time into the moving average.
    pub fn note_store_time(&self, micros: u64) {
        let old = self.store_micros.load(Ordering::Relaxed);
        self.store_micros
            .store((old * 7 + micros.min(1_000_000)) / 8, Ordering::Relaxed);
    }
}
