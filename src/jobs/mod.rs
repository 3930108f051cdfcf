//! Scheduled jobs: the exactly-once scheduler and membership removal (cron parsing is
//! `domain::schedule`). Jobs take the use cases' `Context`, never the HTTP state.

pub mod removal;
pub mod scheduler;

use crate::config::Settings;
use crate::workflow::Context;

/// What the scheduler needs: the use cases' context, its own name, and the schedules.
#[derive(Clone)]
pub struct Scheduler {
    pub ctx: Context,
    /// Names this process in the job slots it claims.
    pub instance_id: String,
    pub eligibility_check_cron: String,
    pub membership_removal_cron: String,
    /// SPEC §9: ENABLE_CRON_JOBS=true or NODE_ENV=production.
    pub enabled: bool,
    /// How long a run holds its slot (renewed while it runs).
    pub lease: std::time::Duration,
    /// How often owed subscription cancels are retried (the first wait; then backoff).
    pub cancel_retry_interval: std::time::Duration,
}

impl Scheduler {
    /// The scheduler the settings describe.
    pub fn new(settings: &Settings, ctx: Context, instance_id: String) -> Self {
        Scheduler {
            ctx,
            instance_id,
            eligibility_check_cron: settings.jobs.eligibility_check_cron.clone(),
            membership_removal_cron: settings.jobs.membership_removal_cron.clone(),
            enabled: settings.scheduler_enabled(),
            lease: settings.jobs.lease,
            cancel_retry_interval: settings.jobs.cancel_retry_interval,
        }
    }
}
