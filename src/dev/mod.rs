//! `payout-service dev`: a private database, the main app's tables, migrations, demo data, a
//! session per demo user, ready-to-paste curl commands, then the service itself.

pub mod postgres;
pub mod seed;

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::token::signed_cookie_value;
use crate::config::Settings;

/// The main app's tables (MAIN_APP_SCHEMA.md). Dev and tests only: never applied by serve/migrate.
pub const MAIN_APP_FIXTURE: &str = include_str!("../../db/fixtures/main_app.sql");

pub const DEV_DATABASE: &str = "payout_dev";

/// Creates the main app's tables when the database has none of them yet.
pub async fn apply_fixture_if_absent(db: &PgPool) -> anyhow::Result<bool> {
    let present: Option<String> = sqlx::query_scalar("SELECT to_regclass('public.users')::text").fetch_one(db).await?;
    if present.is_some() {
        return Ok(false);
    }
    sqlx::raw_sql(MAIN_APP_FIXTURE).execute(db).await?;
    Ok(true)
}

/// The project's `.dev` folder (PAYOUT_DEV_DIR overrides): next to Cargo.toml when run through
/// cargo, else the working directory.
pub fn dev_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PAYOUT_DEV_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    base.join(".dev")
}

/// Starts (or reuses) the private cluster under `.dev/pg`, with the dev database created.
pub async fn private_database(root: &Path, reset: bool) -> anyhow::Result<(postgres::PrivatePostgres, String)> {
    let mut pg = match postgres::PrivatePostgres::existing(root)? {
        Some(pg) => pg,
        None => {
            eprintln!("dev: creating a private PostgreSQL cluster in {}", root.display());
            postgres::PrivatePostgres::init(root)?
        }
    };
    pg.start(postgres::Durability::Durable)?;
    let admin = sqlx::PgPool::connect(&pg.url("postgres")).await?;
    if reset {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {DEV_DATABASE} WITH (FORCE)")).execute(&admin).await?;
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(DEV_DATABASE)
        .fetch_one(&admin)
        .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {DEV_DATABASE}")).execute(&admin).await?;
    }
    admin.close().await;
    let url = pg.url(DEV_DATABASE);
    Ok((pg, url))
}

/// One demo user's session, as Better Auth would have written it.
pub struct DemoSession {
    pub email: String,
    pub name: String,
    pub role: Option<&'static str>,
    pub token: String,
    pub cookie_value: String,
}

/// A session per demo user; one still valid for more than a day is reused.
pub async fn mint_sessions(db: &PgPool, settings: &Settings) -> anyhow::Result<Vec<DemoSession>> {
    use secrecy::ExposeSecret;
    let secret = settings.auth.better_auth_secret.as_ref().map(|s| s.expose_secret().to_string()).unwrap_or_default();
    let mut people: Vec<(String, String, Option<&'static str>)> =
        seed::ADMINS.iter().map(|a| (a.email.to_string(), a.name.to_string(), Some(a.role))).collect();
    people.extend(seed::members().into_iter().map(|m| (m.email, m.name, None)));

    let mut sessions = Vec::new();
    for (email, name, role) in people {
        let user_id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(&email).fetch_optional(db).await?;
        let Some(user_id) = user_id else { continue };
        let session_id = format!("dev-session-{user_id}");
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT token FROM session WHERE id = $1 AND expires_at > (now() AT TIME ZONE 'UTC') + interval '1 day'",
        )
        .bind(&session_id)
        .fetch_optional(db)
        .await?;
        let token = match existing {
            Some(token) => token,
            None => {
                let token: String = rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect();
                let expires = (Utc::now() + Duration::days(7)).naive_utc();
                sqlx::query(
                    "INSERT INTO session (id, token, expires_at, created_at, updated_at, ip_address, user_agent, user_id)
                     VALUES ($1, $2, $3, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', '127.0.0.1', 'payout-service dev', $4)
                     ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at",
                )
                .bind(&session_id)
                .bind(&token)
                .bind(expires)
                .bind(user_id)
                .execute(db)
                .await?;
                token
            }
        };
        let cookie_value = signed_cookie_value(secret.as_bytes(), &token);
        sessions.push(DemoSession { email, name, role, token, cookie_value });
    }
    Ok(sessions)
}

/// The block a newcomer pastes from.
pub fn curl_block(
    base: &str,
    cookie_name: &str,
    sessions: &[DemoSession],
    database_url: &str,
    head_of_queue: Option<uuid::Uuid>,
) -> String {
    let cookie = |s: &DemoSession| format!("-H 'Cookie: {cookie_name}={}'", s.cookie_value);
    // Changes are made with the bearer form: a cookie-authenticated POST needs the app's Origin.
    let bearer = |s: &DemoSession| format!("-H 'Authorization: Bearer {}'", s.token);
    let mut out = String::new();
    out.push_str("\n==================== payout service: dev mode ====================\n");
    out.push_str(&format!("Console  {base}/console/dev-login   (sign in as any demo person)\n"));
    out.push_str(&format!("API      {base}      docs {base}/docs\n"));
    out.push_str(&format!("Database {database_url}\n"));
    out.push_str(&format!("Health   curl -s {base}/api/health\n\n"));
    for s in sessions.iter().filter(|s| s.role.is_some()) {
        out.push_str(&format!("# {} — {} ({})\n", s.role.unwrap_or(""), s.name, s.email));
        out.push_str(&format!("curl -s {base}/api/me {}\n", cookie(s)));
    }
    let admins: Vec<&DemoSession> = sessions.iter().filter(|s| matches!(s.role, Some("Super Admin" | "Manager"))).collect();
    if let Some(ava) = admins.first() {
        out.push_str("\n# Eligibility, and the queue with who is selectable (finance roles)\n");
        out.push_str(&format!("curl -s {base}/api/eligibility/status {}\n", cookie(ava)));
        out.push_str(&format!("curl -s '{base}/api/eligibility/members?limit=5' {}\n", cookie(ava)));
        out.push_str(&format!("curl -s {base}/api/payouts {}\n", cookie(ava)));
        if let Some(head) = head_of_queue {
            out.push_str(&format!("\n# Create a payout for the head of the queue as {}; then two other admins approve it\n", ava.name));
            out.push_str(&format!(
                "curl -s -X POST {base}/api/payouts {} -H 'Content-Type: application/json' -d '{{\"userIds\":[\"{head}\"]}}'\n",
                bearer(ava)
            ));
            for other in admins.iter().skip(1).take(2) {
                out.push_str(&format!("#   curl -s -X POST {base}/api/payouts/PAYOUT_ID/approve {}   ({})\n", bearer(other), other.name));
            }
            out.push_str("\n# Bank files with the demo bank profile: after the approvals and generate-instructions,\n");
            out.push_str(&format!("#   curl -s -X POST {base}/api/payouts/PAYOUT_ID/generate-instructions {}\n", bearer(ava)));
            out.push_str(&format!(
                "#   curl -s -X POST {base}/api/payment-files/ach {} -H 'Content-Type: application/json' -d '{{\"payoutIds\":[\"PAYOUT_ID\"]}}'\n",
                bearer(ava)
            ));
            out.push_str(&format!("#   curl -s -o payout.ach {base}/api/payment-files/FILE_ID/download {}\n", bearer(ava)));
            out.push_str(&format!("curl -s {base}/api/payment-files {}\n", cookie(ava)));
        }
    }
    if let Some(member) = sessions.iter().find(|s| s.role.is_none()) {
        out.push_str(&format!("\n# Member — {} ({})\n", member.name, member.email));
        out.push_str(&format!("curl -s {base}/api/me {}\n", cookie(member)));
        out.push_str(&format!("curl -s {base}/api/me -H 'Authorization: Bearer {}'\n", member.token));
        out.push_str(&format!("curl -s {base}/api/payouts {}\n", cookie(member)));
    }
    out.push_str(&format!(
        "\nAll {} demo sessions (cookie values and bearer tokens): .dev/sessions.json\n",
        sessions.len()
    ));
    out.push_str("==================================================================\n\n");
    out
}

/// The first selectable member, for the printed create command.
pub async fn head_of_queue(db: &PgPool) -> Option<uuid::Uuid> {
    let rows = crate::db::eligibility::queue_page(db, 100, 0).await.ok()?;
    rows.into_iter().find(|r| r.blockers().is_empty()).map(|r| r.user_id)
}

pub fn write_sessions_file(dir: &Path, sessions: &[DemoSession]) -> anyhow::Result<()> {
    let list: Vec<_> = sessions
        .iter()
        .map(|s| serde_json::json!({ "email": s.email, "name": s.name, "role": s.role, "bearer": s.token, "cookieValue": s.cookie_value }))
        .collect();
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("sessions.json"), serde_json::to_string_pretty(&list)?)?;
    Ok(())
}
