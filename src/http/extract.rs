//! Extractors that answer in the envelope instead of axum's plain-text rejections.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// `Json<T>` whose failures are 400 VALIDATION_ERROR, 413 PAYLOAD_TOO_LARGE or 415.
pub struct ValidJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ValidJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ValidJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            AppError::UnsupportedMediaType("Send the body as JSON with Content-Type: application/json".into())
        }
        _ => {
            let message = match &rejection {
                JsonRejection::JsonDataError(e) => e.body_text(),
                JsonRejection::JsonSyntaxError(e) => e.body_text(),
                other => other.body_text(),
            };
            AppError::validation(vec![FieldError::new("body", message)])
        }
    }
}

/// `Query<T>` whose failures are 400 VALIDATION_ERROR.
pub struct ValidQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ValidQuery(v)),
            Err(e) => Err(AppError::validation(vec![FieldError::new("query", query_message(&e))])),
        }
    }
}

/// Query parameters read as text into `T` (whose fields are `Option<String>`, validated by `T`
/// itself so each bad value is named): a repeated parameter's last value wins.
pub struct TextQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for TextQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ValidQuery(pairs) = ValidQuery::<Vec<(String, String)>>::from_request_parts(parts, state).await?;
        let map: serde_json::Map<String, serde_json::Value> = pairs.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        serde_json::from_value(serde_json::Value::Object(map))
            .map(TextQuery)
            .map_err(|e| AppError::validation(vec![FieldError::new("query", e.to_string())]))
    }
}

fn query_message(e: &QueryRejection) -> String {
    e.body_text()
}

/// `Path<T>` whose failures are 400 VALIDATION_ERROR.
pub struct ValidPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ValidPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Control characters (a NUL among them) are never part of an id.
        if parts.uri.path().contains("%00") || parts.uri.path().to_ascii_lowercase().contains("%0") || parts.uri.path().to_ascii_lowercase().contains("%1") {
            return Err(AppError::validation(vec![FieldError::new("path", "must not contain control characters")]));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ValidPath(v)),
            Err(e) => Err(AppError::validation(vec![FieldError::new("path", path_message(&e))])),
        }
    }
}

fn path_message(e: &PathRejection) -> String {
    e.body_text()
}

/// Where a request came from, for audit rows: client IP (as far as TRUST_PROXY allows), user
/// agent and request id.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub ip: std::net::IpAddr,
    pub user_agent: Option<String>,
    pub request_id: String,
}

impl RequestContext {
    pub fn origin(&self, user: &crate::auth::CurrentUser) -> crate::db::audit::Origin {
        crate::db::audit::Origin {
            user_id: Some(user.user_id),
            admin_id: user.admin.as_ref().map(|a| a.id),
            ip: Some(self.ip.to_string()),
            user_agent: self.user_agent.clone(),
            request_id: Some(self.request_id.clone()),
        }
    }
}

impl FromRequestParts<crate::http::AppState> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::http::AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Ok(RequestContext {
            ip: state.rate_limiter.client_ip(peer, &parts.headers),
            user_agent,
            request_id: crate::http::request_id::current(),
        })
    }
}
