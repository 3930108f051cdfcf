//! The payout's `processing` record: the calculation, the instructions snapshot, the sent and
//! confirmed facts, failures, reissues and membership removal. Parsed key by key, so a value the
//! old service stored in an unexpected shape stays in `legacy` (written back as it was) instead
//! of failing the whole row or being dropped.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::calculation::Calculation;
use super::money::Money;
use super::payment_method::PaymentMethod;
use super::status::PayoutStatus;

/// Timestamps as every record of ours carries them: RFC 3339, milliseconds, `Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A moment as the record holds it: the instant, and the text it was stored as (ours are
/// `iso`; an old row's stay as they were written, so reading never rewrites them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: DateTime<Utc>,
    text: String,
}

impl Stamp {
    /// A new moment, written as `iso`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Stamp { at, text: iso(at) }
    }

    /// An RFC 3339 text as stored.
    pub fn parse(text: &str) -> Option<Self> {
        let at = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
        Some(Stamp { at, text: text.to_string() })
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Where the instructions said to send the money (masked: never the account number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum InstructedDestination {
    #[serde(rename_all = "camelCase")]
    Ach { last4: Option<String>, account_type: Option<String>, bank_name: Option<String> },
    #[serde(rename_all = "camelCase")]
    Check { mailing_address: Value },
}

impl InstructedDestination {
    /// The method the destination belongs to.
    pub fn method(&self) -> PaymentMethod {
        match self {
            InstructedDestination::Ach { .. } => PaymentMethod::Ach,
            InstructedDestination::Check { .. } => PaymentMethod::Check,
        }
    }
}

/// The snapshot kept when instructions are generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstructionsRecord {
    #[serde(flatten)]
    pub destination: InstructedDestination,
    pub net_amount: Money,
    pub reference: String,
    pub generated_at: String,
    pub generated_by: String,
}

/// One failed or returned payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    pub reason: String,
    pub return_code: Option<String>,
    pub at: String,
    pub by: String,
    pub previous_status: PayoutStatus,
}

/// The `processing` record of a payout: what happened on the way to the money arriving.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Processing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calculation: Option<Calculation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<InstructionsRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions_generated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_date: Option<Stamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_arrival_date: Option<Stamp>,
    /// Present (possibly null) once the payment was marked sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_date: Option<Stamp>,
    /// Present (possibly null) once the payment was confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_number: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<FailureRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reissues: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_removed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_removed_at: Option<Stamp>,
    /// What the subscription service answered to the cancel after removal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_cancellation: Option<Value>,
    /// The live ACH or Positive Pay file holding the payout: `{fileId, kind, addedAt,
    /// traceNumber | checkNumber}` (SPEC §14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_file: Option<Value>,
    /// The latest prenote: `{fileId, sentAt, traceNumber}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prenote: Option<Value>,
    /// The stored value when it was not an object (null, or what an old row left), so readers
    /// see it as stored until a change writes the record.
    #[serde(skip)]
    pub non_object: Option<Value>,
    /// Keys we do not know, or known keys whose stored value we cannot read, kept verbatim.
    /// A non-object value the old service stored is kept as `legacy`. Written back beside ours
    /// (ours win when a key is in both).
    #[serde(skip)]
    pub legacy: Map<String, Value>,
}

/// Takes `key` out of `map` when its value reads as `T`; otherwise leaves it for `legacy`.
fn take<T: DeserializeOwned>(map: &mut Map<String, Value>, key: &str) -> Option<T> {
    let parsed = serde_json::from_value::<T>(map.get(key)?.clone()).ok()?;
    map.remove(key);
    Some(parsed)
}

fn take_time(map: &mut Map<String, Value>, key: &str) -> Option<Stamp> {
    let t = Stamp::parse(map.get(key)?.as_str()?)?;
    map.remove(key);
    Some(t)
}

/// A calculation counts as ours only when it has line items; older ones are recomputed.
fn take_calculation(map: &mut Map<String, Value>) -> Option<Calculation> {
    map.get("calculation")?.get("lineItems")?;
    take(map, "calculation")
}

impl Processing {
    /// Reads the stored value: an object (ours or the old service's), null, or anything else.
    pub fn parse(value: Option<&Value>) -> Self {
        let mut map = match value {
            Some(Value::Object(o)) => o.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(other) => Map::from_iter([("legacy".to_string(), other.clone())]),
        };
        let non_object = match value {
            Some(Value::Object(_)) => None,
            other => Some(other.cloned().unwrap_or(Value::Null)),
        };
        Processing {
            non_object,
            calculation: take_calculation(&mut map),
            instructions: take(&mut map, "instructions"),
            instructions_generated_at: take(&mut map, "instructionsGeneratedAt"),
            sent_date: take_time(&mut map, "sentDate"),
            expected_arrival_date: take_time(&mut map, "expectedArrivalDate"),
            tracking_number: take(&mut map, "trackingNumber"),
            sent_by: take(&mut map, "sentBy"),
            sent_notes: take(&mut map, "sentNotes"),
            completed_date: take_time(&mut map, "completedDate"),
            confirmation_number: take(&mut map, "confirmationNumber"),
            confirmed_by: take(&mut map, "confirmedBy"),
            confirm_notes: take(&mut map, "confirmNotes"),
            failures: take(&mut map, "failures"),
            failure: take(&mut map, "failure"),
            reissues: take(&mut map, "reissues"),
            membership_removed: take(&mut map, "membershipRemoved"),
            membership_removed_at: take_time(&mut map, "membershipRemovedAt"),
            subscription_cancellation: take(&mut map, "subscriptionCancellation"),
            payment_file: take(&mut map, "paymentFile"),
            prenote: take(&mut map, "prenote"),
            legacy: map,
        }
    }

    /// How readers see the record: as stored while nothing rewrote it (null stays null).
    pub fn shown(&self) -> Option<Value> {
        match &self.non_object {
            Some(Value::Null) => None,
            Some(other) => Some(other.clone()),
            None => Some(self.to_value()),
        }
    }

    /// The stored form (an object; an old non-object value kept as `legacy`).
    pub fn to_value(&self) -> Value {
        let mut out = match serde_json::to_value(self) {
            Ok(Value::Object(ours)) => ours,
            _ => Map::new(),
        };
        for (key, value) in &self.legacy {
            out.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Value::Object(out)
    }

    /// Whether instructions were generated (ours, or an old row's in a shape we cannot read).
    pub fn has_instructions(&self) -> bool {
        self.instructions.is_some() || self.legacy.contains_key("instructions")
    }

    /// Instructions named a destination: forget them (a new destination, a new attempt).
    pub fn forget_instructions(&mut self) {
        self.instructions = None;
        self.instructions_generated_at = None;
        self.legacy.remove("instructions");
        self.legacy.remove("instructionsGeneratedAt");
    }

    /// Reissue: the last attempt's instructions, sent and confirmed facts go; who did them stays.
    pub fn forget_attempt(&mut self) {
        self.forget_instructions();
        self.sent_date = None;
        self.expected_arrival_date = None;
        self.tracking_number = None;
        self.completed_date = None;
        self.confirmation_number = None;
        for key in ["sentDate", "expectedArrivalDate", "trackingNumber", "completedDate", "confirmationNumber"] {
            self.legacy.remove(key);
        }
    }

    /// The removal job already retired the member.
    pub fn is_membership_removed(&self) -> bool {
        self.membership_removed == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn our_record_round_trips_exactly() {
        let stored = json!({
            "calculation": { "grossAmount": "100000.00", "retentionFee": "300.00", "withholdingAmount": "0.00", "withholdingRate": "0",
                             "withholdingReason": null, "netAmount": "99700.00", "hasW9": true,
                             "lineItems": [{ "label": "Reward", "amount": "100000.00" }] },
            "instructions": { "method": "ach", "last4": "6789", "accountType": "checking", "bankName": null,
                              "netAmount": "99700.00", "reference": "PO-1", "generatedAt": "2026-01-01T00:00:00.000Z", "generatedBy": "admin:1" },
            "instructionsGeneratedAt": "2026-01-01T00:00:00.000Z",
            "sentDate": "2026-01-02T00:00:00.000Z", "expectedArrivalDate": "2026-01-04T00:00:00.000Z",
            "trackingNumber": null, "sentBy": "admin:2",
            "failures": [{ "reason": "R01", "returnCode": null, "at": "2026-01-05T00:00:00.000Z", "by": "admin:1", "previousStatus": "payment_sent" }],
            "reissues": 1,
        });
        let p = Processing::parse(Some(&stored));
        assert!(p.legacy.is_empty(), "{:?}", p.legacy);
        assert_eq!(p.tracking_number, Some(None), "a null tracking number is still 'marked sent'");
        assert_eq!(p.to_value(), stored);
    }

    #[test]
    fn unknown_keys_and_unreadable_values_are_kept_verbatim() {
        let stored = json!({ "oldSystemRef": 42, "sentDate": 20250201, "instructions": "see email" });
        let p = Processing::parse(Some(&stored));
        assert_eq!(p.sent_date, None);
        assert!(p.has_instructions());
        assert_eq!(p.to_value(), stored, "nothing is dropped or reshaped");
        let legacy_time = json!({ "sentDate": "2025-02-01T00:00:00Z" });
        let p = Processing::parse(Some(&legacy_time));
        assert_eq!(p.sent_date.as_ref().map(|s| s.at.timestamp()), Some(1_738_368_000));
        assert_eq!(p.to_value(), legacy_time, "an old row's timestamp keeps its text");
        let odd = Processing::parse(Some(&json!("wired manually")));
        assert_eq!(odd.to_value(), json!({ "legacy": "wired manually" }), "written back as an object");
        assert_eq!(odd.shown(), Some(json!("wired manually")), "shown as stored");
        assert_eq!(Processing::parse(None).to_value(), json!({}));
        assert_eq!(Processing::parse(None).shown(), None);
        assert_eq!(Processing::parse(Some(&json!({}))).shown(), Some(json!({})), "an empty object is not null");
    }

    #[test]
    fn a_legacy_calculation_without_line_items_is_not_ours() {
        let p = Processing::parse(Some(&json!({ "calculation": { "netAmount": "99700" } })));
        assert!(p.calculation.is_none());
        assert_eq!(p.legacy["calculation"], json!({ "netAmount": "99700" }));
    }

    #[test]
    fn reissue_forgets_the_attempt_but_not_who_acted() {
        let mut p = Processing::parse(Some(&json!({ "sentDate": "2026-01-02T00:00:00Z", "sentBy": "admin:2", "trackingNumber": "T1",
                                                    "confirmationNumber": null, "completedDate": "2026-01-03T00:00:00Z" })));
        p.forget_attempt();
        assert_eq!(p.to_value(), json!({ "sentBy": "admin:2" }));
    }
}
