//! The request id: taken from `x-request-id` when the caller sends a sane one, else a new UUID.
//! It lives in a task-local for the whole request so errors and logs can name it.

use axum::http::HeaderMap;

tokio::task_local! {
    static REQUEST_ID: String;
}

pub const HEADER: &str = "x-request-id";

/// The current request's id, or "-" outside a request.
/// Logs every panic once, with the request id it happened under (the caller gets the opaque
/// 500 envelope). Installed by the commands that serve requests.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        tracing::error!(request_id = %current(), panic.message = %message, panic.location = %location, "panic");
    }));
}

pub fn current() -> String {
    REQUEST_ID.try_with(|id| id.clone()).unwrap_or_else(|_| "-".to_string())
}

pub async fn scope<F: std::future::Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// Accept the caller's id only when it is short and printable, so it cannot break logs or headers.
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(String::from)
        // A v4 UUID from the thread's generator (no getrandom system call per request).
        .unwrap_or_else(|| uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn takes_a_sane_id_and_replaces_a_bad_one() {
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(from_headers(&h), "abc-123");
        h.insert(HEADER, HeaderValue::from_static("has space"));
        assert_ne!(from_headers(&h), "has space");
        h.insert(HEADER, HeaderValue::from_str(&"x".repeat(200)).unwrap());
        assert_eq!(from_headers(&h).len(), 36);
        let made = uuid::Uuid::parse_str(&from_headers(&HeaderMap::new())).unwrap();
        assert_eq!(made.get_version_num(), 4, "a random (v4) UUID");
        assert_ne!(from_headers(&HeaderMap::new()), from_headers(&HeaderMap::new()));
    }
}
