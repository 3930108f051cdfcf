//! One integration binary (zero-to-production style): real PostgreSQL, the real service on a port.
//! `support/` holds the harness, stand-ins and builders; every other module holds tests.

mod support;

mod architecture;
mod console;

mod console_browser;
mod controls;
mod crypto_interop;
mod eligibility;
mod faults;
mod fuzz;
mod health;
mod http_stack;
mod interop;
mod jobs;
mod migrations;
mod payment_files;
mod payments;
mod payouts;
mod process;
mod rate_limits;
mod reencrypt;
mod sessions;
mod tax_reports;
mod use_cases;
