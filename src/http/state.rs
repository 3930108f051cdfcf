//! What every request handler can reach: the use cases' context, the settings, and the
//! transport's own parts (sessions, rate limits, metrics). Built once by `app`.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use sqlx::PgPool;

use crate::auth::SessionValidator;
use crate::config::Settings;
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimiter;
use crate::workflow::Context;

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    /// The use cases' context (pool, keyring, clients, rules).
    pub ctx: Context,
    /// The same pool as `ctx.db`, for health and the middleware.
    pub db: PgPool,
    /// Connections held for the per-request statements (`db::lane`).
    pub lane: crate::db::lane::Lane,
    pub metrics: Metrics,
    /// Health's details, read at most once a second (`http::health`).
    pub health_details: crate::http::health::DetailsCache,
    pub sessions: SessionValidator,
    pub rate_limiter: RateLimiter,
    pub started_at: Instant,
    /// Names this process in job slots and outbox claims.
    pub instance_id: String,
    /// Dev mode only: the demo people `/console/dev-login` signs in as (the route exists only then).
    pub dev_logins: Option<Vec<crate::http::console::dev_login::DevLogin>>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(settings: Settings, db: PgPool) -> Self {
        Self::build(settings, db, None)
    }

    /// As `new`, with the demo sign-in of dev mode.
    pub fn with_dev_logins(settings: Settings, db: PgPool, logins: Vec<crate::http::console::dev_login::DevLogin>) -> Self {
        Self::build(settings, db, Some(logins))
    }

    fn build(settings: Settings, db: PgPool, dev_logins: Option<Vec<crate::http::console::dev_login::DevLogin>>) -> Self {
        let ctx = Context::new(&settings, db.clone());
        let sessions = SessionValidator::new(&settings);
        let rate_limiter = RateLimiter::new(
            settings.http.rate_limit.max,
            settings.http.rate_limit.window.as_secs(),
            settings.http.trust_proxy,
            settings.http.rate_limit.store,
        );
        let instance_id = crate::instance_id();
        let lane = crate::db::lane::Lane::new(settings.database.pool_max);
        AppState(Arc::new(Inner {
            settings,
            ctx,
            lane,
            db,
            metrics: Metrics::default(),
            health_details: Default::default(),
            sessions,
            rate_limiter,
            started_at: Instant::now(),
            instance_id,
            dev_logins,
        }))
    }
}
