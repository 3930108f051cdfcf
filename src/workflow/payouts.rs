//! Creating payouts (SPEC §5) and deciding on them (§4): approve, reject, cancel; and reading
//! them as the caller may see them.

use chrono::Utc;
use rand::Rng;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{self, audit};
use crate::domain::approvals::ApprovalWorkflow;
use crate::domain::change::{awaiting_approval, Actor, PayoutAction};
use crate::domain::money::Money;
use crate::domain::payout::{AuditTrail, PaymentMethod, Payout};
use crate::domain::processing::iso;
use crate::domain::status::PayoutStatus;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::workflow::change::{self, payout_origin, with_policy};
use crate::workflow::eligibility::evaluate_counts;
use crate::workflow::{notices, Context};

/// What an admin asks to create: members at the head of the queue, all or nothing.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub user_ids: Vec<Uuid>,
    pub notes: Option<String>,
    pub payment_method: PaymentMethod,
}

/// `PO-20261123-7KQ2M9XD`: date for people, 8 random characters (no 0/O/1/I) for uniqueness.
fn new_payout_id() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    let suffix: String = (0..8).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    format!("PO-{}-{suffix}", Utc::now().format("%Y%m%d"))
}

fn unprocessable(code: ErrorCode, message: String, details: serde_json::Value) -> AppError {
    AppError::refused(code, message, Some(details))
}

/// Names the violated constraint's rule where the insert runs.
fn insert_refused(err: sqlx::Error) -> AppError {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some("payout_management_one_open_per_user") => {
            AppError::refused(ErrorCode::MemberNotSelectable, "The member already has an open payout: finish or cancel it before creating another", None)
        }
        sqlx::Error::Database(db) if db.constraint() == Some("payout_management_payout_id_key") => {
            AppError::refused(ErrorCode::Conflict, "Payout id collision; retry", None)
        }
        _ => AppError::from(err),
    }
}

/// Serializes payout creation across requests and instances, then checks eligibility, the
/// requested members' blockers and queue order under that lock, and creates every payout with
/// its audit row and the admins' emails — or none.
pub async fn create(ctx: &Context, admin: &Actor, origin: &audit::Origin, req: CreateRequest) -> AppResult<Vec<Payout>> {
    let admin_id = admin.admin_id.ok_or_else(|| AppError::Forbidden("Creating a payout needs an admin (Super Admin or Manager)".into()))?;
    // The network call happens before the lock; everything counted happens under it.
    let revenue = ctx.subscription.total_revenue(&ctx.db).await?;
    let mut tx = ctx.db.begin().await?;
    db::eligibility::lock_creation(&mut tx).await?;
    let committed = db::eligibility::committed_payouts(&mut *tx).await?;
    let (_, selectable) = db::eligibility::queue_counts(&mut *tx).await?;
    let eligibility = evaluate_counts(ctx, revenue, committed, selectable);
    if !eligibility.is_eligible {
        let reason = eligibility.reason.clone().unwrap_or_default();
        return Err(unprocessable(ErrorCode::NotEligible, format!("The company cannot pay a reward now: {reason} (GET /api/eligibility/status shows the figures)"), json!({ "eligibility": eligibility })));
    }
    if req.user_ids.len() as i64 > eligibility.available_payouts {
        return Err(unprocessable(
            ErrorCode::ExceedsAvailablePayouts,
            format!(
                "{} payouts requested but revenue covers only {} now: select at most {} members from the head of the queue",
                req.user_ids.len(),
                eligibility.available_payouts,
                eligibility.available_payouts
            ),
            json!({ "requested": req.user_ids.len(), "availablePayouts": eligibility.available_payouts }),
        ));
    }

    let requested = db::eligibility::queue_members(&mut tx, &req.user_ids).await?;
    let mut not_selectable = Vec::new();
    for user_id in &req.user_ids {
        match requested.iter().find(|r| r.user_id == *user_id) {
            Some(r) if !r.blockers().is_empty() => {
                not_selectable.push(json!({ "userId": user_id, "queuePosition": r.queue_position, "blockers": r.blockers() }))
            }
            Some(_) => {}
            None => {
                let blocker = db::eligibility::outside_queue_blocker(&mut tx, *user_id).await?;
                not_selectable.push(json!({ "userId": user_id, "queuePosition": null, "blockers": [blocker] }));
            }
        }
    }
    if !not_selectable.is_empty() {
        return Err(unprocessable(
            ErrorCode::MemberNotSelectable,
            format!("{} of the requested members cannot be selected (`details.members` says why for each): choose from the selectable members of GET /api/eligibility/members", not_selectable.len()),
            json!({ "members": not_selectable }),
        ));
    }
    let last_position = requested.iter().map(|r| r.queue_position).max().unwrap_or(0);
    let skipped = db::eligibility::selectable_ahead(&mut tx, last_position, &req.user_ids).await?;
    if !skipped.is_empty() {
        return Err(unprocessable(
            ErrorCode::QueueOrderViolation,
            format!("Members ahead in the queue would be skipped: select the first {} selectable members in queue order", req.user_ids.len()),
            json!({ "skippedMembers": skipped.iter().map(|(u, p)| json!({ "userId": u, "queuePosition": p })).collect::<Vec<_>>() }),
        ));
    }

    let at = iso(Utc::now());
    let amount = Money::new(ctx.rules.reward_per_winner);
    let workflow = ApprovalWorkflow::new(ctx.rules.required_approvals);
    let mut created = Vec::new();
    for member in requested.iter().filter(|r| req.user_ids.contains(&r.user_id)) {
        let payout_id = new_payout_id();
        let snapshot = json!({
            "revenue": eligibility.total_revenue,
            "revenueSource": eligibility.revenue_source,
            "queuePosition": member.queue_position,
            "tenureStartDate": member.tenure_start_date,
            "lifetimePaymentTotal": member.lifetime_payment_total.map(Money::new),
            "totalSuccessfulPayments": member.total_successful_payments,
            "kycStatus": member.kyc_status,
            "availablePayouts": eligibility.available_payouts,
            "committedPayouts": eligibility.committed_payouts,
            "checkedAt": at,
        });
        let notes = match &req.notes {
            Some(n) if !n.trim().is_empty() => json!([{ "at": at, "by": admin.label(), "note": n }]),
            _ => json!([]),
        };
        let mut trail = AuditTrail::parse(None, None, None);
        let details = json!({ "amount": amount, "paymentMethod": req.payment_method, "queuePosition": member.queue_position });
        trail.append("created", &admin.label(), &at, details);
        let new = db::payouts::NewPayout {
            payout_id: &payout_id,
            user_id: member.user_id,
            membership_id: member.membership_id,
            queue_position: member.queue_position as i32,
            amount,
            payment_method: req.payment_method,
            eligibility_check: snapshot,
            approval_workflow: &workflow,
            internal_notes: notes,
            audit_trail: &trail,
            created_by: admin_id,
        };
        let payout = with_policy(ctx, db::payouts::insert(&mut tx, new).await.map_err(insert_refused)?);
        let log = audit::AuditLog {
            entity_type: "payout",
            entity_id: Some(payout.id),
            action: "payout_created",
            old_values: None,
            new_values: Some(json!({ "payoutId": payout_id, "status": PayoutStatus::PendingApproval, "amount": amount, "paymentMethod": req.payment_method })),
            success: true,
            error_message: None,
            metadata: json!({ "payoutId": payout_id }),
        };
        audit::insert(&mut tx, &payout_origin(origin, &payout), log).await?;
        let notice = awaiting_approval("created", admin, &payout, payout.approval_workflow.required_approvals);
        notices::send(ctx, &mut tx, &payout, &[notice]).await?;
        created.push(payout);
    }
    tx.commit().await?;
    Ok(created)
}

/// The result of one approval.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApproveOutcome {
    pub payout_id: String,
    pub status: PayoutStatus,
    pub current_approvals: u32,
    pub required_approvals: u32,
    pub fully_approved: bool,
}

/// Records the calling admin's approval; the required number of distinct admins approves it
/// and the member is told.
pub async fn approve(ctx: &Context, admin: &Actor, origin: &audit::Origin, payout_id: &str, comment: Option<String>) -> AppResult<ApproveOutcome> {
    let applied = change::apply(ctx, payout_id, admin, origin, PayoutAction::Approve { comment }).await?;
    let p = applied.after;
    Ok(ApproveOutcome {
        status: p.status,
        current_approvals: p.approval_workflow.current(),
        required_approvals: p.approval_workflow.required_approvals,
        fully_approved: p.status == PayoutStatus::Approved,
        payout_id: p.payout_id,
    })
}

/// Rejects a payout awaiting approval (terminal) and tells the member why.
pub async fn reject(ctx: &Context, admin: &Actor, origin: &audit::Origin, payout_id: &str, reason: String) -> AppResult<Payout> {
    Ok(change::apply(ctx, payout_id, admin, origin, PayoutAction::Reject { reason }).await?.after)
}

/// Cancels a payout awaiting approval or approved (terminal), with the reason in the notes.
pub async fn cancel(ctx: &Context, admin: &Actor, origin: &audit::Origin, payout_id: &str, reason: String) -> AppResult<Payout> {
    Ok(change::apply(ctx, payout_id, admin, origin, PayoutAction::Cancel { reason }).await?.after)
}

/// One payout, or 404.
pub async fn find(ctx: &Context, payout_id: &str) -> AppResult<Payout> {
    let payout = db::payouts::find(&ctx.db, payout_id).await?.ok_or(AppError::PayoutNotFound)?;
    Ok(with_policy(ctx, payout))
}

/// The payout if `viewer` may see it (finance roles: any; a member: their own); otherwise 404,
/// so nobody learns it exists.
pub async fn visible(ctx: &Context, viewer: &Actor, payout_id: &str) -> AppResult<Payout> {
    let payout = find(ctx, payout_id).await?;
    if viewer.admin_id.is_none() && Some(payout.user_id) != viewer.user_id {
        return Err(AppError::PayoutNotFound);
    }
    Ok(payout)
}

/// A page of payouts, newest first, and the total matching.
pub async fn list(ctx: &Context, filter: &db::payouts::ListFilter) -> AppResult<(Vec<Payout>, i64)> {
    let (payouts, total) = db::payouts::list(&ctx.db, filter).await?;
    Ok((payouts.into_iter().map(|p| with_policy(ctx, p)).collect(), total))
}

/// A member's payouts, newest first.
pub async fn of_member(ctx: &Context, user_id: Uuid) -> AppResult<Vec<Payout>> {
    Ok(db::payouts::for_member(&ctx.db, user_id).await?.into_iter().map(|p| with_policy(ctx, p)).collect())
}

/// When a member's membership is retired: MEMBERSHIP_REMOVAL_MONTHS after their last completed
/// payout (`payouts` as `of_member` gives them).
pub fn membership_removal_date(ctx: &Context, payouts: &[Payout]) -> Option<chrono::DateTime<Utc>> {
    payouts
        .iter()
        .filter(|r| r.status == PayoutStatus::Completed)
        .filter_map(|r| r.completed_date)
        .max()
        .and_then(|d| d.checked_add_months(chrono::Months::new(ctx.rules.membership_removal_months)))
}

/// How an approval stands against where the money would go now (SPEC §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalCheck {
    /// It vouches for the current destination.
    Matches,
    /// The destination changed after it was given: it does not count.
    Changed,
    /// It recorded no destination (given before there was one): it does not count for payment.
    NoDestination,
    /// There is no readable destination to compare with yet.
    NothingToCompare,
}

/// A payout as its page shows it: each approval checked against the current destination, and
/// whether `viewer` may approve it now (the approve rule itself, run without writing).
pub struct ApprovalPreview {
    pub checks: Vec<ApprovalCheck>,
    /// `Ok` when `viewer` may approve now; else the refusal the approve request would get.
    pub viewer_may_approve: Result<(), AppError>,
}

/// Reads, without locking, what the approve rule reads, and asks the rule.
pub async fn approval_preview(ctx: &Context, viewer: &Actor, p: &Payout) -> AppResult<ApprovalPreview> {
    let action = PayoutAction::Approve { comment: None };
    let mut tx = ctx.db.begin().await?;
    let facts = change::load_facts(ctx, &mut tx, p, &action).await?;
    tx.rollback().await?;
    let checks = p
        .approval_workflow
        .approvals
        .iter()
        .map(|a| match (&a.fingerprint, facts.destination.is_empty()) {
            (_, true) => ApprovalCheck::NothingToCompare,
            (Some(fp), false) if facts.destination.contains(fp) => ApprovalCheck::Matches,
            (Some(_), false) => ApprovalCheck::Changed,
            (None, false) => ApprovalCheck::NoDestination,
        })
        .collect();
    let viewer_may_approve = crate::domain::status::transition(p.status, action.kind())
        .map_err(|e| AppError::from_refusal(crate::domain::change::Refusal::InvalidStatus(e), &p.payout_id))
        .and_then(|_| {
            crate::domain::change::decide(p, &action, &facts, viewer, &ctx.rules.change())
                .map(|_| ())
                .map_err(|r| AppError::from_refusal(r, &p.payout_id))
        });
    Ok(ApprovalPreview { checks, viewer_may_approve })
}

/// Display names for the trail's actors (`admin:<id>`, `user:<uuid>`), in one query.
pub async fn actor_names(ctx: &Context, p: &Payout) -> AppResult<std::collections::HashMap<String, String>> {
    let mut admins: Vec<i32> = Vec::new();
    let mut users: Vec<Uuid> = Vec::new();
    for e in &p.audit_trail.entries {
        match e.get("actor").and_then(serde_json::Value::as_str).and_then(|a| a.split_once(':')) {
            Some(("admin", id)) => admins.extend(id.parse::<i32>().ok()),
            Some(("user", id)) => users.extend(Uuid::parse_str(id).ok()),
            _ => {}
        }
    }
    Ok(db::users::actor_names(&ctx.db, &admins, &users).await?)
}

/// Whether `by` could add an approval now, by the approve rule itself on what the row shows
/// (the creator's other admin rows and the destination are checked again when they approve).
pub fn awaits_approval_by(p: &Payout, by: &Actor, rules: &crate::domain::change::ChangeRules) -> bool {
    let action = PayoutAction::Approve { comment: None };
    p.status == PayoutStatus::PendingApproval && crate::domain::change::decide(p, &action, &crate::domain::change::Facts::at(Utc::now()), by, rules).is_ok()
}
