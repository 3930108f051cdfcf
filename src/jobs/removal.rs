//! Membership removal (SPEC §9): payouts completed at least MEMBERSHIP_REMOVAL_MONTHS ago whose
//! member is not yet removed: user Inactive, payout marked, audit rows, the member's email — one
//! transaction per member; then the subscription service is asked to cancel, and its answer is
//! recorded without failing the job. A second run finds nothing to do.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::AppState;
use crate::db::{self, audit};
use crate::domain::approvals;
use crate::workflow::payouts::{chain, notify_member};

pub async fn run(state: &AppState) -> anyhow::Result<Value> {
    let months = state.settings.payout.membership_removal_months as i32;
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT payout_id FROM payout_management
         WHERE status = 'completed' AND completed_date IS NOT NULL
           AND completed_date <= now() - make_interval(months => $1)
           AND coalesce(processing ->> 'membershipRemoved', 'false') <> 'true'
         ORDER BY completed_date",
    )
    .bind(months)
    .fetch_all(&state.db)
    .await?;
    let (mut removed, mut cancelled, mut cancel_failed) = (0, 0, 0);
    for payout_id in &due {
        let Some(user_id) = remove_one(state, payout_id, months).await? else { continue };
        removed += 1;
        let outcome = cancel_subscription(state, user_id).await;
        if outcome["ok"] == true { cancelled += 1 } else { cancel_failed += 1 }
        sqlx::query(
            "UPDATE payout_management SET processing = jsonb_set(coalesce(processing, '{}'), '{subscriptionCancellation}', $2), updated_at = now()
             WHERE payout_id = $1",
        )
        .bind(payout_id)
        .bind(outcome)
        .execute(&state.db)
        .await?;
    }
    Ok(json!({ "due": due.len(), "removed": removed, "subscriptionsCancelled": cancelled, "cancellationsFailed": cancel_failed }))
}

/// One member, one transaction; `None` when another run got there first.
async fn remove_one(state: &AppState, payout_id: &str, months: i32) -> anyhow::Result<Option<Uuid>> {
    let mut tx = state.db.begin().await?;
    let Some(row) = db::payouts::lock(&mut tx, payout_id).await? else { return Ok(None) };
    let removed_already = row.processing.as_ref().and_then(|p| p.get("membershipRemoved")).and_then(Value::as_bool) == Some(true);
    if removed_already || row.status != "completed" {
        return Ok(None);
    }
    let old_status: Option<String> = sqlx::query_scalar("SELECT status::text FROM users WHERE id = $1").bind(row.user_id).fetch_optional(&mut *tx).await?;
    sqlx::query("UPDATE users SET status = 'Inactive', updated_at = now() WHERE id = $1").bind(row.user_id).execute(&mut *tx).await?;
    let at = approvals::now_iso();
    let details = json!({ "months": months, "previousUserStatus": old_status });
    let (trail, entry) = chain(&row, "membership_removed", "system", details.clone());
    let mut processing = match &row.processing {
        Some(Value::Object(o)) => Value::Object(o.clone()),
        None | Some(Value::Null) => json!({}),
        Some(other) => json!({ "legacy": other }),
    };
    processing["membershipRemoved"] = json!(true);
    processing["membershipRemovedAt"] = json!(at);
    sqlx::query("UPDATE payout_management SET processing = $2, audit_trail = $3, updated_at = now() WHERE id = $1")
        .bind(row.id)
        .bind(processing)
        .bind(trail)
        .execute(&mut *tx)
        .await?;
    db::payouts::set_head(&mut tx, row.id).await?;
    audit::insert(
        &mut tx,
        &audit::Origin { user_id: Some(row.user_id), ..Default::default() },
        audit::AuditLog {
            entity_type: "payout",
            entity_id: Some(row.id),
            action: "membership_removed",
            old_values: Some(json!({ "userStatus": old_status })),
            new_values: Some(json!({ "userStatus": "Inactive" })),
            success: true,
            error_message: None,
            metadata: json!({ "payoutId": row.payout_id, "job": "membership-removal" }),
        },
    )
    .await?;
    notify_member(&mut tx, &row, "membership_removed", &entry, &[]).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(Some(row.user_id))
}

/// `POST {SUBSCRIPTION_SERVICE_URL}/api/subscriptions/{userId}/cancel`; the outcome, never an error.
async fn cancel_subscription(state: &AppState, user_id: Uuid) -> Value {
    let url = format!("{}/api/subscriptions/{user_id}/cancel", state.settings.subscription.url);
    let at = approvals::now_iso();
    match state.subscription.http().post(&url).json(&json!({ "reason": "membership_removed_after_payout" })).send().await {
        Ok(res) if res.status().is_success() => json!({ "ok": true, "status": res.status().as_u16(), "at": at }),
        Ok(res) => json!({ "ok": false, "status": res.status().as_u16(), "at": at }),
        Err(e) => json!({ "ok": false, "error": e.to_string(), "at": at }),
    }
}
