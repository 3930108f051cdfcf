//! The cross-cutting HTTP behaviour, with probe routes mounted under the production middleware.

use axum::routing::{get, post};
use payout_service::app::AppState;
use payout_service::http::extract::ValidJson;
use payout_service::http::Envelope;
use serde_json::{json, Value};

use crate::support::harness::*;

fn probes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/test/echo", post(|ValidJson(v): ValidJson<Value>| async move { Envelope::ok(v) }))
        .route("/api/test/panic", get(|| async {
                if std::hint::black_box(true) {
                    panic!("secret internals: database password is hunter2");
                }
                Envelope::ok("unreachable")
            }))
        .route(
            "/api/test/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                Envelope::ok("late")
            }),
        )
}

async fn probe_app(extra_env: &[(&str, &str)]) -> TestApp {
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    for (k, v) in extra_env {
        env.insert(k.to_string(), v.to_string());
    }
    spawn_app_with_routes(env, Some(probes())).await
}

fn assert_error_envelope(body: &Value, code: &str, request_id: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(body["error"]["requestId"], request_id);
    assert!(body["error"]["timestamp"].as_str().is_some());
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_envelope_with_the_request_id() {
    let app = spawn_app().await;
    let res = app.get("/api/nothing-here").await;
    assert_eq!(res.status(), 404);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a generated UUID");
    let body: Value = res.json().await.unwrap();
    assert_error_envelope(&body, "NOT_FOUND", &id);
}

#[tokio::test]
async fn a_callers_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/api/health")).header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    let res = app.client.get(app.url("/nope")).header("x-request-id", "trace-xyz").send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["requestId"], "trace-xyz");
    let long = "x".repeat(300);
    let res = app.client.get(app.url("/api/health")).header("x-request-id", &long).send().await.unwrap();
    assert_ne!(res.headers()["x-request-id"], long.as_str());
}

#[tokio::test]
async fn wrong_method_is_405_in_the_envelope() {
    let app = spawn_app().await;
    let res = app.client.delete(app.url("/api/health")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn json_bodies_over_one_mib_are_413_in_the_envelope() {
    let app = probe_app(&[]).await;
    let small = json!({ "note": "x".repeat(1000) });
    let res = app.client.post(app.url("/api/test/echo")).json(&small).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"], small);

    let big = json!({ "note": "x".repeat(1024 * 1024 + 10) });
    let res = app.client.post(app.url("/api/test/echo")).json(&big).send().await.unwrap();
    assert_eq!(res.status(), 413);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    assert_error_envelope(&body, "PAYLOAD_TOO_LARGE", &id);
}

#[tokio::test]
async fn malformed_json_is_a_400_validation_error_with_details() {
    let app = probe_app(&[]).await;
    let res = app
        .client
        .post(app.url("/api/test/echo"))
        .header("content-type", "application/json")
        .body("{\"a\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(body["error"]["details"][0]["path"], "body");
    let res = app.client.post(app.url("/api/test/echo")).body("{}").send().await.unwrap();
    assert_eq!(res.status(), 415, "no JSON content type");
}

#[tokio::test]
async fn a_panic_becomes_an_opaque_500_and_the_service_keeps_serving() {
    let app = probe_app(&[]).await;
    let res = app.get("/api/test/panic").await;
    assert_eq!(res.status(), 500);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let text = res.text().await.unwrap();
    assert!(!text.contains("hunter2"), "internals must not leak: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_error_envelope(&body, "INTERNAL_ERROR", &id);
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn a_request_past_the_timeout_is_abandoned_with_a_503() {
    let app = probe_app(&[("REQUEST_TIMEOUT_SECS", "1")]).await;
    let started = std::time::Instant::now();
    let res = app.get("/api/test/slow").await;
    assert_eq!(res.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn cors_allows_configured_origins_with_credentials_only() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/me"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,idempotency-key")
            .send()
    };
    let res = preflight("https://admin.tenure.test").await.unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], "https://admin.tenure.test");
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let allowed = res.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(allowed.contains("idempotency-key"));

    let res = preflight("https://evil.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let res = app.client.get(app.url("/api/health")).header("origin", "http://localhost:3000").send().await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "http://localhost:3000");
    let exposed = res.headers()["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-request-id"));
}
