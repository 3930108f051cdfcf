//! `/api/members/:userId/…`: a member's payout status, and the bank and tax details a member
//! (or an admin for them) submits.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::domain::bank::{parse_bank_details, BankDetails};
use crate::domain::w9::{parse_w9, W9};
use crate::domain::money::Money;
use crate::domain::payout::{PaymentMethod, Payout};
use crate::domain::status::PayoutStatus;
use crate::error::{AppError, AppResult};
use crate::http::body::JsonBody;
use crate::http::extract::{RequestContext, ValidPath};
use crate::http::{AppState, Envelope};
use crate::workflow::member_details::{self, BankInfoSaved, TaxInfoSaved};
use crate::workflow::payouts;

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
    status: PayoutStatus,
    amount: Money,
    payment_method: PaymentMethod,
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

fn summary(r: &Payout) -> PayoutSummary {
    PayoutSummary {
        payout_id: r.payout_id.clone(),
        status: r.status,
        amount: r.amount,
        payment_method: r.payment_method,
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
    let rows = payouts::of_member(&state.ctx, user_id).await?;
    let current = rows.iter().find(|r| r.status.is_open()).or_else(|| rows.first());
    let removal = rows
        .iter()
        .filter(|r| r.status == PayoutStatus::Completed)
        .filter_map(|r| r.completed_date)
        .max()
        .and_then(|d| d.checked_add_months(Months::new(state.ctx.rules.membership_removal_months)));
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
pub fn may_submit_for(user: &CurrentUser, member: Uuid) -> AppResult<()> {
    if user.user_id == member || user.is_admin() {
        Ok(())
    } else if user.is_finance_manager() {
        Err(AppError::Forbidden("Only the member or an admin may submit these details".into()))
    } else {
        Err(AppError::NotFound("Member not found".into()))
    }
}

/// `POST /api/members/{userId}/bank-info`.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "accountHolderName": "Noah Reyes", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "checking", "bankName": "First Bank" }))]
pub struct BankInfoBody {
    /// 2–100 letters, spaces, hyphens, apostrophes or periods.
    #[schema(value_type = String)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_holder_name: Option<Value>,
    /// 9 digits with a valid ABA checksum.
    #[schema(value_type = String, pattern = "^[0-9]{9}$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_number: Option<Value>,
    /// 4–17 digits.
    #[schema(value_type = String, pattern = "^[0-9]{4,17}$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_number: Option<Value>,
    /// `checking` or `savings`.
    #[schema(value_type = String)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_type: Option<Value>,
    #[schema(value_type = Option<String>, max_length = 100)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<Value>,
}

impl BankInfoBody {
    /// Every field checked by `domain::bank`; all errors together.
    pub fn validate(self) -> AppResult<BankDetails> {
        parse_bank_details(&as_object(&self)).map_err(AppError::validation)
    }
}

/// `POST /api/members/{userId}/tax-info`: a W-9.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "legalName": "Noah Reyes", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701" }))]
pub struct TaxInfoBody {
    #[schema(value_type = String, max_length = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<Value>,
    /// 9 digits, dashes allowed.
    #[schema(value_type = String)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tin: Option<Value>,
    /// `SSN` or `EIN`.
    #[schema(value_type = String)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tin_type: Option<Value>,
    #[schema(value_type = String, max_length = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<Value>,
    #[schema(value_type = Option<String>, max_length = 200)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<Value>,
    #[schema(value_type = String, max_length = 100)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<Value>,
    /// Two capital letters, e.g. TX.
    #[schema(value_type = String)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
    /// 12345 or 12345-6789.
    #[schema(value_type = String)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<Value>,
}

impl TaxInfoBody {
    /// Every field checked by `domain::bank`; all errors together.
    pub fn validate(self) -> AppResult<W9> {
        parse_w9(&as_object(&self)).map_err(AppError::validation)
    }
}

/// The fields the client sent, as the domain's parsers read them.
fn as_object(body: &impl Serialize) -> serde_json::Map<String, Value> {
    match serde_json::to_value(body) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// Bank details for the member's open payout: validated (ABA checksum included), stored
/// encrypted; only last 4, account type and bank name come back. After an approval, a change
/// clears the approvals and returns the payout to pending_approval.
#[utoipa::path(post, path = "/api/members/{userId}/bank-info", tag = "members", params(("userId" = String, Path)),
    request_body = BankInfoBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Saved (masked)", body = BankInfoSaved),
              (status = 400, description = "VALIDATION_ERROR with every bad field"),
              (status = 409, description = "INVALID_STATUS: the open payout is already sent"),
              (status = 422, description = "NO_OPEN_PAYOUT")))]
pub async fn bank_info(
    user: CurrentUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(member): ValidPath<Uuid>,
    JsonBody(body): JsonBody<BankInfoBody>,
) -> AppResult<Envelope<BankInfoSaved>> {
    may_submit_for(&user, member)?;
    let details = body.validate()?;
    let saved = member_details::save_bank_details(&state.ctx, &user.actor(), &ctx.origin(&user), member, details).await?;
    Ok(Envelope::ok(saved))
}

/// A W-9 for the member: stored in tax_forms (W-9, generated, this tax year) with the TIN encrypted.
#[utoipa::path(post, path = "/api/members/{userId}/tax-info", tag = "members", params(("userId" = String, Path)),
    request_body = TaxInfoBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, description = "Saved (TIN masked); earlier W-9s superseded", body = TaxInfoSaved),
              (status = 200, description = "The same W-9 was already on file: nothing added", body = TaxInfoSaved),
              (status = 400, description = "VALIDATION_ERROR with every bad field")))]
pub async fn tax_info(
    user: CurrentUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(member): ValidPath<Uuid>,
    JsonBody(body): JsonBody<TaxInfoBody>,
) -> AppResult<Envelope<TaxInfoSaved>> {
    may_submit_for(&user, member)?;
    let w9 = body.validate()?;
    let saved = member_details::save_w9(&state.ctx, &user.actor(), &ctx.origin(&user), member, w9).await?;
    let (status, message) = if saved.unchanged {
        (axum::http::StatusCode::OK, "This W-9 was already on file; nothing changed")
    } else {
        (axum::http::StatusCode::CREATED, "W-9 on file")
    };
    Ok(Envelope { status, data: saved, message: Some(message.into()) })
}
