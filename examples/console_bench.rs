//! Benchmark (run by `bench/console`, not a test): each console page rendered server-side on the
//! dev data, timed in-process through the full router and middleware (session lookup included),
//! for the role that uses it. The dev data gets one payout taken to completed, and a payment
//! file, through the JSON API first, so the payout page shows a full timeline.
//!   DATABASE_URL=… cargo run --release --example console_bench -- [rounds=50]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request};
use payout_service::config::{Purpose, Settings};
use payout_service::http::console::dev_login::DevLogin;
use payout_service::http::AppState;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Bench {
    router: axum::Router,
    cookie_name: String,
}

impl Bench {
    async fn call(&self, method: Method, path: &str, auth: (&str, &str), body: Option<Value>) -> (u16, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        req = match auth {
            ("bearer", token) => req.header(header::AUTHORIZATION, format!("Bearer {token}")),
            (_, cookie) => req.header(header::COOKIE, format!("{}={cookie}", self.cookie_name)),
        };
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec();
        (status, bytes)
    }

    async fn api(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, bytes) = self.call(Method::POST, path, ("bearer", token), Some(body)).await;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(status < 300, "{path}: {status} {v}");
        v
    }
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(samples[samples.len() / 2]), ms(samples[samples.len() * 95 / 100]), ms(*samples.last().unwrap()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let url = std::env::var("DATABASE_URL")?;
    let env: HashMap<String, String> = [("DATABASE_URL".to_string(), url.clone()), ("RATE_LIMIT_MAX".to_string(), "100000".to_string())].into();
    let settings = Settings::from_map(&env, Purpose::Dev).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pool = payout_service::db::pool(&settings, &url)?;
    payout_service::dev::seed::seed(&pool).await?;
    let sessions = payout_service::dev::mint_sessions(&pool, &settings).await?;
    let logins = sessions
        .iter()
        .map(|s| DevLogin { email: s.email.clone(), name: s.name.clone(), role: s.role.map(str::to_string), cookie_value: s.cookie_value.clone() })
        .collect();
    let cookie_name = format!("{}.session_token", settings.auth.cookie_prefix);
    let state = AppState::with_dev_logins(settings, pool.clone(), logins);
    let b = Bench { router: payout_service::http::router(state), cookie_name };
    let person = |name: &str| sessions.iter().find(|s| s.name == name).expect("demo person");
    let (ava, noah, mia, liam) = (person("Ava Sterling"), person("Noah Reyes"), person("Mia Chen"), person("Liam Patel"));

    // One payout from the head of the queue to completed, with an ACH file, through the API.
    let head = payout_service::dev::head_of_queue(&pool).await.expect("a selectable member");
    let created = b.api("/api/payouts", &ava.token, json!({ "userIds": [head] })).await;
    let id = created["data"]["payoutIds"][0].as_str().unwrap().to_string();
    let email: String = sqlx::query_scalar("SELECT email::text FROM users WHERE id = $1").bind(head).fetch_one(&pool).await?;
    let member = sessions.iter().find(|s| s.email == email).expect("the member's session");
    b.api(&format!("/api/members/{head}/bank-info"), &member.token, json!({ "accountHolderName": "Demo Member", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "checking" })).await;
    b.api(&format!("/api/members/{head}/tax-info"), &member.token, json!({ "legalName": "Demo Member", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701" })).await;
    for admin in [noah, mia] {
        b.api(&format!("/api/payouts/{id}/approve"), &admin.token, json!({})).await;
    }
    b.api(&format!("/api/payouts/{id}/generate-instructions"), &ava.token, json!({})).await;
    let file = b.api("/api/payment-files/ach", &ava.token, json!({ "payoutIds": [id] })).await;
    let file_id = file["data"]["id"].as_str().unwrap().to_string();
    let now = chrono::Utc::now().to_rfc3339();
    b.api(&format!("/api/payouts/{id}/mark-sent"), &ava.token, json!({ "sentDate": now, "expectedArrivalDate": now, "paymentFileId": file_id })).await;
    b.api(&format!("/api/payouts/{id}/confirm"), &ava.token, json!({ "completedDate": chrono::Utc::now().to_rfc3339() })).await;

    let pages: Vec<(&str, String, &payout_service::dev::DemoSession)> = vec![
        ("overview", "/console".into(), ava),
        ("queue", "/console/queue".into(), ava),
        ("create review", "/console/payouts/new?count=1".into(), ava),
        ("payouts list", "/console/payouts".into(), ava),
        ("payout (completed, full timeline)", format!("/console/payouts/{id}"), ava),
        ("payout as Support", format!("/console/payouts/{id}"), liam),
        ("confirm page (mark failed)", format!("/console/payouts/{id}/mark-failed"), ava),
        ("files", "/console/files".into(), ava),
        ("file", format!("/console/files/{file_id}"), ava),
        ("member: my payout", "/console/me".into(), member),
        ("member: their payout", format!("/console/payouts/{id}"), member),
        ("dev-login", "/console/dev-login".into(), ava),
    ];
    println!("console pages, server-side, in-process through the router ({rounds} rounds after 5 warm-up)");
    println!("{:<36} {:>9} {:>9} {:>9} {:>8}", "page", "p50 ms", "p95 ms", "max ms", "bytes");
    let mut worst: f64 = 0.0;
    for (name, path, who) in &pages {
        let mut samples = Vec::new();
        let mut size = 0;
        for round in 0..rounds + 5 {
            let started = Instant::now();
            let (status, bytes) = b.call(Method::GET, path, ("cookie", &who.cookie_value), None).await;
            let took = started.elapsed();
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&bytes));
            size = bytes.len();
            if round >= 5 {
                samples.push(took);
            }
        }
        let (p50, p95, max) = stats(samples);
        worst = worst.max(p95);
        println!("{name:<36} {p50:>9.2} {p95:>9.2} {max:>9.2} {size:>8}{}", if p95 > 50.0 { "  OVER 50 ms" } else { "" });
    }
    println!("slowest p95: {worst:.2} ms (target: every page under 50 ms)");
    Ok(())
}
