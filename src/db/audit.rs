//! Rows in the main app's `user_audit_logs` (we supply the id ourselves, SPEC §11).

use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// Who did it, from where: the request's side of every audit row.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_id: Option<Uuid>,
    pub admin_id: Option<i32>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// What happened, to which entity: the action's side of an audit row.
pub struct AuditLog<'a> {
    pub entity_type: &'a str,
    pub entity_id: Option<Uuid>,
    pub action: &'a str,
    pub old_values: Option<Value>,
    pub new_values: Option<Value>,
    pub success: bool,
    pub error_message: Option<String>,
    /// Merged into `metadata` beside the request id.
    pub metadata: Value,
}

/// Writes one audit row (the request id goes into its metadata); returns its id.
pub async fn insert(tx: &mut Transaction<'_, Postgres>, origin: &Origin, log: AuditLog<'_>) -> Result<Uuid, sqlx::Error> {
    let mut metadata = log.metadata;
    if !metadata.is_object() {
        metadata = serde_json::json!({});
    }
    if let Some(id) = &origin.request_id {
        metadata["requestId"] = Value::String(id.clone());
    }
    sqlx::query_scalar!(
        r#"INSERT INTO user_audit_logs (id, user_id, admin_id, entity_type, entity_id, action, old_values, new_values,
                                       success, error_message, ip_address, user_agent, metadata, created_at)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::inet, $11, $12, now())
           RETURNING id"#,
        origin.user_id,
        origin.admin_id,
        log.entity_type,
        log.entity_id,
        log.action,
        log.old_values,
        log.new_values,
        log.success,
        log.error_message,
        origin.ip,
        origin.user_agent,
        metadata,
    )
    .fetch_one(&mut **tx)
    .await
}
