//! `/api/members/:userId/…`: a member's payout status (bank and tax details arrive with issue 6).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::db;
use crate::domain::money::Money;
use crate::domain::status::PayoutStatus;
use crate::error::{AppError, AppResult};
use crate::http::extract::ValidPath;
use crate::http::Envelope;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/members/{userId}/payout", get(payout_status))
        .route("/api/members/{userId}/bank-info", axum::routing::post(bank_info))
        .route("/api/members/{userId}/tax-info", axum::routing::post(tax_info))
}

/// The member themself, or a finance role; anyone else gets 404 (no existence leak).
pub fn may_see_member(user: &CurrentUser, member: Uuid) -> AppResult<()> {
    if user.user_id == member || user.is_finance_manager() {
        Ok(())
    } else {
        Err(AppError::NotFound("Member not found".into()))
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutSummary {
    payout_id: String,
    status: String,
    amount: Money,
    payment_method: String,
    created_at: Option<DateTime<Utc>>,
    scheduled_date: Option<DateTime<Utc>>,
    completed_date: Option<DateTime<Utc>>,
    receipt_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberPayoutStatus {
    user_id: Uuid,
    has_payout: bool,
    /// The open payout if there is one, else the most recent.
    payout: Option<PayoutSummary>,
    /// When the membership is retired (MEMBERSHIP_REMOVAL_MONTHS after completion).
    membership_removal_date: Option<DateTime<Utc>>,
    /// Every payout of the member, newest first.
    history: Vec<PayoutSummary>,
}

fn summary(r: &db::payouts::PayoutRow) -> PayoutSummary {
    PayoutSummary {
        payout_id: r.payout_id.clone(),
        status: r.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| r.status.clone()),
        amount: Money::new(r.amount),
        payment_method: r.payment_method.clone(),
        created_at: r.created_at,
        scheduled_date: r.scheduled_date,
        completed_date: r.completed_date,
        receipt_url: r.receipt_url.clone(),
    }
}

/// The member's payout status and, once paid, the date the membership will be retired.
#[utoipa::path(get, path = "/api/members/{userId}/payout", tag = "members", params(("userId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Status", body = MemberPayoutStatus), (status = 404, description = "Not the caller's")))]
pub async fn payout_status(
    user: CurrentUser,
    State(state): State<AppState>,
    ValidPath(user_id): ValidPath<Uuid>,
) -> AppResult<Envelope<MemberPayoutStatus>> {
    may_see_member(&user, user_id)?;
    let rows = db::payouts::for_member(&state.db, user_id).await?;
    let current = rows
        .iter()
        .find(|r| r.status().is_some_and(PayoutStatus::is_open))
        .or_else(|| rows.first());
    let removal = rows
        .iter()
        .filter(|r| r.status() == Some(PayoutStatus::Completed))
        .filter_map(|r| r.completed_date)
        .max()
        .and_then(|d| d.checked_add_months(Months::new(state.settings.payout.membership_removal_months)));
    Ok(Envelope::ok(MemberPayoutStatus {
        user_id,
        has_payout: current.is_some(),
        payout: current.map(summary),
        membership_removal_date: removal,
        history: rows.iter().map(summary).collect(),
    }))
}

/// The member themself or an admin may submit details; a finance role that is not an admin gets
/// 403, another member 404.
fn may_submit_for(user: &CurrentUser, member: Uuid) -> AppResult<()> {
    if user.user_id == member || user.is_admin() {
        Ok(())
    } else if user.is_finance_manager() {
        Err(AppError::Forbidden("Only the member or an admin may submit these details".into()))
    } else {
        Err(AppError::NotFound("Member not found".into()))
    }
}

/// Bank details for the member's open payout: validated (ABA checksum included), stored
/// encrypted; only last 4, account type and bank name come back. After an approval, a change
/// clears the approvals and returns the payout to pending_approval.
#[utoipa::path(post, path = "/api/members/{userId}/bank-info", tag = "members", params(("userId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Saved (masked)", body = crate::workflow::payments::BankInfoSaved),
              (status = 400, description = "VALIDATION_ERROR with every bad field"),
              (status = 422, description = "NO_OPEN_PAYOUT")))]
pub async fn bank_info(
    user: CurrentUser,
    ctx: crate::http::extract::RequestContext,
    State(state): State<AppState>,
    ValidPath(member): ValidPath<Uuid>,
    crate::http::body::JsonObject(body): crate::http::body::JsonObject,
) -> AppResult<Envelope<crate::workflow::payments::BankInfoSaved>> {
    may_submit_for(&user, member)?;
    let details = crate::domain::bank::parse_bank_details(&body).map_err(AppError::validation)?;
    let saved = crate::workflow::payments::save_bank_details(&state, &user, &ctx.origin(&user), member, details).await?;
    Ok(Envelope::ok(saved))
}

/// A W-9 for the member: stored in tax_forms (W-9, generated, this tax year) with the TIN encrypted.
#[utoipa::path(post, path = "/api/members/{userId}/tax-info", tag = "members", params(("userId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, description = "Saved (TIN masked)", body = crate::workflow::payments::TaxInfoSaved),
              (status = 400, description = "VALIDATION_ERROR with every bad field")))]
pub async fn tax_info(
    user: CurrentUser,
    ctx: crate::http::extract::RequestContext,
    State(state): State<AppState>,
    ValidPath(member): ValidPath<Uuid>,
    crate::http::body::JsonObject(body): crate::http::body::JsonObject,
) -> AppResult<Envelope<crate::workflow::payments::TaxInfoSaved>> {
    may_submit_for(&user, member)?;
    let w9 = crate::domain::bank::parse_w9(&body).map_err(AppError::validation)?;
    let saved = crate::workflow::payments::save_w9(&state, &user, &ctx.origin(&user), member, w9).await?;
    Ok(Envelope { status: axum::http::StatusCode::CREATED, data: saved, message: Some("W-9 on file".into()) })
}
