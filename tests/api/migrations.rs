//! The service's migrations against the main app's schema, with rows the old service left behind.

use payout_service::db::migrate;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::harness::*;
use crate::support::legacy::*;

fn all_versions() -> Vec<i64> {
    migrate::MIGRATIONS.iter().map(|m| m.version).collect()
}

/// Every row of payout_management as JSON, ordered, for before/after comparisons.
async fn table_snapshot(db: &PgPool) -> Vec<Value> {
    sqlx::query_scalar("SELECT to_jsonb(p) FROM payout_management p ORDER BY payout_id").fetch_all(db).await.unwrap()
}

/// Columns, constraints, indexes and triggers of every table.
async fn schema_snapshot(db: &PgPool, own: bool) -> Vec<String> {
    let filter = if own { "LIKE 'payout%'" } else { "NOT LIKE 'payout%'" };
    sqlx::query_scalar(&format!(
        "SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(column_default, '') || ' ' || is_nullable
           FROM information_schema.columns WHERE table_schema = 'public' AND table_name {filter}
         UNION ALL
         SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
           FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text {filter}
         UNION ALL
         SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename {filter}
         UNION ALL
         SELECT 'trg ' || tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE tgrelid::regclass::text {filter}
         ORDER BY 1"
    ))
    .fetch_all(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn migrating_legacy_rows_keeps_every_row_and_maps_it() {
    let db = fixture_db().await;
    let plaintext_bank = json!({ "accountHolderName": "Old Row", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "checking" });
    let encrypted_bank = json!({ "encrypted": "a1b2", "iv": "00112233445566778899aabbccddeeff", "authTag": "ffee" });
    legacy_payout(&db, "PAY-1", "pending_approval", json!({}), json!([]), None).await;
    legacy_payout(&db, "PAY-2", "approved", json!({}), array_workflow(), Some(encrypted_bank.clone())).await;
    legacy_payout(&db, "PAY-3", "scheduled", json!({}), array_workflow(), Some(plaintext_bank.clone())).await;
    legacy_payout(&db, "PAY-4", "processing", json!({ "sentDate": "2025-02-01T00:00:00Z" }), array_workflow(), None).await;
    legacy_payout(&db, "PAY-5", "completed", json!({ "sentDate": "2025-02-01T00:00:00Z", "completedDate": "2025-02-04T15:30:00.000Z", "calculation": { "netAmount": 99700 } }), array_workflow(), None).await;
    legacy_payout(&db, "PAY-6", "failed", json!({ "failureReason": "R01" }), array_workflow(), None).await;
    legacy_payout(&db, "PAY-7", "cancelled", json!({}), array_workflow(), None).await;
    legacy_payout(&db, "PAY-8", "completed", json!({ "completedDate": "not a date" }), json!([]), None).await;
    let before = table_snapshot(&db).await;

    let applied = migrate::run(&db).await.unwrap();
    assert_eq!(applied, all_versions());

    let after = table_snapshot(&db).await;
    assert_eq!(after.len(), before.len(), "no row lost");
    let expected = [
        ("PAY-1", "pending_approval"),
        ("PAY-2", "approved"),
        ("PAY-3", "approved"),
        ("PAY-4", "payment_sent"),
        ("PAY-5", "completed"),
        ("PAY-6", "payment_failed"),
        ("PAY-7", "cancelled"),
        ("PAY-8", "completed"),
    ];
    for ((old, new), (payout_id, status)) in before.iter().zip(&after).zip(expected) {
        assert_eq!(new["payout_id"], payout_id);
        assert_eq!(new["status"], status, "{payout_id}");
        // Everything the old service stored is still there, untouched.
        for column in ["id", "user_id", "membership_id", "amount", "approval_workflow", "bank_details", "processing", "internal_notes", "audit_trail", "created_at"] {
            assert_eq!(old[column], new[column], "{payout_id}.{column}");
        }
        assert_eq!(new["created_by"], Value::Null);
    }
    assert_eq!(after[4]["completed_date"], "2025-02-04T15:30:00+00:00", "backfilled from processing.completedDate");
    assert_eq!(after[7]["completed_date"], Value::Null, "an unreadable legacy date is left alone, not guessed");
    assert!(after[1]["approval_workflow"].is_array(), "the old array shape is kept for the reader");

    // The new CHECK refuses the old statuses now.
    let err = sqlx::query("UPDATE payout_management SET status = 'processing' WHERE payout_id = 'PAY-1'")
        .execute(&db)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("payout_management_status_chk"), "{err}");
}

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let db = fixture_db().await;
    legacy_payout(&db, "PAY-A", "processing", json!({ "completedDate": "2025-03-01T00:00:00Z" }), array_workflow(), None).await;
    migrate::run(&db).await.unwrap();
    let rows = table_snapshot(&db).await;
    let schema = schema_snapshot(&db, true).await;
    let history: Vec<(i64, String)> = sqlx::query_as("SELECT version, checksum FROM payout_schema_migrations ORDER BY version").fetch_all(&db).await.unwrap();

    assert!(migrate::run(&db).await.unwrap().is_empty());
    assert_eq!(table_snapshot(&db).await, rows);
    assert_eq!(schema_snapshot(&db, true).await, schema);
    let again: Vec<(i64, String)> = sqlx::query_as("SELECT version, checksum FROM payout_schema_migrations ORDER BY version").fetch_all(&db).await.unwrap();
    assert_eq!(again, history);
}

#[tokio::test]
async fn migrations_never_touch_the_main_apps_tables() {
    let db = fixture_db().await;
    let before = schema_snapshot(&db, false).await;
    migrate::run(&db).await.unwrap();
    assert_eq!(schema_snapshot(&db, false).await, before);
    // And our own history table is ours, not sqlx's default that another app could share.
    let own: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text").fetch_one(&db).await.unwrap();
    assert!(own.is_none());
}

#[tokio::test]
async fn payout_management_is_created_when_absent_with_one_open_payout_per_member() {
    let db = fixture_db().await;
    sqlx::query("DROP VIEW active_member_queue_view").execute(&db).await.unwrap();
    sqlx::query("DROP TABLE payout_management").execute(&db).await.unwrap();
    let main_app = schema_snapshot(&db, false).await;
    migrate::run(&db).await.unwrap();
    assert_eq!(schema_snapshot(&db, false).await, main_app, "creating the table added nothing to the main app's tables");

    let (user, membership) = member(&db, "new@tenure.test").await;
    let insert = |payout_id: &'static str, status: &'static str| {
        sqlx::query("INSERT INTO payout_management (payout_id, user_id, membership_id, queue_position, status, created_by) VALUES ($1, $2, $3, 1, $4, 1)")
            .bind(payout_id)
            .bind(user)
            .bind(membership)
            .bind(status)
            .execute(&db)
    };
    insert("P-1", "completed").await.unwrap();
    insert("P-2", "rejected").await.unwrap();
    insert("P-3", "pending_approval").await.unwrap();
    let err = insert("P-4", "approved").await.unwrap_err();
    assert!(err.to_string().contains("payout_management_one_open_per_user"), "{err}");
    let err = insert("P-5", "scheduled").await.unwrap_err();
    assert!(err.to_string().contains("payout_management_status_chk"), "{err}");
    let workflow: Value = sqlx::query_scalar("SELECT approval_workflow FROM payout_management WHERE payout_id = 'P-3'").fetch_one(&db).await.unwrap();
    assert_eq!(workflow, json!({ "requiredApprovals": 2, "approvals": [], "rejection": null }));
}

#[tokio::test]
async fn the_unique_index_also_holds_on_an_existing_table() {
    let db = fixture_db().await;
    let user = legacy_payout(&db, "PAY-OPEN", "scheduled", json!({}), array_workflow(), None).await;
    migrate::run(&db).await.unwrap();
    let err = sqlx::query("INSERT INTO payout_management (payout_id, user_id, queue_position, status) VALUES ('PAY-DUP', $1, 1, 'pending_approval')")
        .bind(user)
        .execute(&db)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("payout_management_one_open_per_user"), "{err}");
}

#[tokio::test]
async fn two_open_legacy_payouts_for_one_member_stop_the_migration_and_change_nothing() {
    let db = fixture_db().await;
    let user = legacy_payout(&db, "PAY-X", "approved", json!({}), array_workflow(), None).await;
    sqlx::query("INSERT INTO payout_management (payout_id, user_id, queue_position, status) VALUES ('PAY-Y', $1, 1, 'processing')")
        .bind(user)
        .execute(&db)
        .await
        .unwrap();
    let before = table_snapshot(&db).await;
    let err = migrate::run(&db).await.unwrap_err().to_string();
    assert!(err.contains("PAY-X") && err.contains("PAY-Y"), "names the conflicting payouts: {err}");
    assert_eq!(table_snapshot(&db).await, before, "the failed migration rolled back");
    assert_eq!(migrate::pending(&db).await.unwrap(), all_versions());
}

#[tokio::test]
async fn a_changed_migration_is_refused() {
    let db = fixture_db().await;
    migrate::run(&db).await.unwrap();
    sqlx::query("UPDATE payout_schema_migrations SET checksum = 'edited' WHERE version = 2").execute(&db).await.unwrap();
    let err = migrate::run(&db).await.unwrap_err().to_string();
    assert!(err.contains("migration 2") && err.contains("changed"), "{err}");
}

#[tokio::test]
async fn instances_migrating_at_once_apply_each_migration_once() {
    let url = fresh_database(FIXTURE_TEMPLATE).await;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let db = PgPool::connect(&url).await.unwrap();
            migrate::run(&db).await.unwrap()
        }));
    }
    let mut applied = Vec::new();
    for t in tasks {
        applied.extend(t.await.unwrap());
    }
    applied.sort();
    assert_eq!(applied, all_versions(), "each migration applied by exactly one instance");
}
