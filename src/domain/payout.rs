//! A payout as the service understands it, parsed once from its `payout_management` row: typed
//! status, method, approvals, processing record and audit trail; money as exact decimals.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::approvals::ApprovalWorkflow;
use super::audit_chain;
use super::money::Money;
pub use super::payment_method::PaymentMethod;
use super::processing::Processing;
use super::status::PayoutStatus;

/// The member a payout pays, as the main app's `users` row names them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberContact {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The hash-chained `audit_trail` (SPEC §7) with the head recorded beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditTrail {
    /// The column as stored (null, an array, or something the old service left).
    pub raw: Value,
    pub entries: Vec<Value>,
    pub recorded_head: Option<String>,
    pub recorded_count: Option<i32>,
}

impl AuditTrail {
    /// The column and the head recorded beside it; a non-array value reads as no entries.
    pub fn parse(raw: Option<Value>, recorded_head: Option<String>, recorded_count: Option<i32>) -> Self {
        let raw = raw.unwrap_or(Value::Null);
        let entries = raw.as_array().cloned().unwrap_or_default();
        AuditTrail { raw, entries, recorded_head, recorded_count }
    }

    /// Appends an entry chained to the last one and returns it.
    pub fn append(&mut self, action: &str, actor: &str, at: &str, details: Value) -> Value {
        let entry = audit_chain::entry(&self.entries, action, actor, at, details);
        self.entries.push(entry.clone());
        self.raw = Value::Array(self.entries.clone());
        let (head, count) = audit_chain::head(&self.entries);
        self.recorded_head = head;
        self.recorded_count = Some(count);
        entry
    }

    /// False when any entry was edited, removed or inserted after the fact.
    pub fn is_intact(&self) -> bool {
        audit_chain::verify_with_head(&self.raw, self.recorded_head.as_deref(), self.recorded_count)
    }

    /// Whether an entry with this action and these details is already there.
    pub fn has(&self, action: &str, details_key: &str, details_value: &str) -> bool {
        self.entries.iter().any(|e| e["action"] == action && e["details"][details_key] == details_value)
    }
}

/// Bank details as stored: our AES-GCM envelope with display fields, or the old service's
/// plaintext object. Never shown as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBankDetails(pub Value);

impl StoredBankDetails {
    /// None for a missing, null or empty value.
    pub fn parse(value: Option<Value>) -> Option<Self> {
        value.filter(|v| !v.is_null() && !v.as_object().is_some_and(|o| o.is_empty())).map(StoredBankDetails)
    }

    /// A display field recorded beside the envelope (or a legacy plaintext field).
    pub fn text(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(Value::as_str).map(String::from)
    }

    /// The last four digits: recorded beside our envelope, or read off a legacy plaintext number.
    pub fn last4(&self) -> Option<String> {
        self.text("last4").or_else(|| {
            let digits: String = self.text("accountNumber")?.chars().filter(char::is_ascii_digit).collect();
            (digits.len() >= 4).then(|| digits[digits.len() - 4..].to_string())
        })
    }
}

/// One payout, parsed once from its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Payout {
    pub id: Uuid,
    /// The human-facing id, `PO-20261123-7KQ2M9XD`.
    pub payout_id: String,
    pub user_id: Uuid,
    pub member: MemberContact,
    pub membership_id: Option<Uuid>,
    pub queue_position: i32,
    pub amount: Money,
    pub currency: String,
    pub status: PayoutStatus,
    pub payment_method: PaymentMethod,
    /// The eligibility snapshot taken at creation (SPEC §5), shown as stored.
    pub eligibility_check: Value,
    pub approval_workflow: ApprovalWorkflow,
    pub scheduled_date: Option<DateTime<Utc>>,
    pub completed_date: Option<DateTime<Utc>>,
    pub bank_details: Option<StoredBankDetails>,
    /// What was withheld, as recorded when instructions were generated.
    pub tax_withholding: Option<Value>,
    pub processing: Processing,
    pub receipt_url: Option<String>,
    /// Staff notes as stored: an array of `{at, by, note}` (or whatever an old row held).
    pub internal_notes: Option<Value>,
    pub audit_trail: AuditTrail,
    /// The `admin.id` of the creator.
    pub created_by: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Payout {
    /// The notes with one more appended; a legacy non-array value is kept as the first note.
    pub fn notes_with(&self, note: Value) -> Value {
        let mut notes = match &self.internal_notes {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(other) => vec![json!({ "legacy": other })],
        };
        notes.push(note);
        Value::Array(notes)
    }

    /// How emails greet the member.
    pub fn member_name_or(&self, fallback: &str) -> String {
        self.member.name.clone().unwrap_or_else(|| fallback.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trail_appends_chained_entries_and_records_its_head() {
        let mut trail = AuditTrail::parse(None, None, None);
        assert!(trail.is_intact());
        let first = trail.append("created", "admin:1", "2026-01-01T00:00:00.000Z", json!({}));
        let second = trail.append("approved", "admin:2", "2026-01-02T00:00:00.000Z", json!({ "n": 1 }));
        assert_eq!(second["prevHash"], first["hash"]);
        assert_eq!(trail.recorded_count, Some(2));
        assert_eq!(trail.recorded_head.as_deref(), second["hash"].as_str());
        assert!(trail.is_intact());
        trail.recorded_count = Some(1);
        assert!(!trail.is_intact(), "a cut trail no longer matches its head");
    }

    #[test]
    fn stored_bank_details_mask_in_every_shape() {
        assert!(StoredBankDetails::parse(Some(json!({}))).is_none());
        assert!(StoredBankDetails::parse(Some(Value::Null)).is_none());
        let legacy = StoredBankDetails::parse(Some(json!({ "accountNumber": "12-3456789" }))).unwrap();
        assert_eq!(legacy.last4().as_deref(), Some("6789"));
        let ours = StoredBankDetails::parse(Some(json!({ "encrypted": "x", "last4": "4321" }))).unwrap();
        assert_eq!(ours.last4().as_deref(), Some("4321"));
    }

    #[test]
    fn a_legacy_note_value_is_kept_as_the_first_note() {
        let mut p = crate::domain::payout::tests_support::payout();
        p.internal_notes = Some(json!("typed by hand in 2024"));
        let notes = p.notes_with(json!({ "note": "new" }));
        assert_eq!(notes, json!([{ "legacy": "typed by hand in 2024" }, { "note": "new" }]));
    }
}

/// A minimal payout for unit tests of the pure rules.
#[cfg(test)]
pub mod tests_support {
    use super::*;

    pub fn payout() -> Payout {
        Payout {
            id: Uuid::nil(),
            payout_id: "PO-20260101-TEST0001".into(),
            user_id: Uuid::from_u128(7),
            member: MemberContact { name: Some("Mia Member".into()), email: Some("mia@tenure.test".into()) },
            membership_id: None,
            queue_position: 1,
            amount: Money::new(rust_decimal::Decimal::from(100_000)),
            currency: "USD".into(),
            status: PayoutStatus::PendingApproval,
            payment_method: PaymentMethod::Ach,
            eligibility_check: json!({}),
            approval_workflow: ApprovalWorkflow::new(2),
            scheduled_date: None,
            completed_date: None,
            bank_details: None,
            tax_withholding: None,
            processing: Processing::default(),
            receipt_url: None,
            internal_notes: Some(json!([])),
            audit_trail: AuditTrail::parse(Some(json!([])), None, Some(0)),
            created_by: Some(1),
            created_at: None,
            updated_at: None,
        }
    }
}
