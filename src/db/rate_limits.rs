//! `payout_rate_limits` (UNLOGGED): the shared per-client counters of RATE_LIMIT_STORE=postgres.

use sqlx::PgPool;

/// Counts one request of `key` in the current window of `window_secs` (windows aligned to the
/// epoch, on the database's clock). Returns (count in this window, seconds until it resets).
pub async fn hit(db: &PgPool, key: &str, window_secs: i64) -> Result<(i32, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH w AS (SELECT extract(epoch FROM now()) AS e),
                s AS (SELECT to_timestamp(floor(e / $2::bigint) * $2::bigint) AS start,
                             ceil($2::bigint - mod(e, $2::bigint))::bigint AS reset FROM w)
           INSERT INTO payout_rate_limits AS r (key, window_start, count)
           SELECT $1, s.start, 1 FROM s
           ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.count + 1 ELSE 1 END,
             window_start = EXCLUDED.window_start
           RETURNING count, (SELECT reset FROM s) AS "reset!""#,
        key,
        window_secs,
    )
    .fetch_one(db)
    .await?;
    Ok((row.count, row.reset))
}

/// Deletes the counters of windows that ended more than `window_secs` ago.
pub async fn prune(db: &PgPool, window_secs: f64) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM payout_rate_limits WHERE window_start < now() - make_interval(secs => $1)", window_secs)
        .execute(db)
        .await
        .map(|_| ())
}
