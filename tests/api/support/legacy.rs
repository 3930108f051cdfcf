//! Rows as the old Node service left them, in a database with only the main app's tables.

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::harness::*;

pub async fn fixture_db() -> PgPool {
    PgPool::connect(&fresh_database(FIXTURE_TEMPLATE).await).await.unwrap()
}

pub async fn member(db: &PgPool, email: &str) -> (Uuid, Uuid) {
    let user: Uuid = sqlx::query_scalar("INSERT INTO users (id, email, status) VALUES (gen_random_uuid(), $1, 'Active') RETURNING id")
        .bind(email)
        .fetch_one(db)
        .await
        .unwrap();
    let membership: Uuid = sqlx::query_scalar("INSERT INTO user_memberships (id, user_id) VALUES (gen_random_uuid(), $1) RETURNING id")
        .bind(user)
        .fetch_one(db)
        .await
        .unwrap();
    (user, membership)
}

/// Inserts a row exactly as the old Node service wrote them.
pub async fn legacy_payout(db: &PgPool, payout_id: &str, status: &str, processing: Value, workflow: Value, bank: Option<Value>) -> Uuid {
    let (user, membership) = member(db, &format!("{payout_id}@old.test")).await;
    sqlx::query(
        "INSERT INTO payout_management (payout_id, user_id, membership_id, queue_position, status, payment_method, approval_workflow, processing, bank_details, internal_notes, audit_trail)
         VALUES ($1, $2, $3, 7, $4, 'ach', $5, $6, $7, '[\"legacy note\"]', '[{\"action\":\"created\"}]')",
    )
    .bind(payout_id)
    .bind(user)
    .bind(membership)
    .bind(status)
    .bind(workflow)
    .bind(processing)
    .bind(bank)
    .execute(db)
    .await
    .unwrap();
    user
}

pub fn array_workflow() -> Value {
    json!([{ "step": "admin_approval", "status": "pending", "requiredApprovals": 2, "currentApprovals": 1,
             "approvers": [{ "adminId": 3, "email": "old@tenure.test", "approvedAt": "2025-01-02T10:00:00Z" }],
             "createdAt": "2025-01-01T09:00:00Z" }])
}
