//! Tenure's payout service: see README.md and docs/spec/SPEC.md.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clients;
pub mod config;
pub mod crypto;
pub mod db;
pub mod dev;
pub mod documents;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod notify;
pub mod telemetry;
pub mod workflow;

/// The service's version, as health and the User-Agent report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Names this process in job slots and outbox claims: host, pid and a random suffix.
pub fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "host".into());
    format!("{host}-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}
