//! Starting and stopping the server: raise the open-file limit, load the authority,
//! open the database, bind, serve within the connection bounds
//! ([`crate::connections`]), run the publication scheduler and retention, and shut
//! down gracefully.

use std::net::SocketAddr;
use std::time::Duration;

use quet_protocol::time::UnixTime;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api;
use crate::config::Config;
use crate::connections::{self, ListenerLimits};
use crate::db::now;
use crate::error::ServerError;
use crate::state::AppState;
use crate::{db, heartbeat, keystore, publish, review};

/// A server running inside this process.
pub struct RunningServer {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    state: AppState,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound address of the private metrics listener, if one is configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// `http://<addr>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state (in-process callers and tests).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, finishes in-flight requests, and returns.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.stop.send(true);
        self.task
            .await
            .map_err(|e| ServerError::Other(format!("server task: {e}")))?
    }

    /// Waits until the server stops by itself (signal).
    pub async fn wait(self) -> Result<(), ServerError> {
        self.task
            .await
            .map_err(|e| ServerError::Other(format!("server task: {e}")))?
    }
}

/// Loads everything, binds `config.listen` (and `config.metrics_listen`) and starts
/// serving in the background. With `handle_signals`, SIGINT/SIGTERM also stop it
/// gracefully.
pub async fn start(config: Config, handle_signals: bool) -> Result<RunningServer, ServerError> {
    config.validate()?;
    let nofile = connections::raise_open_file_limit();
    let max_connections = config.connection_cap(nofile)?;
    let authority = keystore::load(&config.data_dir)?;
    let conn = db::open(&keystore::db_path(&config.data_dir))?;
    let bind = |a: SocketAddr| async move {
        let l = TcpListener::bind(a)
            .await
            .map_err(|e| ServerError::Io(a.to_string(), e))?;
        let addr = l
            .local_addr()
            .map_err(|e| ServerError::Io(a.to_string(), e))?;
        Ok::<_, ServerError>((l, addr))
    };
    let (listener, addr) = bind(config.listen).await?;
    let metrics_listener = match config.metrics_listen {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let limits = ListenerLimits {
        max_connections,
        max_per_address: config.max_connections_per_address,
        header_timeout: Duration::from_secs(config.header_timeout_secs),
        trusted: config.trusted()?,
    };
    let state = AppState::new(config, authority, conn);
    state
        .metrics
        .connections_max
        .store(max_connections as u64, std::sync::atomic::Ordering::Relaxed);
    state
        .refresh_cache()
        .await
        .map_err(|e| ServerError::Other(format!("loading bulletins: {}", e.message)))?;
    let (stop, stop_rx) = watch::channel(false);
    spawn_maintenance(state.clone(), stop_rx.clone());
    let metrics_addr = metrics_listener.as_ref().map(|(_, a)| *a);
    if let Some((l, _)) = metrics_listener {
        let private = ListenerLimits {
            max_connections: 16,
            max_per_address: 16,
            header_timeout: limits.header_timeout,
            trusted: Default::default(),
        };
        tokio::spawn(connections::serve(
            l,
            api::metrics_router(state.clone()),
            private,
            state.metrics.clone(),
            stop_rx.clone(),
        ));
    }
    let app = api::router(state.clone());
    let metrics = state.metrics.clone();
    let signal_stop = stop.clone();
    let task = tokio::spawn(async move {
        if handle_signals {
            let mut done = stop_rx.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = wait_for_signal() => {
                        tracing::info!("shutting down");
                        let _ = signal_stop.send(true);
                    }
                    _ = done.wait_for(|v| *v) => {}
                }
            });
        }
        connections::serve(listener, app, limits, metrics, stop_rx).await;
        Ok(())
    });
    tracing::info!(%addr, max_connections, open_file_limit = nofile, "listening");
    Ok(RunningServer {
        addr,
        metrics_addr,
        state,
        stop,
        task,
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The scheduler (publish when something is queued) and retention (expired
/// envelopes, codes, old bulletins, old heartbeat pseudonyms; cache refresh).
fn spawn_maintenance(state: AppState, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let every = match state.config.publish_interval_secs {
            0 => 60,
            n => n.clamp(1, 60),
        };
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        let mut last_publish = now();
        loop {
            tokio::select! {
                _ = tick.tick() => {},
                _ = stop.wait_for(|v| *v) => return,
            }
            let interval = state.config.publish_interval_secs;
            if interval > 0 && now() >= last_publish + interval {
                last_publish = now();
                let queued = state
                    .read(|c, _| Ok(publish::has_queued(c)?))
                    .await
                    .unwrap_or(false);
                if queued && let Err(e) = api::admin::do_publish(&state, "scheduler".into()).await {
                    if e.kind == "publish_throttled" {
                        tracing::warn!(error = %e.message, "scheduled publication throttled");
                    } else {
                        tracing::error!(error = %e.message, "scheduled publication failed");
                    }
                }
            }
            match crate::keystore::destroy_expired_capsule_keys(&state.authority, now()) {
                Ok(gone) if !gone.is_empty() => {
                    tracing::info!(capsule_keys = ?gone, "capsule secrets destroyed (retention over)")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "destroying capsule secrets failed"),
            }
            let state_lifetime_days = state.config.bulletin_lifetime_days;
            let res = state
                .write(move |tx, _| {
                    let t = now();
                    let envelopes = review::purge_expired(tx, t)?;
                    let bulletins = publish::purge_old(tx, t)?;
                    let today = UnixTime(t).day().map(|d| d.0).unwrap_or(0);
                    heartbeat::purge(tx, today)?;
                    crate::retention::purge_records(tx, t, state_lifetime_days)?;
                    Ok((envelopes, bulletins))
                })
                .await;
            match res {
                Ok((e, b)) if e + b > 0 => {
                    tracing::info!(envelopes = e, bulletins = b, "retention")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e.message, "retention failed"),
            }
            state.limits.housekeeping();
            if let Err(e) = state.refresh_cache().await {
                tracing::error!(error = %e.message, "cache refresh failed");
            }
        }
    });
}
