//! Settings from the environment (and `.env`), validated all at once before the port is bound.
//!
//! Every variable SPEC §11 names lives here with its default; `.env.example` lists the same set.
//! Problems are collected, never returned one at a time, so an operator fixes them in one go.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};

/// Which column names the main app's Better Auth `session` table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionColumns {
    /// `expires_at`, `user_id`, `updated_at` (the main app's mapping).
    Snake,
    /// Quoted `"expiresAt"`, `"userId"`, `"updatedAt"` (a stock Better Auth install).
    Camel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitStore {
    Memory,
    Postgres,
}

/// Where the service is told it runs; `production` also switches the scheduler on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
    Other(String),
}

#[derive(Clone)]
pub struct Settings {
    // Listening
    pub host: IpAddr,
    pub port: u16,
    pub environment: Environment,
    pub request_timeout: Duration,
    pub allowed_origins: Vec<String>,

    // Database
    pub database_url: Option<SecretString>,
    pub db_pool_max: u32,
    pub db_pool_min: u32,
    pub run_migrations: bool,

    // Sessions (BETTER_AUTH.md)
    pub better_auth_secret: Option<SecretString>,
    pub better_auth_cookie_prefix: String,
    pub better_auth_columns: SessionColumns,
    pub require_signed_bearer: bool,
    pub session_refresh: bool,
    pub session_update_age: Duration,
    pub session_expires_in: Duration,

    // Rate limiting
    pub rate_limit_max: u32,
    pub rate_limit_window: Duration,
    pub rate_limit_store: RateLimitStore,
    pub trust_proxy: u32,

    // Money rules (SPEC §2)
    pub payout_threshold: Decimal,
    pub reward_per_winner: Decimal,
    pub retention_fee: Decimal,
    pub backup_withholding_rate: Decimal,
    pub min_company_age_months: u32,
    pub business_launch_date: NaiveDate,
    pub membership_removal_months: u32,
    pub required_approvals: u32,
    pub allow_creator_approval: bool,
    pub company_name: String,

    // Encryption (SPEC §6)
    pub encryption_key: Option<SecretString>,
    pub encryption_key_previous: Vec<SecretString>,

    // Subscription service
    pub subscription_service_url: String,
    pub subscription_timeout: Duration,

    // Email (SPEC §8)
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_user: Option<String>,
    pub smtp_pass: Option<SecretString>,
    pub smtp_secure: bool,
    pub smtp_tls: bool,
    pub email_from: String,
    pub email_from_name: String,
    pub outbox_poll_interval: Duration,
    pub email_max_attempts: u32,
    pub email_retry_interval: Duration,

    // Jobs (SPEC §9)
    pub enable_cron_jobs: bool,
    pub eligibility_check_cron: String,
    pub membership_removal_cron: String,

    // Logs
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl fmt::Debug for Settings {
    // Secrets are SecretString and print as redacted; the rest is safe to show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("environment", &self.environment)
            .field("database_url", &self.database_url.as_ref().map(|_| "[redacted]"))
            .field("better_auth_columns", &self.better_auth_columns)
            .field("rate_limit_store", &self.rate_limit_store)
            .field("scheduler_enabled", &self.scheduler_enabled())
            .finish_non_exhaustive()
    }
}

/// One variable's problem, named so the operator knows what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<ConfigProblem>);

/// What the settings will be used for: `serve` needs secrets that `migrate` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// serve, run-job, reencrypt, check-config: everything must be present.
    Serve,
    /// migrate: only the database matters.
    Migrate,
    /// dev: secrets get development defaults and the database may be started privately.
    Dev,
}

/// Development-only defaults, used by `payout-service dev` when nothing is configured.
pub const DEV_BETTER_AUTH_SECRET: &str = "dev-only-better-auth-secret-change-me-0000";
pub const DEV_ENCRYPTION_KEY: &str = "dev-only-encryption-key-32chars!";

/// Every variable with its default, in the order `.env.example` lists them.
pub const VARIABLES: &[(&str, &str)] = &[
    ("HOST", "0.0.0.0"),
    ("PORT", "3002"),
    ("NODE_ENV", "development"),
    ("REQUEST_TIMEOUT_SECS", "30"),
    ("ALLOWED_ORIGINS", "http://localhost:3000"),
    ("DATABASE_URL", ""),
    ("DB_POOL_MAX", "10"),
    ("DB_POOL_MIN", "2"),
    ("RUN_MIGRATIONS", "true"),
    ("BETTER_AUTH_SECRET", ""),
    ("BETTER_AUTH_COOKIE_PREFIX", "better-auth"),
    ("BETTER_AUTH_COLUMNS", "snake"),
    ("REQUIRE_SIGNED_BEARER", "false"),
    ("SESSION_REFRESH", "true"),
    ("SESSION_UPDATE_AGE", "86400"),
    ("SESSION_EXPIRES_IN", "604800"),
    ("RATE_LIMIT_MAX", "100"),
    ("RATE_LIMIT_WINDOW_SECS", "900"),
    ("RATE_LIMIT_STORE", "memory"),
    ("TRUST_PROXY", "0"),
    ("PAYOUT_THRESHOLD", "100000"),
    ("REWARD_PER_WINNER", "100000"),
    ("RETENTION_FEE", "300"),
    ("BACKUP_WITHHOLDING_RATE", "0.24"),
    ("MIN_COMPANY_AGE_MONTHS", "12"),
    ("BUSINESS_LAUNCH_DATE", "2024-01-01"),
    ("MEMBERSHIP_REMOVAL_MONTHS", "12"),
    ("REQUIRED_APPROVALS", "2"),
    ("ALLOW_CREATOR_APPROVAL", "false"),
    ("COMPANY_NAME", "Tenure"),
    ("ENCRYPTION_KEY", ""),
    ("ENCRYPTION_KEY_PREVIOUS", ""),
    ("SUBSCRIPTION_SERVICE_URL", "http://localhost:3001"),
    ("SUBSCRIPTION_TIMEOUT_MS", "2000"),
    ("SMTP_HOST", ""),
    ("SMTP_PORT", "587"),
    ("SMTP_USER", ""),
    ("SMTP_PASS", ""),
    ("SMTP_SECURE", "false"),
    ("SMTP_TLS", "true"),
    ("EMAIL_FROM", "payouts@localhost"),
    ("EMAIL_FROM_NAME", "Home Solutions"),
    ("OUTBOX_POLL_INTERVAL_MS", "1000"),
    ("EMAIL_MAX_ATTEMPTS", "3"),
    ("EMAIL_RETRY_INTERVAL_SECS", "300"),
    ("ENABLE_CRON_JOBS", "false"),
    ("ELIGIBILITY_CHECK_CRON", "0 2 * * *"),
    ("MEMBERSHIP_REMOVAL_CRON", "0 3 * * *"),
    ("LOG_FORMAT", "json"),
];

impl Settings {
    /// Reads the process environment, after loading `.env` when one is present.
    pub fn from_env(purpose: Purpose) -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&vars, purpose)
    }

    /// Parses and validates; every problem is reported together.
    pub fn from_map(vars: &HashMap<String, String>, purpose: Purpose) -> Result<Self, ConfigError> {
        let mut r = Reader { vars, problems: Vec::new() };

        let environment = match r.raw("NODE_ENV").as_str() {
            "production" => Environment::Production,
            "development" => Environment::Development,
            "test" => Environment::Test,
            other => Environment::Other(other.to_string()),
        };

        let database_url = r.optional("DATABASE_URL");
        if let Some(url) = &database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                r.problem("DATABASE_URL", "must be a postgres:// or postgresql:// URL".into());
            }
        } else if purpose != Purpose::Dev {
            r.problem("DATABASE_URL", "is required (postgres://user:pass@host:5432/db)".into());
        }

        let mut better_auth_secret = r.optional("BETTER_AUTH_SECRET");
        let mut encryption_key = r.optional("ENCRYPTION_KEY");
        if purpose == Purpose::Dev {
            better_auth_secret.get_or_insert_with(|| DEV_BETTER_AUTH_SECRET.to_string());
            encryption_key.get_or_insert_with(|| DEV_ENCRYPTION_KEY.to_string());
        }
        if purpose == Purpose::Serve || purpose == Purpose::Dev {
            match &better_auth_secret {
                None => r.problem("BETTER_AUTH_SECRET", "is required: the main app's Better Auth secret".into()),
                Some(s) if s.len() < 16 => r.problem(
                    "BETTER_AUTH_SECRET",
                    format!("is {} characters; Better Auth secrets are at least 16 (32 recommended)", s.len()),
                ),
                _ => {}
            }
            match &encryption_key {
                None => r.problem("ENCRYPTION_KEY", "is required: exactly 32 characters".into()),
                Some(k) if k.chars().count() != 32 || k.len() != 32 => r.problem(
                    "ENCRYPTION_KEY",
                    format!("must be exactly 32 ASCII characters (256 bits); got {}", k.chars().count()),
                ),
                _ => {}
            }
        }
        let mut encryption_key_previous = Vec::new();
        for (i, k) in r.list("ENCRYPTION_KEY_PREVIOUS").into_iter().enumerate() {
            if k.len() != 32 || k.chars().count() != 32 {
                r.problem(
                    "ENCRYPTION_KEY_PREVIOUS",
                    format!("key #{} must be exactly 32 ASCII characters; got {}", i + 1, k.chars().count()),
                );
            } else {
                encryption_key_previous.push(SecretString::from(k));
            }
        }

        let host = r.parse::<HostAddr>("HOST", "an IP address such as 0.0.0.0 or 127.0.0.1").0;
        let port = r.parse::<u16>("PORT", "a TCP port (0-65535)");
        let request_timeout_secs = r.positive("REQUEST_TIMEOUT_SECS");
        let allowed_origins = r.list("ALLOWED_ORIGINS");
        for origin in &allowed_origins {
            let ok = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/')
                && axum::http::HeaderValue::from_str(origin).is_ok();
            if !ok {
                r.problem("ALLOWED_ORIGINS", format!("'{origin}' is not an origin like https://app.example.com"));
            }
        }

        let db_pool_max = r.positive("DB_POOL_MAX");
        let db_pool_min = r.parse::<u32>("DB_POOL_MIN", "a whole number");
        if db_pool_min > db_pool_max && db_pool_max > 0 {
            r.problem("DB_POOL_MIN", format!("({db_pool_min}) must not exceed DB_POOL_MAX ({db_pool_max})"));
        }
        let run_migrations = r.boolean("RUN_MIGRATIONS");

        let better_auth_cookie_prefix = r.raw("BETTER_AUTH_COOKIE_PREFIX");
        if better_auth_cookie_prefix.is_empty()
            || !better_auth_cookie_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            r.problem("BETTER_AUTH_COOKIE_PREFIX", "must be letters, digits, '-', '_' or '.'".into());
        }
        let better_auth_columns = match r.raw("BETTER_AUTH_COLUMNS").as_str() {
            "snake" => SessionColumns::Snake,
            "camel" => SessionColumns::Camel,
            other => {
                r.problem("BETTER_AUTH_COLUMNS", format!("must be 'snake' or 'camel', not '{other}'"));
                SessionColumns::Snake
            }
        };
        let require_signed_bearer = r.boolean("REQUIRE_SIGNED_BEARER");
        let session_refresh = r.boolean("SESSION_REFRESH");
        let session_update_age = r.parse::<u64>("SESSION_UPDATE_AGE", "seconds");
        let session_expires_in = r.positive("SESSION_EXPIRES_IN") as u64;

        let rate_limit_max = r.positive("RATE_LIMIT_MAX");
        let rate_limit_window = r.positive("RATE_LIMIT_WINDOW_SECS");
        let rate_limit_store = match r.raw("RATE_LIMIT_STORE").as_str() {
            "memory" => RateLimitStore::Memory,
            "postgres" => RateLimitStore::Postgres,
            other => {
                r.problem("RATE_LIMIT_STORE", format!("must be 'memory' or 'postgres', not '{other}'"));
                RateLimitStore::Memory
            }
        };
        let trust_proxy = match r.raw("TRUST_PROXY").as_str() {
            // Express-style booleans: true trusts one hop (the usual single load balancer).
            "true" => 1,
            "false" => 0,
            _ => r.parse::<u32>("TRUST_PROXY", "the number of proxy hops to trust (0 = none)"),
        };

        let payout_threshold = r.money("PAYOUT_THRESHOLD", true);
        let reward_per_winner = r.money("REWARD_PER_WINNER", true);
        let retention_fee = r.money("RETENTION_FEE", false);
        let backup_withholding_rate = r.parse::<Decimal>("BACKUP_WITHHOLDING_RATE", "a decimal rate such as 0.24");
        if backup_withholding_rate < Decimal::ZERO || backup_withholding_rate > Decimal::ONE {
            r.problem("BACKUP_WITHHOLDING_RATE", "must be between 0 and 1".into());
        }
        if retention_fee + reward_per_winner * backup_withholding_rate > reward_per_winner
            && reward_per_winner > Decimal::ZERO
        {
            r.problem("RETENTION_FEE", "with the withholding it would exceed REWARD_PER_WINNER (negative net)".into());
        }
        let min_company_age_months = r.parse::<u32>("MIN_COMPANY_AGE_MONTHS", "a whole number of months");
        let business_launch_date = r.date("BUSINESS_LAUNCH_DATE");
        let membership_removal_months = r.positive("MEMBERSHIP_REMOVAL_MONTHS");
        let required_approvals = r.parse::<u32>("REQUIRED_APPROVALS", "a whole number, at least 2");
        if required_approvals < 2 {
            r.problem("REQUIRED_APPROVALS", format!("must be at least 2 (two distinct admins), got {required_approvals}"));
        }
        let allow_creator_approval = r.boolean("ALLOW_CREATOR_APPROVAL");
        let company_name = r.raw("COMPANY_NAME");

        let subscription_service_url = r.raw("SUBSCRIPTION_SERVICE_URL").trim_end_matches('/').to_string();
        if !(subscription_service_url.starts_with("http://") || subscription_service_url.starts_with("https://")) {
            r.problem("SUBSCRIPTION_SERVICE_URL", "must be an http:// or https:// URL".into());
        }
        let subscription_timeout_ms = r.positive("SUBSCRIPTION_TIMEOUT_MS");

        let smtp_host = r.optional("SMTP_HOST");
        let smtp_port = r.parse::<u16>("SMTP_PORT", "a TCP port");
        let smtp_user = r.optional("SMTP_USER");
        let smtp_pass = r.optional("SMTP_PASS").map(SecretString::from);
        if smtp_user.is_some() != smtp_pass.is_some() {
            r.problem("SMTP_PASS", "SMTP_USER and SMTP_PASS go together: set both or neither".into());
        }
        if smtp_host.is_none() && environment == Environment::Production {
            r.problem("SMTP_HOST", "is required in production (without it emails are only logged)".into());
        }
        let smtp_secure = r.boolean("SMTP_SECURE");
        let smtp_tls = r.boolean("SMTP_TLS");
        let email_from = r.raw("EMAIL_FROM");
        if !email_from.contains('@') || email_from.contains(char::is_whitespace) {
            r.problem("EMAIL_FROM", format!("'{email_from}' is not an email address"));
        }
        let email_from_name = r.raw("EMAIL_FROM_NAME");
        let outbox_poll_interval_ms = r.positive("OUTBOX_POLL_INTERVAL_MS");
        let email_max_attempts = r.positive("EMAIL_MAX_ATTEMPTS");
        let email_retry_interval_secs = r.parse::<u64>("EMAIL_RETRY_INTERVAL_SECS", "seconds");

        let enable_cron_jobs = r.boolean("ENABLE_CRON_JOBS");
        let eligibility_check_cron = r.raw("ELIGIBILITY_CHECK_CRON");
        let membership_removal_cron = r.raw("MEMBERSHIP_REMOVAL_CRON");
        for (var, expr) in [
            ("ELIGIBILITY_CHECK_CRON", &eligibility_check_cron),
            ("MEMBERSHIP_REMOVAL_CRON", &membership_removal_cron),
        ] {
            if let Err(e) = crate::domain::schedule::parse(expr) {
                r.problem(var, e);
            }
        }
        let log_format = match r.raw("LOG_FORMAT").as_str() {
            "json" => LogFormat::Json,
            "pretty" | "text" => LogFormat::Pretty,
            other => {
                r.problem("LOG_FORMAT", format!("must be 'json' or 'pretty', not '{other}'"));
                LogFormat::Json
            }
        };

        if !r.problems.is_empty() {
            return Err(ConfigError(r.problems));
        }
        Ok(Settings {
            host,
            port,
            environment,
            request_timeout: Duration::from_secs(request_timeout_secs.into()),
            allowed_origins,
            database_url: database_url.map(SecretString::from),
            db_pool_max,
            db_pool_min,
            run_migrations,
            better_auth_secret: better_auth_secret.map(SecretString::from),
            better_auth_cookie_prefix,
            better_auth_columns,
            require_signed_bearer,
            session_refresh,
            session_update_age: Duration::from_secs(session_update_age),
            session_expires_in: Duration::from_secs(session_expires_in),
            rate_limit_max,
            rate_limit_window: Duration::from_secs(rate_limit_window.into()),
            rate_limit_store,
            trust_proxy,
            payout_threshold,
            reward_per_winner,
            retention_fee,
            backup_withholding_rate,
            min_company_age_months,
            business_launch_date,
            membership_removal_months,
            required_approvals,
            allow_creator_approval,
            company_name,
            encryption_key: encryption_key.map(SecretString::from),
            encryption_key_previous,
            subscription_service_url,
            subscription_timeout: Duration::from_millis(subscription_timeout_ms.into()),
            smtp_host,
            smtp_port,
            smtp_user,
            smtp_pass,
            smtp_secure,
            smtp_tls,
            email_from,
            email_from_name,
            outbox_poll_interval: Duration::from_millis(outbox_poll_interval_ms.into()),
            email_max_attempts,
            email_retry_interval: Duration::from_secs(email_retry_interval_secs),
            enable_cron_jobs,
            eligibility_check_cron,
            membership_removal_cron,
            log_format,
        })
    }

    /// SPEC §9: jobs run when ENABLE_CRON_JOBS=true or NODE_ENV=production.
    pub fn scheduler_enabled(&self) -> bool {
        self.enable_cron_jobs || self.environment == Environment::Production
    }

    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_ref().map(|s| s.expose_secret())
    }
}

/// `IpAddr` with a default, so a bad value can be reported alongside the others.
struct HostAddr(IpAddr);

impl Default for HostAddr {
    fn default() -> Self {
        HostAddr(IpAddr::from([0, 0, 0, 0]))
    }
}

impl FromStr for HostAddr {
    type Err = std::net::AddrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "localhost" => Ok(HostAddr(IpAddr::from([127, 0, 0, 1]))),
            _ => s.parse().map(HostAddr),
        }
    }
}

struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<ConfigProblem>,
}

impl Reader<'_> {
    fn problem(&mut self, variable: &'static str, message: String) {
        self.problems.push(ConfigProblem { variable, message });
    }

    fn default_of(name: &str) -> &'static str {
        VARIABLES.iter().find(|(n, _)| *n == name).map(|(_, d)| *d).unwrap_or("")
    }

    /// The value, or the documented default when unset or empty.
    fn raw(&self, name: &'static str) -> String {
        match self.vars.get(name).map(|v| v.trim()) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => Self::default_of(name).to_string(),
        }
    }

    fn optional(&self, name: &'static str) -> Option<String> {
        Some(self.raw(name)).filter(|v| !v.is_empty())
    }

    fn list(&self, name: &'static str) -> Vec<String> {
        self.raw(name).split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
    }

    fn parse<T: FromStr + Default>(&mut self, name: &'static str, expected: &str) -> T {
        let raw = self.raw(name);
        match raw.parse() {
            Ok(v) => v,
            Err(_) => {
                self.problem(name, format!("'{raw}' is not {expected}"));
                T::default()
            }
        }
    }

    fn positive(&mut self, name: &'static str) -> u32 {
        let v = self.parse::<u32>(name, "a whole number greater than 0");
        if v == 0 && !self.problems.iter().any(|p| p.variable == name) {
            self.problem(name, "must be greater than 0".into());
        }
        v
    }

    fn boolean(&mut self, name: &'static str) -> bool {
        match self.raw(name).to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            other => {
                self.problem(name, format!("'{other}' is not true or false"));
                false
            }
        }
    }

    fn money(&mut self, name: &'static str, must_be_positive: bool) -> Decimal {
        let v = self.parse::<Decimal>(name, "a decimal amount in dollars");
        if v < Decimal::ZERO || (must_be_positive && v == Decimal::ZERO) {
            self.problem(name, "must be a positive amount".into());
        }
        if v.round_dp(2) != v {
            self.problem(name, "must be whole cents (at most two decimals)".into());
        }
        v
    }

    /// `2024-01-01` or a full ISO datetime (the date part in UTC is what counts).
    fn date(&mut self, name: &'static str) -> NaiveDate {
        let raw = self.raw(name);
        if let Ok(d) = NaiveDate::parse_from_str(&raw, "%Y-%m-%d") {
            return d;
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(&raw) {
            return dt.with_timezone(&Utc).date_naive();
        }
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M:%S%.f") {
            return dt.date();
        }
        self.problem(name, format!("'{raw}' is not a date like 2024-01-01 or 2024-01-01T00:00:00Z"));
        NaiveDate::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn valid() -> HashMap<String, String> {
        vars(&[
            ("DATABASE_URL", "postgres://u:p@localhost/db"),
            ("BETTER_AUTH_SECRET", "a-better-auth-secret-of-decent-length"),
            ("ENCRYPTION_KEY", "0123456789abcdef0123456789abcdef"),
        ])
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = Settings::from_map(&valid(), Purpose::Serve).unwrap();
        assert_eq!(s.port, 3002);
        assert_eq!(s.required_approvals, 2);
        assert_eq!(s.payout_threshold, Decimal::from(100_000));
        assert_eq!(s.retention_fee, Decimal::from(300));
        assert_eq!(s.backup_withholding_rate, Decimal::new(24, 2));
        assert_eq!(s.business_launch_date, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!(s.rate_limit_max, 100);
        assert_eq!(s.rate_limit_window, Duration::from_secs(900));
        assert_eq!(s.email_from_name, "Home Solutions");
        assert!(!s.scheduler_enabled());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut v = valid();
        v.insert("ENCRYPTION_KEY".into(), "short".into());
        v.insert("PORT".into(), "99999".into());
        v.insert("REQUIRED_APPROVALS".into(), "1".into());
        v.insert("BUSINESS_LAUNCH_DATE".into(), "soon".into());
        v.insert("BETTER_AUTH_COLUMNS".into(), "kebab".into());
        let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
        let named: Vec<_> = err.0.iter().map(|p| p.variable).collect();
        for var in ["ENCRYPTION_KEY", "PORT", "REQUIRED_APPROVALS", "BUSINESS_LAUNCH_DATE", "BETTER_AUTH_COLUMNS"] {
            assert!(named.contains(&var), "{var} missing from {named:?}");
        }
        assert!(err.to_string().contains("ENCRYPTION_KEY: must be exactly 32"));
    }

    #[test]
    fn secrets_are_required_to_serve_but_not_to_migrate() {
        let v = vars(&[("DATABASE_URL", "postgres://localhost/db")]);
        let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
        let named: Vec<_> = err.0.iter().map(|p| p.variable).collect();
        assert_eq!(named, vec!["BETTER_AUTH_SECRET", "ENCRYPTION_KEY"]);
        assert!(Settings::from_map(&v, Purpose::Migrate).is_ok());
        assert!(Settings::from_map(&HashMap::new(), Purpose::Dev).is_ok());
    }

    #[test]
    fn launch_date_accepts_dates_and_iso_datetimes() {
        for raw in ["2024-03-15", "2024-03-15T00:00:00Z", "2024-03-15T10:00:00.000+00:00", "2024-03-15T10:00:00"] {
            let mut v = valid();
            v.insert("BUSINESS_LAUNCH_DATE".into(), raw.into());
            let s = Settings::from_map(&v, Purpose::Serve).unwrap();
            assert_eq!(s.business_launch_date, NaiveDate::from_ymd_opt(2024, 3, 15).unwrap(), "{raw}");
        }
    }

    #[test]
    fn production_enables_the_scheduler_and_needs_smtp() {
        let mut v = valid();
        v.insert("NODE_ENV".into(), "production".into());
        let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
        assert_eq!(err.0[0].variable, "SMTP_HOST");
        v.insert("SMTP_HOST".into(), "smtp.example.com".into());
        assert!(Settings::from_map(&v, Purpose::Serve).unwrap().scheduler_enabled());
    }

    #[test]
    fn cron_expressions_are_validated() {
        let mut v = valid();
        v.insert("ELIGIBILITY_CHECK_CRON".into(), "*/3 * * * * *".into());
        assert!(Settings::from_map(&v, Purpose::Serve).is_ok());
        v.insert("MEMBERSHIP_REMOVAL_CRON".into(), "0 99 * * *".into());
        let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
        assert_eq!(err.0[0].variable, "MEMBERSHIP_REMOVAL_CRON");
    }

    #[test]
    fn every_variable_is_in_env_example() {
        let example = include_str!("../.env.example");
        for (name, default) in VARIABLES {
            let line = format!("{name}={default}");
            assert!(
                example.lines().any(|l| l.trim_start_matches("# ") == line),
                ".env.example lacks '{line}'"
            );
        }
    }
}
