//! How a payout is shown: bank details masked, the approval workflow in our shape (legacy rows
//! too), the member's name and email; internal notes only to finance roles.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::payouts::PayoutRow;
use crate::domain::approvals::ApprovalWorkflow;
use crate::domain::money::Money;

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
    pub status: String,
    pub payment_method: String,
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
pub fn mask_bank(value: &Value) -> Option<MaskedBank> {
    if value.is_null() || value.as_object().is_some_and(|o| o.is_empty()) {
        return None;
    }
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(String::from);
    let last4 = text("last4").or_else(|| {
        let digits: String = text("accountNumber")?.chars().filter(char::is_ascii_digit).collect();
        (digits.len() >= 4).then(|| digits[digits.len() - 4..].to_string())
    });
    Some(MaskedBank {
        last4,
        account_type: text("accountType"),
        bank_name: text("bankName"),
    })
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

pub fn payout_view(row: &PayoutRow, configured_required: u32, show_internal: bool) -> PayoutView {
    let workflow = ApprovalWorkflow::read(row.approval_workflow.as_ref().unwrap_or(&Value::Null), configured_required);
    PayoutView {
        id: row.id,
        payout_id: row.payout_id.clone(),
        user_id: row.user_id,
        member: Member { user_id: row.user_id, name: row.member_name.clone(), email: row.member_email.clone() },
        membership_id: row.membership_id,
        queue_position: row.queue_position,
        amount: Money::new(row.amount),
        currency: row.currency.clone().unwrap_or_else(|| "USD".into()),
        status: row.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| row.status.clone()),
        payment_method: row.payment_method.clone(),
        eligibility_check: row.eligibility_check.clone().unwrap_or_else(|| json!({})),
        current_approvals: workflow.current(),
        required_approvals: workflow.required_approvals,
        approval_workflow: workflow,
        scheduled_date: row.scheduled_date,
        completed_date: row.completed_date,
        bank_details: row.bank_details.as_ref().and_then(mask_bank),
        tax_withholding: row.tax_withholding.as_ref().map(scrub_processing),
        processing: row.processing.as_ref().map(scrub_processing),
        receipt_url: row.receipt_url.clone(),
        internal_notes: if show_internal { Some(row.internal_notes.clone().unwrap_or_else(|| json!([]))) } else { None },
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_details_are_masked_in_every_shape() {
        let ours = json!({"encrypted": "ab", "iv": "cd", "authTag": "ef", "last4": "6789", "accountType": "checking", "bankName": "First Bank", "keyId": "k1"});
        let m = mask_bank(&ours).unwrap();
        assert_eq!((m.last4.as_deref(), m.account_type.as_deref()), (Some("6789"), Some("checking")));
        let legacy = json!({"accountHolderName": "Old Row", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "savings"});
        let m = mask_bank(&legacy).unwrap();
        assert_eq!(m.last4.as_deref(), Some("6789"));
        let shown = serde_json::to_string(&m).unwrap();
        assert!(!shown.contains("123456789") && !shown.contains("011000015"), "{shown}");
        assert!(mask_bank(&json!(null)).is_none() && mask_bank(&json!({})).is_none());
    }

    #[test]
    fn secrets_nested_anywhere_in_processing_are_removed() {
        let legacy = json!({ "instructions": { "accountNumber": "123456789", "bank": [{ "routingNumber": "021000021" }] }, "sentDate": "x" });
        let shown = scrub_processing(&legacy).to_string();
        assert!(!shown.contains("123456789") && !shown.contains("021000021") && shown.contains("sentDate"), "{shown}");
    }
}
