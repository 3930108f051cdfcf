//! `payout_job_slots`: one row per scheduled job run, claimed by one instance at a time under a
//! lease, until it succeeds.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

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

/// Claims (job, slot) under the job's advisory lock for `lease_secs`: a new slot, or one whose
/// run failed or whose lease ran out (its instance died). The token fences the run's writes;
/// `None` when another instance holds the slot or it already succeeded.
pub async fn claim(db: &PgPool, job_name: &str, slot: DateTime<Utc>, trigger: &str, claimed_by: &str, lease_secs: f64) -> Result<Option<Uuid>, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('payout-service:job:' || $1))", job_name).execute(&mut *tx).await?;
    let token = sqlx::query_scalar!(
        r#"INSERT INTO payout_job_slots (job_name, slot, trigger, claimed_by, lease_until, claim_token)
           VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), gen_random_uuid())
           ON CONFLICT (job_name, slot) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, lease_until = EXCLUDED.lease_until,
               claim_token = EXCLUDED.claim_token, outcome = 'running', started_at = now(), finished_at = NULL, error = NULL,
               attempts = payout_job_slots.attempts + 1
           WHERE payout_job_slots.outcome = 'failed'
              OR (payout_job_slots.outcome = 'running' AND coalesce(payout_job_slots.lease_until, '-infinity') < now())
           RETURNING claim_token AS "claim_token!""#,
        job_name,
        slot,
        trigger,
        claimed_by,
        lease_secs,
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Extends the run's lease while it works; false when the claim is no longer this run's.
pub async fn renew(db: &PgPool, job_name: &str, slot: DateTime<Utc>, token: Uuid, lease_secs: f64) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "UPDATE payout_job_slots SET lease_until = now() + make_interval(secs => $4)
         WHERE job_name = $1 AND slot = $2 AND claim_token = $3 AND outcome = 'running'",
        job_name,
        slot,
        token,
        lease_secs,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Records how the run went (under its claim only). A failed run is claimed again later.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    db: &PgPool,
    job_name: &str,
    slot: DateTime<Utc>,
    token: Uuid,
    outcome: &str,
    duration_ms: i64,
    summary: Option<Value>,
    error: Option<String>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payout_job_slots SET outcome = $4, finished_at = now(), duration_ms = $5, summary = $6, error = $7, lease_until = NULL
         WHERE job_name = $1 AND slot = $2 AND claim_token = $3",
        job_name,
        slot,
        token,
        outcome,
        duration_ms,
        summary,
        error,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Slots of `job` to run again: failed at least `retry_after_secs` ago, or abandoned (lease ran
/// out), within the last two days.
pub async fn unfinished(db: &PgPool, job_name: &str, retry_after_secs: f64) -> Result<Vec<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT slot FROM payout_job_slots
         WHERE job_name = $1 AND slot > now() - interval '2 days'
           AND ((outcome = 'failed' AND finished_at < now() - make_interval(secs => $2))
                OR (outcome = 'running' AND coalesce(lease_until, '-infinity') < now()))
         ORDER BY slot",
        job_name,
        retry_after_secs,
    )
    .fetch_all(db)
    .await
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
