//! Creating payouts (SPEC §5) and deciding on them (§4): approve, reject, cancel. Every change
//! locks the row, asks the domain whether it may happen, writes with compare-and-set, appends to
//! the hash chain, logs to user_audit_logs and queues its emails — in one transaction.

use std::collections::HashSet;

use chrono::Utc;
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::db::{self, audit, payouts::PayoutRow};
use crate::domain::approvals::{self, Approval, ApprovalRefusal, ApprovalWorkflow, Rejection};
use crate::domain::audit_chain;
use crate::domain::money::Money;
use crate::domain::status::{transition, Action, PayoutStatus};
use crate::error::{AppError, AppResult};
use crate::notify::{self, templates::render};
use crate::workflow::eligibility::evaluate_counts;
use crate::workflow::view::{payout_view, PayoutView};

/// Serializes payout creation across requests and instances.
const CREATE_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('payout-service:create-payouts'))";

pub struct CreateRequest {
    pub user_ids: Vec<Uuid>,
    pub notes: Option<String>,
    pub payment_method: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub payout_ids: Vec<String>,
    pub created_count: usize,
    pub payouts: Vec<PayoutView>,
}

fn business(code: &'static str, message: impl Into<String>, details: Value) -> AppError {
    AppError::Business { code, message: message.into(), details: Some(details) }
}

/// `PO-20261123-7KQ2M9XD`: date for people, 8 random characters (no 0/O/1/I) for uniqueness.
fn new_payout_id() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    let suffix: String = (0..8).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    format!("PO-{}-{suffix}", Utc::now().format("%Y%m%d"))
}

pub fn actor(user: &CurrentUser) -> String {
    user.actor()
}

/// The row's id as `user_audit_logs.entity_id`, with the subject member as `user_id`.
fn payout_origin(origin: &audit::Origin, row_user: Uuid) -> audit::Origin {
    audit::Origin { user_id: Some(row_user), ..origin.clone() }
}

pub async fn create(state: &AppState, admin: &CurrentUser, origin: &audit::Origin, req: CreateRequest) -> AppResult<Created> {
    let admin_id = admin.admin.as_ref().map(|a| a.id).ok_or_else(|| AppError::Forbidden("Admins only".into()))?;
    // The network call happens before the lock; everything counted happens under it.
    let revenue = state.subscription.total_revenue(&state.db).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query(CREATE_LOCK).execute(&mut *tx).await?;
    let committed = db::eligibility::committed_payouts(&mut *tx).await?;
    let (_, selectable) = db::eligibility::queue_counts(&mut *tx).await?;
    let now = Utc::now();
    let eligibility = evaluate_counts(state, revenue, committed, selectable);
    if !eligibility.is_eligible {
        return Err(business(
            "NOT_ELIGIBLE",
            format!("The company is not eligible to pay rewards: {}", eligibility.reason.clone().unwrap_or_default()),
            json!({ "eligibility": eligibility }),
        ));
    }
    if req.user_ids.len() as i64 > eligibility.available_payouts {
        return Err(business(
            "EXCEEDS_AVAILABLE_PAYOUTS",
            format!("{} payouts requested but only {} available", req.user_ids.len(), eligibility.available_payouts),
            json!({ "requested": req.user_ids.len(), "availablePayouts": eligibility.available_payouts }),
        ));
    }

    let requested = db::eligibility::queue_members(&mut tx, &req.user_ids).await?;
    let mut not_selectable = Vec::new();
    for user_id in &req.user_ids {
        match requested.iter().find(|r| r.user_id == *user_id) {
            Some(r) => {
                let blockers = r.blockers();
                if !blockers.is_empty() {
                    not_selectable.push(json!({ "userId": user_id, "queuePosition": r.queue_position, "blockers": blockers }));
                }
            }
            None => {
                let blocker = db::eligibility::outside_queue_blocker(&mut tx, *user_id).await?;
                not_selectable.push(json!({ "userId": user_id, "queuePosition": null, "blockers": [blocker] }));
            }
        }
    }
    if !not_selectable.is_empty() {
        return Err(business(
            "MEMBER_NOT_SELECTABLE",
            format!("{} of the requested members cannot be selected", not_selectable.len()),
            json!({ "members": not_selectable }),
        ));
    }
    let last_position = requested.iter().map(|r| r.queue_position).max().unwrap_or(0);
    let skipped = db::eligibility::selectable_ahead(&mut tx, last_position, &req.user_ids).await?;
    if !skipped.is_empty() {
        return Err(business(
            "QUEUE_ORDER_VIOLATION",
            format!(
                "Members ahead in the queue would be skipped: select the first {} selectable members in queue order",
                req.user_ids.len()
            ),
            json!({ "skippedMembers": skipped.iter().map(|(u, p)| json!({ "userId": u, "queuePosition": p })).collect::<Vec<_>>() }),
        ));
    }

    let mut created = Vec::new();
    let at = approvals::iso(now);
    let workflow = ApprovalWorkflow::new(state.settings.payout.required_approvals);
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
            Some(n) if !n.trim().is_empty() => json!([{ "at": at, "by": actor(admin), "note": n }]),
            _ => json!([]),
        };
        let entry = audit_chain::entry(
            &[],
            "created",
            &actor(admin),
            &at,
            json!({ "amount": Money::new(state.settings.payout.reward_per_winner), "paymentMethod": req.payment_method, "queuePosition": member.queue_position }),
        );
        let id = db::payouts::insert(
            &mut tx,
            &db::payouts::NewPayout {
                payout_id: payout_id.clone(),
                user_id: member.user_id,
                membership_id: member.membership_id,
                queue_position: member.queue_position as i32,
                amount: state.settings.payout.reward_per_winner,
                payment_method: req.payment_method.clone(),
                eligibility_check: snapshot,
                approval_workflow: serde_json::to_value(&workflow).map_err(AppError::internal)?,
                internal_notes: notes,
                audit_trail: json!([entry.clone()]),
                created_by: admin_id,
            },
        )
        .await
        .map_err(crate::error::from_constraint)?;
        audit::insert(
            &mut tx,
            &payout_origin(origin, member.user_id),
            audit::AuditLog {
                entity_type: "payout",
                entity_id: Some(id),
                action: "payout_created",
                old_values: None,
                new_values: Some(json!({ "payoutId": payout_id, "status": "pending_approval", "amount": Money::new(state.settings.payout.reward_per_winner), "paymentMethod": req.payment_method })),
                success: true,
                error_message: None,
                metadata: json!({ "payoutId": payout_id }),
            },
        )
        .await?;
        let row = db::payouts::lock(&mut tx, &payout_id).await?.ok_or_else(|| AppError::internal(anyhow::anyhow!("inserted payout vanished")))?;
        notify_admins_awaiting(state, &mut tx, &row, &entry, "created", admin).await?;
        created.push(row);
    }
    tx.commit().await?;
    let payouts: Vec<PayoutView> = created.iter().map(|r| payout_view(r, state.settings.payout.required_approvals, true)).collect();
    Ok(Created { payout_ids: payouts.iter().map(|p| p.payout_id.clone()).collect(), created_count: payouts.len(), payouts })
}

/// "Payout awaiting approval" to every active admin, keyed to this event.
pub async fn notify_admins_awaiting(
    state: &AppState,
    tx: &mut Transaction<'_, Postgres>,
    row: &PayoutRow,
    event: &Value,
    verb: &str,
    by: &CurrentUser,
) -> AppResult<()> {
    let event_key = event["hash"].as_str().unwrap_or_default().chars().take(16).collect::<String>();
    let workflow = ApprovalWorkflow::read(row.approval_workflow.as_ref().unwrap_or(&Value::Null), state.settings.payout.required_approvals);
    for (_, email, name) in db::alerts::active_admins(tx).await? {
        let vars = [
            ("admin_name", name.unwrap_or_else(|| "admin".into())),
            ("payout_id", row.payout_id.clone()),
            ("amount", Money::new(row.amount).to_string()),
            ("member_name", row.member_name.clone().unwrap_or_else(|| "a member".into())),
            ("queue_position", row.queue_position.to_string()),
            ("event", verb.to_string()),
            ("actor", by.name.clone().unwrap_or_else(|| by.email.clone())),
            ("required_approvals", workflow.required_approvals.to_string()),
        ];
        let key = format!("payout_awaiting_approval:{}:{event_key}:{}", row.payout_id, email.to_lowercase());
        notify::enqueue(tx, &render("payout_awaiting_approval", &email, key, Some(row.payout_id.clone()), &vars)).await?;
    }
    Ok(())
}

/// An email to the payout's member, keyed to the event.
pub async fn notify_member(
    tx: &mut Transaction<'_, Postgres>,
    row: &PayoutRow,
    template: &'static str,
    event: &Value,
    extra: &[(&str, String)],
) -> AppResult<()> {
    let Some(email) = row.member_email.clone() else { return Ok(()) };
    let event_key = event["hash"].as_str().unwrap_or_default().chars().take(16).collect::<String>();
    let mut vars = vec![
        ("member_name", row.member_name.clone().unwrap_or_else(|| "member".into())),
        ("payout_id", row.payout_id.clone()),
        ("amount", Money::new(row.amount).to_string()),
    ];
    vars.extend(extra.iter().cloned());
    let key = format!("{template}:{}:{event_key}", row.payout_id);
    notify::enqueue(tx, &render(template, &email, key, Some(row.payout_id.clone()), &vars)).await?;
    Ok(())
}

/// The locked row or 404.
pub async fn lock_or_404(tx: &mut Transaction<'_, Postgres>, payout_id: &str) -> AppResult<PayoutRow> {
    db::payouts::lock(tx, payout_id).await?.ok_or(AppError::PayoutNotFound)
}

pub fn invalid_status(row: &PayoutRow, action: Action) -> AppError {
    AppError::Conflict {
        code: "INVALID_STATUS",
        message: format!("Cannot {} a payout that is {}", action.name().replace('-', " "), row.status),
        details: Some(json!({ "payoutId": row.payout_id, "currentStatus": row.status, "action": action.name() })),
    }
}

/// Appends an entry to the row's chain, returning (new trail, the entry).
pub fn chain(row: &PayoutRow, action: &str, by: &str, details: Value) -> (Value, Value) {
    let mut trail = row.trail();
    let entry = audit_chain::entry(&trail, action, by, &approvals::now_iso(), details);
    trail.push(entry.clone());
    (Value::Array(trail), entry)
}

/// Writes the change with compare-and-set and its user_audit_logs row.
#[allow(clippy::too_many_arguments)]
pub async fn commit_change(
    tx: &mut Transaction<'_, Postgres>,
    row: &PayoutRow,
    origin: &audit::Origin,
    action: &str,
    new_status: PayoutStatus,
    change: db::payouts::Change,
    details: Value,
) -> AppResult<()> {
    let old = row.status.clone();
    if !db::payouts::update(tx, row.id, &row.status, change).await? {
        // The row is locked, so this means a bug, not a race: refuse rather than write blind.
        return Err(AppError::internal(anyhow::anyhow!("compare-and-set failed on a locked payout")));
    }
    audit::insert(
        tx,
        &payout_origin(origin, row.user_id),
        audit::AuditLog {
            entity_type: "payout",
            entity_id: Some(row.id),
            action,
            old_values: Some(json!({ "status": old })),
            new_values: Some(json!({ "status": new_status.as_str(), "details": details })),
            success: true,
            error_message: None,
            metadata: json!({ "payoutId": row.payout_id }),
        },
    )
    .await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApproveOutcome {
    pub payout_id: String,
    pub status: PayoutStatus,
    pub current_approvals: u32,
    pub required_approvals: u32,
    pub fully_approved: bool,
}

pub async fn approve(state: &AppState, admin: &CurrentUser, origin: &audit::Origin, payout_id: &str, comment: Option<String>) -> AppResult<ApproveOutcome> {
    let a = admin.admin.as_ref().ok_or_else(|| AppError::Forbidden("Admins only".into()))?;
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    let status = row.status().ok_or_else(|| invalid_status(&row, Action::Approve { completes: false }))?;
    if status != PayoutStatus::PendingApproval {
        return Err(invalid_status(&row, Action::Approve { completes: false }));
    }
    let mut workflow = ApprovalWorkflow::read(row.approval_workflow.as_ref().unwrap_or(&Value::Null), state.settings.payout.required_approvals);
    // The same person may hide behind two admin rows (emails differing in case), or be the
    // member being paid: distinct approvers are distinct people.
    let me = admin.email.to_lowercase();
    if workflow.approvals.iter().any(|x| x.email.as_deref().map(str::to_lowercase).as_deref() == Some(me.as_str()) && x.admin_id != a.id) {
        return Err(AppError::Conflict { code: "ALREADY_APPROVED", message: "You have already approved this payout; another admin must approve it".into(), details: Some(json!({ "payoutId": row.payout_id })) });
    }
    let creator_email: Option<String> = match row.created_by {
        Some(id) => sqlx::query_scalar("SELECT lower(email) FROM admin WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?,
        None => None,
    };
    let is_creator = creator_email.as_deref() == Some(me.as_str()) && row.created_by != Some(a.id);
    if row.user_id == admin.user_id || (is_creator && !state.settings.payout.allow_creator_approval) {
        return Err(AppError::Refused {
            code: "SELF_APPROVAL_FORBIDDEN",
            message: "You cannot approve a payout you created or one that pays you; another admin must".into(),
        });
    }
    let role = serde_json::to_value(a.role).ok().and_then(|v| v.as_str().map(String::from));
    let approval = Approval { admin_id: a.id, email: Some(admin.email.clone()), role, at: Some(approvals::now_iso()), comment };
    let completes = match approvals::approve(&mut workflow, approval, row.created_by, state.settings.payout.allow_creator_approval) {
        Ok(c) => c,
        Err(ApprovalRefusal::AlreadyApproved) => {
            return Err(AppError::Conflict {
                code: "ALREADY_APPROVED",
                message: "You have already approved this payout; another admin must approve it".into(),
                details: Some(json!({ "payoutId": row.payout_id })),
            })
        }
        Err(ApprovalRefusal::SelfApproval) => {
            return Err(AppError::Refused {
                code: "SELF_APPROVAL_FORBIDDEN",
                message: "The admin who created a payout cannot approve it; another admin must".into(),
            })
        }
    };
    let to = transition(status, Action::Approve { completes }).map_err(|_| invalid_status(&row, Action::Approve { completes }))?;
    let details = json!({ "approvals": workflow.current(), "requiredApprovals": workflow.required_approvals, "fullyApproved": completes });
    let (trail, entry) = chain(&row, if completes { "approved" } else { "approval_added" }, &actor(admin), details.clone());
    commit_change(
        &mut tx,
        &row,
        origin,
        if completes { "payout_approved" } else { "payout_approval_added" },
        to,
        db::payouts::Change {
            status: Some(to),
            approval_workflow: Some(serde_json::to_value(&workflow).map_err(AppError::internal)?),
            audit_trail: Some(trail),
            ..Default::default()
        },
        details,
    )
    .await?;
    if completes {
        notify_member(&mut tx, &row, "payout_approved", &entry, &[]).await?;
    }
    tx.commit().await?;
    Ok(ApproveOutcome {
        payout_id: row.payout_id,
        status: to,
        current_approvals: workflow.current(),
        required_approvals: workflow.required_approvals,
        fully_approved: completes,
    })
}

pub async fn reject(state: &AppState, admin: &CurrentUser, origin: &audit::Origin, payout_id: &str, reason: String) -> AppResult<PayoutView> {
    let a = admin.admin.as_ref().ok_or_else(|| AppError::Forbidden("Admins only".into()))?;
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    let from = row.status().ok_or_else(|| invalid_status(&row, Action::Reject))?;
    let to = transition(from, Action::Reject).map_err(|_| invalid_status(&row, Action::Reject))?;
    let mut workflow = ApprovalWorkflow::read(row.approval_workflow.as_ref().unwrap_or(&Value::Null), state.settings.payout.required_approvals);
    workflow.rejection = Some(Rejection { admin_id: a.id, email: Some(admin.email.clone()), at: approvals::now_iso(), reason: reason.clone() });
    let details = json!({ "reason": reason });
    let (trail, entry) = chain(&row, "rejected", &actor(admin), details.clone());
    commit_change(
        &mut tx,
        &row,
        origin,
        "payout_rejected",
        to,
        db::payouts::Change {
            status: Some(to),
            approval_workflow: Some(serde_json::to_value(&workflow).map_err(AppError::internal)?),
            audit_trail: Some(trail),
            ..Default::default()
        },
        details,
    )
    .await?;
    notify_member(&mut tx, &row, "payout_rejected", &entry, &[("reason", reason)]).await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    tx.commit().await?;
    Ok(payout_view(&row, state.settings.payout.required_approvals, true))
}

pub async fn cancel(state: &AppState, admin: &CurrentUser, origin: &audit::Origin, payout_id: &str, reason: String) -> AppResult<PayoutView> {
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    let from = row.status().ok_or_else(|| invalid_status(&row, Action::Cancel))?;
    let to = transition(from, Action::Cancel).map_err(|_| invalid_status(&row, Action::Cancel))?;
    let details = json!({ "reason": reason, "previousStatus": from.as_str() });
    let (trail, _) = chain(&row, "cancelled", &actor(admin), details.clone());
    let mut notes = match &row.internal_notes {
        Some(Value::Array(a)) => a.clone(),
        None | Some(Value::Null) => Vec::new(),
        // Kept, not dropped: whatever the old service stored becomes the first note.
        Some(other) => vec![json!({ "legacy": other })],
    };
    notes.push(json!({ "at": approvals::now_iso(), "by": actor(admin), "note": format!("Cancelled: {reason}") }));
    commit_change(
        &mut tx,
        &row,
        origin,
        "payout_cancelled",
        to,
        db::payouts::Change { status: Some(to), audit_trail: Some(trail), internal_notes: Some(Value::Array(notes)), ..Default::default() },
        details,
    )
    .await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    tx.commit().await?;
    Ok(payout_view(&row, state.settings.payout.required_approvals, true))
}

/// Ids requested more than once.
pub fn duplicates(ids: &[Uuid]) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    let mut dup: Vec<Uuid> = ids.iter().filter(|id| !seen.insert(**id)).copied().collect();
    dup.dedup();
    dup
}
