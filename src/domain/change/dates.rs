//! Dates a payment step may carry (SPEC §12): not in the future (five minutes' clock skew), not
//! before the payout was approved, arrival within 60 days of sending, completion not before
//! sending. Every bad field is reported.

use chrono::{DateTime, Duration, Utc};

use crate::domain::payout::Payout;
use crate::domain::validation::FieldError;

/// How far ahead of our clock a date may be: the sender's clock may run a little fast.
const SKEW: Duration = Duration::minutes(5);
/// The longest a payment may be expected to take.
const MAX_TRANSIT_DAYS: i64 = 60;

/// When the payout was approved: its latest recorded approval (old rows may carry none).
pub fn approved_at(p: &Payout) -> Option<DateTime<Utc>> {
    p.approval_workflow
        .approvals
        .iter()
        .filter_map(|a| a.at.as_deref())
        .filter_map(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|t| t.with_timezone(&Utc))
        .max()
}

fn not_future_nor_before_approval(errors: &mut Vec<FieldError>, field: &str, at: DateTime<Utc>, now: DateTime<Utc>, approved: Option<DateTime<Utc>>) {
    if at > now + SKEW {
        errors.push(FieldError::new(field, "must not be in the future"));
    }
    if approved.is_some_and(|approved| at < approved) {
        errors.push(FieldError::new(field, "must not be before the payout was approved"));
    }
}

/// The dates of mark-sent.
pub fn check_sent(p: &Payout, sent: DateTime<Utc>, expected: DateTime<Utc>, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    not_future_nor_before_approval(&mut errors, "sentDate", sent, now, approved_at(p));
    if expected > sent + Duration::days(MAX_TRANSIT_DAYS) {
        errors.push(FieldError::new("expectedArrivalDate", format!("must be within {MAX_TRANSIT_DAYS} days of sentDate")));
    }
    errors
}

/// The date of confirm.
pub fn check_completed(p: &Payout, completed: DateTime<Utc>, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    not_future_nor_before_approval(&mut errors, "completedDate", completed, now, approved_at(p));
    if p.processing.sent_date.as_ref().is_some_and(|sent| completed < sent.at) {
        errors.push(FieldError::new("completedDate", "must not be before the sent date"));
    }
    errors
}
