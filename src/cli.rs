//! The `payout-service` command line: serve (default) | migrate | dev | run-job | reencrypt | check-config.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{self, AppState, Server};
use crate::config::{ConfigError, LogFormat, Purpose, Settings};
use crate::{db, dev, telemetry};

#[derive(Parser)]
#[command(name = "payout-service", version, about = "Tenure payout service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default); applies pending migrations first unless RUN_MIGRATIONS=false.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Start with a private database and demo data, print curl commands, and serve.
    Dev {
        /// Drop the dev database and seed it anew.
        #[arg(long)]
        reset: bool,
    },
    /// Run one scheduled job now: eligibility-check | membership-removal.
    RunJob { name: String },
    /// Re-encrypt every bank detail and TIN under the current ENCRYPTION_KEY.
    Reencrypt,
    /// Validate the configuration, print every problem, and exit non-zero if there is one.
    CheckConfig,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("payout-service: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve().await,
            Command::Migrate => migrate().await,
            Command::Dev { reset } => run_dev(reset).await,
            Command::CheckConfig => check_config(),
            Command::RunJob { name } => run_job(&name).await,
            Command::Reencrypt => reencrypt().await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error.message = %format!("{e:#}"), "fatal");
            eprintln!("payout-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn settings_or_report(purpose: Purpose) -> Result<Settings, ExitCode> {
    Settings::from_env(purpose).map_err(|e: ConfigError| {
        eprintln!("payout-service: {e}");
        ExitCode::from(2)
    })
}

/// Runs one job now, as its own slot (trigger `manual`), and prints the summary.
async fn run_job(name: &str) -> anyhow::Result<ExitCode> {
    let Some(job) = crate::jobs::scheduler::Job::parse(name) else {
        eprintln!("payout-service: unknown job '{name}' (eligibility-check | membership-removal)");
        return Ok(ExitCode::from(2));
    };
    let settings = match settings_or_report(Purpose::Serve) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    telemetry::init_to(settings.log_format, true);
    let pool = db::pool(&settings, settings.database_url().unwrap_or_default())?;
    let scheduler = crate::jobs::Scheduler::new(&settings, crate::workflow::Context::new(&settings, pool.clone()), crate::instance_id());
    let summary = crate::jobs::scheduler::run_slot(&scheduler, job, chrono::Utc::now(), "manual").await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}

fn check_config() -> anyhow::Result<ExitCode> {
    match Settings::from_env(Purpose::Serve) {
        Ok(s) => {
            println!("configuration OK: listening on {}:{}, scheduler {}", s.http.host, s.http.port, if s.scheduler_enabled() { "on" } else { "off" });
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn serve() -> anyhow::Result<ExitCode> {
    let settings = match settings_or_report(Purpose::Serve) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    telemetry::init_service(settings.log_format);
    crate::http::request_id::log_panics();
    let url = settings.database_url().unwrap_or_default().to_string();
    let pool = db::pool(&settings, &url)?;
    if settings.database.run_migrations {
        let applied = db::migrate::run(&pool).await?;
        tracing::info!(applied = ?applied, "migrations up to date");
    }
    let server = Server::bind(AppState::new(settings, pool)).await?;
    server.run(app::shutdown_on_signals()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn reencrypt() -> anyhow::Result<ExitCode> {
    let settings = match settings_or_report(Purpose::Serve) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    telemetry::init_to(settings.log_format, true);
    let pool = db::pool(&settings, settings.database_url().unwrap_or_default())?;
    let keyring = crate::crypto::Keyring::new(
        settings.encryption.key.as_ref().expect("validated"),
        &settings.encryption.previous_keys,
    );
    let report = crate::workflow::reencrypt::run(&pool, &keyring).await?;
    pool.close().await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(if report.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn migrate() -> anyhow::Result<ExitCode> {
    let settings = match settings_or_report(Purpose::Migrate) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    telemetry::init_to(settings.log_format, true);
    let pool = db::pool(&settings, settings.database_url().unwrap_or_default())?;
    let applied = db::migrate::run(&pool).await?;
    if applied.is_empty() {
        println!("migrations: up to date");
    } else {
        println!("migrations: applied {applied:?}");
    }
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for printing.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

async fn run_dev(reset: bool) -> anyhow::Result<ExitCode> {
    if std::env::var_os("LOG_FORMAT").is_none() {
        std::env::set_var("LOG_FORMAT", "pretty");
    }
    let mut settings = match settings_or_report(Purpose::Dev) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    telemetry::init(if settings.log_format == LogFormat::Json { LogFormat::Json } else { LogFormat::Pretty });
    crate::http::request_id::log_panics();

    let dev_dir = dev::dev_dir();
    let mut private = None;
    let url = match settings.database_url() {
        Some(url) => url.to_string(),
        None => {
            let (pg, url) = dev::private_database(&dev_dir.join("pg"), reset).await?;
            private = Some(pg);
            settings.database.url = Some(url.clone().into());
            url
        }
    };
    let result = dev_serve(settings, &url, reset, private.is_some()).await;
    if let Some(pg) = private {
        eprintln!("dev: stopping the private PostgreSQL (data kept in .dev/pg; `dev --reset` starts afresh)");
        pg.stop();
    }
    result
}

use crate::http::console::dev_login::DevLogin;

async fn dev_serve(settings: Settings, url: &str, reset: bool, private: bool) -> anyhow::Result<ExitCode> {
    let pool = db::pool(&settings, url)?;
    if dev::apply_fixture_if_absent(&pool).await? {
        tracing::info!("dev: created the main app's tables from db/fixtures/main_app.sql");
    }
    db::migrate::run(&pool).await?;
    if dev::seed::is_seeded(&pool).await? {
        tracing::info!("dev: demo data present, reusing it (pass --reset to start afresh)");
    } else if !private && dev::seed::has_foreign_users(&pool).await? {
        anyhow::bail!("DATABASE_URL points at a database with real users; dev mode will not seed demo data into it");
    } else {
        if reset && !private {
            tracing::warn!("dev: --reset only drops the private database; seeding into DATABASE_URL as it is");
        }
        dev::seed::seed(&pool).await?;
        tracing::info!("dev: demo data seeded");
    }
    let sessions = dev::mint_sessions(&pool, &settings).await?;
    let dir = dev::dev_dir();
    dev::write_sessions_file(&dir, &sessions)?;
    let mut settings = settings;
    if std::env::var("PUBLIC_BASE_URL").map_or(true, |v| v.trim().is_empty()) && settings.http.port != 0 {
        // Emails' links point at this dev server, whatever port it runs on.
        settings.http.public_base_url = format!("http://localhost:{}", settings.http.port);
    }
    if std::env::var("SUPPORT_EMAIL").map_or(true, |v| v.trim().is_empty()) {
        // The demo company's support address, on the demo people's domain.
        settings.payout.support_email = "support@tenure.dev".into();
    }
    if std::env::var("SUBSCRIPTION_SERVICE_URL").map_or(true, |v| v.trim().is_empty()) {
        // The subscription service's stand-in, answering from the demo data.
        settings.subscription.url = dev::standin::start(pool.clone()).await?;
        tracing::info!(url = %settings.subscription.url, "dev: subscription service stand-in started (SUBSCRIPTION_SERVICE_URL unset)");
    }

    let logins = sessions
        .iter()
        .map(|s| DevLogin { email: s.email.clone(), name: s.name.clone(), role: s.role.map(str::to_string), cookie_value: s.cookie_value.clone() })
        .collect();
    let server = Server::bind(AppState::with_dev_logins(settings, pool, logins)).await?;
    let addr = server.local_addr();
    let host = if addr.ip().is_unspecified() { "localhost".to_string() } else { addr.ip().to_string() };
    let redacted_url = redact_password(url);
    let head = dev::head_of_queue(&server.state().db).await;
    let available = crate::workflow::eligibility::current(&server.state().ctx).await.ok().map(|e| e.available_payouts);
    let base = format!("http://{host}:{}", addr.port());
    if let Some(script) = dev::demo_script(&base, &sessions, head).filter(|_| available.unwrap_or(0) > 0) {
        std::fs::write(dir.join("demo.sh"), format!("#!/usr/bin/env bash\n# Written by payout-service dev: one payout from creation to receipt.\nset -e\n{script}"))?;
    } else {
        let _ = std::fs::remove_file(dir.join("demo.sh"));
    }
    // Signals are handled from here on: whoever reads the banner may stop the service at once.
    let shutdown = app::shutdown_on_signals();
    print!("{}", dev::curl_block(&base, &sessions, &redacted_url, head, available));
    server.run(shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted_for_printing() {
        assert_eq!(super::redact_password("postgres://u:s3cret@db:5432/x"), "postgres://u:***@db:5432/x");
        assert_eq!(super::redact_password("postgres://postgres@127.0.0.1:5/x"), "postgres://postgres@127.0.0.1:5/x");
    }
}
