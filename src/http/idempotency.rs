//! `Idempotency-Key` on every POST (SPEC §10): the same key and body replays the first response;
//! the same key with another body is 422 IDEMPOTENCY_KEY_REUSED; a duplicate arriving while the
//! first is still running waits for it and replays it. Keys are scoped to the signed-in user and
//! live 24 hours. A 5xx is not remembered, so the client may retry with the same key.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::http::AppState;
use crate::auth::CurrentUser;
use crate::db;
use crate::error::{AppError, ErrorCode, FieldError};
use crate::http::BODY_LIMIT_BYTES;

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// Responses larger than this are not stored (none of ours are; PDFs are GETs).
const MAX_STORED_BYTES: usize = 4 * 1024 * 1024;

enum Claim {
    Mine,
    Existing { request_hash: String, state: String, status: Option<i32>, body: Option<Vec<u8>>, content_type: Option<String>, age: Duration },
}

async fn claim(db: &PgPool, actor: &str, key: &str, method: &str, path: &str, hash: &str) -> Result<Claim, sqlx::Error> {
    // A new key, or an expired one taken over.
    if db::idempotency::claim(db, actor, key, method, path, hash).await? {
        return Ok(Claim::Mine);
    }
    Ok(match db::idempotency::find(db, actor, key).await? {
        Some(k) => Claim::Existing {
            request_hash: k.request_hash,
            state: k.state,
            status: k.response_status,
            body: k.response_body,
            content_type: k.response_content_type,
            age: Duration::from_secs_f64(k.age_secs.max(0.0)),
        },
        // Deleted between the two statements (a failed first attempt): claim again.
        None => return Box::pin(claim(db, actor, key, method, path, hash)).await,
    })
}

fn replay(status: i32, body: Vec<u8>, content_type: Option<String>) -> Response {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    res.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Responses that carry decrypted bank details are never stored: repeating the request is safe
/// (instructions may be generated again while approved) and each decryption is audited.
fn never_stored(path: &str) -> bool {
    path.ends_with("/generate-instructions")
}

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.uri().path().starts_with("/api/") || never_stored(req.uri().path()) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).map(|v| v.to_str().map(str::to_string)) else {
        return next.run(req).await;
    };
    let key = match key {
        Ok(k) if valid_key(k.trim()) => k.trim().to_string(),
        _ => {
            return AppError::validation(vec![FieldError::new("Idempotency-Key", "must be 1–255 visible ASCII characters")])
                .into_response()
        }
    };
    let (mut parts, body) = req.into_parts();
    // Keys belong to the caller; the handler reuses this authentication.
    let user = match CurrentUser::from_request_parts(&mut parts, &state).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT_BYTES).await {
        Ok(b) => b,
        Err(_) => return AppError::PayloadTooLarge.into_response(),
    };
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let hash = {
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update(b" ");
        h.update(path.as_bytes());
        h.update(b"\n");
        // SPEC §13: the same JSON with its keys in another order or other whitespace is the same
        // request (serde_json's map is ordered by key, so re-serializing is canonical).
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(json) => h.update(serde_json::to_vec(&json).unwrap_or_default()),
            Err(_) => h.update(&bytes),
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let actor = format!("user:{}", user.user_id);
    let abandoned_after = state.settings.http.request_timeout * 2;
    let waited = Instant::now();
    loop {
        let claimed = match claim(&state.db, &actor, &key, &method, &path, &hash).await {
            Ok(c) => c,
            Err(e) => return AppError::from(e).into_response(),
        };
        match claimed {
            Claim::Mine => break,
            Claim::Existing { request_hash, .. } if request_hash != hash => {
                return AppError::Refused {
                    code: ErrorCode::IdempotencyKeyReused,
                    message: "This Idempotency-Key was used with a different request; use a new key".into(),
                    details: None,
                }
                .into_response()
            }
            Claim::Existing { state: s, status: Some(status), body, content_type, .. } if s == "completed" => {
                return replay(status, body.unwrap_or_default(), content_type)
            }
            Claim::Existing { age, .. } if age > abandoned_after => match db::idempotency::take_over(&state.db, &actor, &key, &hash, abandoned_after).await {
                Ok(true) => break,
                Ok(false) => continue,
                Err(e) => return AppError::from(e).into_response(),
            },
            Claim::Existing { .. } => {
                if waited.elapsed() > state.settings.http.request_timeout {
                    return AppError::Refused {
                        code: ErrorCode::IdempotencyKeyInProgress,
                        message: "A request with this Idempotency-Key is still being processed; retry shortly".into(),
                        details: None,
                    }
                    .into_response();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    parts.extensions.insert(user);
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (res_parts, res_body) = response.into_parts();
    let body = match axum::body::to_bytes(res_body, MAX_STORED_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let _ = db::idempotency::forget(&state.db, &actor, &key).await;
            return AppError::internal(anyhow::anyhow!("response too large to store for idempotency")).into_response();
        }
    };
    let stored = if res_parts.status.is_server_error() {
        db::idempotency::forget(&state.db, &actor, &key).await
    } else {
        let content_type = res_parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        db::idempotency::complete(&state.db, &actor, &key, res_parts.status.as_u16() as i32, body.as_ref(), content_type).await
    };
    if let Err(e) = stored {
        // The change itself is committed; a retry with this key will run again and be refused
        // by the state checks. Log it and answer normally.
        tracing::warn!(error.message = %e, "could not record the idempotent response");
    }
    Response::from_parts(res_parts, Body::from(body))
}

/// Removes expired keys (run now and then).
pub async fn prune(db: &PgPool) {
    let _ = db::idempotency::prune(db).await;
}
