//! Membership removal (SPEC §9): payouts completed at least MEMBERSHIP_REMOVAL_MONTHS ago whose
//! member is not yet removed. Each is one `RemoveMembership` change (user Inactive, payout
//! marked, audit rows, the member's email — one transaction per member); then the subscription
//! service is asked to cancel, and its answer is recorded without failing the job. A second run
//! finds nothing to do.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::{self, audit};
use crate::domain::change::{Actor, PayoutAction};
use crate::domain::processing::iso;
use crate::error::{AppError, ErrorCode};
use crate::workflow::{change, Context};

/// Runs the job once; the summary goes into the job slot.
pub async fn run(ctx: &Context) -> anyhow::Result<Value> {
    let months = ctx.rules.membership_removal_months;
    let due = db::payouts::due_for_removal(&ctx.db, months as i32).await?;
    let (mut removed, mut cancelled, mut cancel_failed) = (0, 0, 0);
    for payout_id in &due {
        let Some(user_id) = remove_one(ctx, payout_id, months).await? else { continue };
        removed += 1;
        let outcome = cancel_subscription(ctx, user_id).await;
        if outcome["ok"] == true { cancelled += 1 } else { cancel_failed += 1 }
        db::payouts::record_subscription_cancellation(&ctx.db, payout_id, outcome).await?;
    }
    Ok(json!({ "due": due.len(), "removed": removed, "subscriptionsCancelled": cancelled, "cancellationsFailed": cancel_failed }))
}

/// One member; `None` when another run got there first or the payout is no longer completed.
async fn remove_one(ctx: &Context, payout_id: &str, months: u32) -> anyhow::Result<Option<Uuid>> {
    let action = PayoutAction::RemoveMembership { months };
    match change::apply(ctx, payout_id, &Actor::system(), &audit::Origin::default(), action).await {
        Ok(applied) if applied.changed => Ok(Some(applied.after.user_id)),
        Ok(_) => Ok(None),
        Err(e) if matches!(e.code(), ErrorCode::InvalidStatus | ErrorCode::PayoutNotFound) => Ok(None),
        Err(AppError::Internal(e)) => Err(e),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// `POST {SUBSCRIPTION_SERVICE_URL}/api/subscriptions/{userId}/cancel`; the outcome, never an error.
async fn cancel_subscription(ctx: &Context, user_id: Uuid) -> Value {
    let at = iso(chrono::Utc::now());
    match ctx.subscription.cancel(user_id, "membership_removed_after_payout").await {
        Ok(status) if (200..300).contains(&status) => json!({ "ok": true, "status": status, "at": at }),
        Ok(status) => json!({ "ok": false, "status": status, "at": at }),
        Err(e) => json!({ "ok": false, "error": e, "at": at }),
    }
}
