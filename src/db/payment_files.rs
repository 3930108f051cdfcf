//! Payment files (SPEC §14): the stored files, the payouts each holds, and the check register.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// A file's metadata (never its bytes).
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub file_name: String,
    pub sha256: String,
    pub entry_count: i32,
    pub total_amount: Decimal,
    pub effective_date: Option<NaiveDate>,
    pub payout_ids: Vec<String>,
    pub created_by: Option<i32>,
    pub created_by_email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub void_reason: Option<String>,
    pub voided_at: Option<DateTime<Utc>>,
}

pub struct NewFile<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub file_name: &'a str,
    pub content: &'a [u8],
    pub sha256: &'a str,
    pub entry_count: i32,
    pub total_amount: Decimal,
    pub effective_date: Option<NaiveDate>,
    pub payout_ids: &'a [String],
    pub created_by: Option<i32>,
    pub created_by_email: Option<&'a str>,
}

pub async fn insert(tx: &mut Transaction<'_, Postgres>, f: NewFile<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO payout_payment_files (id, kind, file_name, content, sha256, entry_count, total_amount, effective_date, payout_ids, created_by, created_by_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        f.id,
        f.kind,
        f.file_name,
        f.content,
        f.sha256,
        f.entry_count,
        f.total_amount,
        f.effective_date,
        f.payout_ids,
        f.created_by,
        f.created_by_email,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One payout in a file. The partial unique index refuses a second live ACH/Positive Pay file
/// for a payout, even under a race the row locks did not see.
pub async fn insert_item(
    tx: &mut Transaction<'_, Postgres>,
    file_id: Uuid,
    payout_id: &str,
    kind: &str,
    amount: Decimal,
    trace_number: Option<&str>,
    check_number: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO payout_payment_file_items (file_id, payout_id, kind, amount, trace_number, check_number) VALUES ($1, $2, $3, $4, $5, $6)",
        file_id,
        payout_id,
        kind,
        amount,
        trace_number,
        check_number,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The live ACH or Positive Pay file holding the payout: (file id, kind).
pub async fn live_file_of(tx: &mut Transaction<'_, Postgres>, payout_id: &str) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT file_id, kind FROM payout_payment_file_items WHERE payout_id = $1 AND live AND kind IN ('ach', 'positive_pay')",
        payout_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| (r.file_id, r.kind)))
}

/// The payout leaves every file; its issued checks become voids the next Positive Pay file reports.
pub async fn release(tx: &mut Transaction<'_, Postgres>, payout_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE payout_payment_file_items SET live = false WHERE payout_id = $1 AND live", payout_id).execute(&mut **tx).await?;
    sqlx::query!(
        "UPDATE payout_check_register SET status = 'void', voided_at = now() WHERE payout_id = $1 AND status = 'issued'",
        payout_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list(db: &PgPool, limit: i64, offset: i64) -> Result<(Vec<FileRow>, i64), sqlx::Error> {
    let rows = sqlx::query_as!(
        FileRow,
        "SELECT id, kind, status, file_name, sha256, entry_count, total_amount, effective_date, payout_ids, created_by, created_by_email,
                created_at, void_reason, voided_at
         FROM payout_payment_files ORDER BY created_at DESC, id LIMIT $1 OFFSET $2",
        limit,
        offset,
    )
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM payout_payment_files"#).fetch_one(db).await?;
    Ok((rows, total))
}

pub async fn get(db: &PgPool, id: Uuid) -> Result<Option<FileRow>, sqlx::Error> {
    sqlx::query_as!(
        FileRow,
        "SELECT id, kind, status, file_name, sha256, entry_count, total_amount, effective_date, payout_ids, created_by, created_by_email,
                created_at, void_reason, voided_at
         FROM payout_payment_files WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

/// The file locked for voiding.
pub async fn lock(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Option<FileRow>, sqlx::Error> {
    sqlx::query_as!(
        FileRow,
        "SELECT id, kind, status, file_name, sha256, entry_count, total_amount, effective_date, payout_ids, created_by, created_by_email,
                created_at, void_reason, voided_at
         FROM payout_payment_files WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The stored bytes, exactly as created.
pub async fn content(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar!("SELECT content FROM payout_payment_files WHERE id = $1", id).fetch_optional(&mut **tx).await
}

/// Voids the file: its payouts leave it and its checks become voids for the next Positive Pay file.
pub async fn void(tx: &mut Transaction<'_, Postgres>, id: Uuid, reason: &str, by: Option<i32>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payout_payment_files SET status = 'void', void_reason = $2, voided_by = $3, voided_at = now() WHERE id = $1",
        id,
        reason,
        by
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!("UPDATE payout_payment_file_items SET live = false WHERE file_id = $1", id).execute(&mut **tx).await?;
    sqlx::query!(
        "UPDATE payout_check_register SET status = 'void', voided_at = now() WHERE issued_in = $1 AND status = 'issued'",
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes `count` check numbers for `account`, never handed out before: the account's sequence
/// row is locked until the transaction ends, so concurrent files wait for each other.
pub async fn take_check_numbers(tx: &mut Transaction<'_, Postgres>, account: &str, start: i64, count: i64) -> Result<i64, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO payout_check_sequences (account, next_number) VALUES ($1, $2) ON CONFLICT (account) DO NOTHING",
        account,
        start
    )
    .execute(&mut **tx)
    .await?;
    let first = sqlx::query_scalar!("SELECT next_number FROM payout_check_sequences WHERE account = $1 FOR UPDATE", account)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query!("UPDATE payout_check_sequences SET next_number = $2 WHERE account = $1", account, first + count).execute(&mut **tx).await?;
    Ok(first)
}

pub struct IssuedCheck<'a> {
    pub account: &'a str,
    pub check_number: i64,
    pub payout_id: &'a str,
    pub amount: Decimal,
    pub payee: &'a str,
    pub issue_date: NaiveDate,
    pub file_id: Uuid,
}

pub async fn register_check(tx: &mut Transaction<'_, Postgres>, c: IssuedCheck<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO payout_check_register (account, check_number, payout_id, amount, payee, issue_date, issued_in) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        c.account,
        c.check_number,
        c.payout_id,
        c.amount,
        c.payee,
        c.issue_date,
        c.file_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A voided check not yet reported to the bank.
pub struct PendingVoid {
    pub check_number: i64,
    pub amount: Decimal,
    pub payee: String,
    pub issue_date: NaiveDate,
}

/// The account's voids no file has reported yet, locked, in check-number order.
pub async fn pending_voids(tx: &mut Transaction<'_, Postgres>, account: &str) -> Result<Vec<PendingVoid>, sqlx::Error> {
    sqlx::query_as!(
        PendingVoid,
        "SELECT check_number, amount, payee, issue_date FROM payout_check_register
         WHERE account = $1 AND status = 'void' AND void_reported_in IS NULL ORDER BY check_number FOR UPDATE",
        account
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn mark_voids_reported(tx: &mut Transaction<'_, Postgres>, account: &str, numbers: &[i64], file_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE payout_check_register SET void_reported_in = $3 WHERE account = $1 AND check_number = ANY($2)",
        account,
        numbers,
        file_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How many ACH files (prenotes included) were made on `day` in New York, the count taken under
/// a transaction-scoped advisory lock so two files made at once get different file id
/// modifiers (a bank refuses a second file with the same header on one day).
pub async fn ach_files_on(tx: &mut Transaction<'_, Postgres>, day: NaiveDate) -> Result<i64, sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('payout_ach_file_id_modifier'))").execute(&mut **tx).await?;
    let n = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM payout_payment_files
           WHERE kind IN ('ach', 'ach_prenote') AND (created_at AT TIME ZONE 'America/New_York')::date = $1"#,
        day
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}
