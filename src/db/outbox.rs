//! `payout_email_outbox`: messages written with the change that causes them, claimed and sent by the worker.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// A message for the outbox.
pub struct NewEmail<'a> {
    pub dedupe_key: &'a str,
    pub template: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub payout_id: Option<&'a str>,
    /// Attach this payout's receipt (rendered at send time).
    pub attach_receipt_of: Option<&'a str>,
}

/// A message this instance claimed for sending.
#[derive(Debug, Clone)]
pub struct ClaimedEmail {
    pub id: Uuid,
    /// The fence: every later write of the row names it.
    pub claim_token: Uuid,
    pub dedupe_key: String,
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    /// The payout whose receipt is rendered and attached as a PDF when the message is sent.
    pub attach_receipt_of: Option<String>,
    /// Counting this one.
    pub attempts: i32,
}

/// Queue sizes for the health report.
#[derive(Debug, Clone)]
pub struct OutboxStats {
    pub pending: i64,
    pub failed: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

/// Inserts the message unless one with its dedupe key exists; true when inserted.
pub async fn insert(tx: &mut Transaction<'_, Postgres>, email: NewEmail<'_>) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO payout_email_outbox (dedupe_key, template, recipient, subject, body_text, body_html, payout_id, attach_receipt_of)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (dedupe_key) DO NOTHING",
        email.dedupe_key,
        email.template,
        email.recipient,
        email.subject,
        email.body_text,
        email.body_html,
        email.payout_id,
        email.attach_receipt_of,
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Claims up to `limit` due messages for `instance` with a lease of `lease_secs` (`SKIP LOCKED`,
/// so instances never claim the same message), counting the attempt.
pub async fn claim_batch(db: &PgPool, instance: &str, lease_secs: f64, limit: i64) -> Result<Vec<ClaimedEmail>, sqlx::Error> {
    sqlx::query_as!(
        ClaimedEmail,
        r#"UPDATE payout_email_outbox SET claimed_by = $1, claimed_until = now() + make_interval(secs => $2), attempts = attempts + 1,
                claim_token = gen_random_uuid()
         WHERE id IN (
             SELECT id FROM payout_email_outbox
             WHERE status = 'pending' AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
             ORDER BY next_attempt_at, created_at LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING id, claim_token AS "claim_token!", dedupe_key, template, recipient, subject, body_text, body_html, attach_receipt_of, attempts"#,
        instance,
        lease_secs,
        limit,
    )
    .fetch_all(db)
    .await
}

/// Extends the claims in `held` (id, claim token) by another `lease_secs`, each only while it is
/// still that claim's and unexpired, in one statement; returns the ids extended. A claim missing
/// from the answer lapsed (another instance may have the message): do not send it.
pub async fn renew(db: &PgPool, held: &[(Uuid, Uuid)], lease_secs: f64) -> Result<Vec<Uuid>, sqlx::Error> {
    let (ids, tokens): (Vec<Uuid>, Vec<Uuid>) = held.iter().copied().unzip();
    sqlx::query_scalar!(
        "UPDATE payout_email_outbox o SET claimed_until = now() + make_interval(secs => $3)
         FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)
         WHERE o.id = c.id AND o.claim_token = c.token AND o.status = 'pending' AND o.claimed_until > now()
         RETURNING o.id",
        &ids,
        &tokens,
        lease_secs,
    )
    .fetch_all(db)
    .await
}

/// Records that the SMTP server accepted these messages (id, claim token), in one statement —
/// each under its own claim only (a message the server accepted is sent even if the lease ran out
/// meanwhile, unless another claim settled it). Returns the ids recorded; one missing is held by
/// another claim now.
pub async fn mark_sent(db: &PgPool, sent: &[(Uuid, Uuid)]) -> Result<Vec<Uuid>, sqlx::Error> {
    let (ids, tokens): (Vec<Uuid>, Vec<Uuid>) = sent.iter().copied().unzip();
    sqlx::query_scalar!(
        "UPDATE payout_email_outbox o SET status = 'sent', sent_at = now(), claimed_until = NULL, last_error = NULL
         FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)
         WHERE o.id = c.id AND o.claim_token = c.token AND o.status = 'pending'
         RETURNING o.id",
        &ids,
        &tokens,
    )
    .fetch_all(db)
    .await
}

/// Gives back claimed messages that were never attempted (the batch stopped before them), each
/// only while it is still that claim's: due again at once, the claim's attempt not counted.
pub async fn release(db: &PgPool, unsent: &[(Uuid, Uuid)]) -> Result<u64, sqlx::Error> {
    let (ids, tokens): (Vec<Uuid>, Vec<Uuid>) = unsent.iter().copied().unzip();
    sqlx::query!(
        "UPDATE payout_email_outbox o SET claimed_until = NULL, attempts = o.attempts - 1
         FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)
         WHERE o.id = c.id AND o.claim_token = c.token AND o.status = 'pending'",
        &ids,
        &tokens,
    )
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// Withdraws a message that must not go out any more (its news is no longer true), under this
/// claim only; false when another claim holds the row.
pub async fn mark_withdrawn(db: &PgPool, id: Uuid, token: Uuid, reason: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "UPDATE payout_email_outbox SET status = 'withdrawn', claimed_until = NULL, last_error = $3
         WHERE id = $1 AND claim_token = $2 AND status = 'pending'",
        id,
        token,
        reason,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Marks a message finally failed, under this claim only (in the transaction that raises its
/// alert); false when another claim holds the row.
pub async fn mark_failed(tx: &mut Transaction<'_, Postgres>, id: Uuid, token: Uuid, error: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "UPDATE payout_email_outbox SET status = 'failed', claimed_until = NULL, last_error = $3
         WHERE id = $1 AND claim_token = $2 AND status = 'pending'",
        id,
        token,
        error,
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Releases a failed message for another attempt in `retry_secs`, under this claim only.
pub async fn schedule_retry(db: &PgPool, id: Uuid, token: Uuid, error: &str, retry_secs: f64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payout_email_outbox SET claimed_until = NULL, last_error = $3, next_attempt_at = now() + make_interval(secs => $4)
         WHERE id = $1 AND claim_token = $2 AND status = 'pending'",
        id,
        token,
        error,
        retry_secs,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Pending and failed counts and the oldest pending message's age.
pub async fn stats(db: &PgPool) -> Result<OutboxStats, sqlx::Error> {
    sqlx::query_as!(
        OutboxStats,
        r#"SELECT count(*) FILTER (WHERE status = 'pending') AS "pending!",
                  count(*) FILTER (WHERE status = 'failed') AS "failed!",
                  min(created_at) FILTER (WHERE status = 'pending') AS oldest_pending_at
           FROM payout_email_outbox"#
    )
    .fetch_one(db)
    .await
}
