//! Membership removal (SPEC §9): payouts completed at least MEMBERSHIP_REMOVAL_MONTHS ago whose
//! member is not yet removed. Each is one `RemoveMembership` change (user Inactive, payout
//! marked, the cancel recorded as owed, audit rows, the member's email — one transaction per
//! member). The subscription cancel is then durable (SPEC §13): retried every
//! CANCEL_RETRY_INTERVAL_SECS with backoff until the subscription service accepts it, for up to
//! a day, after which it is given up with one admin alert. A second run finds nothing to do.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::db::{self, audit};
use crate::domain::change::{Actor, PayoutAction};
use crate::domain::processing::iso;
use crate::error::{AppError, ErrorCode};
use crate::workflow::{change, Context};

/// How long a cancel is retried before it is given up.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// Runs the job once; the summary goes into the job slot.
pub async fn run(ctx: &Context, retry_interval: Duration) -> anyhow::Result<Value> {
    let months = ctx.rules.membership_removal_months;
    let due = db::payouts::due_for_removal(&ctx.db, months as i32).await?;
    let mut removed = 0;
    for payout_id in &due {
        if remove_one(ctx, payout_id, months).await? {
            removed += 1;
        }
    }
    let cancels = retry_cancellations(ctx, retry_interval).await?;
    Ok(json!({
        "due": due.len(),
        "removed": removed,
        "subscriptionsCancelled": cancels.cancelled,
        "cancellationsFailed": cancels.failed,
        "cancellationsGivenUp": cancels.given_up,
    }))
}

/// One member; false when another run got there first or the payout is no longer completed.
async fn remove_one(ctx: &Context, payout_id: &str, months: u32) -> anyhow::Result<bool> {
    let action = PayoutAction::RemoveMembership { months };
    match change::apply(ctx, payout_id, &Actor::system(), &audit::Origin::default(), action).await {
        Ok(applied) => Ok(applied.changed),
        Err(e) if matches!(e.code(), ErrorCode::InvalidStatus | ErrorCode::PayoutNotFound) => Ok(false),
        Err(AppError::Internal(e)) => Err(e),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// What one pass over the owed cancels did.
#[derive(Debug, Default)]
pub struct CancelPass {
    pub cancelled: usize,
    pub failed: usize,
    pub given_up: usize,
}

/// Tries every owed cancel whose next attempt is due.
pub async fn retry_cancellations(ctx: &Context, interval: Duration) -> anyhow::Result<CancelPass> {
    let mut pass = CancelPass::default();
    for owed in db::payouts::due_cancellations(&ctx.db).await? {
        let attempts = owed.record["attempts"].as_u64().unwrap_or(0) + 1;
        let requested = owed.record["requestedAt"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
        let now = Utc::now();
        let (status, error) = match ctx.subscription.cancel(owed.user_id, "membership_removed_after_payout").await {
            Ok(status) => (Some(status), format!("status {status}")),
            Err(e) => (None, e),
        };
        let mut record = owed.record.clone();
        record["attempts"] = json!(attempts);
        record["at"] = json!(iso(now));
        if let Some(status) = status {
            record["status"] = json!(status);
        }
        if status.is_some_and(|s| (200..300).contains(&s)) {
            record["ok"] = json!(true);
            record["state"] = json!("done");
            if db::payouts::record_subscription_cancellation(&ctx.db, &owed.payout_id, record).await? {
                pass.cancelled += 1;
            }
            continue;
        }
        record["lastError"] = json!(error);
        if requested.is_some_and(|r| now - r > GIVE_UP_AFTER) {
            record["state"] = json!("failed");
            give_up(ctx, &owed.payout_id, owed.user_id, record, &error).await?;
            pass.given_up += 1;
        } else {
            let backoff = interval.saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1) as u32)).min(MAX_BACKOFF);
            record["nextAttemptAt"] = json!(iso(now + chrono::Duration::from_std(backoff).unwrap_or_default()));
            db::payouts::record_subscription_cancellation(&ctx.db, &owed.payout_id, record).await?;
            pass.failed += 1;
        }
    }
    Ok(pass)
}

/// The cancel could not be done within a day: recorded as failed with one admin alert.
async fn give_up(ctx: &Context, payout_id: &str, user_id: uuid::Uuid, record: Value, error: &str) -> anyhow::Result<()> {
    let mut tx = ctx.db.begin().await?;
    if !db::payouts::record_subscription_cancellation(&mut *tx, payout_id, record).await? {
        return Ok(());
    }
    db::alerts::insert(
        &mut tx,
        db::alerts::NewAlert {
            title: "A subscription could not be cancelled".into(),
            message: format!("After a day of retries the subscription service still refuses to cancel the subscription of the member paid by {payout_id}: {error}. Cancel it by hand."),
            severity: "warning",
            category: "system",
            related_entity: Some(json!({ "type": "payout", "payoutId": payout_id, "userId": user_id })),
            trigger_info: json!({ "source": "membership-removal" }),
            metadata: json!({ "kind": "subscription_cancel_failed", "payoutId": payout_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
