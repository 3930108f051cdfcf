//! `/api/payouts/{payoutId}/…` payment steps: instructions, sent, confirmed, failed, reissued,
//! and the two PDFs.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::domain::change::{ConfirmDetails, SentDetails};
use crate::error::AppResult;
use crate::http::body::{Fields, JsonBody};
use crate::http::extract::{RequestContext, ValidPath};
use crate::http::session::{AdminUser, FinanceUser, MoneyAdmin};
use crate::http::{AppState, Envelope};
use crate::workflow::payments::{self as workflow, Instructions};
use crate::workflow::view::{payout_view, PayoutView};
use crate::workflow::{documents, payouts};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/payouts/{payoutId}/generate-instructions", post(generate_instructions))
        .route("/api/payouts/{payoutId}/mark-sent", post(mark_sent))
        .route("/api/payouts/{payoutId}/confirm", post(confirm))
        .route("/api/payouts/{payoutId}/mark-failed", post(mark_failed))
        .route("/api/payouts/{payoutId}/reissue", post(reissue))
        .route("/api/payouts/{payoutId}/receipt", get(receipt))
        .route("/api/payouts/{payoutId}/instructions.pdf", get(instructions_pdf))
}

/// No fields: the action takes everything from the payout. The body may be empty or a JSON
/// object (its fields are ignored); anything else is refused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({}))]
pub struct NoBody {}

/// Computes the calculation and the payment instructions (admins). For ACH this is the one place
/// bank details are decrypted: the answer is never cached and the decryption is audited.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/generate-instructions", tag = "payments", params(("payoutId" = String, Path)),
    request_body = NoBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Instructions (Cache-Control: no-store)", body = Instructions),
              (status = 409, description = "INVALID_STATUS (not approved)"),
              (status = 422, description = "BANK_DETAILS_MISSING, BANK_DETAILS_UNREADABLE, ADDRESS_MISSING or UNSUPPORTED_PAYMENT_METHOD")))]
pub async fn generate_instructions(
    MoneyAdmin(admin): MoneyAdmin,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    _body: JsonBody<NoBody>,
) -> AppResult<Response> {
    let instructions = workflow::generate_instructions(&state.ctx, &admin.actor(), &ctx.origin(&admin), &payout_id).await?;
    let mut res = Envelope::ok(instructions).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// `POST /api/payouts/{payoutId}/mark-sent`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "sentDate": "2026-11-23T15:00:00Z", "expectedArrivalDate": "2026-11-25T15:00:00Z", "trackingNumber": "ACH-4411" }))]
pub struct MarkSentBody {
    /// ISO 8601 datetime (a date reads as midnight UTC).
    #[schema(value_type = String, format = DateTime)]
    pub sent_date: Option<Value>,
    /// Not before `sentDate`.
    #[schema(value_type = String, format = DateTime)]
    pub expected_arrival_date: Option<Value>,
    #[schema(value_type = Option<String>, max_length = 100)]
    pub tracking_number: Option<Value>,
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub notes: Option<Value>,
    /// The payment file the money went out in; it must be the payout's live ACH or Positive Pay file.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub payment_file_id: Option<Value>,
}

impl MarkSentBody {
    pub fn validate(self) -> AppResult<SentDetails> {
        let mut f = Fields::default();
        let sent_date = f.datetime("sentDate", self.sent_date.as_ref());
        let expected = f.datetime("expectedArrivalDate", self.expected_arrival_date.as_ref());
        let tracking_number = f.opt_string("trackingNumber", self.tracking_number.as_ref(), 100);
        let notes = f.opt_string("notes", self.notes.as_ref(), 2000);
        let payment_file_id = f.opt_parsed("paymentFileId", self.payment_file_id.as_ref(), |t| uuid::Uuid::parse_str(t).ok().map(|u| u.to_string()), "must be a payment file id (a UUID)");
        if let (Some(s), Some(e)) = (sent_date, expected) {
            if e < s {
                f.error("expectedArrivalDate", "must not be before sentDate");
            }
        }
        f.finish()?;
        Ok(SentDetails { sent_date: sent_date.unwrap_or_default(), expected_arrival: expected.unwrap_or_default(), tracking_number, notes, payment_file_id })
    }
}

/// Records that the money was sent (finance roles).
#[utoipa::path(post, path = "/api/payouts/{payoutId}/mark-sent", tag = "payments", params(("payoutId" = String, Path)),
    request_body = MarkSentBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "payment_sent", body = PayoutView),
              (status = 409, description = "INVALID_STATUS or INSTRUCTIONS_NOT_GENERATED")))]
pub async fn mark_sent(
    FinanceUser(user): FinanceUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonBody(body): JsonBody<MarkSentBody>,
) -> AppResult<Envelope<PayoutView>> {
    let sent = body.validate()?;
    let payout = workflow::mark_sent(&state.ctx, &user.actor(), &ctx.origin(&user), &payout_id, sent).await?;
    Ok(Envelope::ok(payout_view(&payout, true)))
}

/// `POST /api/payouts/{payoutId}/confirm`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "completedDate": "2026-11-25T15:00:00Z", "confirmationNumber": "FED-20261125-0042" }))]
pub struct ConfirmBody {
    /// ISO 8601 datetime; not before the sent date.
    #[schema(value_type = String, format = DateTime)]
    pub completed_date: Option<Value>,
    #[schema(value_type = Option<String>, max_length = 100)]
    pub confirmation_number: Option<Value>,
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub notes: Option<Value>,
}

impl ConfirmBody {
    pub fn validate(self) -> AppResult<ConfirmDetails> {
        let mut f = Fields::default();
        let completed_date = f.datetime("completedDate", self.completed_date.as_ref());
        let confirmation_number = f.opt_string("confirmationNumber", self.confirmation_number.as_ref(), 100);
        let notes = f.opt_string("notes", self.notes.as_ref(), 2000);
        f.finish()?;
        Ok(ConfirmDetails { completed_date: completed_date.unwrap_or_default(), confirmation_number, notes })
    }
}

/// Confirms the money arrived (finance roles): the payout completes and its 1099-MISC is written.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/confirm", tag = "payments", params(("payoutId" = String, Path)),
    request_body = ConfirmBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "completed; receipt issued", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn confirm(
    FinanceUser(user): FinanceUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> AppResult<Envelope<PayoutView>> {
    let details = body.validate()?;
    let payout = workflow::confirm(&state.ctx, &user.actor(), &ctx.origin(&user), &payout_id, details).await?;
    Ok(Envelope::ok(payout_view(&payout, true)))
}

/// `POST /api/payouts/{payoutId}/mark-failed`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "reason": "Returned by the receiving bank", "returnCode": "R03" }))]
pub struct MarkFailedBody {
    /// Required, at most 2000 characters.
    #[schema(value_type = String, max_length = 2000)]
    pub reason: Option<Value>,
    /// An ACH return code R01–R99.
    #[schema(value_type = Option<String>, pattern = "^R[0-9]{2}$")]
    pub return_code: Option<Value>,
}

impl MarkFailedBody {
    pub fn validate(self) -> AppResult<(String, Option<String>)> {
        let mut f = Fields::default();
        let reason = f.string("reason", self.reason.as_ref(), 2000);
        let return_code = f.opt_string("returnCode", self.return_code.as_ref(), 3).map(|c| c.to_ascii_uppercase());
        if let Some(code) = &return_code {
            let digits = &code.as_bytes()[1.min(code.len())..];
            let ok = code.len() == 3 && code.starts_with('R') && digits.iter().all(u8::is_ascii_digit) && code != "R00";
            if !ok {
                f.error("returnCode", "must be an ACH return code R01–R99");
            }
        } else if self.return_code.as_ref().is_some_and(|v| !v.is_null() && !v.is_string()) {
            f.error("returnCode", "must be an ACH return code R01–R99");
        }
        f.finish()?;
        Ok((reason.unwrap_or_default(), return_code))
    }
}

/// Records a failed or returned payment (finance roles).
#[utoipa::path(post, path = "/api/payouts/{payoutId}/mark-failed", tag = "payments", params(("payoutId" = String, Path)),
    request_body = MarkFailedBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "payment_failed", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn mark_failed(
    FinanceUser(user): FinanceUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonBody(body): JsonBody<MarkFailedBody>,
) -> AppResult<Envelope<PayoutView>> {
    let (reason, return_code) = body.validate()?;
    let payout = workflow::mark_failed(&state.ctx, &user.actor(), &ctx.origin(&user), &payout_id, reason, return_code).await?;
    Ok(Envelope::ok(payout_view(&payout, true)))
}

/// Sends a failed payout back for fresh approval (admins).
#[utoipa::path(post, path = "/api/payouts/{payoutId}/reissue", tag = "payments", params(("payoutId" = String, Path)),
    request_body = NoBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "pending_approval, approvals cleared", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn reissue(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    _body: JsonBody<NoBody>,
) -> AppResult<Envelope<PayoutView>> {
    let payout = workflow::reissue(&state.ctx, &admin.actor(), &ctx.origin(&admin), &payout_id).await?;
    Ok(Envelope::ok(payout_view(&payout, true)))
}

fn pdf_response(bytes: Vec<u8>, filename: String) -> Response {
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
pub async fn receipt(user: CurrentUser, State(state): State<AppState>, ValidPath(payout_id): ValidPath<String>) -> AppResult<Response> {
    let actor = user.actor();
    let payout = payouts::visible(&state.ctx, &actor, &payout_id).await?;
    let pdf = documents::receipt(&state.ctx, &actor, &payout).await?;
    Ok(pdf_response(pdf, format!("receipt-{}.pdf", payout.payout_id)))
}

/// The payment instructions as a PDF (admins), destination masked.
#[utoipa::path(get, path = "/api/payouts/{payoutId}/instructions.pdf", tag = "payments", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "application/pdf", content_type = "application/pdf"),
              (status = 409, description = "INSTRUCTIONS_NOT_GENERATED")))]
pub async fn instructions_pdf(_admin: AdminUser, State(state): State<AppState>, ValidPath(payout_id): ValidPath<String>) -> AppResult<Response> {
    let payout = payouts::find(&state.ctx, &payout_id).await?;
    let pdf = documents::instructions_pdf(&state.ctx, &payout).await?;
    Ok(pdf_response(pdf, format!("instructions-{}.pdf", payout.payout_id)))
}
