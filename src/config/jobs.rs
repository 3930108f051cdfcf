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
}

impl JobsSettings {
    pub(super) fn read(r: &mut Reader, _purpose: Purpose) -> Self {
        JobsSettings {
            enable_cron_jobs: r.boolean("ENABLE_CRON_JOBS", "false"),
            eligibility_check_cron: r.read("ELIGIBILITY_CHECK_CRON", "0 2 * * *", cron),
            membership_removal_cron: r.read("MEMBERSHIP_REMOVAL_CRON", "0 3 * * *", cron),
        }
    }
}

fn cron(raw: &str, p: &mut Vec<String>) -> String {
    if let Err(e) = crate::domain::schedule::parse(raw) {
        p.push(e);
    }
    raw.to_string()
}
