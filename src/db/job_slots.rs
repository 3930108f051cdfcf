//! `payout_job_slots`: one row per scheduled job run, claimed once across every instance.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

/// One recorded run of a job.
#[derive(Debug, Clone)]
pub struct JobRunRow {
    pub job_name: String,
    pub slot: DateTime<Utc>,
    pub trigger: String,
    pub outcome: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
}

/// Claims (job, slot) under the job's advisory lock; true when this instance won it.
pub async fn claim(db: &PgPool, job_name: &str, slot: DateTime<Utc>, trigger: &str, claimed_by: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtext('payout-service:job:' || $1))",
        job_name
    )
    .execute(&mut *tx)
    .await?;
    let won = sqlx::query!(
        "INSERT INTO payout_job_slots (job_name, slot, trigger, claimed_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        job_name,
        slot,
        trigger,
        claimed_by,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(won)
}

/// Records how a claimed run went.
pub async fn finish(
    db: &PgPool,
    job_name: &str,
    slot: DateTime<Utc>,
    outcome: &str,
    duration_ms: i64,
    summary: Option<Value>,
    error: Option<String>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payout_job_slots SET outcome = $3, finished_at = now(), duration_ms = $4, summary = $5, error = $6
         WHERE job_name = $1 AND slot = $2",
        job_name,
        slot,
        outcome,
        duration_ms,
        summary,
        error,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Whether (job, slot) was claimed already (by anyone, whatever came of it).
pub async fn exists(db: &PgPool, job_name: &str, slot: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let seen = sqlx::query_scalar!(
        r#"SELECT true AS "seen!" FROM payout_job_slots WHERE job_name = $1 AND slot = $2"#,
        job_name,
        slot,
    )
    .fetch_optional(db)
    .await?;
    Ok(seen.is_some())
}

/// The latest recorded run of each job.
pub async fn latest_runs(db: &PgPool) -> Result<Vec<JobRunRow>, sqlx::Error> {
    sqlx::query_as!(
        JobRunRow,
        r#"SELECT DISTINCT ON (job_name) job_name, slot, trigger, outcome, started_at, finished_at, duration_ms
           FROM payout_job_slots ORDER BY job_name, started_at DESC"#
    )
    .fetch_all(db)
    .await
}
