//! The only place that talks to PostgreSQL: the pool, migrations, and one module per table group.

pub mod alerts;
pub mod audit;
pub mod eligibility;
pub mod idempotency;
pub mod job_slots;
pub mod migrate;
pub mod outbox;
pub mod payment_files;
pub mod payout_secrets;
pub mod payouts;
pub mod rate_limits;
pub mod sessions;
pub mod tax_forms;
pub mod users;

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

/// One round trip: is the database answering?
pub async fn ping(db: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("SELECT 1 AS ping").fetch_one(db).await.map(|_| ())
}
