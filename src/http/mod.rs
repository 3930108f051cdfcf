//! Transport: the router, the cross-cutting middleware and the response envelope.
//! One module per resource, each with its own `router()`, merged here.

pub mod body;
pub mod console;
pub mod csrf;
pub mod envelope;
pub mod error;
pub mod eligibility;
pub mod extract;
pub mod idempotency;
pub mod health;
pub mod me;
pub mod members;
pub mod metrics;
pub mod openapi;
pub mod openapi_answers;
pub mod payment_files;
pub mod payments;
pub mod payouts;
pub mod rate_limit;
pub mod reports;
pub mod request_id;
pub mod session;
pub mod state;
pub mod tax;

pub use state::AppState;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::{AppError, ErrorCode};
use crate::http::error::error_response;

/// JSON bodies above this are refused with 413 PAYLOAD_TOO_LARGE.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

pub use envelope::{now_iso, Envelope};

/// Every endpoint of the service, without middleware.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(me::router())
        .merge(eligibility::router())
        .merge(payouts::router())
        .merge(payments::router())
        .merge(payment_files::router())
        .merge(members::router())
        .merge(tax::router())
        .merge(reports::router())
        .merge(openapi::router())
        .merge(console::router())
}

pub fn router(state: AppState) -> Router {
    let routes = if state.dev_logins.is_some() { routes().merge(console::dev_login::router()) } else { routes() };
    with_middleware(routes, state)
}

/// The cross-cutting stack every route gets: envelope fallbacks, body limit, panic catching,
/// idempotency keys, rate limiting, CORS, and outermost request id / timeout / logs / metrics. Public so tests can mount probe
/// routes under exactly the production stack.
pub fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(CatchPanicLayer::custom(|_panic| {
            // The panic hook logs the message with the request id; the caller gets the opaque envelope.
            error_response(ErrorCode::InternalError, "Internal server error", None)
        }))
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::middleware))
        // Before anything reads the body: a cross-site request is refused unread.
        .layer(middleware::from_fn_with_state(state.clone(), csrf::middleware))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit::middleware))
        .layer(cors(&state.settings.http.allowed_origins))
        // Outermost, so even CORS preflights carry x-request-id and are counted.
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static(request_id::HEADER),
        ])
        .expose_headers([
            HeaderName::from_static(request_id::HEADER),
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Request id, timeout, one log line and the metrics for every request.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id::from_headers(req.headers());
    let method = req.method().clone();
    // A matched route's path is shared (an Arc inside axum): no copy per request.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let timeout = state.settings.http.request_timeout;

    // Every event logged while handling the request carries its id (JSON logs print the span).
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = request_id::scope(id.clone(), tracing::Instrument::instrument(async move {
        match tokio::time::timeout(timeout, next.run(req)).await {
            Ok(response) => response,
            // Dropping the handler's future rolls back any open transaction: all or nothing.
            Err(_) => AppError::ServiceUnavailable(format!(
                "The request took longer than {} s and was abandoned; nothing was changed",
                timeout.as_secs()
            ))
            .into_response(),
        }
    }, span))
    .await;

    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(request_id::HEADER, v);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state.metrics.record(method.as_str(), route, status, elapsed);
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(request_id = %id, http.method = %method, http.route = %route, http.status = status, duration_ms, "request");
    } else {
        tracing::info!(request_id = %id, http.method = %method, http.route = %route, http.status = status, duration_ms, "request");
    }
    response
}

async fn not_found() -> AppError {
    AppError::NotFound("No such endpoint: /docs lists every one".into())
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
