//! `/api/eligibility/*`: status (any signed-in user), members (finance roles), check (admins).

use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::AppState;
use crate::auth::CurrentUser;
use crate::http::session::{AdminUser, FinanceUser};
use crate::domain::eligibility::Eligibility;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::extract::{RequestContext, ValidQuery};
use crate::http::Envelope;
use crate::workflow::eligibility::{self as workflow, CheckOutcome, MembersPage, Trigger};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/eligibility/status", get(status))
        .route("/api/eligibility/members", get(members))
        .route("/api/eligibility/check", post(check))
}

/// Whether the company may pay rewards now, and how many.
#[utoipa::path(get, path = "/api/eligibility/status", tag = "eligibility",
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Eligibility", body = Eligibility),
              (status = 401, description = "UNAUTHORIZED or INVALID_SESSION")))]
pub async fn status(_user: CurrentUser, state: axum::extract::State<AppState>) -> AppResult<Envelope<Eligibility>> {
    Ok(Envelope::ok(workflow::current(&state.ctx).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// 1–1000, default 500.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Default 0.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// The queue in position order, each member with `selectable` and its blockers (finance roles).
#[utoipa::path(get, path = "/api/eligibility/members", tag = "eligibility", params(MembersQuery),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The queue", body = MembersPage),
              (status = 403, description = "FORBIDDEN: not a finance role")))]
pub async fn members(
    _user: FinanceUser,
    state: axum::extract::State<AppState>,
    ValidQuery(q): ValidQuery<MembersQuery>,
) -> AppResult<Envelope<MembersPage>> {
    let limit = q.limit.unwrap_or(500);
    let offset = q.offset.unwrap_or(0);
    let mut errors = Vec::new();
    if !(1..=1000).contains(&limit) {
        errors.push(FieldError::new("limit", "must be between 1 and 1000"));
    }
    if offset < 0 {
        errors.push(FieldError::new("offset", "must be 0 or more"));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    Ok(Envelope::ok(workflow::members(&state.ctx, limit, offset).await?))
}

/// Runs the daily eligibility check now: logs it, and when eligible raises today's alert and
/// emails the admins (at most once a day).
#[utoipa::path(post, path = "/api/eligibility/check", tag = "eligibility",
    request_body = crate::http::payments::NoBody, security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The check's result", body = CheckOutcome),
              (status = 403, description = "FORBIDDEN: not an admin")))]
pub async fn check(
    AdminUser(user): AdminUser,
    ctx: RequestContext,
    state: axum::extract::State<AppState>,
    // Read only to refuse what is not an empty body or a JSON object.
    _body: crate::http::body::JsonBody<crate::http::payments::NoBody>,
) -> AppResult<Envelope<CheckOutcome>> {
    let outcome = workflow::check(&state.ctx, Trigger::Manual(ctx.origin(&user))).await?;
    Ok(Envelope::ok(outcome))
}
