//! The service's own migrator. It keeps its history in `payout_schema_migrations` (never the
//! main app's tables, never sqlx's shared default), and holds a Postgres advisory lock so several
//! instances starting at once migrate exactly once.

use std::time::Instant;

use sha2::{Digest, Sha256};
use sqlx::{Executor, PgPool};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// In order. A new file in `migrations/` must be listed here (a unit test checks it).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "payout_management",
        sql: include_str!("../../migrations/0001_payout_management.sql"),
    },
    Migration {
        version: 2,
        name: "service_tables",
        sql: include_str!("../../migrations/0002_service_tables.sql"),
    },
    Migration {
        version: 3,
        name: "rate_limits",
        sql: include_str!("../../migrations/0003_rate_limits.sql"),
    },
    Migration {
        version: 4,
        name: "audit_head",
        sql: include_str!("../../migrations/0004_audit_head.sql"),
    },
    Migration {
        version: 5,
        name: "outbox_claim_token",
        sql: include_str!("../../migrations/0005_outbox_claim_token.sql"),
    },
    Migration {
        version: 6,
        name: "job_slot_leases",
        sql: include_str!("../../migrations/0006_job_slot_leases.sql"),
    },
    Migration {
        version: 7,
        name: "payment_files",
        sql: include_str!("../../migrations/0007_payment_files.sql"),
    },
    Migration {
        version: 8,
        name: "outbox_receipt_attachment",
        sql: include_str!("../../migrations/0008_outbox_receipt_attachment.sql"),
    },
    Migration {
        version: 9,
        name: "outbox_withdrawn",
        sql: include_str!("../../migrations/0009_outbox_withdrawn.sql"),
    },
    Migration {
        version: 10,
        name: "payout_list_index",
        sql: include_str!("../../migrations/0010_payout_list_index.sql"),
    },
];

const HISTORY_DDL: &str = "CREATE TABLE IF NOT EXISTS payout_schema_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    execution_ms bigint NOT NULL
)";

/// Arbitrary but fixed: the advisory lock key for migrations.
const LOCK_KEY: i64 = 0x7061_796f_7574_6d67; // "payoutmg"

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration {version} ({name}) was changed after it was applied (checksum differs); restore the original file")]
    Changed { version: i64, name: String },
    #[error("the database has migration {0}, which this build does not know; run a newer build")]
    Unknown(i64),
    #[error("migration {version} ({name}) failed: {source}")]
    Failed { version: i64, name: &'static str, source: sqlx::Error },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn checksum(sql: &str) -> String {
    hex(&Sha256::digest(sql.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Applies what is pending, all in one transaction under a transaction-scoped advisory lock:
/// either every pending migration lands with its history row, or none does. Returns the versions
/// applied now (empty when up to date).
pub async fn run(pool: &PgPool) -> Result<Vec<i64>, MigrateError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut *tx).await?;
    (&mut *tx).execute(HISTORY_DDL).await?;
    let applied: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT version, name, checksum FROM payout_schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await?;
    for (version, name, sum) in &applied {
        match MIGRATIONS.iter().find(|m| m.version == *version) {
            None => return Err(MigrateError::Unknown(*version)),
            Some(m) if checksum(m.sql) != *sum => {
                return Err(MigrateError::Changed { version: *version, name: name.clone() })
            }
            Some(_) => {}
        }
    }
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !applied.iter().any(|(v, _, _)| *v == m.version)) {
        let started = Instant::now();
        // A plain &str runs over the simple-query protocol, so a file may hold many statements.
        (&mut *tx)
            .execute(m.sql)
            .await
            .map_err(|source| MigrateError::Failed { version: m.version, name: m.name, source })?;
        sqlx::query("INSERT INTO payout_schema_migrations (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)")
            .bind(m.version)
            .bind(m.name)
            .bind(checksum(m.sql))
            .bind(started.elapsed().as_millis() as i64)
            .execute(&mut *tx)
            .await?;
        tracing::info!(migration.version = m.version, migration.name = m.name, duration_ms = started.elapsed().as_millis() as u64, "migration applied");
        done.push(m.version);
    }
    tx.commit().await?;
    Ok(done)
}

/// Versions this build knows that the database has not applied (for `/ready`).
pub async fn pending(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let applied: Vec<i64> = match sqlx::query_scalar("SELECT version FROM payout_schema_migrations")
        .fetch_all(pool)
        .await
    {
        Ok(v) => v,
        // No history table yet: everything is pending.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(MIGRATIONS.iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_listed_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.ends_with(".sql"))
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len(), "a migration file is not listed in MIGRATIONS");
        for (file, m) in files.iter().zip(MIGRATIONS) {
            assert_eq!(file, &format!("{:04}_{}.sql", m.version, m.name));
        }
    }
}
