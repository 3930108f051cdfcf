//! Better Auth's `session`, with its `users` row and `admin` role: the lookup behind every request.
//!
//! Runtime SQL on purpose: the session table's column names depend on BETTER_AUTH_COLUMNS
//! (snake_case or Better Auth's camelCase), so the two statements are built once at start-up
//! from the setting and cannot be checked at compile time.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::config::SessionColumns;
use crate::db::coalesce::{self, Coalescer, Waiter};
use crate::db::lane::Lane;

/// One row: the session, its user and the user's admin role (if any).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SessionRow {
    pub session_id: String,
    pub user_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub expires_at_ms: i64,
    pub now_ms: i64,
    pub admin_id: Option<i32>,
    pub admin_role: Option<String>,
    pub email_verified: Option<bool>,
    /// `users.status` (Active, Pending, Suspended, Inactive).
    pub user_status: String,
    pub two_factor_enabled: Option<bool>,
}

/// A row of the batched lookup: which token it answers.
#[derive(sqlx::FromRow)]
struct BatchRow {
    token: String,
    #[sqlx(flatten)]
    row: SessionRow,
}

/// At most this many lookups share one statement.
const MAX_BATCH: usize = 64;

/// Lookup statements under way at once. One: every request arriving while it runs is answered
/// by the next, so the busier the service the fewer statements per request. More at a time
/// split the waiting requests into smaller batches (bench/run on 2 cores, /api/me: 22.7k/s with
/// one, 21.1k/s with two, 18.6k/s with three; PostgreSQL's CPU per request 16, 25, 35 µs). A
/// statement of 64 lookups takes well under a millisecond, so one at a time still answers tens
/// of thousands of requests a second even across a network.
const LOOKUPS_IN_FLIGHT: usize = 1;

/// A lookup statement not answered by then is given up: its requests get 503 (the database is
/// not answering, as when the pool cannot hand out a connection in its 5 s), its connection is
/// dropped, and the next requests start afresh on others — so one stuck connection (a network
/// that swallows packets) cannot hold every request behind the shared statement.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The session statements for one column naming, built once (the hot path only binds the
/// token), and the lookups waiting for a statement.
pub struct SessionQueries {
    lookup_sql: String,
    batch_sql: String,
    refresh_sql: String,
    waiting: Coalescer<String, Option<SessionRow>>,
}

impl SessionQueries {
    /// Builds the lookup and refresh for the session table's column naming.
    pub fn new(columns: SessionColumns) -> Self {
        // A stock install keeps "userId" as text; the cast keeps the users primary key usable.
        let (expires, user_id, updated) = match columns {
            SessionColumns::Snake => ("expires_at", "user_id", "updated_at"),
            SessionColumns::Camel => ("\"expiresAt\"", "\"userId\"::uuid", "\"updatedAt\""),
        };
        // EXTRACT(EPOCH …) reads a `timestamp` as UTC and a `timestamptz` as the instant it is,
        // so both column types compare correctly. An admin row counts only while active; with two
        // rows differing only in case, the strongest role wins (enum order).
        let columns = format!(
            "s.id AS session_id, u.id AS user_id, u.email, u.name,
                    (EXTRACT(EPOCH FROM s.{expires}) * 1000)::bigint AS expires_at_ms,
                    (EXTRACT(EPOCH FROM now()) * 1000)::bigint AS now_ms,
                    a.id AS admin_id, a.role::text AS admin_role,
                    u.email_verified, u.status::text AS user_status, u.two_factor_enabled"
        );
        let lookup_sql = format!(
            "SELECT {columns}
             FROM session s
             JOIN users u ON u.id = s.{user_id}
             LEFT JOIN LATERAL (
                 SELECT id, role FROM admin
                 WHERE lower(email) = lower(u.email) AND lower(coalesce(status, 'active')) = 'active'
                 ORDER BY role, id LIMIT 1
             ) a ON true
             WHERE s.token = $1"
        );
        // The same answers for several tokens in one statement, each row naming its token (a
        // test holds the two statements to the same rows). The admin table is read once for the
        // batch (each address's strongest active role) instead of once per session; the array
        // goes through a sub-select so PostgreSQL keeps one generic plan — given `ANY($1)`
        // itself, it re-plans for every array (a custom plan looks cheaper for a known length),
        // which halved the statement's throughput.
        let batch_sql = format!(
            "SELECT {columns}, s.token
             FROM session s
             JOIN users u ON u.id = s.{user_id}
             LEFT JOIN (
                 SELECT DISTINCT ON (lower(email)) lower(email) AS email, id, role FROM admin
                 WHERE lower(coalesce(status, 'active')) = 'active'
                 ORDER BY lower(email), role, id
             ) a ON a.email = lower(u.email)
             WHERE s.token = ANY(ARRAY(SELECT unnest($1::text[])))"
        );
        // sqlx connects with TimeZone=UTC, so to_timestamp() lands right in either column type.
        let refresh_sql = format!(
            "UPDATE session SET {expires} = to_timestamp($2::float8 / 1000), {updated} = now()
             WHERE token = $1 AND {expires} < to_timestamp($2::float8 / 1000)"
        );
        SessionQueries { lookup_sql, batch_sql, refresh_sql, waiting: Coalescer::new(LOOKUPS_IN_FLIGHT, MAX_BATCH) }
    }

    /// The session with this token, its user and admin role, and the database's clock.
    ///
    /// Always from a statement that starts after the call (nothing is cached: a revoked session
    /// fails at once), on a lane connection (`db::lane`). Lookups arriving while a statement is
    /// under way share the next one (`db::coalesce`): an idle service runs the one-token
    /// statement per request (the statement bench/run measures), a busy one fewer, larger
    /// statements. A statement unanswered after [`LOOKUP_TIMEOUT`] fails its requests with 503.
    pub async fn lookup(&self, db: &PgPool, lane: &Lane, token: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        self.waiting.call(token.to_owned(), |batch| self.run(db, lane, batch)).await
    }

    /// One statement on a lane connection for every waiter of `batch`; each gets its answer.
    async fn run(&self, db: &PgPool, lane: &Lane, batch: Vec<Waiter<String, Option<SessionRow>>>) {
        let mut conn = match lane.take(db).await {
            Ok(conn) => conn,
            Err(e) => return coalesce::fail_all(batch, e),
        };
        let statement = async {
            if let [waiter] = &batch[..] {
                self.lookup_one(&mut conn, &waiter.request).await.map(|row| row.map(|r| HashMap::from([(waiter.request.clone(), r)])))
            } else {
                let tokens: Vec<&str> = batch.iter().map(|w| w.request.as_str()).collect();
                self.lookup_many(&mut conn, &tokens).await.map(Some)
            }
        };
        let Ok(answers) = tokio::time::timeout(LOOKUP_TIMEOUT, statement).await else {
            // Mid-statement: the connection is dropped (the pool checks it), never reused here;
            // the lane's others may sit behind the same fault, so they go back to the pool too.
            drop(conn);
            lane.release_all();
            tracing::warn!(requests = batch.len(), timeout_secs = LOOKUP_TIMEOUT.as_secs(), "session lookup timed out");
            return coalesce::fail_all(batch, sqlx::Error::PoolTimedOut);
        };
        match answers {
            Ok(found) => {
                lane.give_back(conn);
                let found = found.unwrap_or_default();
                for waiter in batch {
                    let row = found.get(&waiter.request).cloned();
                    waiter.answer(Ok(row));
                }
            }
            Err(e) => {
                lane.after_error(&e);
                coalesce::fail_all(batch, e);
            }
        }
    }

    /// The one-token statement (the one bench/run measures).
    pub async fn lookup_one(&self, conn: &mut PgConnection, token: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        // Dynamic SQL: the column names vary with BETTER_AUTH_COLUMNS (see the module docs).
        sqlx::query_as(&self.lookup_sql).bind(token).fetch_optional(conn).await
    }

    /// The batched statement: the sessions found among `tokens`, by token (repeats allowed).
    pub async fn lookup_many(&self, conn: &mut PgConnection, tokens: &[&str]) -> Result<HashMap<String, SessionRow>, sqlx::Error> {
        let mut tokens = tokens.to_vec();
        tokens.sort_unstable();
        tokens.dedup();
        // Dynamic SQL: the column names vary with BETTER_AUTH_COLUMNS (see the module docs).
        let rows: Vec<BatchRow> = sqlx::query_as(&self.batch_sql).bind(&tokens).fetch_all(conn).await?;
        Ok(rows.into_iter().map(|r| (r.token, r.row)).collect())
    }

    /// Moves the session's expiry forward to `new_expiry_ms` (never backwards).
    pub async fn refresh(&self, db: &PgPool, token: &str, new_expiry_ms: i64) -> Result<(), sqlx::Error> {
        // Dynamic SQL: the column names vary with BETTER_AUTH_COLUMNS (see the module docs).
        sqlx::query(&self.refresh_sql).bind(token).bind(new_expiry_ms).execute(db).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// bench/run measures PostgreSQL's ceiling with bench/session_lookup.sql: it must be the very
    /// statement the service runs (whitespace aside; pgbench names the parameter `:token`).
    #[test]
    fn the_benchmarked_statement_is_the_service_statement() {
        let file = include_str!("../../bench/session_lookup.sql");
        let bench: String = file.lines().filter(|l| !l.starts_with("--")).collect::<Vec<_>>().join(" ");
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let service = SessionQueries::new(SessionColumns::Snake).lookup_sql.replace("$1", ":token");
        assert_eq!(squash(bench.trim_end_matches(|c: char| c == ';' || c.is_whitespace())), squash(&service));
    }
}
