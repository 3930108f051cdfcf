//! `/api/payouts`: create, list, read, approve, reject, cancel, and the audit trail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::db::payouts::ListFilter;
use crate::domain::payout::PaymentMethod;
use crate::domain::status::{PayoutStatus, ALL_STATUSES};
use crate::error::AppResult;
use crate::http::body::{parse_datetime, parse_uuid, Fields, JsonBody};
use crate::http::extract::{RequestContext, TextQuery, ValidPath};
use crate::http::session::{AdminUser, FinanceUser, MoneyAdmin};
use crate::http::{AppState, Envelope};
use crate::workflow::payouts::{self as workflow, ApproveOutcome, CreateRequest};
use crate::workflow::member_view::PayoutRead;
use crate::workflow::view::{payout_view, PayoutView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/payouts", post(create).get(list))
        .route("/api/payouts/{payoutId}", get(read))
        .route("/api/payouts/{payoutId}/approve", post(approve))
        .route("/api/payouts/{payoutId}/reject", post(reject))
        .route("/api/payouts/{payoutId}/cancel", post(cancel))
        .route("/api/payouts/{payoutId}/audit", get(audit))
}

/// `POST /api/payouts`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "userIds": ["0b6f9c3e-2a51-4c1e-9a57-3f2d1c0e9b11"], "paymentMethod": "ach", "notes": "Q3 reward" }))]
pub struct CreatePayoutsBody {
    /// 1–100 member user ids: the first selectable members in queue order.
    #[schema(value_type = Vec<uuid::Uuid>, min_items = 1, max_items = 100)]
    pub user_ids: Option<Value>,
    /// Kept as the first internal note (at most 2000 characters).
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub notes: Option<Value>,
    /// `ach` (default) or `check`.
    #[schema(value_type = Option<PaymentMethod>)]
    pub payment_method: Option<Value>,
}

impl CreatePayoutsBody {
    pub fn validate(self) -> AppResult<CreateRequest> {
        let mut f = Fields::default();
        let mut user_ids = Vec::new();
        match self.user_ids {
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
        let notes = f.opt_string("notes", self.notes.as_ref(), 2000);
        let payable = |s: &str| PaymentMethod::parse(s).filter(|m| m.is_payable());
        let method = f.opt_parsed("paymentMethod", self.payment_method.as_ref(), payable, &PaymentMethod::one_of(&PaymentMethod::PAYABLE));
        f.finish()?;
        Ok(CreateRequest { user_ids, notes, payment_method: method.unwrap_or(PaymentMethod::Ach) })
    }
}

/// The payouts created, all awaiting approval.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub payout_ids: Vec<String>,
    pub created_count: usize,
    pub payouts: Vec<PayoutView>,
}

/// Creates payouts for members at the head of the queue (admins). All or nothing.
#[utoipa::path(post, path = "/api/payouts", tag = "payouts", request_body = CreatePayoutsBody,
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 201, description = "Created", body = Created),
              (status = 400, description = "VALIDATION_ERROR, duplicated ids"),
              (status = 422, description = "NOT_ELIGIBLE, EXCEEDS_AVAILABLE_PAYOUTS, MEMBER_NOT_SELECTABLE, QUEUE_ORDER_VIOLATION")))]
pub async fn create(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreatePayoutsBody>,
) -> AppResult<Envelope<Created>> {
    let request = body.validate()?;
    let created = workflow::create(&state.ctx, &admin.actor(), &ctx.origin(&admin), request).await?;
    let payouts: Vec<PayoutView> = created.iter().map(|p| payout_view(p, true)).collect();
    let data = Created { payout_ids: payouts.iter().map(|p| p.payout_id.clone()).collect(), created_count: payouts.len(), payouts };
    Ok(Envelope { status: StatusCode::CREATED, data, message: Some("Payouts created; each awaits approval".into()) })
}

/// `GET /api/payouts` filters. Read as text so each bad value is reported by name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(value_type = Option<PayoutStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub user_id: Option<String>,
    #[param(value_type = Option<PaymentMethod>)]
    pub payment_method: Option<String>,
    /// ISO 8601 date or datetime.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_from: Option<String>,
    /// ISO 8601 date or datetime.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_to: Option<String>,
    /// 1–100, default 50.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// 0 or more, default 0.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub offset: Option<String>,
}

impl ListQuery {
    pub fn validate(self) -> AppResult<ListFilter> {
        let mut f = Fields::default();
        let mut filter = ListFilter { limit: 50, ..Default::default() };
        if let Some(s) = &self.status {
            match PayoutStatus::parse(s).filter(|p| p.as_str() == s) {
                Some(p) => filter.status = Some(p),
                None => f.error("status", format!("must be one of: {}", ALL_STATUSES.map(|s| s.as_str()).join(", "))),
            }
        }
        if let Some(u) = &self.user_id {
            match parse_uuid(u) {
                Some(id) => filter.user_id = Some(id),
                None => f.error("userId", "must be a UUID"),
            }
        }
        if let Some(m) = &self.payment_method {
            match PaymentMethod::parse(m) {
                Some(m) => filter.payment_method = Some(m),
                None => f.error("paymentMethod", PaymentMethod::one_of(&PaymentMethod::ALL)),
            }
        }
        for (key, value, slot) in [("createdFrom", &self.created_from, &mut filter.created_from), ("createdTo", &self.created_to, &mut filter.created_to)] {
            if let Some(v) = value {
                match parse_datetime(v) {
                    Some(t) => *slot = Some(t),
                    None => f.error(key, "must be an ISO 8601 date or datetime"),
                }
            }
        }
        match self.limit.as_deref().map(str::parse::<i64>) {
            None => {}
            Some(Ok(n)) if (1..=100).contains(&n) => filter.limit = n,
            Some(_) => f.error("limit", "must be a whole number from 1 to 100"),
        }
        match self.offset.as_deref().map(str::parse::<i64>) {
            None => {}
            Some(Ok(n)) if n >= 0 => filter.offset = n,
            Some(_) => f.error("offset", "must be a whole number, 0 or more"),
        }
        f.finish()?;
        Ok(filter)
    }
}

/// A page of payouts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutList {
    payouts: Vec<PayoutRead>,
    total: i64,
    limit: i64,
    offset: i64,
}

/// Payouts, newest first. Finance roles see all; a member sees only their own.
#[utoipa::path(get, path = "/api/payouts", tag = "payouts", params(ListQuery),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "A page of payouts", body = PayoutList)))]
pub async fn list(user: CurrentUser, State(state): State<AppState>, TextQuery(q): TextQuery<ListQuery>) -> AppResult<Envelope<PayoutList>> {
    let filter = q.validate()?;
    let finance = user.is_finance_manager();
    let (limit, offset) = (filter.limit, filter.offset);
    let Some(filter) = scoped(&user, filter) else {
        return Ok(Envelope::ok(PayoutList { payouts: vec![], total: 0, limit, offset }));
    };
    let (payouts, total) = workflow::list(&state.ctx, &filter).await?;
    let payouts = payouts.iter().map(|p| PayoutRead::of(p, finance)).collect();
    Ok(Envelope::ok(PayoutList { payouts, total, limit: filter.limit, offset: filter.offset }))
}

/// The filter as `user` may use it: finance roles as asked; a member only their own payouts
/// (`None`: they asked for someone else's, which finds nothing).
pub fn scoped(user: &CurrentUser, mut filter: ListFilter) -> Option<ListFilter> {
    if !user.is_finance_manager() {
        if filter.user_id.is_some_and(|id| id != user.user_id) {
            return None;
        }
        filter.user_id = Some(user.user_id);
    }
    Some(filter)
}

/// One payout: finance roles see it whole with the member's name and email (bank details
/// masked); the member sees the allow-listed view of their own.
#[utoipa::path(get, path = "/api/payouts/{payoutId}", tag = "payouts", params(("payoutId" = String, Path)),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The payout", body = PayoutRead),
              (status = 404, description = "PAYOUT_NOT_FOUND (also for another member's payout)")))]
pub async fn read(user: CurrentUser, State(state): State<AppState>, ValidPath(payout_id): ValidPath<String>) -> AppResult<Envelope<PayoutRead>> {
    let payout = workflow::visible(&state.ctx, &user.actor(), &payout_id).await?;
    Ok(Envelope::ok(PayoutRead::of(&payout, user.is_finance_manager())))
}

/// `POST /api/payouts/{payoutId}/approve`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "comment": "Checked the queue and the KYC" }))]
pub struct ApproveBody {
    /// At most 2000 characters.
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub comment: Option<Value>,
}

/// Approves as the calling admin; the required number of distinct admins approves it.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/approve", tag = "payouts", params(("payoutId" = String, Path)),
    request_body = ApproveBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Approval recorded", body = ApproveOutcome),
              (status = 403, description = "FORBIDDEN, SELF_APPROVAL_FORBIDDEN or TWO_FACTOR_REQUIRED"),
              (status = 409, description = "INVALID_STATUS or ALREADY_APPROVED")))]
pub async fn approve(
    MoneyAdmin(admin): MoneyAdmin,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonBody(body): JsonBody<ApproveBody>,
) -> AppResult<Envelope<ApproveOutcome>> {
    let mut f = Fields::default();
    let comment = f.opt_string("comment", body.comment.as_ref(), 2000);
    f.finish()?;
    let outcome = workflow::approve(&state.ctx, &admin.actor(), &ctx.origin(&admin), &payout_id, comment).await?;
    let message = if outcome.fully_approved { "Payout approved" } else { "Approval recorded; another admin must approve" };
    Ok(Envelope { status: StatusCode::OK, data: outcome, message: Some(message.into()) })
}

/// `POST /api/payouts/{payoutId}/reject` and `/cancel`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
#[schema(example = json!({ "reason": "Member asked to defer" }))]
pub struct ReasonBody {
    /// Required, at most 2000 characters.
    #[schema(value_type = String, max_length = 2000)]
    pub reason: Option<Value>,
}

impl ReasonBody {
    pub fn validate(self) -> AppResult<String> {
        let mut f = Fields::default();
        let reason = f.string("reason", self.reason.as_ref(), 2000);
        f.finish()?;
        Ok(reason.unwrap_or_default())
    }
}

/// Rejects a payout awaiting approval; terminal.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/reject", tag = "payouts", params(("payoutId" = String, Path)),
    request_body = ReasonBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Rejected", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn reject(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> AppResult<Envelope<PayoutView>> {
    let reason = body.validate()?;
    let payout = workflow::reject(&state.ctx, &admin.actor(), &ctx.origin(&admin), &payout_id, reason).await?;
    Ok(Envelope::ok(payout_view(&payout, true)))
}

/// Cancels a payout awaiting approval or approved; terminal.
#[utoipa::path(post, path = "/api/payouts/{payoutId}/cancel", tag = "payouts", params(("payoutId" = String, Path)),
    request_body = ReasonBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Cancelled", body = PayoutView), (status = 409, description = "INVALID_STATUS")))]
pub async fn cancel(
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    State(state): State<AppState>,
    ValidPath(payout_id): ValidPath<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> AppResult<Envelope<PayoutView>> {
    let reason = body.validate()?;
    let payout = workflow::cancel(&state.ctx, &admin.actor(), &ctx.origin(&admin), &payout_id, reason).await?;
    Ok(Envelope::ok(payout_view(&payout, true)))
}

/// The hash-chained trail.
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
    let payout = workflow::find(&state.ctx, &payout_id).await?;
    let trail = payout.audit_trail;
    Ok(Envelope::ok(AuditTrail { chain_valid: trail.is_intact(), payout_id: payout.payout_id, entries: trail.entries }))
}
