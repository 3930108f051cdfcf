//! Clients of other services.

pub mod subscription;
