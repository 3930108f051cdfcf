//! Payout states and the one table of allowed transitions (SPEC §4).

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a payout is in its life (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    PendingApproval,
    Approved,
    Rejected,
    PaymentSent,
    Completed,
    PaymentFailed,
    Cancelled,
}

/// Every status, in the order messages list them.
pub const ALL_STATUSES: [PayoutStatus; 7] = [
    PayoutStatus::PendingApproval,
    PayoutStatus::Approved,
    PayoutStatus::Rejected,
    PayoutStatus::PaymentSent,
    PayoutStatus::Completed,
    PayoutStatus::PaymentFailed,
    PayoutStatus::Cancelled,
];

impl PayoutStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::PendingApproval => "pending_approval",
            PayoutStatus::Approved => "approved",
            PayoutStatus::Rejected => "rejected",
            PayoutStatus::PaymentSent => "payment_sent",
            PayoutStatus::Completed => "completed",
            PayoutStatus::PaymentFailed => "payment_failed",
            PayoutStatus::Cancelled => "cancelled",
        }
    }

    /// Our statuses, and the old service's (`processing`, `failed`, `scheduled`) mapped as the
    /// migration maps them, in case a row slipped in after it ran.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending_approval" => PayoutStatus::PendingApproval,
            "approved" | "scheduled" => PayoutStatus::Approved,
            "rejected" => PayoutStatus::Rejected,
            "payment_sent" | "processing" => PayoutStatus::PaymentSent,
            "completed" => PayoutStatus::Completed,
            "payment_failed" | "failed" => PayoutStatus::PaymentFailed,
            "cancelled" => PayoutStatus::Cancelled,
            _ => return None,
        })
    }

    /// No action leaves these.
    pub fn is_terminal(self) -> bool {
        matches!(self, PayoutStatus::Rejected | PayoutStatus::Cancelled)
    }

    /// Counts toward the one-open-payout-per-member rule.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            PayoutStatus::PendingApproval | PayoutStatus::Approved | PayoutStatus::PaymentSent | PayoutStatus::PaymentFailed
        )
    }
}

impl fmt::Display for PayoutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row of SPEC §4's table: what may be done to a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// One approval; `completes` when it brings the distinct approvals to the required number.
    Approve { completes: bool },
    Reject,
    Cancel,
    GenerateInstructions,
    MarkSent,
    Confirm,
    MarkFailed,
    Reissue,
    /// New bank details: after an approval they send the payout back for fresh approval.
    ChangeDestination,
    /// A receipt's hash recorded in the trail.
    IssueReceipt,
    /// The membership retired after a completed payout (SPEC §9).
    RemoveMembership,
    /// Put in an ACH or Positive Pay file, or released from one (SPEC §14): approved stays approved.
    File,
    /// A zero-dollar prenote to test the account, before or after approval.
    Prenote,
    /// An admin reads the full account number (audited; no status change).
    Reveal,
}

impl Action {
    /// As error messages and details name it (`generate-instructions`).
    pub fn name(self) -> &'static str {
        match self {
            Action::Approve { .. } => "approve",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
            Action::GenerateInstructions => "generate-instructions",
            Action::MarkSent => "mark-sent",
            Action::Confirm => "confirm",
            Action::MarkFailed => "mark-failed",
            Action::Reissue => "reissue",
            Action::ChangeDestination => "change-destination",
            Action::IssueReceipt => "issue-receipt",
            Action::RemoveMembership => "remove-membership",
            Action::File => "file",
            Action::Prenote => "prenote",
            Action::Reveal => "reveal",
        }
    }
}

/// The action is not allowed from the payout's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTransition {
    pub from: PayoutStatus,
    pub action: Action,
}

/// SPEC §4's table, and nothing else.
pub fn transition(from: PayoutStatus, action: Action) -> Result<PayoutStatus, InvalidTransition> {
    use Action as A;
    use PayoutStatus as S;
    let to = match (from, action) {
        (S::PendingApproval, A::Approve { completes: false }) => S::PendingApproval,
        (S::PendingApproval, A::Approve { completes: true }) => S::Approved,
        (S::PendingApproval, A::Reject) => S::Rejected,
        (S::PendingApproval | S::Approved, A::Cancel) => S::Cancelled,
        (S::Approved, A::GenerateInstructions) => S::Approved,
        (S::Approved, A::MarkSent) => S::PaymentSent,
        (S::PaymentSent, A::Confirm) => S::Completed,
        (S::PaymentSent | S::Completed, A::MarkFailed) => S::PaymentFailed,
        (S::PaymentFailed, A::Reissue) => S::PendingApproval,
        // Approvals are cleared: the checkers must look again at the new destination.
        (S::PendingApproval | S::Approved, A::ChangeDestination) => S::PendingApproval,
        // A failed payment may get new details before it is reissued (and approved afresh).
        (S::PaymentFailed, A::ChangeDestination) => S::PaymentFailed,
        (S::Completed, A::IssueReceipt | A::RemoveMembership) => S::Completed,
        (S::Approved, A::File) => S::Approved,
        (S::PendingApproval, A::Prenote) => S::PendingApproval,
        (S::Approved, A::Prenote) => S::Approved,
        (S::PendingApproval, A::Reveal) => S::PendingApproval,
        (S::Approved, A::Reveal) => S::Approved,
        (S::PaymentSent, A::Reveal) => S::PaymentSent,
        (S::PaymentFailed, A::Reveal) => S::PaymentFailed,
        (S::Completed, A::Reveal) => S::Completed,
        _ => return Err(InvalidTransition { from, action }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The table written out independently of `transition`, as (from, action, to).
    const ALLOWED: &[(&str, &str, &str)] = &[
        ("pending_approval", "approve", "pending_approval"),
        ("pending_approval", "approve", "approved"),
        ("pending_approval", "reject", "rejected"),
        ("pending_approval", "cancel", "cancelled"),
        ("approved", "cancel", "cancelled"),
        ("approved", "generate-instructions", "approved"),
        ("approved", "mark-sent", "payment_sent"),
        ("payment_sent", "confirm", "completed"),
        ("payment_sent", "mark-failed", "payment_failed"),
        ("completed", "mark-failed", "payment_failed"),
        ("payment_failed", "reissue", "pending_approval"),
        ("pending_approval", "change-destination", "pending_approval"),
        ("approved", "change-destination", "pending_approval"),
        ("payment_failed", "change-destination", "payment_failed"),
        ("completed", "issue-receipt", "completed"),
        ("completed", "remove-membership", "completed"),
        ("approved", "file", "approved"),
        ("pending_approval", "prenote", "pending_approval"),
        ("approved", "prenote", "approved"),
        ("pending_approval", "reveal", "pending_approval"),
        ("approved", "reveal", "approved"),
        ("payment_sent", "reveal", "payment_sent"),
        ("payment_failed", "reveal", "payment_failed"),
        ("completed", "reveal", "completed"),
    ];

    fn actions() -> impl Strategy<Value = Action> {
        prop_oneof![
            any::<bool>().prop_map(|completes| Action::Approve { completes }),
            Just(Action::Reject),
            Just(Action::Cancel),
            Just(Action::GenerateInstructions),
            Just(Action::MarkSent),
            Just(Action::Confirm),
            Just(Action::MarkFailed),
            Just(Action::Reissue),
            Just(Action::ChangeDestination),
            Just(Action::IssueReceipt),
            Just(Action::RemoveMembership),
            Just(Action::File),
            Just(Action::Prenote),
            Just(Action::Reveal),
        ]
    }

    proptest! {
        /// From creation, no sequence of actions takes a step the table forbids, and nothing
        /// ever leaves rejected or cancelled.
        #[test]
        fn no_sequence_reaches_a_forbidden_state(seq in proptest::collection::vec(actions(), 0..40)) {
            let mut status = PayoutStatus::PendingApproval;
            for action in seq {
                match transition(status, action) {
                    Ok(to) => {
                        prop_assert!(!status.is_terminal(), "left terminal {status}");
                        prop_assert!(ALLOWED.contains(&(status.as_str(), action.name(), to.as_str())),
                            "{status} --{}--> {to} is not in the table", action.name());
                        status = to;
                    }
                    Err(e) => prop_assert_eq!(e.from, status),
                }
            }
        }
    }

    #[test]
    fn every_row_of_the_table_is_reachable_by_transition() {
        for (from, action, to) in ALLOWED {
            let from = PayoutStatus::parse(from).unwrap();
            let found = [
                Action::Approve { completes: false },
                Action::Approve { completes: true },
                Action::Reject,
                Action::Cancel,
                Action::GenerateInstructions,
                Action::MarkSent,
                Action::Confirm,
                Action::MarkFailed,
                Action::Reissue,
                Action::ChangeDestination,
                Action::IssueReceipt,
                Action::RemoveMembership,
                Action::File,
                Action::Prenote,
                Action::Reveal,
            ]
            .into_iter()
            .any(|a| a.name() == *action && transition(from, a).map(|t| t.as_str()) == Ok(*to));
            assert!(found, "{from} --{action}--> {to}");
        }
    }

    #[test]
    fn legacy_statuses_map_like_the_migration() {
        assert_eq!(PayoutStatus::parse("processing"), Some(PayoutStatus::PaymentSent));
        assert_eq!(PayoutStatus::parse("failed"), Some(PayoutStatus::PaymentFailed));
        assert_eq!(PayoutStatus::parse("scheduled"), Some(PayoutStatus::Approved));
        assert_eq!(PayoutStatus::parse("bogus"), None);
        for s in ALL_STATUSES {
            assert_eq!(PayoutStatus::parse(s.as_str()), Some(s));
        }
    }
}
