//! One integration binary (zero-to-production style): real PostgreSQL, the real service on a port.

mod better_auth;
mod crypto_interop;
mod helpers;

mod eligibility;
mod health;
mod interop;
mod jobs;
mod http_stack;
mod members;
mod migrations;
mod payments;
mod payouts;
mod process;
mod rate_limits;
mod reencrypt;
mod sessions;
mod smtp;
mod standin;
