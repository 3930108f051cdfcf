//! Payment files (SPEC §14): NACHA ACH, prenotes and Positive Pay. Finance roles list them;
//! admins create, download (never cached, audited) and void them.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{AppError, AppResult, FieldError};
use crate::http::body::{Fields, JsonBody};
use crate::http::extract::{RequestContext, ValidPath, ValidQuery};
use crate::http::payouts::ReasonBody;
use crate::http::session::{AdminUser, FinanceUser, MoneyAdmin};
use crate::http::{AppState, Envelope};
use crate::workflow::payment_files::{self as workflow, PaymentFile};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/payment-files", get(list))
        .route("/api/payment-files/ach", post(create_ach))
        .route("/api/payment-files/ach-prenote", post(create_prenote))
        .route("/api/payment-files/positive-pay", post(create_positive_pay))
        .route("/api/payment-files/{fileId}", get(read))
        .route("/api/payment-files/{fileId}/download", get(download))
        .route("/api/payment-files/{fileId}/void", post(void))
}

/// `POST /api/payment-files/ach`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "payoutIds": ["PO-20261125-HR5LW8JC"], "effectiveDate": "2026-11-27" }))]
pub struct AchFileBody {
    /// 1–1000 approved ACH payouts with generated instructions.
    #[schema(value_type = Vec<String>, min_items = 1, max_items = 1000)]
    pub payout_ids: Option<Value>,
    /// A Federal Reserve banking day after today (New York); default the next one.
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_date: Option<Value>,
}

/// `POST /api/payment-files/ach-prenote` and `/positive-pay`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "payoutIds": ["PO-20261125-HR5LW8JC"] }))]
pub struct PayoutIdsBody {
    /// 1–1000 payout ids.
    #[schema(value_type = Vec<String>, min_items = 1, max_items = 1000)]
    pub payout_ids: Option<Value>,
}

fn payout_ids(f: &mut Fields, value: Option<&Value>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    match value {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 1000 => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control)) {
                    Some(id) if ids.iter().any(|x| x == id) => f.error(format!("payoutIds[{i}]"), format!("{id} is listed more than once")),
                    Some(id) => ids.push(id.to_string()),
                    None => f.error(format!("payoutIds[{i}]"), "must be a payout id"),
                }
            }
        }
        _ => f.error("payoutIds", "must be a list of 1 to 1000 payout ids"),
    }
    ids
}

impl AchFileBody {
    pub fn validate(self) -> AppResult<(Vec<String>, Option<NaiveDate>)> {
        let mut f = Fields::default();
        let ids = payout_ids(&mut f, self.payout_ids.as_ref());
        let date = match &self.effective_date {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    f.error("effectiveDate", "must be a date (YYYY-MM-DD)");
                    None
                }
            },
            Some(_) => {
                f.error("effectiveDate", "must be a date (YYYY-MM-DD)");
                None
            }
        };
        f.finish()?;
        Ok((ids, date))
    }
}

impl PayoutIdsBody {
    pub fn validate(self) -> AppResult<Vec<String>> {
        let mut f = Fields::default();
        let ids = payout_ids(&mut f, self.payout_ids.as_ref());
        f.finish()?;
        Ok(ids)
    }
}

fn created(file: PaymentFile) -> Envelope<PaymentFile> {
    Envelope { status: StatusCode::CREATED, data: file, message: Some("Payment file created; download it to upload to the bank".into()) }
}

/// A NACHA PPD credit file for approved ACH payouts (SPEC §14).
#[utoipa::path(post, path = "/api/payment-files/ach", tag = "payment-files", request_body = AchFileBody,
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, description = "Created", body = PaymentFile),
              (status = 404, description = "PAYOUT_NOT_FOUND"),
              (status = 409, description = "INVALID_STATUS, INSTRUCTIONS_NOT_GENERATED, DESTINATION_CHANGED or ALREADY_IN_FILE"),
              (status = 422, description = "BANK_PROFILE_MISSING, NOT_A_BANKING_DAY, WRONG_PAYMENT_METHOD or a bank-details problem")))]
pub async fn create_ach(MoneyAdmin(admin): MoneyAdmin, ctx: RequestContext, State(state): State<AppState>, JsonBody(body): JsonBody<AchFileBody>) -> AppResult<Envelope<PaymentFile>> {
    let (ids, date) = body.validate()?;
    Ok(created(workflow::create_ach(&state.ctx, &admin.actor(), &ctx.origin(&admin), ids, date, false).await?))
}

/// Zero-dollar prenote entries (codes 23/33) that test ACH accounts before the live file.
#[utoipa::path(post, path = "/api/payment-files/ach-prenote", tag = "payment-files", request_body = PayoutIdsBody,
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, description = "Created", body = PaymentFile),
              (status = 404, description = "PAYOUT_NOT_FOUND"),
              (status = 409, description = "INVALID_STATUS"),
              (status = 422, description = "BANK_PROFILE_MISSING, WRONG_PAYMENT_METHOD or a bank-details problem")))]
pub async fn create_prenote(AdminUser(admin): AdminUser, ctx: RequestContext, State(state): State<AppState>, JsonBody(body): JsonBody<PayoutIdsBody>) -> AppResult<Envelope<PaymentFile>> {
    let ids = body.validate()?;
    Ok(created(workflow::create_ach(&state.ctx, &admin.actor(), &ctx.origin(&admin), ids, None, true).await?))
}

/// Positive Pay issue records for approved check payouts, and void records since the last file.
#[utoipa::path(post, path = "/api/payment-files/positive-pay", tag = "payment-files", request_body = PayoutIdsBody,
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, description = "Created", body = PaymentFile),
              (status = 404, description = "PAYOUT_NOT_FOUND"),
              (status = 409, description = "INVALID_STATUS, INSTRUCTIONS_NOT_GENERATED, DESTINATION_CHANGED or ALREADY_IN_FILE"),
              (status = 422, description = "BANK_PROFILE_MISSING or WRONG_PAYMENT_METHOD")))]
pub async fn create_positive_pay(MoneyAdmin(admin): MoneyAdmin, ctx: RequestContext, State(state): State<AppState>, JsonBody(body): JsonBody<PayoutIdsBody>) -> AppResult<Envelope<PaymentFile>> {
    let ids = body.validate()?;
    Ok(created(workflow::create_positive_pay(&state.ctx, &admin.actor(), &ctx.origin(&admin), ids).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilesQuery {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Default 0.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// A page of payment files, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFileList {
    pub files: Vec<PaymentFile>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The payment files, newest first (finance roles).
#[utoipa::path(get, path = "/api/payment-files", tag = "payment-files", params(FilesQuery),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "A page of files", body = PaymentFileList)))]
pub async fn list(_user: FinanceUser, State(state): State<AppState>, ValidQuery(q): ValidQuery<FilesQuery>) -> AppResult<Envelope<PaymentFileList>> {
    let (limit, offset) = (q.limit.unwrap_or(50), q.offset.unwrap_or(0));
    let mut errors = Vec::new();
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new("limit", "must be from 1 to 200"));
    }
    if offset < 0 {
        errors.push(FieldError::new("offset", "must be 0 or more"));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let (files, total) = workflow::list(&state.ctx, limit, offset).await?;
    Ok(Envelope::ok(PaymentFileList { files, total, limit, offset }))
}

pub fn file_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::validation(vec![FieldError::new("fileId", "must be a payment file id (a UUID)")]))
}

/// One file's metadata (finance roles).
#[utoipa::path(get, path = "/api/payment-files/{fileId}", tag = "payment-files", params(("fileId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The file's metadata", body = PaymentFile)))]
pub async fn read(_user: FinanceUser, State(state): State<AppState>, ValidPath(id): ValidPath<String>) -> AppResult<Envelope<PaymentFile>> {
    Ok(Envelope::ok(workflow::get(&state.ctx, file_id(&id)?).await?))
}

/// The stored bytes, identical on every download (admins; never cached; audited).
#[utoipa::path(get, path = "/api/payment-files/{fileId}/download", tag = "payment-files", params(("fileId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The file as stored (NACHA text, Positive Pay CSV or fixed-width), for upload to the bank", content_type = "application/octet-stream")))]
pub async fn download(AdminUser(admin): AdminUser, ctx: RequestContext, State(state): State<AppState>, ValidPath(id): ValidPath<String>) -> AppResult<Response> {
    let (file, bytes) = workflow::download(&state.ctx, &admin.actor(), &ctx.origin(&admin), file_id(&id)?).await?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    // Bytes for the bank's upload form, never rendered: the name says what they are.
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&file.sha256) {
        h.insert("x-content-sha256", v);
    }
    Ok(res)
}

/// Voids a file while none of its payouts is marked sent; its payouts may go in a new file.
#[utoipa::path(post, path = "/api/payment-files/{fileId}/void", tag = "payment-files", params(("fileId" = String, Path)),
    request_body = ReasonBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Voided", body = PaymentFile),
              (status = 409, description = "FILE_ALREADY_SENT")))]
pub async fn void(AdminUser(admin): AdminUser, ctx: RequestContext, State(state): State<AppState>, ValidPath(id): ValidPath<String>, JsonBody(body): JsonBody<ReasonBody>) -> AppResult<Envelope<PaymentFile>> {
    let id = file_id(&id)?;
    let reason = body.validate()?;
    Ok(Envelope::ok(workflow::void(&state.ctx, &admin.actor(), &ctx.origin(&admin), id, reason).await?))
}
