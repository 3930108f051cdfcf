//! How finance roles see a payout: bank details masked, the approval workflow in our shape
//! (legacy rows too), the member's name and email, internal notes. Members see the allow-listed
//! `member_view` instead.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::approvals::ApprovalWorkflow;
use crate::domain::money::Money;
use crate::domain::payout::{PaymentMethod, Payout, StoredBankDetails};
use crate::domain::status::PayoutStatus;

/// The member a payout pays, as readers see them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub user_id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Bank details as every reader sees them: never the account or routing number.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaskedBank {
    pub last4: Option<String>,
    pub account_type: Option<String>,
    pub bank_name: Option<String>,
}

/// A payout as the API shows it: bank details masked, secrets scrubbed from processing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutView {
    pub id: Uuid,
    pub payout_id: String,
    pub user_id: Uuid,
    pub member: Member,
    pub membership_id: Option<Uuid>,
    pub queue_position: i32,
    pub amount: Money,
    pub currency: String,
    pub status: PayoutStatus,
    pub payment_method: PaymentMethod,
    #[schema(value_type = Object)]
    pub eligibility_check: Value,
    pub approval_workflow: ApprovalWorkflow,
    pub current_approvals: u32,
    pub required_approvals: u32,
    pub scheduled_date: Option<DateTime<Utc>>,
    pub completed_date: Option<DateTime<Utc>>,
    pub bank_details: Option<MaskedBank>,
    #[schema(value_type = Option<Object>)]
    pub tax_withholding: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub processing: Option<Value>,
    pub receipt_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub internal_notes: Option<Value>,
    pub created_by: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Masks whatever shape `bank_details` has: our encrypted envelope with display fields, or the
/// old service's plaintext fields (which are never shown as they are).
pub fn mask_bank(stored: &StoredBankDetails) -> MaskedBank {
    MaskedBank { last4: stored.last4(), account_type: stored.text("accountType"), bank_name: stored.text("bankName") }
}

/// Removes anything secret from the stored processing object (instructions are stored masked,
/// but legacy rows may hold anything).
fn scrub_processing(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !["accountNumber", "routingNumber", "bankDetails", "tin", "ssn", "encrypted"].contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), scrub_processing(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(scrub_processing).collect()),
        other => other.clone(),
    }
}

/// The payout as finance roles see it; `show_internal` adds the staff notes. (Members see
/// `member_view::member_view`.)
pub fn payout_view(p: &Payout, show_internal: bool) -> PayoutView {
    let workflow = p.approval_workflow.clone();
    PayoutView {
        id: p.id,
        payout_id: p.payout_id.clone(),
        user_id: p.user_id,
        member: Member { user_id: p.user_id, name: p.member.name.clone(), email: p.member.email.clone() },
        membership_id: p.membership_id,
        queue_position: p.queue_position,
        amount: p.amount,
        currency: p.currency.clone(),
        status: p.status,
        payment_method: p.payment_method,
        eligibility_check: p.eligibility_check.clone(),
        current_approvals: workflow.current(),
        required_approvals: workflow.required_approvals,
        approval_workflow: workflow,
        scheduled_date: p.scheduled_date,
        completed_date: p.completed_date,
        bank_details: p.bank_details.as_ref().map(mask_bank),
        tax_withholding: p.tax_withholding.as_ref().map(scrub_processing),
        processing: p.processing.shown().as_ref().map(scrub_processing),
        receipt_url: p.receipt_url.clone(),
        internal_notes: if show_internal { Some(p.internal_notes.clone().unwrap_or_else(|| json!([]))) } else { None },
        created_by: p.created_by,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_details_are_masked_in_every_shape() {
        let ours = json!({"encrypted": "ab", "iv": "cd", "authTag": "ef", "last4": "6789", "accountType": "checking", "bankName": "First Bank", "keyId": "k1"});
        let m = mask_bank(&StoredBankDetails(ours));
        assert_eq!((m.last4.as_deref(), m.account_type.as_deref()), (Some("6789"), Some("checking")));
        let legacy = json!({"accountHolderName": "Old Row", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "savings"});
        let m = mask_bank(&StoredBankDetails(legacy));
        assert_eq!(m.last4.as_deref(), Some("6789"));
        let shown = serde_json::to_string(&m).unwrap();
        assert!(!shown.contains("123456789") && !shown.contains("011000015"), "{shown}");
        assert!(StoredBankDetails::parse(Some(json!(null))).is_none() && StoredBankDetails::parse(Some(json!({}))).is_none());
    }

    #[test]
    fn secrets_nested_anywhere_in_processing_are_removed() {
        let legacy = json!({ "instructions": { "accountNumber": "123456789", "bank": [{ "routingNumber": "021000021" }] }, "sentDate": "x" });
        let shown = scrub_processing(&legacy).to_string();
        assert!(!shown.contains("123456789") && !shown.contains("021000021") && shown.contains("sentDate"), "{shown}");
    }
}
