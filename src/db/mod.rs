//! The only place that talks to PostgreSQL: the pool, migrations, and one module per table group.

pub mod alerts;
pub mod audit;
pub mod coalesce;
pub mod eligibility;
pub mod idempotency;
pub mod job_slots;
pub mod lane;
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

/// A pooled connection idle this long is pinged before it is used again.
pub(crate) const IDLE_PING_AFTER: Duration = Duration::from_secs(2);

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
        // sqlx would ping every connection before handing it out: a second round trip on every
        // request, doubling the database's work on the hot path (issue 15). A connection used
        // within the last IDLE_PING_AFTER is known to work; one idle for longer (a restart or a
        // firewall may have cut it) is still pinged, and a dead one replaced, before use.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= IDLE_PING_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options))
}

/// An error saying the database went away or is shutting down (SQLSTATE class 08, 57P…): the
/// connection that got it is not worth keeping, and the caller should hear 503.
pub(crate) fn database_gone(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")))
}

/// Is the database answering? One round trip on a lane connection (see [`lane`]), started
/// after the call: calls made while a ping is under way share the next one ([`coalesce`]).
pub async fn ping(db: &PgPool, lane: &lane::Lane) -> Result<(), sqlx::Error> {
    lane.pings
        .call((), |batch| async move {
            let pinged = async {
                let mut conn = lane.take(db).await?;
                sqlx::query_scalar!("SELECT 1 AS ping").fetch_one(&mut *conn).await.inspect_err(|e| lane.after_error(e))?;
                lane.give_back(conn);
                Ok::<_, sqlx::Error>(())
            }
            .await;
            match pinged {
                Ok(()) => batch.into_iter().for_each(|w| w.answer(Ok(()))),
                Err(e) => coalesce::fail_all(batch, e),
            }
        })
        .await
}
