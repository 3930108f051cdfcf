//! Scheduled jobs: the cron schedule, the exactly-once scheduler, and membership removal.

pub mod removal;
pub mod schedule;
pub mod scheduler;
