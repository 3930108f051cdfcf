//! Which queue members can be selected, and why not (SPEC §5).

use serde::Serialize;
use utoipa::ToSchema;

/// Why a member in the queue cannot be selected now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Blocker {
    KycNotVerified,
    SubscriptionInactive,
    PayoutInProgress,
    AlreadyPaid,
}

impl Blocker {
    /// The reason as a person reads it.
    pub fn message(self) -> &'static str {
        match self {
            Blocker::KycNotVerified => "Identity (KYC) not verified",
            Blocker::SubscriptionInactive => "Subscription not active",
            Blocker::PayoutInProgress => "A payout is already in progress",
            Blocker::AlreadyPaid => "Already paid",
        }
    }
}

/// What the service knows of one member (computed in SQL from the queue view, KYC and payouts).
#[derive(Debug, Clone, Copy)]
pub struct MemberFlags {
    /// Latest KYC row is `verified` and not past its expiry.
    pub kyc_verified: bool,
    /// `is_eligible` and the subscription `active` or `trialing`.
    pub subscription_active: bool,
    /// A payout `pending_approval`, `approved`, `payment_sent` or `payment_failed`.
    pub payout_in_progress: bool,
    /// A `completed` payout.
    pub already_paid: bool,
}

/// Every reason the member is not selectable; empty means selectable.
pub fn blockers(f: &MemberFlags) -> Vec<Blocker> {
    let mut b = Vec::new();
    if !f.kyc_verified {
        b.push(Blocker::KycNotVerified);
    }
    if !f.subscription_active {
        b.push(Blocker::SubscriptionInactive);
    }
    if f.payout_in_progress {
        b.push(Blocker::PayoutInProgress);
    }
    if f.already_paid {
        b.push(Blocker::AlreadyPaid);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flag_is_its_own_blocker() {
        let ok = MemberFlags { kyc_verified: true, subscription_active: true, payout_in_progress: false, already_paid: false };
        assert!(blockers(&ok).is_empty());
        let all = MemberFlags { kyc_verified: false, subscription_active: false, payout_in_progress: true, already_paid: true };
        assert_eq!(
            blockers(&all),
            vec![Blocker::KycNotVerified, Blocker::SubscriptionInactive, Blocker::PayoutInProgress, Blocker::AlreadyPaid]
        );
    }
}
