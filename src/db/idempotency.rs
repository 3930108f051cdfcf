//! `payout_idempotency_keys`: the stored first response of each (actor, Idempotency-Key).

use sqlx::PgPool;

/// A key someone else holds (or held): what the first request was and how far it got.
#[derive(Debug)]
pub struct StoredKey {
    pub request_hash: String,
    pub state: String,
    pub response_status: Option<i32>,
    pub response_body: Option<Vec<u8>>,
    pub response_content_type: Option<String>,
    /// Seconds since the key was claimed (database clock).
    pub age_secs: f64,
}

/// Claims a new key, or takes over an expired one; true when the key is now ours.
pub async fn claim(db: &PgPool, actor: &str, key: &str, method: &str, path: &str, hash: &str) -> Result<bool, sqlx::Error> {
    let mine = sqlx::query_scalar!(
        r#"INSERT INTO payout_idempotency_keys (actor, key, method, path, request_hash) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (actor, key) DO UPDATE SET method = EXCLUDED.method, path = EXCLUDED.path,
               request_hash = EXCLUDED.request_hash, state = 'in_progress', response_status = NULL,
               response_body = NULL, response_content_type = NULL, created_at = now(), expires_at = now() + interval '24 hours'
           WHERE payout_idempotency_keys.expires_at < now()
           RETURNING true AS "mine!""#,
        actor,
        key,
        method,
        path,
        hash,
    )
    .fetch_optional(db)
    .await?;
    Ok(mine.is_some())
}

/// The key's row as it is now (absent when it was deleted meanwhile).
pub async fn find(db: &PgPool, actor: &str, key: &str) -> Result<Option<StoredKey>, sqlx::Error> {
    sqlx::query_as!(
        StoredKey,
        r#"SELECT request_hash, state, response_status, response_body, response_content_type,
                  EXTRACT(EPOCH FROM now() - created_at)::float8 AS "age_secs!"
           FROM payout_idempotency_keys WHERE actor = $1 AND key = $2"#,
        actor,
        key,
    )
    .fetch_optional(db)
    .await
}

/// Restarts the clock of an unfinished claim with this request hash; true when taken over.
pub async fn take_over(db: &PgPool, actor: &str, key: &str, hash: &str, abandoned_after: std::time::Duration) -> Result<bool, sqlx::Error> {
    // Compare-and-set on the age (SPEC §13): the first taker renews the claim, so a second
    // taker's condition no longer holds and it waits instead of running the request again.
    let n = sqlx::query!(
        "UPDATE payout_idempotency_keys SET created_at = now()
         WHERE actor = $1 AND key = $2 AND state = 'in_progress' AND request_hash = $3
           AND created_at < now() - make_interval(secs => $4)",
        actor,
        key,
        hash,
        abandoned_after.as_secs_f64(),
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Stores the finished response for replays.
pub async fn complete(
    db: &PgPool,
    actor: &str,
    key: &str,
    status: i32,
    body: &[u8],
    content_type: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payout_idempotency_keys SET state = 'completed', response_status = $3, response_body = $4,
             response_content_type = $5 WHERE actor = $1 AND key = $2",
        actor,
        key,
        status,
        body,
        content_type,
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Deletes the key (a failed or unstorable response), so a retry runs again.
pub async fn forget(db: &PgPool, actor: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM payout_idempotency_keys WHERE actor = $1 AND key = $2", actor, key)
        .execute(db)
        .await
        .map(|_| ())
}

/// Deletes expired keys.
pub async fn prune(db: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM payout_idempotency_keys WHERE expires_at < now()").execute(db).await.map(|_| ())
}
