//! Starting and stopping the server: load the authority, open the database, bind,
//! serve with connection info, run the publication scheduler and retention, and shut
//! down gracefully.

use std::net::SocketAddr;
use std::time::Duration;

use quet_protocol::time::UnixTime;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api;
use crate::config::Config;
use crate::db::now;
use crate::error::ServerError;
use crate::state::AppState;
use crate::{db, heartbeat, keystore, publish, review};

/// A server running inside this process.
pub struct RunningServer {
    addr: SocketAddr,
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

/// Loads everything, binds `config.listen` and starts serving in the background.
/// With `handle_signals`, SIGINT/SIGTERM also stop it gracefully.
pub async fn start(config: Config, handle_signals: bool) -> Result<RunningServer, ServerError> {
    config.validate()?;
    let authority = keystore::load(&config.data_dir)?;
    let conn = db::open(&keystore::db_path(&config.data_dir))?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServerError::Io(config.listen.to_string(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::Io(config.listen.to_string(), e))?;
    let state = AppState::new(config, authority, conn);
    state
        .refresh_cache()
        .await
        .map_err(|e| ServerError::Other(format!("loading bulletins: {}", e.message)))?;
    let (stop, stop_rx) = watch::channel(false);
    spawn_maintenance(state.clone(), stop_rx.clone());
    let app = api::router(state.clone());
    let mut rx = stop_rx;
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let signal = async {
                if handle_signals {
                    wait_for_signal().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = rx.wait_for(|v| *v) => {},
                _ = signal => {},
            }
            tracing::info!("shutting down");
        };
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| ServerError::Io("serve".into(), e))
    });
    tracing::info!(%addr, "listening");
    Ok(RunningServer {
        addr,
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
                    tracing::error!(error = %e.message, "scheduled publication failed");
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
            if let Err(e) = state.refresh_cache().await {
                tracing::error!(error = %e.message, "cache refresh failed");
            }
        }
    });
}
