//! Accepting connections with bounds: a cap on open connections below the
//! open-file limit, a cap per client address, a deadline for each request's headers
//! (which also closes idle keep-alive connections), and graceful shutdown.
//!
//! At the global cap the server stops accepting, so new connections wait in the
//! kernel's backlog until a slot frees (every connection frees its slot within the
//! header deadline unless it is sending requests). Over the per-address cap a new
//! connection is closed at once. Trusted proxies are exempt from the per-address
//! cap: all their clients share their address.

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::client_addr::{TrustedProxies, key_of};
use crate::metrics::{Metrics, inc};

/// Largest read buffer of a connection (bounds a request's header block; larger
/// headers get 431).
pub const MAX_HEADER_BUFFER: usize = 64 * 1024;

/// How long shutdown waits for in-flight requests before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Counts of something held per key (connections or upload bodies per address),
/// each released when its [`Slot`] drops.
#[derive(Debug)]
pub struct KeyedSlots<K: Eq + Hash + Copy> {
    max: usize,
    held: Mutex<HashMap<K, usize>>,
}

/// One held slot of a [`KeyedSlots`].
#[derive(Debug)]
pub struct Slot<K: Eq + Hash + Copy> {
    owner: Arc<KeyedSlots<K>>,
    key: K,
}

impl<K: Eq + Hash + Copy> KeyedSlots<K> {
    /// At most `max` slots per key.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(KeyedSlots {
            max,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a slot for `key`, or `None` when the key holds `max` already.
    pub fn try_take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            owner: self.clone(),
            key,
        })
    }

    /// Slots held by `key` now.
    pub fn held(&self, key: K) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(&key).copied().unwrap_or(0)
    }
}

impl<K: Eq + Hash + Copy> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self.owner.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// Bounds of one listener.
#[derive(Debug, Clone)]
pub struct ListenerLimits {
    /// Open connections at once.
    pub max_connections: usize,
    /// Open connections per client address (trusted proxies exempt).
    pub max_per_address: usize,
    /// Deadline for a request's headers, from the connection's start or the
    /// previous response.
    pub header_timeout: Duration,
    /// Peers exempt from the per-address cap.
    pub trusted: TrustedProxies,
}

/// Serves `app` on `listener` within `limits` until `stop` turns true, then lets
/// in-flight requests finish (at most [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ListenerLimits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address: Arc<KeyedSlots<IpAddr>> = KeyedSlots::new(limits.max_per_address);
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BUFFER)
        .keep_alive(true);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.wait_for(|v| *v) => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|v| *v) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE/ENFILE and aborted handshakes: pause briefly, keep serving.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let address_slot = if limits.trusted.contains(peer.ip()) {
            None
        } else {
            match per_address.try_take(key_of(peer.ip())) {
                Some(s) => Some(s),
                None => {
                    inc(&metrics.connections_refused);
                    drop(stream);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let router = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.oneshot(req).await.unwrap_or_else(|e| match e {})) }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let metrics = metrics.clone();
        metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                if e.is_timeout() {
                    inc(&metrics.header_timeouts);
                }
                tracing::debug!(error = %e, "connection ended with an error");
            }
            metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(address_slot);
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; dropping them");
    }
}

/// Raises the soft open-file limit to the hard limit and returns the soft limit now
/// in force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_slots_are_bounded_per_key_and_released_on_drop() {
        let s: Arc<KeyedSlots<u8>> = KeyedSlots::new(2);
        let a = s.try_take(1).unwrap();
        let b = s.try_take(1).unwrap();
        assert!(s.try_take(1).is_none());
        assert!(s.try_take(2).is_some());
        drop(a);
        assert_eq!(s.held(1), 1);
        let _c = s.try_take(1).unwrap();
        drop(b);
        assert_eq!(s.held(1), 1);
        assert_eq!(s.held(3), 0);
    }
}
