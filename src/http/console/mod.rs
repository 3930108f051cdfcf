//! The finance console (SPEC §15): server-rendered pages at `/console` on the main app's
//! session cookie. Every action calls the same use case, with the same body validator, as its
//! JSON endpoint; the pages add only presentation. Forms work without JavaScript (htmx, vendored,
//! only boosts links and forms); every POST carries the session's form token and passes the
//! Origin check; a strict Content-Security-Policy forbids inline script and style.

pub mod assets;
pub mod dev_login;
mod files;
pub mod form;
mod members;
mod overview;
pub mod page;
mod payouts;
mod queue;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::http::AppState;

/// Sent with every console response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every console page and form.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(overview::page))
        .route("/console/", get(overview::page))
        .route("/console/assets/{file}", get(assets::serve))
        .merge(payouts::router())
        .merge(files::router())
        .merge(members::router())
        .route("/console/{*rest}", get(page::not_found).post(page::not_found))
        .layer(middleware::from_fn(security_headers))
}

/// The console's headers: the CSP, no framing, no sniffing, the referrer kept on our own origin
/// (a form POST must carry an Origin for the CSRF check; `no-referrer` would make it `null`).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}
