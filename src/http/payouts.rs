//! `/api/payouts`: create, list, read, approve, reject, cancel, audit.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{AdminUser, CurrentUser, FinanceUser};
use crate::db;
use crate::domain::audit_chain;
use crate::domain::status::{PayoutStatus, ALL_STATUSES};
use crate::error::{AppError, AppResult};
use crate::http::body::{parse_datetime, parse_uuid, Fields, JsonObject};
use crate::http::extract::{RequestContext, ValidPath, ValidQuery};
use crate::http::Envelope;
use crate::workflow::payments::{self, Instructions};
use crate::workflow::payouts::{self as workflow, ApproveOutcome, CreateRequest, Created};
use crate::workflow::view::{payout_view, PayoutView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/payouts", post(create).get(list))
        .route("/api/payouts/{payoutId}", get(read))
        .route("/api/payouts/{payoutId}/approve", post(approve))
        .route("/api/payouts/{payoutId}/reject", post(reject))
        .route("/api/payouts/{payoutId}/cancel", post(cancel))
        .route("/api/payouts/{payoutId}/audit", get(audit))
        .route("/api/payouts/{payoutId}/generate-instructions", post(generate_instructions))
        .route("/api/payouts/{payoutId}/mark-sent", post(mark_sent))
        .route("/api/payouts/{payoutId}/confirm", post(confirm))
        .route("/api/payouts/{payoutId}/mark-failed", post(mark_failed))
        .route("/api/payouts/{payoutId}/reissue", post(reissue))
        .route("/api/payouts/{payoutId}/receipt", get(receipt))
        .route("/api/payouts/{payoutId}/instructions.pdf", get(instructions_pdf))
}

/// Body: `{"userIds": [uuid, …1..100], "notes"?: string ≤ 2000, "paymentMethod"?: "ach" | "check"}`.
#[derive(serde::Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    user_ids: Vec<uuid::Uuid>,
    notes: Option<String>,
    payment_method: Option<String>,
}

/// Creates payouts for members at the head of the queue (admins). All or nothing.
#[utoipa::path(post, path = "/api/payouts", tag = "payouts", request_body = CreateBody,
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, description = "Created", body = Created),
              (status = 400, description = "VALIDATION_ERROR, duplicated ids"),
              (status = 422, description = "NOT_ELIGIBLE, EXCEEDS_AVAILABLE_PAYOUTS, MEMBER_NOT_SELECTABLE, QUEUE_ORDER_VIOLATION")))]
pub async fn create(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> AppResult<Envelope<Created>> {
    let mut f = Fields::default();
    let mut user_ids = Vec::new();
    match body.get("userIds") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 100 => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().and_then(parse_uuid) {
                    Some(id) if user_ids.contains(&id) => f.error(format!("userIds[{i}]"), format!("{id} is listed more than once")),
                    Some(id) => user_ids.push(id),
                    None => f.error(format!("userIds[{i}]"), "must be a user id (UUID)"),
                }
            }
        }
        Some(Value::Array(items)) if items.is_empty() => f.error("userIds", "must name at least one member"),
        Some(Value::Array(_)) => f.error("userIds", "at most 100 members per request"),
        None | Some(Value::Null) => f.error("userIds", "is required"),
        Some(_) => f.error("userIds", "must be an array of user ids"),
    }
    let notes = f.opt_string(&body, "notes", 2000);
    let payment_method = f.opt_enum(&body, "paymentMethod", &["ach", "check"]).unwrap_or_else(|| "ach".into());
    f.finish()?;
    let created = workflow::create(&state, &admin, &ctx.origin(&admin), CreateRequest { user_ids, notes, payment_method }).await?;
    Ok(Envelope { status: StatusCode::CREATED, data: created, message: Some("Payouts created; each awaits approval".into()) })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutList {
    payouts: Vec<PayoutView>,
    total: i64,
    limit: i64,
    offset: i64,
}

/// Payouts, newest first. Finance roles see all; a member sees only their own.
#[utoipa::path(get, path = "/api/payouts", tag = "payouts",
    params(("status" = Option<String>, Query), ("userId" = Option<String>, Query), ("paymentMethod" = Option<String>, Query),
           ("createdFrom" = Option<String>, Query), ("createdTo" = Option<String>, Query),
           ("limit" = Option<i64>, Query, description = "1–100, default 50"), ("offset" = Option<i64>, Query)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "A page of payouts", body = PayoutList)))]
pub async fn list(
    user: CurrentUser,
    State(state): State<AppState>,
    ValidQuery(q): ValidQuery<HashMap<String, String>>,
) -> AppResult<Envelope<PayoutList>> {
    let mut f = Fields::default();
    let mut filter = db::payouts::ListFilter { limit: 50, ..Default::default() };
    if let Some(s) = q.get("status") {
        match PayoutStatus::parse(s).filter(|p| p.as_str() == s) {
            Some(p) => filter.status = Some(p),
            None => f.error("status", format!("must be one of: {}", ALL_STATUSES.map(|s| s.as_str()).join(", "))),
        }
    }
    if let Some(u) = q.get("userId") {
        match parse_uuid(u) {
            Some(id) => filter.user_id = Some(id),
            None => f.error("userId", "must be a UUID"),
        }
    }
    if let Some(m) = q.get("paymentMethod") {
        if ["ach", "check", "wire", "paypal"].contains(&m.as_str()) {
            filter.payment_method = Some(m.clone());
        } else {
            f.error("paymentMethod", "must be one of: ach, check, wire, paypal");
        }
    }
    for (key, slot) in [("createdFrom", &mut filter.created_from), ("createdTo", &mut filter.created_to)] {
        if let Some(v) = q.get(key) {
            match parse_datetime(v) {
                Some(t) => *slot = Some(t),
                None => f.error(key, "must be an ISO 8601 date or datetime"),
            }
        }
    }
    if let Some(l) = q.get("limit") {
        match l.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => filter.limit = n,
            _ => f.error("limit", "must be a whole number from 1 to 100"),
        }
    }
    if let Some(o) = q.get("offset") {
        match o.parse::<i64>() {
            Ok(n) if n >= 0 => filter.offset = n,
            _ => f.error("offset", "must be a whole number, 0 or more"),
        }
    }
    f.finish()?;
    let finance = user.is_finance_manager();
    if !finance {
        // A member sees their own payouts only; asking for someone else's finds nothing.
        if filter.user_id.is_some_and(|id| id != user.user_id) {
            return Ok(Envelope::ok(PayoutList { payouts: vec![], total: 0, limit: filter.limit, offset: filter.offset }));
        }
        filter.user_id = Some(user.user_id);
    }
    let (rows, total) = db::payouts::list(&state.db, &filter).await?;
    let payouts = rows.iter().map(|r| payout_view(r, state.settings.payout.required_approvals, finance)).collect();
    Ok(Envelope::ok(PayoutList { payouts, total, limit: filter.limit, offset: filter.offset }))
}

/// The row if the caller may see it; otherwise 404, so nobody learns it exists.
pub async fn visible_payout(state: &AppState, user: &CurrentUser, payout_id: &str) -> AppResult<db::payouts::PayoutRow> {
    let row = db::payouts::find(&state.db, payout_id).await?.ok_or(AppError::PayoutNotFound)?;
    if !user.is_finance_manager() && row.user_id != user.user_id {
        return Err(AppError::PayoutNotFound);
    }
    Ok(row)
}

/// One payout with the member's name and email; bank details masked.
#[utoipa::path(get, path = "/api/payouts/{payoutId}", tag = "payouts", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The payout", body = PayoutView),
              (status = 404, description = "PAYOUT_NOT_FOUND (also for another member's payout)")))]
pub async fn read(user: CurrentUser, State(state): State<AppState>, ValidPath(payout_id): ValidPath<String>) -> AppResult<Envelope<PayoutView>> {
    let row = visible_payout(&state, &user, &payout_id).await?;
    Ok(Envelope::ok(payout_view(&row, state.settings.payout.required_approvals, user.is_finance_manager())))
}

/// Approves as the calling admin (`{comment?}`); the required number of distinct admins approves it.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/approve", tag = "payouts", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Approval recorded", body = ApproveOutcome),
              (status = 403, description = "FORBIDDEN or SELF_APPROVAL_FORBIDDEN"),
              (status = 409, description = "INVALID_STATUS or ALREADY_APPROVED")))]
pub async fn approve(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonObject(body): JsonObject,
) -> AppResult<Envelope<ApproveOutcome>> {
    let mut f = Fields::default();
    let comment = f.opt_string(&body, "comment", 2000);
    f.finish()?;
    let outcome = workflow::approve(&state, &admin, &ctx.origin(&admin), &payout_id, comment).await?;
    let message = if outcome.fully_approved { "Payout approved" } else { "Approval recorded; another admin must approve" };
    Ok(Envelope { status: StatusCode::OK, data: outcome, message: Some(message.into()) })
}

fn reason(body: &serde_json::Map<String, Value>) -> AppResult<String> {
    let mut f = Fields::default();
    let reason = f.string(body, "reason", 2000);
    f.finish()?;
    Ok(reason.unwrap_or_default())
}

/// Rejects a payout awaiting approval (`{reason}`); terminal.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/reject", tag = "payouts", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Rejected", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn reject(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonObject(body): JsonObject,
) -> AppResult<Envelope<PayoutView>> {
    let reason = reason(&body)?;
    Ok(Envelope::ok(workflow::reject(&state, &admin, &ctx.origin(&admin), &payout_id, reason).await?))
}

/// Cancels a payout awaiting approval or approved (`{reason}`); terminal.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/cancel", tag = "payouts", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Cancelled", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn cancel(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonObject(body): JsonObject,
) -> AppResult<Envelope<PayoutView>> {
    let reason = reason(&body)?;
    Ok(Envelope::ok(workflow::cancel(&state, &admin, &ctx.origin(&admin), &payout_id, reason).await?))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditTrail {
    payout_id: String,
    #[schema(value_type = Vec<Object>)]
    entries: Vec<Value>,
    /// False when any entry was edited, removed or inserted after the fact.
    chain_valid: bool,
}

/// The payout's hash-chained audit trail (finance roles).
#[utoipa::path(get, path = "/api/payouts/{payoutId}/audit", tag = "payouts", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The trail", body = AuditTrail)))]
pub async fn audit(_user: FinanceUser, State(state): State<AppState>, ValidPath(payout_id): ValidPath<String>) -> AppResult<Envelope<AuditTrail>> {
    let row = db::payouts::find(&state.db, &payout_id).await?.ok_or(AppError::PayoutNotFound)?;
    let raw = row.audit_trail.clone().unwrap_or(Value::Null);
    let chain_valid = audit_chain::verify_with_head(&raw, row.audit_head.as_deref(), row.audit_count);
    Ok(Envelope::ok(AuditTrail { chain_valid, payout_id: row.payout_id.clone(), entries: row.trail() }))
}

/// Computes the calculation and the payment instructions (admins). For ACH this is the one place
/// bank details are decrypted: the answer is never cached and the decryption is audited.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/generate-instructions", tag = "payments", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Instructions (Cache-Control: no-store)", body = Instructions),
              (status = 409, description = "INVALID_STATUS (not approved)"),
              (status = 422, description = "BANK_DETAILS_MISSING or ADDRESS_MISSING")))]
pub async fn generate_instructions(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let instructions = payments::generate_instructions(&state, &admin, &ctx.origin(&admin), &payout_id).await?;
    let mut res = Envelope::ok(instructions).into_response();
    res.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    res.headers_mut().insert(axum::http::header::PRAGMA, axum::http::HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// Records that the money was sent (finance roles): `{sentDate, expectedArrivalDate, trackingNumber?, notes?}`.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/mark-sent", tag = "payments", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "payment_sent", body = PayoutView),
              (status = 409, description = "INVALID_STATUS or INSTRUCTIONS_NOT_GENERATED")))]
pub async fn mark_sent(
    FinanceUser(user): FinanceUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonObject(body): JsonObject,
) -> AppResult<Envelope<PayoutView>> {
    let mut f = Fields::default();
    let sent_date = f.datetime(&body, "sentDate");
    let expected = f.datetime(&body, "expectedArrivalDate");
    let tracking_number = f.opt_string(&body, "trackingNumber", 100);
    let notes = f.opt_string(&body, "notes", 2000);
    if let (Some(s), Some(e)) = (sent_date, expected) {
        if e < s {
            f.error("expectedArrivalDate", "must not be before sentDate");
        }
    }
    f.finish()?;
    let sent = payments::Sent { sent_date: sent_date.unwrap_or_default(), expected_arrival: expected.unwrap_or_default(), tracking_number, notes };
    let row = payments::mark_sent(&state, &user, &ctx.origin(&user), &payout_id, sent).await?;
    Ok(Envelope::ok(payout_view(&row, state.settings.payout.required_approvals, true)))
}

/// Confirms the money arrived (finance roles): `{completedDate, confirmationNumber?, notes?}`.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/confirm", tag = "payments", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "completed; receipt issued", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn confirm(
    FinanceUser(user): FinanceUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonObject(body): JsonObject,
) -> AppResult<Envelope<PayoutView>> {
    let mut f = Fields::default();
    let completed_date = f.datetime(&body, "completedDate");
    let confirmation_number = f.opt_string(&body, "confirmationNumber", 100);
    let notes = f.opt_string(&body, "notes", 2000);
    f.finish()?;
    let c = payments::Confirmation { completed_date: completed_date.unwrap_or_default(), confirmation_number, notes };
    let row = payments::confirm(&state, &user, &ctx.origin(&user), &payout_id, c).await?;
    Ok(Envelope::ok(payout_view(&row, state.settings.payout.required_approvals, true)))
}

/// Records a failed or returned payment (finance roles): `{reason, returnCode?}` (ACH R01–R99).
#[utoipa::path(post, path = "/api/payouts/{payoutId}/mark-failed", tag = "payments", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "payment_failed", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn mark_failed(
    FinanceUser(user): FinanceUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonObject(body): JsonObject,
) -> AppResult<Envelope<PayoutView>> {
    let mut f = Fields::default();
    let reason = f.string(&body, "reason", 2000);
    let return_code = f.opt_string(&body, "returnCode", 3).map(|c| c.to_ascii_uppercase());
    if let Some(code) = &return_code {
        let digits = &code.as_bytes()[1.min(code.len())..];
        let ok = code.len() == 3 && code.starts_with('R') && digits.iter().all(u8::is_ascii_digit) && code != "R00";
        if !ok {
            f.error("returnCode", "must be an ACH return code R01–R99");
        }
    } else if body.get("returnCode").is_some_and(|v| !v.is_null() && !v.is_string()) {
        f.error("returnCode", "must be an ACH return code R01–R99");
    }
    f.finish()?;
    let row = payments::mark_failed(&state, &user, &ctx.origin(&user), &payout_id, reason.unwrap_or_default(), return_code).await?;
    Ok(Envelope::ok(payout_view(&row, state.settings.payout.required_approvals, true)))
}

/// Sends a failed payout back for fresh approval (admins).
#[utoipa::path(post, path = "/api/payouts/{payoutId}/reissue", tag = "payments", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "pending_approval, approvals cleared", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn reissue(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
) -> AppResult<Envelope<PayoutView>> {
    let row = payments::reissue(&state, &admin, &ctx.origin(&admin), &payout_id).await?;
    Ok(Envelope::ok(payout_view(&row, state.settings.payout.required_approvals, true)))
}

fn pdf_response(bytes: Vec<u8>, filename: String) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The PDF receipt of a completed payout (the member or finance roles); 409 before completion.
#[utoipa::path(get, path = "/api/payouts/{payoutId}/receipt", tag = "payments", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "application/pdf", content_type = "application/pdf"),
              (status = 404, description = "PAYOUT_NOT_FOUND"), (status = 409, description = "RECEIPT_NOT_AVAILABLE")))]
pub async fn receipt(user: CurrentUser, State(state): State<AppState>, ValidPath(payout_id): ValidPath<String>) -> AppResult<axum::response::Response> {
    let row = visible_payout(&state, &user, &payout_id).await?;
    let pdf = crate::workflow::documents::receipt(&state, &user.actor(), &row).await?;
    Ok(pdf_response(pdf, format!("receipt-{}.pdf", row.payout_id)))
}

/// The payment instructions as a PDF (admins), destination masked.
#[utoipa::path(get, path = "/api/payouts/{payoutId}/instructions.pdf", tag = "payments", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "application/pdf", content_type = "application/pdf"),
              (status = 409, description = "INSTRUCTIONS_NOT_GENERATED")))]
pub async fn instructions_pdf(_admin: AdminUser, State(state): State<AppState>, ValidPath(payout_id): ValidPath<String>) -> AppResult<axum::response::Response> {
    let row = db::payouts::find(&state.db, &payout_id).await?.ok_or(AppError::PayoutNotFound)?;
    let pdf = crate::workflow::documents::instructions_pdf(&state, &row).await?;
    Ok(pdf_response(pdf, format!("instructions-{}.pdf", row.payout_id)))
}
