//! Scheduled jobs. The cron schedule lives here; the scheduler and the jobs arrive with issue 7.

pub mod schedule;
