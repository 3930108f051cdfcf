//! `payout-service dev`: a private database, the main app's tables, migrations, demo data, a
//! session per demo user, ready-to-paste curl commands, then the service itself.

pub mod postgres;
pub mod seed;
pub mod standin;

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
    pub user_id: Uuid,
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
        sessions.push(DemoSession { user_id, email, name, role, token, cookie_value });
    }
    Ok(sessions)
}

/// The block a newcomer reads first: where the console is, each demo person's bearer token, and
/// a whole payout as commands in the order that works (also written to `demo.sh`, which
/// `scripts/demo` runs). `available` is how many payouts the demo revenue can still fund.
pub fn curl_block(base: &str, sessions: &[DemoSession], database_url: &str, head_of_queue: Option<Uuid>, available: Option<i64>) -> String {
    let mut out = String::new();
    out.push_str("\n==================== payout service: dev mode ====================\n");
    out.push_str(&format!("Console  {base}/console/dev-login   (sign in as any demo person)\n"));
    out.push_str(&format!("API      {base}      docs {base}/docs   (Authorize → bearer: paste a token below)\n"));
    out.push_str(&format!("Database {database_url}\n"));
    out.push_str(&format!("Health   curl -s {base}/api/health\n\n"));
    out.push_str("Demo people — bearer token, and a console link that signs in as them:\n");
    let member = head_of_queue.and_then(|id| sessions.iter().find(|s| s.user_id == id)).or_else(|| sessions.iter().find(|s| s.role.is_none()));
    let shown: Vec<(&DemoSession, String)> = sessions
        .iter()
        .filter(|s| s.role.is_some())
        .map(|s| (s, s.role.unwrap_or_default().to_string()))
        .chain(member.map(|m| (m, "Member (head of the queue)".to_string())))
        .collect();
    for (s, role) in &shown {
        out.push_str(&format!("  {:<14} {:<27} {}\n", s.name, role, s.token));
        out.push_str(&format!("  {:<14} {:<27} {base}/console/dev-login?as={}\n", "", "", percent_encoding::utf8_percent_encode(&s.email, percent_encoding::NON_ALPHANUMERIC)));
    }
    out.push_str(&format!("All {} demo people (user ids, roles, tokens, cookies): .dev/sessions.json\n", sessions.len()));
    match (available, demo_script(base, sessions, head_of_queue)) {
        (Some(n), Some(script)) if n > 0 => {
            out.push_str("\n# A whole payout, step by step, in the order that works. Paste into bash (or run scripts/demo).\n");
            out.push_str(&script);
        }
        (Some(0), _) => {
            out.push_str("\nNo payout can be created now: the demo revenue funds no more rewards (each one already has a\n");
            out.push_str("payout). Start afresh with fresh demo data: ./scripts/dev --reset\n");
        }
        _ => out.push_str("\nNobody in the queue can be selected now; ./scripts/dev --reset starts afresh.\n"),
    }
    out.push_str("==================================================================\n\n");
    out
}

/// The lifecycle as a bash script: create, the member's bank details and W-9 (before the
/// approvals: new details after an approval clear it), two approvals, instructions, an ACH file,
/// sent, confirmed, the member's receipt. `None` without the people it needs.
pub fn demo_script(base: &str, sessions: &[DemoSession], head: Option<Uuid>) -> Option<String> {
    let by_name = |n: &str| sessions.iter().find(|s| s.name == n);
    let (ava, noah, mia) = (by_name("Ava Sterling")?, by_name("Noah Reyes")?, by_name("Mia Chen")?);
    let head = head?;
    let member = sessions.iter().find(|s| s.user_id == head)?;
    let json = "-H 'Content-Type: application/json'";
    let mut s = String::new();
    s.push_str(&format!("B={base}\nAVA={}\nNOAH={}\nMIA={}\nMEMBER={}\nM={head}\n", ava.token, noah.token, mia.token, member.token));
    s.push_str(&format!("# 1. Ava creates the payout for the head of the queue ({}); P is its id\n", member.name));
    s.push_str(&format!(
        "P=$(curl -s -X POST $B/api/payouts -H \"Authorization: Bearer $AVA\" {json} -d \"{{\\\"userIds\\\":[\\\"$M\\\"]}}\" | grep -o 'PO-[0-9]*-[A-Z0-9]*' | head -1); echo \"payout: $P\"\n"
    ));
    s.push_str("# 2. The member enters bank details and a W-9 (before any approval)\n");
    s.push_str(&format!(
        "curl -s -X POST $B/api/members/$M/bank-info -H \"Authorization: Bearer $MEMBER\" {json} -d '{{\"accountHolderName\":\"{}\",\"routingNumber\":\"011000015\",\"accountNumber\":\"123456789\",\"accountType\":\"checking\",\"bankName\":\"First Demo Bank\"}}'; echo\n",
        member.name
    ));
    s.push_str(&format!(
        "curl -s -X POST $B/api/members/$M/tax-info -H \"Authorization: Bearer $MEMBER\" {json} -d '{{\"legalName\":\"{}\",\"tin\":\"123-45-6789\",\"tinType\":\"SSN\",\"addressLine1\":\"100 Congress Ave\",\"city\":\"Austin\",\"state\":\"TX\",\"postalCode\":\"78701\"}}'; echo\n",
        member.name
    ));
    s.push_str("# 3. Two admins other than the creator approve\n");
    for who in ["NOAH", "MIA"] {
        s.push_str(&format!("curl -s -X POST $B/api/payouts/$P/approve -H \"Authorization: Bearer ${who}\" {json} -d '{{}}'; echo\n"));
    }
    s.push_str("# 4. Ava generates the payment instructions and an ACH file (F), and downloads it\n");
    s.push_str(&format!("curl -s -X POST $B/api/payouts/$P/generate-instructions -H \"Authorization: Bearer $AVA\" {json} -d '{{}}' >/dev/null && echo instructions generated\n"));
    s.push_str(&format!(
        "F=$(curl -s -X POST $B/api/payment-files/ach -H \"Authorization: Bearer $AVA\" {json} -d \"{{\\\"payoutIds\\\":[\\\"$P\\\"]}}\" | grep -o '\"id\":\"[^\"]*\"' | head -1 | cut -d'\"' -f4); echo \"file: $F\"\n"
    ));
    s.push_str("curl -s -o payout.ach $B/api/payment-files/$F/download -H \"Authorization: Bearer $AVA\" && echo saved payout.ach\n");
    s.push_str("# 5. The money went out and arrived: mark sent, then confirm\n");
    s.push_str("NOW=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\n");
    s.push_str(&format!(
        "curl -s -X POST $B/api/payouts/$P/mark-sent -H \"Authorization: Bearer $AVA\" {json} -d \"{{\\\"sentDate\\\":\\\"$NOW\\\",\\\"expectedArrivalDate\\\":\\\"$NOW\\\",\\\"paymentFileId\\\":\\\"$F\\\"}}\" | grep -o '\"status\":\"[a-z_]*\"'\n"
    ));
    s.push_str(&format!(
        "curl -s -X POST $B/api/payouts/$P/confirm -H \"Authorization: Bearer $AVA\" {json} -d \"{{\\\"completedDate\\\":\\\"$NOW\\\",\\\"confirmationNumber\\\":\\\"DEMO-FED-0001\\\"}}\" | grep -o '\"status\":\"[a-z_]*\"'\n"
    ));
    s.push_str("# 6. The member downloads the receipt\n");
    s.push_str("curl -s -o receipt.pdf $B/api/payouts/$P/receipt -H \"Authorization: Bearer $MEMBER\" && echo saved receipt.pdf\n");
    Some(s)
}

/// The first selectable member, for the printed create command.
pub async fn head_of_queue(db: &PgPool) -> Option<uuid::Uuid> {
    let rows = crate::db::eligibility::queue_page(db, 100, 0).await.ok()?;
    rows.into_iter().find(|r| r.blockers().is_empty()).map(|r| r.user_id)
}

pub fn write_sessions_file(dir: &Path, sessions: &[DemoSession]) -> anyhow::Result<()> {
    let list: Vec<_> = sessions
        .iter()
        .map(|s| serde_json::json!({ "userId": s.user_id, "email": s.email, "name": s.name, "role": s.role.unwrap_or("Member"), "bearer": s.token, "cookieValue": s.cookie_value }))
        .collect();
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("sessions.json"), serde_json::to_string_pretty(&list)?)?;
    Ok(())
}
