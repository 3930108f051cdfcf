use serde_json::Value;

use crate::support::harness::*;

#[tokio::test]
async fn health_reports_database_pool_scheduler_and_outbox() {
    let app = spawn_app().await;
    for path in ["/api/health", "/health"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let body: Value = res.json().await.unwrap();
        let data = &body["data"];
        assert_eq!(data["status"], "healthy");
        assert_eq!(data["database"]["status"], "up");
        assert!(data["database"]["latencyMs"].as_f64().unwrap() >= 0.0);
        assert_eq!(data["pool"]["max"], 10);
        assert!(data["pool"]["size"].as_u64().unwrap() >= 1, "the check used a connection");
        assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(data["scheduler"]["enabled"], false);
        assert_eq!(data["outbox"]["pending"], 0);
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}

/// Every call pings the database; the details (outbox, job runs, cancellations) are read at most
/// once a second and shared, so a load balancer's constant calls cost one ping each.
#[tokio::test]
async fn health_pings_every_time_and_rereads_its_details_each_second() {
    let app = spawn_app().await;
    let first: Value = app.get("/health").await.json().await.unwrap();
    sqlx::query("INSERT INTO payout_email_outbox (dedupe_key, template, recipient, subject, body_text) VALUES ('k1', 't', 'a@b.c', 's', 'b')").execute(&app.db).await.unwrap();
    let second: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(second["data"]["detailsAsOf"], first["data"]["detailsAsOf"], "shared within the second");
    assert_eq!(second["data"]["outbox"]["pending"], 0);
    assert!(second["data"]["database"]["latencyMs"].as_f64().is_some(), "but the database was pinged");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third: Value = app.get("/health").await.json().await.unwrap();
    assert_ne!(third["data"]["detailsAsOf"], first["data"]["detailsAsOf"]);
    assert_eq!(third["data"]["outbox"]["pending"], 1, "read again after a second");
}

#[tokio::test]
async fn health_counts_pending_outbox_messages_and_shows_job_runs() {
    let app = spawn_app().await;
    sqlx::query("INSERT INTO payout_email_outbox (dedupe_key, template, recipient, subject, body_text) VALUES ('k1', 't', 'a@b.c', 's', 'b'), ('k2', 't', 'a@b.c', 's', 'b')")
        .execute(&app.db).await.unwrap();
    sqlx::query("INSERT INTO payout_job_slots (job_name, slot, claimed_by, outcome, finished_at, duration_ms) VALUES ('eligibility-check', '2026-11-01T02:00:00Z', 'test', 'succeeded', now(), 12)")
        .execute(&app.db).await.unwrap();
    let body: Value = app.get("/api/health").await.json().await.unwrap();
    assert_eq!(body["data"]["outbox"]["pending"], 2);
    let runs = body["data"]["scheduler"]["lastRuns"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["job"], "eligibility-check");
    assert_eq!(runs[0]["outcome"], "succeeded");
}

#[tokio::test]
async fn health_and_ready_are_503_when_the_database_is_unreachable() {
    let dead = format!("postgres://postgres@127.0.0.1:{}/nowhere", free_port());
    let app = spawn_app_with(base_env(&dead)).await;
    let res = app.get("/api/health").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(body["error"]["details"]["database"]["status"], "down");
    assert_eq!(body["error"]["details"]["status"], "unhealthy");
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 503);
}

#[tokio::test]
async fn ready_needs_the_migrations() {
    let app = spawn_app().await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["ready"], true);

    // A database with the main app's tables but none of our migrations is not ready.
    let url = fresh_database(FIXTURE_TEMPLATE).await;
    let app = spawn_app_with(base_env(&url)).await;
    let res = app.get("/ready").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    let all: Vec<i64> = payout_service::db::migrate::MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(body["error"]["details"]["pendingMigrations"], serde_json::json!(all));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_with_pool_gauges() {
    let app = spawn_app().await;
    app.get("/api/health").await;
    app.get("/api/health").await;
    app.get("/no/such/thing").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains(r#"http_requests_total{method="GET",route="/api/health",status="200"} 2"#), "{text}");
    assert!(text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#), "{text}");
    assert!(text.contains(r#"http_request_duration_seconds_count{method="GET",route="/api/health",status="200"} 2"#));
    assert!(text.contains("db_pool_max_connections 10"));
}

#[tokio::test]
async fn openapi_document_and_swagger_ui_are_served() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in ["/api/health", "/ready", "/metrics", "/api/me"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    let res = app.get("/docs/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "Swagger UI page expected");
    // Self-contained: the UI's script is served by us, not fetched from a CDN.
    let js = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(js.status(), 200);
}
