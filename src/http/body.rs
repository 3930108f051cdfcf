//! Request bodies as JSON objects, validated field by field so every bad field is reported at once.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{AppError, FieldError};

/// A JSON object body; an empty body reads as `{}` (for actions whose fields are all optional).
pub struct JsonObject(pub Map<String, Value>);

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
    pub fn opt_string(&mut self, body: &Map<String, Value>, key: &str, max: usize) -> Option<String> {
        match body.get(key) {
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
    pub fn string(&mut self, body: &Map<String, Value>, key: &str, max: usize) -> Option<String> {
        let present = matches!(body.get(key), Some(Value::String(s)) if !s.trim().is_empty());
        let v = self.opt_string(body, key, max);
        if !present && !self.errors.iter().any(|e| e.path == key) {
            self.error(key, "is required");
        }
        v
    }

    /// One of `allowed`, or absent.
    pub fn opt_enum(&mut self, body: &Map<String, Value>, key: &str, allowed: &[&str]) -> Option<String> {
        match body.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Some(s.clone()),
            Some(_) => {
                self.error(key, format!("must be one of: {}", allowed.join(", ")));
                None
            }
        }
    }

    /// An ISO datetime (or a date, read as midnight UTC).
    pub fn opt_datetime(&mut self, body: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
        match body.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match parse_datetime(s) {
                Some(t) => Some(t),
                None => {
                    self.error(key, "must be an ISO 8601 datetime such as 2026-11-23T15:00:00Z");
                    None
                }
            },
            Some(_) => {
                self.error(key, "must be an ISO 8601 datetime string");
                None
            }
        }
    }

    pub fn datetime(&mut self, body: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
        if matches!(body.get(key), None | Some(Value::Null)) {
            self.error(key, "is required");
            return None;
        }
        self.opt_datetime(body, key)
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
