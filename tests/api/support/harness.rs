//! The test harness: one private PostgreSQL per test run (shared by every test, removed when the
//! run ends), a fresh database per test from a template, and the service on a free port.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use payout_service::app::AppState;
use payout_service::auth::token::signed_cookie_value;
use payout_service::config::{Purpose, Settings};
use payout_service::dev::postgres::{Durability, PrivatePostgres};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::watch;
use uuid::Uuid;

pub const SECRET: &str = "test-better-auth-secret-0123456789abcdef";
pub const ENCRYPTION_KEY: &str = "test-encryption-key-32-chars-xx!";

/// Templates: the main app's tables only, and those plus every migration.
pub const FIXTURE_TEMPLATE: &str = "payout_tpl_fixture";
pub const APP_TEMPLATE: &str = "payout_tpl_app";

struct Cluster {
    /// `postgres://…/` without a database name.
    base_url: String,
    suffix: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        // PAYOUT_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432) uses a server you run;
        // otherwise a private one is started for this run and removed when it ends.
        let (base_url, suffix) = match std::env::var("PAYOUT_TEST_PG_URL") {
            Ok(url) => (url.trim_end_matches('/').to_string(), format!("_{}", std::process::id())),
            Err(_) => {
                let root = std::env::temp_dir().join(format!("payout-test-pg-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&root);
                let mut pg = PrivatePostgres::init(&root).unwrap_or_else(|e| panic!("{e:#}"));
                pg.start(Durability::Throwaway).unwrap_or_else(|e| panic!("{e:#}"));
                pg.remove_when_process_exits(std::process::id(), &root).expect("cleanup watchdog");
                (format!("postgres://postgres@127.0.0.1:{}", pg.port()), String::new())
            }
        };
        let cluster = Cluster { base_url, suffix };
        let urls = (cluster.url("postgres"), cluster.url(&cluster.template(FIXTURE_TEMPLATE)), cluster.template(FIXTURE_TEMPLATE), cluster.template(APP_TEMPLATE), cluster.url(&cluster.template(APP_TEMPLATE)));
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let (admin_url, fixture_url, fixture_name, app_name, app_url) = urls;
                let mut admin = PgConnection::connect(&admin_url).await.expect("connect to test cluster");
                for name in [&fixture_name, &app_name] {
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.unwrap();
                }
                sqlx::query(&format!("CREATE DATABASE {fixture_name}")).execute(&mut admin).await.unwrap();
                let mut conn = PgConnection::connect(&fixture_url).await.unwrap();
                sqlx::raw_sql(payout_service::dev::MAIN_APP_FIXTURE).execute(&mut conn).await.expect("fixture applies");
                conn.close().await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {app_name} TEMPLATE {fixture_name}")).execute(&mut admin).await.unwrap();
                let pool = PgPool::connect(&app_url).await.unwrap();
                payout_service::db::migrate::run(&pool).await.expect("migrations apply");
                pool.close().await;
            });
        })
        .join()
        .expect("test database setup");
        cluster
    })
}

impl Cluster {
    fn url(&self, db: &str) -> String {
        format!("{}/{db}", self.base_url)
    }
    fn template(&self, name: &str) -> String {
        format!("{name}{}", self.suffix)
    }
}

/// A new database copied from `template`; returns its URL.
pub async fn fresh_database(template: &str) -> String {
    let c = cluster();
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&c.url("postgres")).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {}", c.template(template)))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    c.url(&name)
}

/// A database with no tables at all.
pub async fn empty_database() -> String {
    let c = cluster();
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&c.url("postgres")).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    c.url(&name)
}

/// The environment a test service starts with; tests add or replace entries.
pub fn base_env(database_url: &str) -> HashMap<String, String> {
    [
        ("DATABASE_URL", database_url),
        ("BETTER_AUTH_SECRET", SECRET),
        ("ENCRYPTION_KEY", ENCRYPTION_KEY),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("ALLOWED_ORIGINS", "http://localhost:3000,https://admin.tenure.test"),
        ("DB_POOL_MIN", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: PgPool,
    pub database_url: String,
    pub client: reqwest::Client,
    pub shutdown: watch::Sender<bool>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    /// A user row with a verified email (as every admin's is); returns its id.
    pub async fn user(&self, email: &str, name: &str) -> Uuid {
        sqlx::query_scalar("INSERT INTO users (id, email, email_verified, name, status) VALUES (gen_random_uuid(), $1, true, $2, 'Active') RETURNING id")
            .bind(email)
            .bind(name)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// An admin row for `email` (linked to a user only by email, as in production).
    pub async fn admin(&self, email: &str, role: &str) -> i32 {
        sqlx::query_scalar("INSERT INTO admin (email, role, name, status) VALUES ($1, $2::enum_admin_role, 'Admin', 'active') RETURNING id")
            .bind(email)
            .bind(role)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// A session the way Better Auth writes it; returns the raw token.
    pub async fn session(&self, user_id: Uuid, expires_in: chrono::Duration) -> String {
        let token: String = Uuid::new_v4().simple().to_string();
        sqlx::query(
            "INSERT INTO session (id, token, expires_at, created_at, updated_at, user_id)
             VALUES ($1, $2, $3, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', $4)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&token)
        .bind((chrono::Utc::now() + expires_in).naive_utc())
        .bind(user_id)
        .execute(&self.db)
        .await
        .unwrap();
        token
    }

    pub fn cookie(token: &str) -> String {
        format!("better-auth.session_token={}", signed_cookie_value(SECRET.as_bytes(), token))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// The service on a free port against a fresh migrated database.
pub async fn spawn_app() -> TestApp {
    let url = fresh_database(APP_TEMPLATE).await;
    spawn_app_with(base_env(&url)).await
}

pub async fn spawn_app_with(env: HashMap<String, String>) -> TestApp {
    spawn_app_with_routes(env, None).await
}

/// As `spawn_app_with`, optionally with extra probe routes mounted under the production middleware.
pub async fn spawn_app_with_routes(
    env: HashMap<String, String>,
    extra: Option<axum::Router<AppState>>,
) -> TestApp {
    let settings = Settings::from_map(&env, Purpose::Serve).expect("test settings are valid");
    let database_url = settings.database_url().unwrap().to_string();
    let pool = payout_service::db::pool(&settings, &database_url).unwrap();
    let state = AppState::new(settings, pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = watch::channel(false);
    let router = match extra {
        Some(extra) => payout_service::http::with_middleware(
            payout_service::http::routes().merge(extra),
            state.clone(),
        ),
        None => payout_service::http::router(state.clone()),
    };
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
            .unwrap();
    });
    TestApp { addr, db: pool, database_url, client: reqwest::Client::new(), shutdown: tx }
}

/// As `spawn_app_with`, plus the background work a real instance runs: the email sender and,
/// when enabled, the scheduler.
pub async fn spawn_app_with_background(env: HashMap<String, String>) -> TestApp {
    let app = spawn_app_with(env.clone()).await;
    let settings = Settings::from_map(&env, Purpose::Serve).expect("test settings are valid");
    let state = AppState::new(settings, app.db.clone());
    let rx = app.shutdown.subscribe();
    payout_service::app::spawn_background(&state, rx);
    app
}

/// Polls `check` every 100 ms for up to `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// Path of the built binary, for the tests that run it as a process.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_payout-service"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A moment `minutes` from now, whole seconds, as the API takes it (`2026-11-25T14:40:00Z`).
/// Payment dates must be sane (SPEC §12): not in the future beyond five minutes, not before the
/// approval; tests use moments just after now.
pub fn minutes_from_now(minutes: i64) -> (chrono::DateTime<chrono::Utc>, String) {
    use chrono::Timelike;
    let t = (chrono::Utc::now() + chrono::Duration::minutes(minutes)).with_nanosecond(0).unwrap();
    (t, t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}
