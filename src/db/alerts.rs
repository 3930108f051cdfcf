//! Rows in the main app's `admin_alerts` (ids supplied by us).

use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// An alert to raise.
pub struct NewAlert<'a> {
    pub title: String,
    pub message: String,
    pub severity: &'a str,
    pub category: &'a str,
    pub related_entity: Option<Value>,
    pub trigger_info: Value,
    pub metadata: Value,
}

/// Raises an alert; returns (id, alert_id).
pub async fn insert(tx: &mut Transaction<'_, Postgres>, alert: NewAlert<'_>) -> Result<(Uuid, String), sqlx::Error> {
    let row = sqlx::query!(
        r#"INSERT INTO admin_alerts (id, alert_id, title, message, severity, category, status, related_entity,
                                    trigger_info, notifications_sent, metadata, created_at, updated_at)
           VALUES (gen_random_uuid(), gen_random_uuid()::text, $1, $2, $3, $4, 'new', $5, $6, '[]', $7, now(), now())
           RETURNING id, alert_id"#,
        alert.title,
        alert.message,
        alert.severity,
        alert.category,
        alert.related_entity,
        alert.trigger_info,
        alert.metadata,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.id, row.alert_id))
}

/// Serialises raising the payout-eligible alert across instances until the transaction ends.
pub async fn lock_eligible_alerts(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('payout-service:eligibility-alert'))")
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Today's (UTC) payout-eligible alert, if one was raised.
pub async fn eligible_alert_today(tx: &mut Transaction<'_, Postgres>) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT alert_id FROM admin_alerts
           WHERE category = 'payment' AND metadata ->> 'kind' = 'payout_eligible'
             AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           ORDER BY created_at LIMIT 1"#
    )
    .fetch_optional(&mut **tx)
    .await
}

/// An admin who receives admin emails.
#[derive(Debug, Clone)]
pub struct AdminRecipient {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    /// As the main app spells it: "Super Admin", "Manager" or "Support".
    pub role: Option<String>,
}

/// Active admins (status active or unset), who receive admin emails, with their role.
pub async fn active_admins(tx: &mut Transaction<'_, Postgres>) -> Result<Vec<AdminRecipient>, sqlx::Error> {
    sqlx::query_as!(
        AdminRecipient,
        r#"SELECT id, email::text AS "email!", name, role::text AS role FROM admin
           WHERE lower(coalesce(status, 'active')) = 'active' ORDER BY id"#
    )
    .fetch_all(&mut **tx)
    .await
}

/// An alert as the console lists it.
pub struct RecentAlert {
    pub title: String,
    pub message: String,
    pub severity: String,
    pub status: String,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The latest alerts not yet resolved, newest first.
pub async fn open_alerts(db: &sqlx::PgPool, limit: i64) -> Result<Vec<RecentAlert>, sqlx::Error> {
    sqlx::query_as!(
        RecentAlert,
        r#"SELECT title, message, coalesce(severity, 'info') AS "severity!", coalesce(status, 'new') AS "status!", created_at
           FROM admin_alerts WHERE coalesce(status, 'new') <> 'resolved'
           ORDER BY created_at DESC NULLS LAST LIMIT $1"#,
        limit
    )
    .fetch_all(db)
    .await
}
