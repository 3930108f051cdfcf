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
        Job::MembershipRemoval => crate::jobs::removal::run(&jobs.ctx, jobs.cancel_retry_interval).await,
    }
}

/// How soon a failed run is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// Claims the slot (new, failed, or abandoned by a dead instance) and, if won, runs the job
/// under a renewed lease and records how it went. Returns the summary when run. The jobs are
/// idempotent, so running a slot again changes nothing already done.
pub async fn run_slot(jobs: &Scheduler, job: Job, slot: DateTime<Utc>, trigger: &str) -> anyhow::Result<Option<Value>> {
    let lease = jobs.lease.as_secs_f64();
    let Some(token) = db::job_slots::claim(&jobs.ctx.db, job.name(), slot, trigger, &jobs.instance_id, lease).await? else {
        return Ok(None);
    };
    let started = Instant::now();
    let renewing = async {
        loop {
            tokio::time::sleep(jobs.lease / 3).await;
            if let Err(e) = db::job_slots::renew(&jobs.ctx.db, job.name(), slot, token, lease).await {
                tracing::warn!(job = job.name(), error.message = %e, "job lease renewal failed");
            }
        }
    };
    let result = tokio::select! {
        result = execute(jobs, job) => result,
        _ = renewing => unreachable!("the renewal loop never ends"),
    };
    let ms = started.elapsed().as_millis() as i64;
    let (outcome, summary, error) = match &result {
        Ok(s) => ("succeeded", Some(s.clone()), None),
        Err(e) => ("failed", None, Some(format!("{e:#}"))),
    };
    db::job_slots::finish(&jobs.ctx.db, job.name(), slot, token, outcome, ms, summary, error).await?;
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

/// Runs again the slots of `job` that failed or whose instance died.
async fn rerun_unfinished(jobs: &Scheduler, job: Job) {
    let slots = match db::job_slots::unfinished(&jobs.ctx.db, job.name(), RETRY_AFTER.as_secs_f64()).await {
        Ok(slots) => slots,
        Err(e) => return tracing::warn!(job = job.name(), error.message = %e, "cannot look for unfinished job runs"),
    };
    for slot in slots {
        if let Err(e) = run_slot(jobs, job, slot, "catch_up").await {
            tracing::error!(job = job.name(), slot = %slot, error.message = %format!("{e:#}"), "job run failed again; will retry");
        }
    }
}

/// One job's loop: catch up a missed slot and unfinished runs, then wake at every scheduled
/// time (and at least once a lease, at most a minute, to finish runs that failed or were
/// abandoned).
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
    rerun_unfinished(&jobs, job).await;
    let mut after = Utc::now();
    // An abandoned run is noticed within one lease (a failed one is retried after RETRY_AFTER),
    // however rarely the job is scheduled.
    let recheck = RETRY_AFTER.min(jobs.lease);
    loop {
        let Some(next) = schedule::next_after(job.cron(&jobs), after) else { break };
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(recheck);
        tokio::select! {
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
            _ = tokio::time::sleep(wait) => {}
        }
        rerun_unfinished(&jobs, job).await;
        if Utc::now() < next {
            continue;
        }
        if let Err(e) = run_slot(&jobs, job, next, "schedule").await {
            tracing::error!(job = job.name(), error.message = %format!("{e:#}"), "scheduled run failed; will retry");
        }
        after = next;
    }
}

/// Starts both jobs' loops (when the scheduler is enabled).
pub fn spawn(jobs: &Scheduler, shutdown: &watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    if !jobs.enabled {
        return Vec::new();
    }
    let mut tasks: Vec<_> = [Job::EligibilityCheck, Job::MembershipRemoval]
        .into_iter()
        .map(|job| tokio::spawn(job_loop(jobs.clone(), job, shutdown.clone())))
        .collect();
    tasks.push(tokio::spawn(cancel_loop(jobs.clone(), shutdown.clone())));
    tasks
}

/// Retries owed subscription cancels every CANCEL_RETRY_INTERVAL_SECS (each with its backoff).
async fn cancel_loop(jobs: Scheduler, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
            _ = tokio::time::sleep(jobs.cancel_retry_interval) => {}
        }
        if let Err(e) = crate::jobs::removal::retry_cancellations(&jobs.ctx, jobs.cancel_retry_interval).await {
            tracing::warn!(error.message = %format!("{e:#}"), "subscription cancel retries failed; will try again");
        }
    }
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
