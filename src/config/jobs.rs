//! The two daily jobs (SPEC §9), in UTC: 5 cron fields, or 6 with seconds first.

use super::{Purpose, Reader};

#[derive(Debug, Clone)]
pub struct JobsSettings {
    /// Run the scheduler outside production too (production always runs it).
    /// `ENABLE_CRON_JOBS`, default `false`.
    pub enable_cron_jobs: bool,
    /// When the eligibility check runs. `ELIGIBILITY_CHECK_CRON`, default `0 2 * * *`.
    pub eligibility_check_cron: String,
    /// When paid members' memberships are retired. `MEMBERSHIP_REMOVAL_CRON`, default `0 3 * * *`.
    pub membership_removal_cron: String,
    /// How long a job run holds its slot; renewed while it runs. A run whose instance died is
    /// taken over once it runs out. In seconds: `JOB_LEASE_SECS`, default `600`.
    pub lease: std::time::Duration,
    /// The first wait before retrying a subscription cancel the service refused (then doubling,
    /// for up to a day). In seconds: `CANCEL_RETRY_INTERVAL_SECS`, default `300`.
    pub cancel_retry_interval: std::time::Duration,
}

impl JobsSettings {
    pub(super) fn read(r: &mut Reader, _purpose: Purpose) -> Self {
        JobsSettings {
            enable_cron_jobs: r.boolean("ENABLE_CRON_JOBS", "false"),
            eligibility_check_cron: r.read("ELIGIBILITY_CHECK_CRON", "0 2 * * *", cron),
            membership_removal_cron: r.read("MEMBERSHIP_REMOVAL_CRON", "0 3 * * *", cron),
            lease: std::time::Duration::from_secs(r.read("JOB_LEASE_SECS", "600", |raw, p| {
                let secs = super::parse::<u64>(raw, "seconds", p);
                if secs < 3 {
                    p.push("must be at least 3 seconds".into());
                }
                secs
            })),
            cancel_retry_interval: std::time::Duration::from_secs(r.positive("CANCEL_RETRY_INTERVAL_SECS", "300").into()),
        }
    }
}

fn cron(raw: &str, p: &mut Vec<String>) -> String {
    if let Err(e) = crate::domain::schedule::parse(raw) {
        p.push(e);
    }
    raw.to_string()
}
