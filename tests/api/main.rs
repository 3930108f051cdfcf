//! One integration binary (zero-to-production style): real PostgreSQL, the real service on a port.

mod helpers;

mod health;
mod http_stack;
mod migrations;
mod process;
mod sessions;
