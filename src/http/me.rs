//! `GET /api/me`: who the payout service thinks the caller is. Lets the frontends (and the dev
//! curl commands) check a session and its roles without touching any payout.

use axum::routing::get;
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::AppState;
use crate::auth::CurrentUser;
use crate::http::Envelope;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/me", get(me))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    user_id: Uuid,
    email: String,
    name: Option<String>,
    /// `Super Admin`, `Manager`, `Support`, or null for a member.
    admin_role: Option<String>,
    admin_id: Option<i32>,
    is_admin: bool,
    is_finance_manager: bool,
}

/// The signed-in caller and their roles.
#[utoipa::path(get, path = "/api/me", tag = "session",
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The caller", body = Me),
              (status = 401, description = "UNAUTHORIZED or INVALID_SESSION")))]
pub async fn me(user: CurrentUser) -> Envelope<Me> {
    Envelope::ok(Me {
        is_admin: user.is_admin(),
        is_finance_manager: user.is_finance_manager(),
        admin_role: user.admin.as_ref().map(|a| serde_json::to_value(a.role).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()),
        admin_id: user.admin.as_ref().map(|a| a.id),
        user_id: user.user_id,
        email: user.email,
        name: user.name,
    })
}
