//! Better Auth's `session`, with its `users` row and `admin` role: the lookup behind every request.
//!
//! Runtime SQL on purpose: the session table's column names depend on BETTER_AUTH_COLUMNS
//! (snake_case or Better Auth's camelCase), so the two statements are built once at start-up
//! from the setting and cannot be checked at compile time.

use sqlx::PgPool;
use uuid::Uuid;

use crate::config::SessionColumns;
use crate::db::lane::Lane;

/// One row: the session, its user and the user's admin role (if any).
#[derive(Debug, sqlx::FromRow)]
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

/// The session statements for one column naming, built once (the hot path only binds the token).
pub struct SessionQueries {
    lookup_sql: String,
    refresh_sql: String,
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
        let lookup_sql = format!(
            "SELECT s.id AS session_id, u.id AS user_id, u.email, u.name,
                    (EXTRACT(EPOCH FROM s.{expires}) * 1000)::bigint AS expires_at_ms,
                    (EXTRACT(EPOCH FROM now()) * 1000)::bigint AS now_ms,
                    a.id AS admin_id, a.role::text AS admin_role,
                    u.email_verified, u.status::text AS user_status, u.two_factor_enabled
             FROM session s
             JOIN users u ON u.id = s.{user_id}
             LEFT JOIN LATERAL (
                 SELECT id, role FROM admin
                 WHERE lower(email) = lower(u.email) AND lower(coalesce(status, 'active')) = 'active'
                 ORDER BY role, id LIMIT 1
             ) a ON true
             WHERE s.token = $1"
        );
        // sqlx connects with TimeZone=UTC, so to_timestamp() lands right in either column type.
        let refresh_sql = format!(
            "UPDATE session SET {expires} = to_timestamp($2::float8 / 1000), {updated} = now()
             WHERE token = $1 AND {expires} < to_timestamp($2::float8 / 1000)"
        );
        SessionQueries { lookup_sql, refresh_sql }
    }

    /// The session with this token, its user and admin role, and the database's clock. On a
    /// lane connection: one round trip (see `db::lane`).
    pub async fn lookup(&self, db: &PgPool, lane: &Lane, token: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let mut conn = lane.take(db).await?;
        // Dynamic SQL: the column names vary with BETTER_AUTH_COLUMNS (see the module docs).
        let row = sqlx::query_as(&self.lookup_sql).bind(token).fetch_optional(&mut *conn).await.inspect_err(|e| lane.after_error(e))?;
        lane.give_back(conn);
        Ok(row)
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
