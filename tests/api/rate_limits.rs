//! SPEC §10 rate limits: per client IP on /api/*, headers, 429, proxies, and a shared store.

use serde_json::Value;

use crate::support::harness::*;

async fn limited_app(extra: &[(&str, &str)]) -> TestApp {
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    env.insert("RATE_LIMIT_MAX".into(), "3".into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    spawn_app_with(env).await
}

fn header(res: &reqwest::Response, name: &str) -> u64 {
    res.headers()[name].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_limit_counts_down_then_answers_429_with_retry_after() {
    let app = limited_app(&[]).await;
    for remaining in [2, 1, 0] {
        let res = app.get("/api/me").await;
        assert_eq!(res.status(), 401, "counted requests still reach the handler");
        assert_eq!(header(&res, "ratelimit-limit"), 3);
        assert_eq!(header(&res, "ratelimit-remaining"), remaining);
        assert!((1..=900).contains(&header(&res, "ratelimit-reset")));
    }
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), 429);
    let retry = header(&res, "retry-after");
    assert!((1..=900).contains(&retry));
    assert_eq!(header(&res, "ratelimit-remaining"), 0);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // Any /api path shares the count, unknown ones included.
    assert_eq!(app.get("/api/openapi.json").await.status(), 429);
}

#[tokio::test]
async fn health_is_exempt_and_does_not_count() {
    let app = limited_app(&[]).await;
    for _ in 0..10 {
        let res = app.get("/api/health").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("ratelimit-limit").is_none());
    }
    for path in ["/health", "/ready", "/metrics"] {
        assert_ne!(app.get(path).await.status(), 429);
    }
    assert_eq!(header(&app.get("/api/me").await, "ratelimit-remaining"), 2);
}

#[tokio::test]
async fn a_client_cannot_pick_its_own_ip_without_a_trusted_proxy() {
    let app = limited_app(&[]).await;
    for i in 0..4 {
        let res = app.client.get(app.url("/api/me")).header("x-forwarded-for", format!("203.0.113.{i}")).send().await.unwrap();
        assert_eq!(res.status() == 429, i == 3, "request {i}");
    }
}

#[tokio::test]
async fn with_one_trusted_hop_the_proxys_view_of_the_client_counts() {
    let app = limited_app(&[("TRUST_PROXY", "1")]).await;
    // The proxy appends the real client; whatever the client wrote before it is ignored.
    for i in 0..3 {
        let res = app.client.get(app.url("/api/me")).header("x-forwarded-for", format!("6.6.6.{i}, 198.51.100.7")).send().await.unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = app.client.get(app.url("/api/me")).header("x-forwarded-for", "7.7.7.7, 198.51.100.7").send().await.unwrap();
    assert_eq!(res.status(), 429, "same client behind a spoofed prefix");
    let res = app.client.get(app.url("/api/me")).header("x-forwarded-for", "198.51.100.8").send().await.unwrap();
    assert_eq!(res.status(), 401, "another client has its own count");
}

#[tokio::test]
async fn two_instances_share_one_limit_through_postgres() {
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    env.insert("RATE_LIMIT_MAX".into(), "4".into());
    env.insert("RATE_LIMIT_STORE".into(), "postgres".into());
    let a = spawn_app_with(env.clone()).await;
    let b = spawn_app_with(env).await;
    let mut remaining = Vec::new();
    for app in [&a, &b, &a, &b] {
        let res = app.get("/api/me").await;
        assert_eq!(res.status(), 401);
        remaining.push(header(&res, "ratelimit-remaining"));
    }
    assert_eq!(remaining, vec![3, 2, 1, 0]);
    assert_eq!(b.get("/api/me").await.status(), 429);
    assert_eq!(a.get("/api/me").await.status(), 429);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_rate_limits").fetch_one(&a.db).await.unwrap();
    assert_eq!(rows, 1, "one counter row for the one client");
}

#[tokio::test]
async fn a_new_window_starts_a_new_count() {
    let app = limited_app(&[("RATE_LIMIT_MAX", "1"), ("RATE_LIMIT_WINDOW_SECS", "2"), ("RATE_LIMIT_STORE", "postgres")]).await;
    // Start just after a window boundary so both requests fall in one window.
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    tokio::time::sleep(std::time::Duration::from_millis(2000 - ms % 2000 + 50)).await;
    app.get("/api/me").await;
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), 429);
    let wait = header(&res, "retry-after");
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 200)).await;
    assert_eq!(app.get("/api/me").await.status(), 401, "allowed again after Retry-After");
}
