//! Daily jobs, exactly once per scheduled slot across any number of instances: each slot is a
//! row in `payout_job_slots` (primary key job + slot), claimed under a Postgres advisory lock.
//! A slot missed while every instance was down runs at the next start (trigger `catch_up`).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::watch;

use crate::db;
use crate::domain::schedule;
use crate::jobs::Scheduler;

/// The two daily jobs (SPEC §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    EligibilityCheck,
    MembershipRemoval,
}

impl Job {
    /// As job slots and `run-job` name it.
    pub fn name(self) -> &'static str {
        match self {
            Job::EligibilityCheck => "eligibility-check",
            Job::MembershipRemoval => "membership-removal",
        }
    }

    /// The job `run-job` was asked for.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "eligibility-check" => Some(Job::EligibilityCheck),
            "membership-removal" => Some(Job::MembershipRemoval),
            _ => None,
        }
    }

    fn cron(self, jobs: &Scheduler) -> &str {
        match self {
            Job::EligibilityCheck => &jobs.eligibility_check_cron,
            Job::MembershipRemoval => &jobs.membership_removal_cron,
        }
    }
}

/// Runs the job's work; the summary goes into the slot row.
pub async fn execute(jobs: &Scheduler, job: Job) -> anyhow::Result<Value> {
    match job {
        Job::EligibilityCheck => {
            let outcome = crate::workflow::eligibility::check(&jobs.ctx, crate::workflow::eligibility::Trigger::Scheduled)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(serde_json::json!({ "isEligible": outcome.eligibility.is_eligible, "availablePayouts": outcome.eligibility.available_payouts, "alertId": outcome.alert_id, "alertCreated": outcome.alert_created }))
        }
        Job::MembershipRemoval => crate::jobs::removal::run(&jobs.ctx).await,
    }
}

/// Claims the slot and, if won, runs the job and records how it went. Returns the summary when run.
pub async fn run_slot(jobs: &Scheduler, job: Job, slot: DateTime<Utc>, trigger: &str) -> anyhow::Result<Option<Value>> {
    if !db::job_slots::claim(&jobs.ctx.db, job.name(), slot, trigger, &jobs.instance_id).await? {
        return Ok(None);
    }
    let started = Instant::now();
    let result = execute(jobs, job).await;
    let ms = started.elapsed().as_millis() as i64;
    let (outcome, summary, error) = match &result {
        Ok(s) => ("succeeded", Some(s.clone()), None),
        Err(e) => ("failed", None, Some(format!("{e:#}"))),
    };
    db::job_slots::finish(&jobs.ctx.db, job.name(), slot, outcome, ms, summary, error).await?;
    tracing::info!(job = job.name(), slot = %slot, trigger, outcome, duration_ms = ms, "job run");
    result.map(Some)
}

/// The latest scheduled time at or before `now` (looking back at most two days). The search
/// widens the window step by step, so a job every few seconds costs a few iterations, not 86,400.
fn latest_slot(expr: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    for window in [1i64, 60, 3_600, 86_400, 172_800] {
        let mut t = now - chrono::Duration::seconds(window);
        let mut latest = None;
        while let Some(next) = schedule::next_after(expr, t).filter(|n| *n <= now) {
            latest = Some(next);
            t = next;
        }
        if latest.is_some() {
            return latest;
        }
    }
    None
}

/// One job's loop: catch up a missed slot, then wake at every scheduled time.
async fn job_loop(jobs: Scheduler, job: Job, mut shutdown: watch::Receiver<bool>) {
    if let Some(slot) = latest_slot(job.cron(&jobs), Utc::now()) {
        // Unknown (the database is away) counts as seen: the next scheduled slot runs anyway.
        let seen = db::job_slots::exists(&jobs.ctx.db, job.name(), slot).await.unwrap_or(true);
        if !seen {
            if let Err(e) = run_slot(&jobs, job, slot, "catch_up").await {
                tracing::error!(job = job.name(), error.message = %format!("{e:#}"), "catch-up run failed");
            }
        }
    }
    let mut after = Utc::now();
    loop {
        let Some(next) = schedule::next_after(job.cron(&jobs), after) else { break };
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
            _ = tokio::time::sleep(wait) => {}
        }
        if let Err(e) = run_slot(&jobs, job, next, "schedule").await {
            tracing::error!(job = job.name(), error.message = %format!("{e:#}"), "scheduled run failed");
        }
        after = next;
    }
}

/// Starts both jobs' loops (when the scheduler is enabled).
pub fn spawn(jobs: &Scheduler, shutdown: &watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    if !jobs.enabled {
        return Vec::new();
    }
    [Job::EligibilityCheck, Job::MembershipRemoval]
        .into_iter()
        .map(|job| tokio::spawn(job_loop(jobs.clone(), job, shutdown.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_latest_slot_before_now() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 1, 30, 0).unwrap();
        assert_eq!(latest_slot("0 2 * * *", now), Some(Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap()));
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
        assert_eq!(latest_slot("0 2 * * *", now), Some(now), "a slot exactly now counts");
    }
}
