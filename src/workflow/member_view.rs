//! What a member sees of their own payout (SPEC §12): an allow-list — status, amounts and the
//! calculation, dates, their own name and email, the masked destination, the approval *count*, tracking and confirmation
//! numbers, the receipt link. Never staff emails or ids, approval comments, internal notes,
//! staff's failure notes, the creator, the eligibility snapshot or the audit trail.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::calculation::Calculation;
use crate::domain::money::Money;
use crate::domain::payout::{PaymentMethod, Payout};
use crate::domain::processing::InstructedDestination;
use crate::domain::status::PayoutStatus;
use crate::workflow::view::{mask_bank, MaskedBank, Member};

/// A member's own payout. Documented as closed (`additionalProperties: false`): the allow-list
/// is the contract, and it tells this view apart from the finance view in `PayoutRead`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberPayoutView {
    pub payout_id: String,
    pub user_id: Uuid,
    /// The member themself (their own name and email).
    pub member: Member,
    pub status: PayoutStatus,
    pub amount: Money,
    pub currency: String,
    pub payment_method: PaymentMethod,
    pub queue_position: i32,
    /// Gross, fee, withholding and net, once instructions were generated.
    pub calculation: Option<Calculation>,
    /// ACH: the account the money goes to, masked.
    pub bank_details: Option<MaskedBank>,
    /// Check: the address the check was sent to.
    #[schema(value_type = Option<Object>)]
    pub mailing_address: Option<Value>,
    pub current_approvals: u32,
    pub required_approvals: u32,
    pub created_at: Option<DateTime<Utc>>,
    pub sent_date: Option<DateTime<Utc>>,
    pub expected_arrival_date: Option<DateTime<Utc>>,
    pub completed_date: Option<DateTime<Utc>>,
    pub tracking_number: Option<String>,
    pub confirmation_number: Option<String>,
    pub receipt_url: Option<String>,
}

/// Every key a member's view has, for the test that holds the allow-list.
pub const MEMBER_VIEW_KEYS: [&str; 20] = [
    "payoutId", "userId", "member", "status", "amount", "currency", "paymentMethod", "queuePosition", "calculation", "bankDetails",
    "mailingAddress", "currentApprovals", "requiredApprovals", "createdAt", "sentDate", "expectedArrivalDate",
    "completedDate", "trackingNumber", "confirmationNumber", "receiptUrl",
];

/// The member's view of `p`.
pub fn member_view(p: &Payout) -> MemberPayoutView {
    let processing = &p.processing;
    let mailing_address = match processing.instructions.as_ref().map(|i| &i.destination) {
        Some(InstructedDestination::Check { mailing_address }) => Some(mailing_address.clone()),
        _ => None,
    };
    MemberPayoutView {
        payout_id: p.payout_id.clone(),
        user_id: p.user_id,
        member: Member { user_id: p.user_id, name: p.member.name.clone(), email: p.member.email.clone() },
        status: p.status,
        amount: p.amount,
        currency: p.currency.clone(),
        payment_method: p.payment_method,
        queue_position: p.queue_position,
        calculation: processing.calculation.clone(),
        bank_details: p.bank_details.as_ref().map(mask_bank),
        mailing_address,
        current_approvals: p.approval_workflow.current(),
        required_approvals: p.approval_workflow.required_approvals,
        created_at: p.created_at,
        sent_date: processing.sent_date.as_ref().map(|s| s.at),
        expected_arrival_date: processing.expected_arrival_date.as_ref().map(|s| s.at),
        completed_date: p.completed_date.or(processing.completed_date.as_ref().map(|s| s.at)),
        tracking_number: processing.tracking_number.clone().flatten(),
        confirmation_number: processing.confirmation_number.clone().flatten(),
        receipt_url: p.receipt_url.clone(),
    }
}

/// A payout as its reader may see it: finance roles the whole (masked) payout, a member the
/// allow-listed view of their own.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PayoutRead {
    Staff(Box<crate::workflow::view::PayoutView>),
    Member(MemberPayoutView),
}

impl PayoutRead {
    /// `staff`: the reader is a finance role.
    pub fn of(p: &Payout, staff: bool) -> Self {
        if staff {
            PayoutRead::Staff(Box::new(crate::workflow::view::payout_view(p, true)))
        } else {
            PayoutRead::Member(member_view(p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payout::tests_support::payout;

    #[test]
    fn the_member_view_holds_exactly_the_allow_list() {
        let v = serde_json::to_value(member_view(&payout())).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let mut allowed = MEMBER_VIEW_KEYS.to_vec();
        allowed.sort();
        assert_eq!(keys, allowed);
    }
}
