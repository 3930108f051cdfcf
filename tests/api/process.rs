//! The binary as an operator runs it: configuration errors, graceful shutdown, dev mode.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::binary::*;
use crate::support::harness::*;

#[test]
fn check_config_names_every_bad_variable_at_once() {
    let dir = temp_dir("cfg");
    let mut env = base_env("postgres://postgres@127.0.0.1:1/x");
    env.insert("ENCRYPTION_KEY".into(), "short".into());
    env.insert("REQUIRED_APPROVALS".into(), "1".into());
    env.insert("RATE_LIMIT_STORE".into(), "redis".into());
    let out = command(&["check-config"], &env, &dir).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for var in ["ENCRYPTION_KEY", "REQUIRED_APPROVALS", "RATE_LIMIT_STORE"] {
        assert!(stderr.contains(var), "{var} not named in: {stderr}");
    }
    assert!(!stderr.contains("short"), "the bad key's value itself is never echoed: {stderr}");

    let out = command(&["check-config"], &base_env("postgres://postgres@127.0.0.1:1/x"), &dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn serve_refuses_bad_configuration_before_binding_the_port() {
    let dir = temp_dir("bad");
    let port = free_port();
    let mut env = base_env("postgres://postgres@127.0.0.1:1/x");
    env.insert("PORT".into(), port.to_string());
    env.insert("ENCRYPTION_KEY".into(), "short".into());
    let out = command(&["serve"], &env, &dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ENCRYPTION_KEY"));
    // `.env` in the working directory is read too.
    std::fs::write(dir.join(".env"), "ENCRYPTION_KEY=0123456789abcdef0123456789abcdef\nBETTER_AUTH_SECRET=from-dot-env-file-secret\n").unwrap();
    env.remove("ENCRYPTION_KEY");
    env.remove("BETTER_AUTH_SECRET");
    let out = command(&["check-config"], &env, &dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_then_exits_cleanly() {
    let url = fresh_database(APP_TEMPLATE).await;
    let port = free_port();
    let mut env = base_env(&url);
    env.insert("PORT".into(), port.to_string());
    env.insert("LOG_FORMAT".into(), "json".into());
    let dir = temp_dir("term");
    let log = dir.join("stdout.log");
    let mut child = command(&["serve"], &env, &dir).stdout(std::fs::File::create(&log).unwrap()).stderr(Stdio::null()).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;

    // Hold a lock the health check needs, so a request is genuinely in flight at SIGTERM.
    let db = PgPool::connect(&url).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    sqlx::query("LOCK TABLE payout_email_outbox IN ACCESS EXCLUSIVE MODE").execute(&mut *tx).await.unwrap();
    let in_flight: Vec<_> = (0..5)
        .map(|_| {
            let url = format!("{base}/api/health");
            tokio::spawn(async move { reqwest::Client::new().get(url).send().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // No new connections once shutdown began...
    let refused = reqwest::Client::new().get(format!("{base}/api/health")).timeout(Duration::from_secs(2)).send().await;
    assert!(refused.is_err(), "a new request after SIGTERM must not be accepted");
    assert!(child.try_wait().unwrap().is_none(), "still finishing the in-flight requests");

    // ...and every request in flight is answered in full.
    tx.commit().await.unwrap();
    for request in in_flight {
        let res = request.await.unwrap().expect("in-flight request answered");
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["data"]["status"], "healthy");
    }
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
    // The log lines gathered in memory (telemetry's writer) are all written by the exit: one
    // JSON line per request answered, every line whole.
    let written = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = written.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let answered = lines.iter().filter(|l| l["message"] == "request" && l["http.route"] == "/api/health").count();
    assert_eq!(answered, 5, "a log line for each in-flight request:\n{written}");
    assert_eq!(lines.last().map(|l| l["message"].clone()), Some(json!("stopped")), "the last line, logged just before exit, is written too");
}

#[tokio::test]
async fn dev_mode_seeds_demo_data_and_its_printed_payout_walk_works_in_bash() {
    let url = empty_database().await;
    let dev_dir = temp_dir("dev");
    let env: HashMap<String, String> = [
        ("DATABASE_URL", url.as_str()),
        ("PORT", &free_port().to_string()),
        ("PAYOUT_DEV_DIR", dev_dir.to_str().unwrap()),
        ("LOG_FORMAT", "json"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let mut child = command(&["dev"], &env, &dev_dir).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let block = read_dev_block(&mut child);
    let base = block.lines().find_map(|l| l.strip_prefix("API      ")).and_then(|l| l.split_whitespace().next()).expect("the API line").to_string();
    wait_ready(&base).await;

    // Each demo person with a bearer token that works, and a console link that signs in as them.
    let client = reqwest::Client::new();
    let mut roles = Vec::new();
    for name in ["Ava Sterling", "Noah Reyes", "Mia Chen", "Liam Patel"] {
        let line = block.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_else(|| panic!("{name} in {block}"));
        let token = line.split_whitespace().last().unwrap();
        let me: Value = client.get(format!("{base}/api/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        roles.push(me["data"]["adminRole"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(roles, vec!["Super Admin", "Super Admin", "Manager", "Support"]);
    assert!(block.contains("Member (head of the queue)"), "{block}");
    let link = block.lines().find_map(|l| l.split_whitespace().find(|w| w.contains("/console/dev-login?as="))).expect("a console link per person");
    let page = client.get(link).send().await.unwrap().text().await.unwrap();
    assert_eq!(page.matches("Sign in as ").count(), 1, "the link's page offers just that person");
    let sessions: Value = serde_json::from_str(&std::fs::read_to_string(dev_dir.join("sessions.json")).unwrap()).unwrap();
    assert!(sessions.as_array().unwrap().iter().all(|s| s["userId"].is_string() && s["role"].is_string()), "user ids and roles");

    // The revenue comes from dev mode's subscription service stand-in, not the fallback.
    let ava = block.lines().find(|l| l.trim_start().starts_with("Ava Sterling")).unwrap().split_whitespace().last().unwrap().to_string();
    let status: Value = client.get(format!("{base}/api/eligibility/status")).bearer_auth(&ava).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["data"]["revenueSource"], "subscription_service", "{status}");
    assert_eq!(status["data"]["isEligible"], true, "the demo company can pay: {status}");

    // The printed walk pastes into bash as it is (scripts/demo runs the same file).
    let script = block.split_once("(or run scripts/demo).\n").expect("the payout walk").1.split("=====").next().unwrap().to_string();
    assert_eq!(std::fs::read_to_string(dev_dir.join("demo.sh")).unwrap().contains(&script), true, "demo.sh holds the printed walk");
    let out = std::process::Command::new("bash").arg("-c").arg(format!("set -e\n{script}")).current_dir(dev_dir.join(".")).output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
    assert!(printed.contains("\"status\":\"payment_sent\"") && printed.contains("\"status\":\"completed\""), "{printed}");
    assert!(std::fs::read(dev_dir.join("receipt.pdf")).unwrap().starts_with(b"%PDF"), "the member's receipt");
    assert!(std::fs::read(dev_dir.join("payout.ach")).unwrap().starts_with(b"101"), "the ACH file");
    let completed: i64 = {
        let db = PgPool::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM payout_management WHERE status = 'completed' AND created_at > now() - interval '1 hour'").fetch_one(&db).await.unwrap()
    };
    assert_eq!(completed, 1, "{printed}");

    // The data is believable: the numbers SPEC §11 asks for.
    let db = PgPool::connect(&url).await.unwrap();
    let admins: Vec<(String, i64)> = sqlx::query_as("SELECT role::text AS r, count(*) FROM admin GROUP BY role ORDER BY r").fetch_all(&db).await.unwrap();
    assert_eq!(admins, vec![("Manager".into(), 1), ("Super Admin".into(), 2), ("Support".into(), 1)]);
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM admin a WHERE a.email = u.email)").fetch_one(&db).await.unwrap();
    assert!((35..=45).contains(&members), "{members} members");
    let revenue: rust_decimal::Decimal = sqlx::query_scalar("SELECT sum(amount) FROM user_payments WHERE status = 'succeeded'").fetch_one(&db).await.unwrap();
    assert!(revenue > rust_decimal::Decimal::from(200_000), "revenue {revenue}");
    let months: f64 = sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM now() - min(payment_date))::float8 / 86400 / 30.4 FROM user_payments").fetch_one(&db).await.unwrap();
    assert!((17.0..19.5).contains(&months), "{months} months of payments");
    let kyc: i64 = sqlx::query_scalar("SELECT count(DISTINCT status) FROM kyc_verification").fetch_one(&db).await.unwrap();
    assert!(kyc >= 3, "mixed KYC states");
    let w9: i64 = sqlx::query_scalar("SELECT count(*) FROM tax_forms WHERE form_type = 'W-9' AND status <> 'pending'").fetch_one(&db).await.unwrap();
    assert!(w9 >= 5);
    let addresses: i64 = sqlx::query_scalar("SELECT count(*) FROM user_addresses WHERE is_primary").fetch_one(&db).await.unwrap();
    assert!(addresses >= 30);
    let legacy: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_management WHERE jsonb_typeof(approval_workflow) = 'array'").fetch_one(&db).await.unwrap();
    assert!(legacy >= 2, "a few legacy payout rows");
    let queue: i64 = sqlx::query_scalar("SELECT count(*) FROM active_member_queue_view").fetch_one(&db).await.unwrap();
    assert!(queue >= 30, "the queue view has members: {queue}");
    let users_before: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&db).await.unwrap();

    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(15)).success());

    // Re-running reuses the data and the still-valid sessions, and says the demo funds are spent.
    let mut env2 = env.clone();
    env2.insert("PORT".into(), free_port().to_string());
    let mut child = command(&["dev"], &env2, &dev_dir).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let block2 = read_dev_block(&mut child);
    let users_after: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&db).await.unwrap();
    assert_eq!(users_after, users_before, "no second copy of the demo data");
    let tokens = |b: &str| b.lines().filter(|l| ["Ava", "Noah", "Mia", "Liam"].iter().any(|n| l.trim_start().starts_with(n))).map(|l| l.split_whitespace().last().unwrap_or_default().to_string()).collect::<Vec<_>>();
    assert_eq!(tokens(&block), tokens(&block2), "sessions reused");
    assert!(block2.contains("No payout can be created now") && block2.contains("./scripts/dev --reset"), "{block2}");
    assert!(!dev_dir.join("demo.sh").exists(), "no walk that cannot work");
    let sessions: Value = serde_json::from_str(&std::fs::read_to_string(dev_dir.join("sessions.json")).unwrap()).unwrap();
    assert_eq!(sessions.as_array().unwrap().len() as i64, users_after, "a session for every demo user");
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(15)).success());
}

#[tokio::test]
async fn dev_mode_without_a_database_url_runs_its_own_postgres_and_stops_it() {
    let dev_dir = temp_dir("devpg");
    let port = free_port();
    let env: HashMap<String, String> = [("PORT", port.to_string()), ("PAYOUT_DEV_DIR", dev_dir.to_str().unwrap().to_string())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let mut child = command(&["dev"], &env, &dev_dir).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let block = read_dev_block(&mut child);
    let db_url = block.lines().find_map(|l| l.strip_prefix("Database ")).expect("database line").trim().to_string();
    let res = reqwest::get(format!("http://127.0.0.1:{port}/api/health")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(dev_dir.join("pg/data/PG_VERSION").is_file(), "cluster under the dev folder");

    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(30)).success());
    assert!(PgPool::connect(&db_url).await.is_err(), "the private PostgreSQL stopped with the service");
}

/// SPEC §9 with real processes: three `serve` instances on one database, jobs every 2 s.
#[tokio::test]
async fn three_service_processes_run_each_slot_once_and_send_each_email_once() {
    let smtp = crate::support::smtp::SmtpServer::start(free_port()).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let db = PgPool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO admin (email, role) VALUES ('a1@tenure.test', 'Manager'), ('a2@tenure.test', 'Super Admin')").execute(&db).await.unwrap();
    crate::support::members::MemberSpec::new("winner@tenure.test", 15).paying(20_000).insert(&db).await;
    let dir = temp_dir("multi");
    let mut children = Vec::new();
    for _ in 0..3 {
        let mut env = base_env(&url);
        for (k, v) in [
            ("PORT", free_port().to_string()),
            ("ENABLE_CRON_JOBS", "true".into()),
            ("ELIGIBILITY_CHECK_CRON", "*/2 * * * * *".into()),
            ("MEMBERSHIP_REMOVAL_CRON", "*/2 * * * * *".into()),
            ("SMTP_HOST", "127.0.0.1".into()),
            ("SMTP_PORT", smtp.port.to_string()),
            ("SMTP_TLS", "false".into()),
            ("OUTBOX_POLL_INTERVAL_MS", "200".into()),
            ("SUBSCRIPTION_SERVICE_URL", format!("http://127.0.0.1:{}", free_port())),
        ] {
            env.insert(k.to_string(), v);
        }
        children.push(command(&["serve"], &env, &dir).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    for c in &children {
        sigterm(c);
    }
    for c in &mut children {
        assert!(wait_exit(c, Duration::from_secs(15)).success());
    }
    let slots: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_job_slots WHERE job_name = 'eligibility-check'").fetch_one(&db).await.unwrap();
    let claimers: i64 = sqlx::query_scalar("SELECT count(DISTINCT claimed_by) FROM payout_job_slots").fetch_one(&db).await.unwrap();
    let checks: i64 = sqlx::query_scalar("SELECT count(*) FROM user_audit_logs WHERE action = 'eligibility_check'").fetch_one(&db).await.unwrap();
    assert!(slots >= 2, "{slots} slots");
    assert_eq!(checks, slots, "each slot ran exactly once across three processes");
    assert!(claimers >= 1);
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_email_outbox WHERE status = 'sent'").fetch_one(&db).await.unwrap();
    assert_eq!(sent, 2, "one eligibility email per admin for the day");
    let ids: Vec<String> = smtp.messages().iter().filter_map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids.len(), 2, "each email delivered once: {ids:?}");

    // run-job runs one now, as its own slot.
    let out = command(&["run-job", "eligibility-check"], &base_env(&url), &dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["isEligible"], true);
    let manual: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_job_slots WHERE trigger = 'manual'").fetch_one(&db).await.unwrap();
    assert_eq!(manual, 1);
    assert_eq!(command(&["run-job", "nope"], &base_env(&url), &dir).output().unwrap().status.code(), Some(2));
}
