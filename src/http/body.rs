//! Request bodies: JSON objects read into each endpoint's typed body, whose fields arrive as the
//! client sent them and are validated field by field, so every bad field is reported at once
//! with a message naming it (a wrong type included), not serde's first complaint.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{AppError, FieldError};

/// A JSON object body read into `T`; an empty body reads as `{}` (for actions whose fields are
/// all optional). `T`'s fields are `Option<Value>` described to OpenAPI by their real type, so
/// reading never fails on a field: `T::validate` reports them all.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonObject(map) = JsonObject::from_request(req, state).await?;
        serde_json::from_value(Value::Object(map))
            .map(JsonBody)
            .map_err(|e| AppError::validation(vec![FieldError::new("body", e.to_string())]))
    }
}

/// The body as a JSON object.
struct JsonObject(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.trim_start().to_ascii_lowercase())
            .is_some_and(|ct| ct.starts_with("application/json") || (ct.starts_with("application/") && ct.contains("+json")));
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge
            } else {
                AppError::validation(vec![FieldError::new("body", e.body_text())])
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject(Map::new()));
        }
        if !is_json {
            return Err(AppError::UnsupportedMediaType("Send the body as JSON with Content-Type: application/json".into()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(AppError::validation(vec![FieldError::new("body", "must be a JSON object")])),
            Err(e) => Err(AppError::validation(vec![FieldError::new("body", format!("invalid JSON: {e}"))])),
        }
    }
}

/// Collects field errors while reading fields.
#[derive(Default)]
pub struct Fields {
    pub errors: Vec<FieldError>,
}

impl Fields {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    /// Err with every problem, or Ok.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self.errors))
        }
    }

    /// An optional string of at most `max` characters (trimmed; empty counts as absent).
    pub fn opt_string(&mut self, key: &str, value: Option<&Value>, max: usize) -> Option<String> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                    self.error(key, "must not contain control characters");
                    None
                } else if s.chars().count() > max {
                    self.error(key, format!("must be at most {max} characters"));
                    None
                } else if s.is_empty() {
                    None
                } else {
                    Some(s.to_string())
                }
            }
            Some(_) => {
                self.error(key, "must be a string");
                None
            }
        }
    }

    /// A required non-empty string of at most `max` characters.
    pub fn string(&mut self, key: &str, value: Option<&Value>, max: usize) -> Option<String> {
        let present = matches!(value, Some(Value::String(s)) if !s.trim().is_empty());
        let v = self.opt_string(key, value, max);
        if !present && !self.errors.iter().any(|e| e.path == key) {
            self.error(key, "is required");
        }
        v
    }

    /// A value `parse` accepts, or absent; anything else is reported with `message`.
    pub fn opt_parsed<T>(&mut self, key: &str, value: Option<&Value>, parse: impl Fn(&str) -> Option<T>, message: &str) -> Option<T> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if parse(s).is_some() => parse(s),
            Some(_) => {
                self.error(key, message);
                None
            }
        }
    }

    /// An ISO datetime (or a date, read as midnight UTC).
    pub fn opt_datetime(&mut self, key: &str, value: Option<&Value>) -> Option<DateTime<Utc>> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match parse_datetime(s) {
                Some(t) => Some(t),
                None => {
                    self.error(key, "must be an ISO 8601 datetime such as 2026-11-23T15:00:00Z, or a date such as 2026-11-23 (read as midnight UTC)");
                    None
                }
            },
            Some(_) => {
                self.error(key, "must be a string: an ISO 8601 datetime such as 2026-11-23T15:00:00Z, or a date");
                None
            }
        }
    }

    /// A required ISO datetime (or date).
    pub fn datetime(&mut self, key: &str, value: Option<&Value>) -> Option<DateTime<Utc>> {
        if matches!(value, None | Some(Value::Null)) {
            self.error(key, "is required");
            return None;
        }
        self.opt_datetime(key, value)
    }
}

pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()))
}

pub fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s.trim()).ok()
}
