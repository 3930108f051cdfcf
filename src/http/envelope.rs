//! The success envelope every JSON answer uses (SPEC §10).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

/// Milliseconds-precision UTC timestamp as the envelopes carry it.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The success envelope: `{"data": …, "message"?: …, "timestamp": ISO}`.
pub struct Envelope<T> {
    pub status: StatusCode,
    pub data: T,
    pub message: Option<String>,
}

impl<T: Serialize> Envelope<T> {
    pub fn ok(data: T) -> Self {
        Self { status: StatusCode::OK, data, message: None }
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        let mut body = json!({ "data": self.data, "timestamp": now_iso() });
        if let Some(message) = self.message {
            body["message"] = json!(message);
        }
        (self.status, Json(body)).into_response()
    }
}
