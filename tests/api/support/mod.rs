//! What the tests stand on, apart from the tests themselves: the harness (private PostgreSQL,
//! the service on a port, sessions), stand-ins for the services around us (SMTP, the
//! subscription service, a real Better Auth), the binary as a process, and builders of test data.

pub mod better_auth;
pub mod binary;
pub mod desk;
pub mod harness;
pub mod legacy;
pub mod members;
pub mod scene;
pub mod smtp;
pub mod standin;
