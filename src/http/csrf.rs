//! Cross-site request refusal (SPEC §12). A browser sends the session cookie with any request,
//! even one another site's page makes; so an unsafe request (POST, PUT, PATCH, DELETE)
//! authenticated by cookie must come from an allowed origin: its `Origin` (or, without one, its
//! `Referer`) is in ALLOWED_ORIGINS or is this service itself. Otherwise 403 CSRF_REJECTED, before
//! any body is read. Bearer requests are exempt (a page cannot make the browser add them). And
//! an API POST whose `Content-Type` is not JSON is refused even without a body: it is what a
//! cross-site form or `text/plain` request looks like.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, ErrorCode};
use crate::http::AppState;

/// The guard, as middleware.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let unsafe_method = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let path = req.uri().path();
    if unsafe_method && (path == "/console" || path.starts_with("/console/")) {
        // The console's forms: every one from our own pages, signed in or not (dev sign-in has
        // no session yet); the form token is checked on top (`http::console::form`).
        if !from_allowed_origin(req.headers(), &state.settings.http.allowed_origins) {
            return crate::http::console::page::ConsoleError::from(AppError::refused(
                ErrorCode::CsrfRejected,
                "This form did not come from the console's own pages (Origin not allowed); open the console and submit it there",
                None,
            ))
            .into_response();
        }
    }
    if unsafe_method && path.starts_with("/api/") {
        let headers = req.headers();
        if by_cookie(headers, state.sessions.cookie_prefix()) && !from_allowed_origin(headers, &state.settings.http.allowed_origins) {
            return AppError::refused(
                ErrorCode::CsrfRejected,
                "A cookie-authenticated change must come from the app's own pages (Origin not allowed); scripts use a bearer token",
                None,
            )
            .into_response();
        }
        if *req.method() == Method::POST && has_non_json_content_type(headers) {
            return AppError::UnsupportedMediaType("Send the body as JSON with Content-Type: application/json".into()).into_response();
        }
    }
    next.run(req).await
}

/// Authenticated by cookie: a session cookie and no bearer token (the bearer wins when both come).
fn by_cookie(headers: &HeaderMap, prefix: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    let name = format!("{prefix}.session_token=");
    let cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains(&name));
    cookie && !bearer
}

/// `scheme://host[:port]` of an `Origin` or `Referer` value.
fn origin_of(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (!scheme.is_empty() && end > 0).then(|| &value[..scheme.len() + 3 + end])
}

fn from_allowed_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    let text = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    let Some(origin) = text(header::ORIGIN).filter(|o| *o != "null").or_else(|| text(header::REFERER)).and_then(origin_of) else {
        return false;
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    // The service's own pages: the origin names the host the request was sent to.
    let own_host = text(header::HOST);
    origin.split_once("://").is_some_and(|(_, host)| own_host.is_some_and(|h| h.eq_ignore_ascii_case(host)))
}

fn has_non_json_content_type(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        let ct = ct.trim().to_ascii_lowercase();
        !(ct.starts_with("application/json") || (ct.starts_with("application/") && ct.contains("+json")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn origins_are_read_from_origin_or_referer() {
        assert_eq!(origin_of("https://app.example.com/payouts?x=1"), Some("https://app.example.com"));
        assert_eq!(origin_of("http://localhost:3000"), Some("http://localhost:3000"));
        assert_eq!(origin_of("not a url"), None);
        let allowed = vec!["https://app.example.com".to_string()];
        assert!(from_allowed_origin(&headers(&[("origin", "https://app.example.com")]), &allowed));
        assert!(!from_allowed_origin(&headers(&[("origin", "https://evil.example")]), &allowed));
        assert!(from_allowed_origin(&headers(&[("referer", "https://app.example.com/x")]), &allowed));
        assert!(!from_allowed_origin(&headers(&[("origin", "null"), ("referer", "https://evil.example/")]), &allowed));
        assert!(from_allowed_origin(&headers(&[("origin", "http://payouts.internal:3002"), ("host", "payouts.internal:3002")]), &allowed), "itself");
        assert!(!from_allowed_origin(&headers(&[]), &allowed), "neither header");
    }

    #[test]
    fn only_cookie_requests_are_checked() {
        let cookie = ("cookie", "better-auth.session_token=abc.def");
        assert!(by_cookie(&headers(&[cookie]), "better-auth"));
        assert!(!by_cookie(&headers(&[cookie, ("authorization", "Bearer xyz")]), "better-auth"));
        assert!(!by_cookie(&headers(&[("authorization", "Bearer xyz")]), "better-auth"));
    }
}
