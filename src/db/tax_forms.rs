//! The main app's `tax_forms`: W-9s as members submit them, the 1099-MISC written when a
//! payout completes, and the W-9 data whose TIN `reencrypt` rewrites under the current key.

use serde_json::Value;
use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Whether a W-9 is on file (any status but pending).
pub async fn has_w9<'e>(db: impl PgExecutor<'e>, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM tax_forms WHERE user_id = $1 AND form_type = 'W-9' AND status IS DISTINCT FROM 'pending') AS "exists!""#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// A W-9 to store (the TIN inside `w9_data` already encrypted).
pub struct NewW9 {
    pub user_id: Uuid,
    pub tax_year: i32,
    pub recipient: Value,
    pub w9_data: Value,
    pub generation: Value,
}

/// Stores a W-9 as generated; returns (id, form_id).
pub async fn insert_w9(tx: &mut Transaction<'_, Postgres>, w9: NewW9) -> Result<(Uuid, String), sqlx::Error> {
    let row = sqlx::query!(
        r#"INSERT INTO tax_forms (id, form_id, user_id, form_type, tax_year, status, recipient_info, w9_data, generation, corrections, created_at, updated_at)
           VALUES (gen_random_uuid(), gen_random_uuid()::text, $1, 'W-9', $2, 'generated', $3, $4, $5, '[]', now(), now())
           RETURNING id, form_id AS "form_id!""#,
        w9.user_id,
        w9.tax_year,
        w9.recipient,
        w9.w9_data,
        w9.generation,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.id, row.form_id))
}

/// The member's newest W-9 on file.
pub struct W9OnFile {
    pub form_id: String,
    pub tax_year: i32,
    pub status: String,
    pub w9_data: Value,
}

/// Serializes W-9 submissions of one member until the transaction ends.
pub async fn lock_member_w9s(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('payout-service:w9:' || $1::text))", user_id.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The member's newest W-9 with data (the one that counts).
pub async fn latest_w9(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> Result<Option<W9OnFile>, sqlx::Error> {
    sqlx::query_as!(
        W9OnFile,
        r#"SELECT form_id AS "form_id!", tax_year, coalesce(status, 'pending') AS "status!", w9_data AS "w9_data!" FROM tax_forms
           WHERE user_id = $1 AND form_type = 'W-9' AND w9_data IS NOT NULL AND status IS DISTINCT FROM 'corrected'
           ORDER BY created_at DESC NULLS LAST LIMIT 1"#,
        user_id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Marks the member's earlier W-9s superseded by the new one (status corrected, with a note).
pub async fn supersede_w9s(tx: &mut Transaction<'_, Postgres>, user_id: Uuid, new_id: Uuid, new_form_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE tax_forms SET status = 'corrected', notes = coalesce(notes || ' | ', '') || 'Superseded by W-9 ' || $3, updated_at = now()
         WHERE user_id = $1 AND form_type = 'W-9' AND id <> $2 AND status IS DISTINCT FROM 'corrected'",
        user_id,
        new_id,
        new_form_id,
    )
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The 1099-MISC of a completed payout, pending filing. A payout has at most one live row: a
/// second confirmation (after a failure and a reissue) updates the row the first one wrote.
/// Callers hold the payout's row lock, which serializes this per payout.
pub async fn file_1099(
    tx: &mut Transaction<'_, Postgres>,
    user_id: Uuid,
    tax_year: i32,
    recipient: &Value,
    payer: &Value,
    income: &Value,
    notes: &str,
) -> Result<(), sqlx::Error> {
    let updated = sqlx::query!(
        "UPDATE tax_forms SET tax_year = $2, status = 'pending', recipient_info = $3, payer_info = $4, income_details = $5, updated_at = now()
         WHERE user_id = $1 AND form_type = '1099-MISC' AND income_details ->> 'payoutId' = $5::jsonb ->> 'payoutId'",
        user_id,
        tax_year,
        recipient,
        payer,
        income,
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated > 0 {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO tax_forms (id, form_id, user_id, form_type, tax_year, status, recipient_info, payer_info, income_details, corrections, notes, created_at, updated_at)
         VALUES (gen_random_uuid(), gen_random_uuid()::text, $1, '1099-MISC', $2, 'pending', $3, $4, $5, '[]', $6, now(), now())",
        user_id,
        tax_year,
        recipient,
        payer,
        income,
        notes,
    )
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A payment failed after its confirmation: the payout's 1099-MISC gets a `corrections` entry
/// and status `corrected`, and `note` so nobody files it as it is.
pub async fn correct_1099(tx: &mut Transaction<'_, Postgres>, user_id: Uuid, payout_id: &str, correction: &Value, note: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE tax_forms SET status = 'corrected', corrections = coalesce(corrections, '[]') || jsonb_build_array($4::jsonb),
                notes = coalesce(notes, '') || $2, updated_at = now()
         WHERE user_id = $1 AND form_type = '1099-MISC' AND income_details ->> 'payoutId' = $3",
        user_id,
        note,
        payout_id,
        correction,
    )
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

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

/// One 1099-MISC of a tax year as the year-end file reads it, with the payout it came from.
#[derive(Debug)]
pub struct Form1099Row {
    pub form_id: String,
    pub user_id: Uuid,
    pub recipient_info: Value,
    pub income_details: Option<Value>,
    pub form_created_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The payout's own completion date (the 1099's tax year came from it).
    pub completed_date: Option<chrono::DateTime<chrono::Utc>>,
    pub member_email: Option<String>,
    pub member_name: Option<String>,
}

/// The year's live 1099-MISC forms (a `corrected` one must not be filed as it is), oldest first.
pub async fn forms_1099_of_year(tx: &mut Transaction<'_, Postgres>, tax_year: i32) -> Result<Vec<Form1099Row>, sqlx::Error> {
    sqlx::query_as!(
        Form1099Row,
        r#"SELECT t.form_id AS "form_id!", t.user_id, t.recipient_info, t.income_details, t.created_at AS form_created_at,
                  p.completed_date AS "completed_date?", u.email::text AS "member_email?", u.name AS "member_name?"
           FROM tax_forms t
           LEFT JOIN payout_management p ON p.payout_id = t.income_details ->> 'payoutId'
           LEFT JOIN users u ON u.id = t.user_id
           WHERE t.form_type = '1099-MISC' AND t.tax_year = $1 AND t.status IS DISTINCT FROM 'corrected'
           ORDER BY t.created_at NULLS FIRST, t.form_id"#,
        tax_year
    )
    .fetch_all(&mut **tx)
    .await
}
