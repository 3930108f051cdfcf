//! `payout_management.audit_trail`: trail-only writes outside the state machine (receipt issued).

use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// Replaces the payout's audit trail (the caller appended one entry to the locked row's trail)
/// and records the trail's head.
pub async fn set(tx: &mut Transaction<'_, Postgres>, id: Uuid, audit_trail: Value) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE payout_management SET audit_trail = $2, updated_at = now() WHERE id = $1", id, audit_trail)
        .execute(&mut **tx)
        .await?;
    super::payouts::set_head(tx, id).await
}
