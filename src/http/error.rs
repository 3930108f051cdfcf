//! `AppError` as SPEC §10's error envelope. 500s are logged once here and never show internals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::{AppError, ErrorCode};
use crate::http::request_id;

/// Builds the error envelope; shared by `AppError` and the few places that answer without one.
pub fn error_response(code: ErrorCode, message: &str, details: Option<Value>) -> Response {
    let mut error = json!({
        "code": code,
        "message": message,
        "timestamp": crate::http::envelope::now_iso(),
        "requestId": request_id::current(),
    });
    if let Some(details) = details {
        error["details"] = details;
    }
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
    // Errors are never cached: they describe one request.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(err) = &self {
            tracing::error!(error.message = %err, error.chain = ?err, "request failed");
        }
        let mut response = error_response(self.code(), &self.to_string(), self.details());
        if let AppError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}
