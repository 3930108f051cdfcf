//! The success envelope every JSON answer uses (SPEC §10).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

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

/// The envelope as written: serialized straight from the data, with no intermediate JSON tree.
#[derive(Serialize)]
struct Wire<T> {
    data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    timestamp: String,
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        (self.status, Json(Wire { data: self.data, message: self.message, timestamp: now_iso() })).into_response()
    }
}
