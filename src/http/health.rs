//! Liveness and readiness: `/api/health` and `/health` (DB round trip, pool, scheduler, outbox),
//! `/ready` (DB reachable and migrations applied). No auth, no rate limit.
//!
//! Load balancers call health constantly, so each call costs one database ping; what the report
//! says beyond it (the jobs' last runs, the outbox, owed cancellations: three queries, one of
//! them over every payout) is read at most once per [`DETAILS_TTL`] per instance and shared,
//! with `detailsAsOf` saying when.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::VERSION;
use crate::error::ErrorCode;
use crate::http::metrics::PoolStats;
use crate::http::error::error_response;
use crate::http::Envelope;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// `healthy` or `unhealthy`.
    status: &'static str,
    version: &'static str,
    instance: String,
    uptime_secs: u64,
    database: DatabaseHealth,
    pool: PoolHealth,
    scheduler: SchedulerHealth,
    outbox: Option<OutboxHealth>,
    /// Subscription cancels owed after membership removals (SPEC §13).
    cancellations: Option<CancellationHealth>,
    /// When the scheduler runs, outbox and cancellations were read (at most a second ago).
    details_as_of: Option<DateTime<Utc>>,
    security: SecurityHealth,
}

/// How long the report's details may be reused.
pub const DETAILS_TTL: Duration = Duration::from_secs(1);

/// The report's details, read at most once per [`DETAILS_TTL`]: readers share the latest, and
/// one request at a time refreshes them (the others keep answering from the previous read).
#[derive(Default)]
pub struct DetailsCache {
    latest: RwLock<Option<Arc<Details>>>,
    refreshing: tokio::sync::Mutex<()>,
}

struct Details {
    read_at: Instant,
    as_of: DateTime<Utc>,
    last_runs: Vec<JobRun>,
    outbox: Option<OutboxHealth>,
    cancellations: Option<CancellationHealth>,
}

impl DetailsCache {
    fn fresh(&self) -> Option<Arc<Details>> {
        let latest = self.latest.read().unwrap_or_else(|p| p.into_inner());
        latest.as_ref().filter(|d| d.read_at.elapsed() < DETAILS_TTL).cloned()
    }

    async fn get(&self, state: &AppState) -> Arc<Details> {
        if let Some(d) = self.fresh() {
            return d;
        }
        // One refresh at a time; while it runs, the others answer from the previous read.
        let _refresh = match self.refreshing.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                let previous = self.latest.read().unwrap_or_else(|p| p.into_inner()).clone();
                match previous {
                    Some(previous) => return previous,
                    None => self.refreshing.lock().await,
                }
            }
        };
        if let Some(d) = self.fresh() {
            return d;
        }
        let cancellations = crate::db::payouts::cancellation_counts(&state.db).await.ok().map(|(pending, failed)| CancellationHealth { pending, failed });
        let d = Arc::new(Details { read_at: Instant::now(), as_of: Utc::now(), last_runs: job_runs(state).await, outbox: outbox(state).await, cancellations });
        *self.latest.write().unwrap_or_else(|p| p.into_inner()) = Some(d.clone());
        d
    }
}

#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CancellationHealth {
    /// Still being retried.
    pending: i64,
    /// Given up after a day (an admin alert was raised): cancel by hand.
    failed: i64,
}

/// The controls of SPEC §12 an operator may turn off or on.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SecurityHealth {
    /// False only when ADMIN_REQUIRE_VERIFIED_EMAIL was knowingly turned off.
    admin_require_verified_email: bool,
    admin_require_2fa: bool,
    /// What to look at, when a control is off.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<&'static str>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DatabaseHealth {
    /// `up` or `down`.
    status: &'static str,
    latency_ms: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PoolHealth {
    size: u32,
    idle: u32,
    max: u32,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SchedulerHealth {
    enabled: bool,
    /// The latest recorded run of each job.
    last_runs: Vec<JobRun>,
}

#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct JobRun {
    job: String,
    slot: DateTime<Utc>,
    trigger: String,
    outcome: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    duration_ms: Option<i64>,
}

#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OutboxHealth {
    pending: i64,
    failed: i64,
    oldest_pending_at: Option<DateTime<Utc>>,
}

const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Service health.
#[utoipa::path(get, path = "/api/health", tag = "health",
    responses((status = 200, description = "Healthy", body = HealthReport),
              (status = 503, description = "The database is unreachable")))]
pub async fn health(State(state): State<AppState>) -> Response {
    let started = Instant::now();
    let db_up = matches!(
        tokio::time::timeout(DB_CHECK_TIMEOUT, crate::db::ping(&state.db, &state.lane)).await,
        Ok(Ok(_))
    );
    let latency_ms = db_up.then(|| (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0);
    let details = if db_up { Some(state.health_details.get(&state).await) } else { None };
    let stats = PoolStats::of(&state.db, state.settings.database.pool_max);
    let report = HealthReport {
        status: if db_up { "healthy" } else { "unhealthy" },
        version: VERSION,
        instance: state.instance_id.clone(),
        uptime_secs: state.started_at.elapsed().as_secs(),
        database: DatabaseHealth { status: if db_up { "up" } else { "down" }, latency_ms },
        pool: PoolHealth { size: stats.size, idle: stats.idle, max: stats.max },
        scheduler: SchedulerHealth {
            enabled: state.settings.scheduler_enabled(),
            last_runs: details.as_ref().map(|d| d.last_runs.clone()).unwrap_or_default(),
        },
        outbox: details.as_ref().and_then(|d| d.outbox.clone()),
        cancellations: details.as_ref().and_then(|d| d.cancellations.clone()),
        details_as_of: details.as_ref().map(|d| d.as_of),
        security: security(&state.settings),
    };
    let mut response = if db_up {
        Envelope::ok(report).into_response()
    } else {
        error_response(
            ErrorCode::ServiceUnavailable,
            "The database is unreachable",
            Some(serde_json::to_value(&report).unwrap_or_default()),
        )
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn job_runs(state: &AppState) -> Vec<JobRun> {
    let rows = crate::db::job_slots::latest_runs(&state.db).await.unwrap_or_default();
    rows.into_iter()
        .map(|r| JobRun {
            job: r.job_name,
            slot: r.slot,
            trigger: r.trigger,
            outcome: r.outcome,
            started_at: r.started_at,
            finished_at: r.finished_at,
            duration_ms: r.duration_ms,
        })
        .collect()
}

async fn outbox(state: &AppState) -> Option<OutboxHealth> {
    crate::db::outbox::stats(&state.db)
        .await
        .ok()
        .map(|r| OutboxHealth { pending: r.pending, failed: r.failed, oldest_pending_at: r.oldest_pending_at })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    ready: bool,
    pending_migrations: Vec<i64>,
}

fn security(settings: &crate::config::Settings) -> SecurityHealth {
    let verified = settings.auth.admin_require_verified_email;
    SecurityHealth {
        admin_require_verified_email: verified,
        admin_require_2fa: settings.auth.admin_require_2fa,
        warnings: if verified { vec![] } else { vec![UNVERIFIED_ADMINS_WARNING] },
    }
}

/// Logged at start and shown by health when ADMIN_REQUIRE_VERIFIED_EMAIL is off.
pub const UNVERIFIED_ADMINS_WARNING: &str =
    "ADMIN_REQUIRE_VERIFIED_EMAIL=false: anyone who signs up in the main app with an admin's email address is an admin here";

/// Ready to take traffic: the database answers and every migration is applied.
#[utoipa::path(get, path = "/ready", tag = "health",
    responses((status = 200, description = "Ready", body = Readiness),
              (status = 503, description = "Not ready")))]
pub async fn ready(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(DB_CHECK_TIMEOUT, crate::db::migrate::pending(&state.db)).await {
        Ok(Ok(pending)) if pending.is_empty() => {
            Envelope::ok(Readiness { ready: true, pending_migrations: pending }).into_response()
        }
        Ok(Ok(pending)) => error_response(
            ErrorCode::ServiceUnavailable,
            "Migrations are pending",
            Some(serde_json::json!({ "pendingMigrations": pending })),
        ),
        _ => error_response(ErrorCode::ServiceUnavailable, "The database is unreachable", None),
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let stats = PoolStats::of(&state.db, state.settings.database.pool_max);
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))],
        state.metrics.render(&stats),
    )
        .into_response()
}
