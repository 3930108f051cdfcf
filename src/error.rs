//! `AppError`: every failure a request can meet, each with a stable code, rendered as SPEC §10's
//! error envelope. 500s are logged once here and never show internals to the caller.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::http::request_id;

/// One bad field of a request, as `details` lists them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Authentication required")]
    Unauthorized,
    #[error("Session is invalid or expired")]
    InvalidSession,
    #[error("{0}")]
    Forbidden(String),
    /// 403 with its own code (e.g. SELF_APPROVAL_FORBIDDEN).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("Payout not found")]
    PayoutNotFound,
    #[error("{message}")]
    Validation { message: String, details: Vec<FieldError> },
    #[error("{message}")]
    Conflict { code: &'static str, message: String, details: Option<Value> },
    #[error("{message}")]
    Business { code: &'static str, message: String, details: Option<Value> },
    #[error("Request body is larger than the 1 MiB limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("Too many requests; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Anything unexpected. The cause is logged; the caller sees a generic message.
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.path, one.message),
            _ => format!("{} fields are invalid", details.len()),
        };
        AppError::Validation { message, details }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized | AppError::InvalidSession => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Refused { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound(_) | AppError::PayoutNotFound => StatusCode::NOT_FOUND,
            AppError::Validation { .. } => StatusCode::BAD_REQUEST,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Business { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "UNAUTHORIZED",
            AppError::InvalidSession => "INVALID_SESSION",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::PayoutNotFound => "PAYOUT_NOT_FOUND",
            AppError::Validation { .. } => "VALIDATION_ERROR",
            AppError::Conflict { code, .. } | AppError::Business { code, .. } | AppError::Refused { code, .. } => code,
            AppError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            AppError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            AppError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            AppError::Validation { details, .. } => Some(json!(details)),
            AppError::Conflict { details, .. } | AppError::Business { details, .. } => details.clone(),
            _ => None,
        }
    }
}

/// Builds the error envelope; shared by `AppError` and the few places that answer without one.
pub fn error_response(status: StatusCode, code: &str, message: &str, details: Option<Value>) -> Response {
    let mut error = json!({
        "code": code,
        "message": message,
        "timestamp": crate::http::now_iso(),
        "requestId": request_id::current(),
    });
    if let Some(details) = details {
        error["details"] = details;
    }
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
        let mut response = error_response(self.status(), self.code(), &self.to_string(), self.details());
        if let AppError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::PoolTimedOut => AppError::ServiceUnavailable("The database is not answering; try again shortly".into()),
            // Text PostgreSQL cannot store (e.g. a NUL byte) is the caller's input, not our fault.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
                AppError::validation(vec![FieldError::new("body", "contains characters that cannot be stored (e.g. NUL)")])
            }
            _ => AppError::Internal(err.into()),
        }
    }
}

/// Constraint violations that mean a business rule, not a bug: the database backs the rules the
/// code checks first, so these surface only under races the code did not foresee.
pub fn from_constraint(err: sqlx::Error) -> AppError {
    if let sqlx::Error::Database(db) = &err {
        match db.constraint() {
            Some("payout_management_one_open_per_user") => {
                return AppError::Business {
                    code: "MEMBER_NOT_SELECTABLE",
                    message: "The member already has an open payout".into(),
                    details: None,
                }
            }
            Some("payout_management_payout_id_key") => {
                return AppError::Conflict { code: "CONFLICT", message: "Payout id collision; retry".into(), details: None }
            }
            _ => {}
        }
    }
    AppError::from(err)
}

pub type AppResult<T> = Result<T, AppError>;
