//! Tenure's payout service: see README.md and ../shared/spec/SPEC.md.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod dev;
pub mod error;
pub mod http;
pub mod telemetry;
