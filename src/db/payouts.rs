//! `payout_management`: reads, the locked read every state change starts from, inserts, and the
//! compare-and-set update every state change ends with.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use crate::domain::status::PayoutStatus;

const COLUMNS: &str = "p.id, p.payout_id, p.user_id, p.membership_id, p.queue_position, p.amount, p.currency,
    p.status, p.payment_method, p.eligibility_check, p.approval_workflow, p.scheduled_date, p.completed_date,
    p.bank_details, p.tax_withholding, p.processing, p.receipt_url, p.internal_notes, p.audit_trail, p.created_by,
    p.created_at, p.updated_at, p.audit_head, p.audit_count, u.email::text AS member_email, u.name AS member_name";

const FROM: &str = "FROM payout_management p LEFT JOIN users u ON u.id = p.user_id";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayoutRow {
    pub id: Uuid,
    pub payout_id: String,
    pub user_id: Uuid,
    pub membership_id: Option<Uuid>,
    pub queue_position: i32,
    pub amount: Decimal,
    pub currency: Option<String>,
    pub status: String,
    pub payment_method: String,
    pub eligibility_check: Option<Value>,
    pub approval_workflow: Option<Value>,
    pub scheduled_date: Option<DateTime<Utc>>,
    pub completed_date: Option<DateTime<Utc>>,
    pub bank_details: Option<Value>,
    pub tax_withholding: Option<Value>,
    pub processing: Option<Value>,
    pub receipt_url: Option<String>,
    pub internal_notes: Option<Value>,
    pub audit_trail: Option<Value>,
    pub created_by: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub audit_head: Option<String>,
    pub audit_count: Option<i32>,
    pub member_email: Option<String>,
    pub member_name: Option<String>,
}

impl PayoutRow {
    pub fn status(&self) -> Option<PayoutStatus> {
        PayoutStatus::parse(&self.status)
    }

    pub fn trail(&self) -> Vec<Value> {
        self.audit_trail.as_ref().and_then(Value::as_array).cloned().unwrap_or_default()
    }
}

pub async fn find(db: &PgPool, payout_id: &str) -> Result<Option<PayoutRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE p.payout_id = $1"))
        .bind(payout_id)
        .fetch_optional(db)
        .await
}

/// The row, locked for the rest of the transaction: concurrent actions on one payout queue here.
pub async fn lock(tx: &mut Transaction<'_, Postgres>, payout_id: &str) -> Result<Option<PayoutRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE p.payout_id = $1 FOR UPDATE OF p"))
        .bind(payout_id)
        .fetch_optional(&mut **tx)
        .await
}

/// The member's payouts, newest first.
pub async fn for_member(db: &PgPool, user_id: Uuid) -> Result<Vec<PayoutRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE p.user_id = $1 ORDER BY p.created_at DESC, p.payout_id"))
        .bind(user_id)
        .fetch_all(db)
        .await
}

#[derive(Debug, Default)]
pub struct ListFilter {
    pub status: Option<PayoutStatus>,
    pub user_id: Option<Uuid>,
    pub payment_method: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

fn push_filters<'a>(q: &mut QueryBuilder<'a, Postgres>, f: &'a ListFilter) {
    q.push(" WHERE true");
    if let Some(s) = f.status {
        q.push(" AND p.status = ").push_bind(s.as_str());
    }
    if let Some(u) = f.user_id {
        q.push(" AND p.user_id = ").push_bind(u);
    }
    if let Some(m) = &f.payment_method {
        q.push(" AND p.payment_method = ").push_bind(m);
    }
    if let Some(t) = f.created_from {
        q.push(" AND p.created_at >= ").push_bind(t);
    }
    if let Some(t) = f.created_to {
        q.push(" AND p.created_at <= ").push_bind(t);
    }
}

/// A page, newest first, and the total matching.
pub async fn list(db: &PgPool, f: &ListFilter) -> Result<(Vec<PayoutRow>, i64), sqlx::Error> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM payout_management p");
    push_filters(&mut count, f);
    let total: i64 = count.build_query_scalar().fetch_one(db).await?;
    let mut q = QueryBuilder::new(format!("SELECT {COLUMNS} {FROM}"));
    push_filters(&mut q, f);
    q.push(" ORDER BY p.created_at DESC, p.payout_id DESC LIMIT ").push_bind(f.limit).push(" OFFSET ").push_bind(f.offset);
    let rows = q.build_query_as().fetch_all(db).await?;
    Ok((rows, total))
}

pub struct NewPayout {
    pub payout_id: String,
    pub user_id: Uuid,
    pub membership_id: Option<Uuid>,
    pub queue_position: i32,
    pub amount: Decimal,
    pub payment_method: String,
    pub eligibility_check: Value,
    pub approval_workflow: Value,
    pub internal_notes: Value,
    pub audit_trail: Value,
    pub created_by: i32,
}

pub async fn insert(tx: &mut Transaction<'_, Postgres>, p: &NewPayout) -> Result<Uuid, sqlx::Error> {
    let id = sqlx::query_scalar(
        "INSERT INTO payout_management (id, payout_id, user_id, membership_id, queue_position, amount, currency, status,
             payment_method, eligibility_check, approval_workflow, internal_notes, audit_trail, created_by, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, 'USD', 'pending_approval', $6, $7, $8, $9, $10, $11, now(), now())
         RETURNING id",
    )
    .bind(&p.payout_id)
    .bind(p.user_id)
    .bind(p.membership_id)
    .bind(p.queue_position)
    .bind(p.amount)
    .bind(&p.payment_method)
    .bind(&p.eligibility_check)
    .bind(&p.approval_workflow)
    .bind(&p.internal_notes)
    .bind(&p.audit_trail)
    .bind(p.created_by)
    .fetch_one(&mut **tx)
    .await?;
    set_head(tx, id).await?;
    Ok(id)
}

/// Records the trail's head beside it (after any write of `audit_trail`).
pub async fn set_head(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payout_management SET audit_head = audit_trail -> -1 ->> 'hash', audit_count = jsonb_array_length(audit_trail)
         WHERE id = $1 AND jsonb_typeof(audit_trail) = 'array'",
    )
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The fields a state change may set; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct Change {
    pub status: Option<PayoutStatus>,
    pub approval_workflow: Option<Value>,
    pub audit_trail: Option<Value>,
    pub internal_notes: Option<Value>,
    pub processing: Option<Value>,
    pub bank_details: Option<Value>,
    pub tax_withholding: Option<Value>,
    pub payment_method: Option<String>,
    pub scheduled_date: Option<DateTime<Utc>>,
    pub completed_date: Option<DateTime<Utc>>,
    pub receipt_url: Option<String>,
    /// Reissue: forget the last attempt's dates, receipt and withholding.
    pub clear_payment: bool,
}

/// Compare-and-set: applies `change` only while the row still has `expected` status. Returns
/// false (nothing written) when the status moved underneath.
pub async fn update(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    expected: &str,
    change: Change,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payout_management SET
            status = coalesce($3, status),
            approval_workflow = coalesce($4, approval_workflow),
            audit_trail = coalesce($5, audit_trail),
            internal_notes = coalesce($6, internal_notes),
            processing = coalesce($7, processing),
            bank_details = coalesce($8, bank_details),
            payment_method = coalesce($10, payment_method),
            scheduled_date = CASE WHEN $14 THEN NULL ELSE coalesce($11, scheduled_date) END,
            completed_date = CASE WHEN $14 THEN NULL ELSE coalesce($12, completed_date) END,
            receipt_url = CASE WHEN $14 THEN NULL ELSE coalesce($13, receipt_url) END,
            tax_withholding = CASE WHEN $14 THEN NULL ELSE coalesce($9, tax_withholding) END,
            audit_head = CASE WHEN $5::jsonb IS NULL THEN audit_head ELSE $5::jsonb -> -1 ->> 'hash' END,
            audit_count = CASE WHEN $5::jsonb IS NULL THEN audit_count ELSE jsonb_array_length($5::jsonb) END,
            updated_at = now()
         WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(expected)
    .bind(change.status.map(|s| s.as_str()))
    .bind(change.approval_workflow)
    .bind(change.audit_trail)
    .bind(change.internal_notes)
    .bind(change.processing)
    .bind(change.bank_details)
    .bind(change.tax_withholding)
    .bind(change.payment_method)
    .bind(change.scheduled_date)
    .bind(change.completed_date)
    .bind(change.receipt_url)
    .bind(change.clear_payment)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(done == 1)
}
