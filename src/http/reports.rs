//! `/api/reports/…`: downloads for finance staff's spreadsheets.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::AppResult;
use crate::http::extract::TextQuery;
use crate::http::payouts::ListQuery;
use crate::http::session::FinanceUser;
use crate::http::AppState;
use crate::workflow::reports as workflow;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/reports/payouts.csv", get(payouts_csv))
}

/// A file download: never cached (member emails, tax data), saved under `filename`.
pub fn attachment(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Every payout matching the `GET /api/payouts` filters (`limit` and `offset` are checked but
/// ignored: all rows), oldest first, as CSV. Money as decimals; no bank details or TINs.
#[utoipa::path(get, path = "/api/reports/payouts.csv", tag = "reports", params(ListQuery),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "text/csv; charset=utf-8: payout_id, user_id, member_email, member_name, status, payment_method, amount, net_amount, withholding, created_at, approved_at, sent_date, completed_date, tracking_number, confirmation_number (Cache-Control: no-store)",
                content_type = "text/csv; charset=utf-8", body = String),
              (status = 403, description = "FORBIDDEN: finance roles only")))]
pub async fn payouts_csv(_user: FinanceUser, State(state): State<AppState>, TextQuery(q): TextQuery<ListQuery>) -> AppResult<Response> {
    let filter = q.validate()?;
    let bytes = workflow::payouts_csv(&state.ctx, filter).await?;
    Ok(attachment(bytes, "text/csv; charset=utf-8", "payouts.csv"))
}
