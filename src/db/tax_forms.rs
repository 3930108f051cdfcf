//! The main app's `tax_forms`: the W-9 data whose TIN `reencrypt` rewrites under the current key.

use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// A form's W-9 data, locked for re-encryption.
#[derive(Debug)]
pub struct W9Row {
    pub form_id: String,
    pub w9_data: Value,
}

/// Ids of the forms whose W-9 data holds a TIN, oldest first.
pub async fn ids_with_tin(db: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM tax_forms WHERE w9_data ? 'tin' ORDER BY created_at NULLS FIRST")
        .fetch_all(db)
        .await
}

/// The form's W-9 data, locked for the rest of the transaction.
pub async fn lock_w9(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Option<W9Row>, sqlx::Error> {
    sqlx::query_as!(
        W9Row,
        r#"SELECT form_id AS "form_id!", w9_data AS "w9_data!" FROM tax_forms WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Replaces the form's W-9 data.
pub async fn set_w9(tx: &mut Transaction<'_, Postgres>, id: Uuid, w9_data: Value) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE tax_forms SET w9_data = $2, updated_at = now() WHERE id = $1", id, w9_data)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}
