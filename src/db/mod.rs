//! The only place that talks to PostgreSQL: the pool, migrations, and one module per table group.

pub mod alerts;
pub mod audit;
pub mod eligibility;
pub mod migrate;
pub mod payouts;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::config::Settings;

/// A pool as SPEC §11 sizes it. Lazy: the service can start and report 503 while the DB is away.
pub fn pool(settings: &Settings, database_url: &str) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(database_url)
        .map_err(|e| anyhow::anyhow!("DATABASE_URL cannot be parsed: {e}"))?
        // sqlx itself sends TimeZone=UTC as a startup parameter (one PgBouncer forwards), so
        // every timestamp conversion in SQL happens in UTC whatever the server default is.
        .application_name("payout-service")
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    Ok(PgPoolOptions::new()
        .max_connections(settings.database.pool_max)
        .min_connections(settings.database.pool_min)
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(600))
        .connect_lazy_with(options))
}

/// Pool numbers for health and metrics.
pub fn pool_stats(pool: &PgPool, max: u32) -> crate::http::metrics::PoolStats {
    crate::http::metrics::PoolStats { size: pool.size(), idle: pool.num_idle() as u32, max }
}
