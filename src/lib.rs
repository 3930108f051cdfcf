//! Tenure's payout service: see README.md and ../shared/spec/SPEC.md.

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
