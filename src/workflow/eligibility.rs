//! Eligibility status, the member queue with blockers, and the eligibility check (manual or daily).

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::workflow::Context;
use crate::clients::subscription::Revenue;
use crate::db::{self, audit};
use crate::domain::eligibility::{evaluate, Eligibility, Facts, Rules};
use crate::domain::money::Money;
use crate::domain::selection::{blockers, Blocker, MemberFlags};
use crate::error::AppResult;
use crate::workflow::notices;

/// The eligibility rules from the configured payout rules.
pub fn rules(ctx: &Context) -> Rules {
    let s = &ctx.rules;
    Rules {
        threshold: s.payout_threshold,
        reward: s.reward_per_winner,
        min_company_age_months: s.min_company_age_months,
        launch_date: s.business_launch_date,
    }
}

/// Eligibility now, with the queue size. The independent reads run concurrently.
async fn evaluate_now(ctx: &Context) -> AppResult<(Eligibility, i64)> {
    let (revenue, committed, (total, selectable)) = tokio::try_join!(
        ctx.subscription.total_revenue(&ctx.db),
        db::eligibility::committed_payouts(&ctx.db),
        db::eligibility::queue_counts(&ctx.db),
    )?;
    Ok((evaluate_counts(ctx, revenue, committed, selectable), total))
}

/// The rules applied to counts taken now (by `evaluate_now`, or under the creation lock).
pub fn evaluate_counts(ctx: &Context, revenue: Revenue, committed: i64, selectable: i64) -> Eligibility {
    let now = Utc::now();
    evaluate(
        &rules(ctx),
        &Facts {
            revenue: revenue.total,
            revenue_source: revenue.source,
            today: now.date_naive(),
            committed_payouts: committed,
            selectable_members: selectable,
            next_check: crate::domain::schedule::next_after(&ctx.eligibility_check_cron, now),
        },
    )
}

/// The company's eligibility now.
pub async fn current(ctx: &Context) -> AppResult<Eligibility> {
    Ok(evaluate_now(ctx).await?.0)
}

/// One member of the queue with what blocks their selection.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueMember {
    pub user_id: uuid::Uuid,
    pub membership_id: Option<uuid::Uuid>,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub queue_position: i64,
    pub tenure_start_date: Option<chrono::DateTime<Utc>>,
    pub last_payment_date: Option<chrono::DateTime<Utc>>,
    pub total_successful_payments: Option<i64>,
    pub lifetime_payment_total: Option<Money>,
    pub subscription_status: Option<String>,
    pub kyc_status: Option<String>,
    pub meets_time_requirement: bool,
    pub selectable: bool,
    /// Why the member cannot be selected now (empty when selectable).
    pub blockers: Vec<Blocker>,
    pub has_w9: bool,
    pub has_primary_address: bool,
}

/// A page of the queue with its counts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembersPage {
    pub members: Vec<QueueMember>,
    /// Members in the queue.
    pub total: i64,
    /// Members selectable now.
    pub selectable_count: i64,
    pub available_payouts: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The queue in position order, each member with `selectable` and its blockers.
pub async fn members(ctx: &Context, limit: i64, offset: i64) -> AppResult<MembersPage> {
    let ((eligibility, total), rows) =
        tokio::try_join!(evaluate_now(ctx), async { Ok(db::eligibility::queue_page(&ctx.db, limit, offset).await?) })?;
    let selectable_count = eligibility.eligible_member_count;
    let members = rows
        .into_iter()
        .map(|r| {
            let blockers = blockers(&MemberFlags {
                kyc_verified: r.kyc_ok,
                subscription_active: r.subscription_ok,
                payout_in_progress: r.payout_in_progress,
                already_paid: r.already_paid,
            });
            QueueMember {
                user_id: r.user_id,
                membership_id: r.membership_id,
                email: r.email,
                full_name: r.full_name,
                queue_position: r.queue_position,
                tenure_start_date: r.tenure_start_date,
                last_payment_date: r.last_payment_date,
                total_successful_payments: r.total_successful_payments,
                lifetime_payment_total: r.lifetime_payment_total.map(Money::new),
                subscription_status: r.subscription_status,
                kyc_status: r.kyc_status,
                meets_time_requirement: r.meets_time_requirement,
                selectable: blockers.is_empty(),
                blockers,
                has_w9: r.has_w9,
                has_primary_address: r.has_primary_address,
            }
        })
        .collect();
    Ok(MembersPage { members, total, selectable_count, available_payouts: eligibility.available_payouts, limit, offset })
}

/// Who asked for the check.
pub enum Trigger {
    Manual(audit::Origin),
    Scheduled,
}

/// What an eligibility check found and whether it raised today's alert.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutcome {
    pub eligibility: Eligibility,
    /// Today's payout-eligible alert, when eligible (raised now or earlier today).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    /// Whether this check raised the alert (false when today's already existed).
    pub alert_created: bool,
}

/// Both the manual check and the daily job: log the check; when eligible, raise at most one
/// alert a day and write the admins' email, all in one transaction.
pub async fn check(ctx: &Context, trigger: Trigger) -> AppResult<CheckOutcome> {
    let eligibility = current(ctx).await?;
    let (origin, source) = match &trigger {
        Trigger::Manual(origin) => (origin.clone(), "manual"),
        Trigger::Scheduled => (audit::Origin::default(), "scheduled"),
    };
    let snapshot = serde_json::to_value(&eligibility).map_err(crate::error::AppError::internal)?;
    let mut tx = ctx.db.begin().await?;
    audit::insert(
        &mut tx,
        &origin,
        audit::AuditLog {
            entity_type: "payout_eligibility",
            entity_id: None,
            action: "eligibility_check",
            old_values: None,
            new_values: Some(snapshot.clone()),
            success: true,
            error_message: None,
            metadata: json!({ "trigger": source }),
        },
    )
    .await?;

    let mut alert_id = None;
    let mut alert_created = false;
    if eligibility.is_eligible {
        // One alert a day across every instance and every concurrent check.
        db::alerts::lock_eligible_alerts(&mut tx).await?;
        let today = Utc::now().date_naive();
        alert_id = db::alerts::eligible_alert_today(&mut tx).await?;
        if alert_id.is_none() {
            let message = format!(
                "Revenue {} ({}) meets the {} threshold; the company is {} months old; {} payout(s) available for {} selectable member(s).",
                eligibility.total_revenue.display_usd(),
                serde_json::to_value(eligibility.revenue_source).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                eligibility.revenue_threshold.display_usd(),
                eligibility.company_age_months,
                eligibility.available_payouts,
                eligibility.eligible_member_count,
            );
            let (_, id) = db::alerts::insert(
                &mut tx,
                db::alerts::NewAlert {
                    title: "Payout eligibility reached".into(),
                    message,
                    severity: "info",
                    category: "payment",
                    related_entity: None,
                    trigger_info: json!({ "source": source, "adminId": origin.admin_id, "requestId": origin.request_id }),
                    metadata: json!({
                        "kind": "payout_eligible",
                        "date": today.to_string(),
                        "totalRevenue": eligibility.total_revenue,
                        "revenueSource": eligibility.revenue_source,
                        "companyAgeMonths": eligibility.company_age_months,
                        "availablePayouts": eligibility.available_payouts,
                        "potentialWinners": eligibility.potential_winners,
                        "committedPayouts": eligibility.committed_payouts,
                    }),
                },
            )
            .await?;
            alert_id = Some(id);
            alert_created = true;
            let vars = [
                ("date", today.to_string()),
                ("revenue", eligibility.total_revenue.display_usd()),
                ("revenue_source", snapshot["revenueSource"].as_str().unwrap_or_default().to_string()),
                ("threshold", eligibility.revenue_threshold.display_usd()),
                ("company_age_months", eligibility.company_age_months.to_string()),
                ("available_payouts", eligibility.available_payouts.to_string()),
                ("eligible_member_count", eligibility.eligible_member_count.to_string()),
                ("queue_url", notices::Links(&ctx.public_base_url).admin_queue()),
                ("required_approvals", ctx.rules.required_approvals.to_string()),
            ];
            notices::to_admins(&mut tx, "eligibility_reached", &format!("eligibility_reached:{today}"), None, None, &vars).await?;
        }
    }
    tx.commit().await?;
    Ok(CheckOutcome { eligibility, alert_id, alert_created })
}
