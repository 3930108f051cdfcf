//! Builds the state and the router, runs the server, and shuts everything down in order.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::jobs::Scheduler;

pub use crate::http::AppState;
pub use crate::VERSION;

/// A bound server, not yet running: tests bind port 0 and read the address.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    pub async fn bind(state: AppState) -> anyhow::Result<Self> {
        let addr = SocketAddr::new(state.settings.http.host, state.settings.http.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        Ok(Server { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` turns true, then stops accepting, finishes in-flight requests and
    /// closes the pool.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let Server { listener, state } = self;
        tracing::info!(addr = %listener.local_addr()?, version = VERSION, instance = %state.instance_id, "payout service listening");
        if !state.settings.auth.admin_require_verified_email {
            tracing::warn!(setting = "ADMIN_REQUIRE_VERIFIED_EMAIL", "{}", crate::http::health::UNVERIFIED_ADMINS_WARNING);
        }
        let app = crate::http::router(state.clone());
        let background = spawn_background(&state, shutdown.clone());
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
                tracing::info!("shutting down: no new connections, finishing in-flight requests");
            })
            .await?;
        for task in background {
            let _ = task.await;
        }
        // The pool waits for every connection to come back, the lane's too.
        state.lane.release_all();
        state.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Housekeeping that runs beside the server and stops with it.
pub fn spawn_background(state: &AppState, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if state.rate_limiter.is_shared() {
        let (state, mut shutdown) = (state.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            let every = std::time::Duration::from_secs(state.rate_limiter.window_secs().max(60));
            loop {
                tokio::select! {
                    _ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => break,
                    _ = tokio::time::sleep(every) => state.rate_limiter.prune(&state.db).await,
                }
            }
        }));
    }
    {
        let (state, mut shutdown) = (state.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => break,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(600)) => crate::http::idempotency::prune(&state.db).await,
                }
            }
        }));
    }
    match crate::notify::sender::Sender::new(&state.settings, state.db.clone(), state.instance_id.clone(), Some(crate::workflow::documents::emailed_receipts(state.ctx.clone()))) {
        Ok(sender) => tasks.push(tokio::spawn(sender.run(state.settings.email.outbox_poll_interval, shutdown.clone()))),
        Err(e) => tracing::error!(error.message = %e, "email sender not started"),
    }
    let scheduler = Scheduler::new(&state.settings, state.ctx.clone(), state.instance_id.clone());
    tasks.extend(crate::jobs::scheduler::spawn(&scheduler, &shutdown));
    drop(shutdown);
    tasks
}

/// A channel that turns true on SIGTERM or SIGINT. The handlers are installed before this
/// returns (not later in a task), so a signal sent right after the caller says it is up — dev
/// mode prints its banner just after — is never met by the default action.
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = watch::channel(false);
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!(signal = "SIGINT", "signal received"),
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "signal received"),
        }
        let _ = tx.send(true);
    });
    rx
}
