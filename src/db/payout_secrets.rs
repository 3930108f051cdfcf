//! `payout_management.bank_details`: the rows `reencrypt` rewrites under the current key.

use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// A payout's stored bank details, locked for re-encryption.
#[derive(Debug)]
pub struct BankDetailsRow {
    pub payout_id: String,
    pub bank_details: Value,
    pub audit_trail: Option<Value>,
}

/// Ids of the payouts holding bank details, oldest first.
pub async fn ids_with_bank_details(db: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM payout_management WHERE bank_details IS NOT NULL AND bank_details <> 'null'::jsonb ORDER BY created_at"
    )
    .fetch_all(db)
    .await
}

/// The payout's bank details and trail, locked for the rest of the transaction.
pub async fn lock_bank_details(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Option<BankDetailsRow>, sqlx::Error> {
    sqlx::query_as!(
        BankDetailsRow,
        r#"SELECT payout_id, bank_details AS "bank_details!", audit_trail FROM payout_management WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Replaces the bank details and the audit trail (the caller appended the re-encryption entry),
/// and records the trail's head.
pub async fn set_bank_details(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    bank_details: Value,
    audit_trail: Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payout_management SET bank_details = $2, audit_trail = $3, updated_at = now() WHERE id = $1",
        id,
        bank_details,
        audit_trail,
    )
    .execute(&mut **tx)
    .await?;
    super::payouts::set_head(tx, id).await
}
