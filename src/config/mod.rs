//! Settings from the environment (and `.env`), validated all at once before the port is bound.
//!
//! One file per concern (`http`, `database`, `auth`, `payout`, `encryption`, `subscription`,
//! `email`, `jobs`, `bank`), each with its struct, a line per field naming its variable and default, and a
//! `read` that is the only place the variable's name and default are written in code. The
//! [`Reader`] records every variable read; [`variables`] is that list, and a test holds
//! `.env.example` to it. Problems are collected, never returned one at a time, so an operator fixes
//! them in one go. Adding a variable: one section file and `.env.example`.

mod auth;
mod bank;
mod database;
mod email;
mod encryption;
mod http;
mod jobs;
mod payout;
mod subscription;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

pub use auth::{AuthSettings, SessionColumns, DEV_BETTER_AUTH_SECRET};
pub use bank::BankSettings;
pub use database::DatabaseSettings;
pub use email::EmailSettings;
pub use encryption::{EncryptionSettings, DEV_ENCRYPTION_KEY};
pub use http::{HttpSettings, RateLimitSettings, RateLimitStore};
pub use jobs::JobsSettings;
pub use payout::PayoutRules;
pub use subscription::SubscriptionSettings;

#[derive(Clone)]
pub struct Settings {
    /// Where the service runs; `production` also switches the scheduler on and requires SMTP.
    /// `NODE_ENV`, default `development`.
    pub environment: Environment,
    /// Log lines as JSON or for a terminal (`pretty`, also `text`). `LOG_FORMAT`, default `json`.
    pub log_format: LogFormat,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub payout: PayoutRules,
    pub encryption: EncryptionSettings,
    pub subscription: SubscriptionSettings,
    pub email: EmailSettings,
    pub jobs: JobsSettings,
    pub bank: BankSettings,
}

/// Where the service is told it runs; `production` also switches the scheduler on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
    Other(String),
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
            .field("host", &self.http.host)
            .field("port", &self.http.port)
            .field("environment", &self.environment)
            .field("database_url", &self.database.url.as_ref().map(|_| "[redacted]"))
            .field("better_auth_columns", &self.auth.columns)
            .field("rate_limit_store", &self.http.rate_limit.store)
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

impl Settings {
    /// Reads the process environment, after loading `.env` when one is present.
    pub fn from_env(purpose: Purpose) -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&vars, purpose)
    }

    /// Parses and validates; every problem is reported together.
    pub fn from_map(vars: &HashMap<String, String>, purpose: Purpose) -> Result<Self, ConfigError> {
        let mut r = Reader { vars, problems: Vec::new(), read: Vec::new() };
        let settings = Self::read(&mut r, purpose);
        if r.problems.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError(r.problems))
        }
    }

    /// Every section, in `.env.example` order, then the rules that span sections.
    fn read(r: &mut Reader, purpose: Purpose) -> Self {
        let environment = r.read("NODE_ENV", "development", |raw, _| match raw {
            "production" => Environment::Production,
            "development" => Environment::Development,
            "test" => Environment::Test,
            other => Environment::Other(other.to_string()),
        });
        let log_format = r.choice(
            "LOG_FORMAT",
            "json",
            &[("json", LogFormat::Json), ("pretty", LogFormat::Pretty), ("text", LogFormat::Pretty)],
            "'json' or 'pretty'",
        );
        let settings = Settings {
            http: HttpSettings::read(r, purpose),
            database: DatabaseSettings::read(r, purpose),
            auth: AuthSettings::read(r, purpose),
            payout: PayoutRules::read(r, purpose),
            encryption: EncryptionSettings::read(r, purpose),
            subscription: SubscriptionSettings::read(r, purpose),
            email: EmailSettings::read(r, purpose),
            jobs: JobsSettings::read(r, purpose),
            bank: BankSettings::read(r, purpose),
            environment,
            log_format,
        };
        if settings.email.smtp_host.is_none() && settings.environment == Environment::Production {
            r.problem("SMTP_HOST", "is required in production (without it emails are only logged)".into());
        }
        if settings.environment == Environment::Production && http::is_local(&settings.http.public_base_url) {
            r.problem(
                "PUBLIC_BASE_URL",
                format!("is '{}' in production: set where members reach the service (emails link to it), e.g. https://payouts.example.com", settings.http.public_base_url),
            );
        }
        settings
    }

    /// SPEC §9: jobs run when ENABLE_CRON_JOBS=true or NODE_ENV=production.
    pub fn scheduler_enabled(&self) -> bool {
        self.jobs.enable_cron_jobs || self.environment == Environment::Production
    }

    pub fn database_url(&self) -> Option<&str> {
        self.database.url.as_ref().map(|s| s.expose_secret())
    }
}

/// Every variable the settings read, with its default, in reading order (`.env.example` lists
/// the same set).
pub fn variables() -> Vec<(&'static str, &'static str)> {
    let mut r = Reader { vars: &HashMap::new(), problems: Vec::new(), read: Vec::new() };
    Settings::read(&mut r, Purpose::Serve);
    r.read
}

/// Reads variables by name with their default, remembers which were read, and files problems
/// under the variable's name.
struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<ConfigProblem>,
    read: Vec<(&'static str, &'static str)>,
}

impl Reader<'_> {
    /// The one way a variable is read: its value (or `default` when unset or blank) goes to
    /// `convert`, and each message `convert` pushes becomes a problem named `name`.
    fn read<T>(
        &mut self,
        name: &'static str,
        default: &'static str,
        convert: impl FnOnce(&str, &mut Vec<String>) -> T,
    ) -> T {
        if !self.read.iter().any(|(n, _)| *n == name) {
            self.read.push((name, default));
        }
        let raw = match self.vars.get(name).map(|v| v.trim()) {
            Some(v) if !v.is_empty() => v,
            _ => default,
        };
        let mut messages = Vec::new();
        let value = convert(raw, &mut messages);
        self.problems.extend(messages.into_iter().map(|message| ConfigProblem { variable: name, message }));
        value
    }

    /// A problem found only once several sections are read.
    fn problem(&mut self, variable: &'static str, message: String) {
        self.problems.push(ConfigProblem { variable, message });
    }

    fn text(&mut self, name: &'static str, default: &'static str) -> String {
        self.read(name, default, |raw, _| raw.to_string())
    }

    /// No default: `None` when unset or blank.
    fn optional(&mut self, name: &'static str) -> Option<String> {
        self.read(name, "", |raw, _| optional(raw))
    }

    fn parse<T: FromStr + Default>(&mut self, name: &'static str, default: &'static str, expected: &str) -> T {
        self.read(name, default, |raw, p| parse(raw, expected, p))
    }

    fn positive(&mut self, name: &'static str, default: &'static str) -> u32 {
        self.read(name, default, positive)
    }

    fn boolean(&mut self, name: &'static str, default: &'static str) -> bool {
        self.read(name, default, boolean)
    }

    /// One of `choices` by exact name; otherwise a problem and the first choice.
    fn choice<T: Clone>(&mut self, name: &'static str, default: &'static str, choices: &[(&str, T)], expected: &str) -> T {
        self.read(name, default, |raw, p| match choices.iter().find(|(n, _)| *n == raw) {
            Some((_, v)) => v.clone(),
            None => {
                p.push(format!("must be {expected}, not '{raw}'"));
                choices[0].1.clone()
            }
        })
    }
}

// Conversions, for `Reader::read` closures. Each pushes what is wrong and returns a stand-in value
// so that reading goes on and every problem is found.

fn optional(raw: &str) -> Option<String> {
    Some(raw.to_string()).filter(|v| !v.is_empty())
}

/// Comma-separated, blanks dropped.
fn list(raw: &str) -> Vec<String> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

fn parse<T: FromStr + Default>(raw: &str, expected: &str, p: &mut Vec<String>) -> T {
    raw.parse().unwrap_or_else(|_| {
        p.push(format!("'{raw}' is not {expected}"));
        T::default()
    })
}

fn positive(raw: &str, p: &mut Vec<String>) -> u32 {
    let v = parse::<u32>(raw, "a whole number greater than 0", p);
    if v == 0 && p.is_empty() {
        p.push("must be greater than 0".into());
    }
    v
}

fn boolean(raw: &str, p: &mut Vec<String>) -> bool {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => true,
        "false" | "0" | "no" | "off" => false,
        other => {
            p.push(format!("'{other}' is not true or false"));
            false
        }
    }
}

/// Dollars, exact, whole cents.
fn money(raw: &str, must_be_positive: bool, p: &mut Vec<String>) -> Decimal {
    let v = parse::<Decimal>(raw, "a decimal amount in dollars", p);
    if v < Decimal::ZERO || (must_be_positive && v == Decimal::ZERO) {
        p.push("must be a positive amount".into());
    }
    if v.round_dp(2) != v {
        p.push("must be whole cents (at most two decimals)".into());
    }
    v
}

/// `2024-01-01` or a full ISO datetime (the date part in UTC is what counts).
fn date(raw: &str, p: &mut Vec<String>) -> NaiveDate {
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return d;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return dt.with_timezone(&Utc).date_naive();
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f") {
        return dt.date();
    }
    p.push(format!("'{raw}' is not a date like 2024-01-01 or 2024-01-01T00:00:00Z"));
    NaiveDate::default()
}
