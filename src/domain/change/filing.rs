//! Payment files (SPEC §14): a payout put in an ACH, prenote or Positive Pay file, and released
//! from one that is voided. Filing moves no status; it is checked like paying is (§12's
//! fingerprint), because the file is what the bank pays from.

use serde_json::json;

use super::rules::{Draft, Outcome};
use super::*;
use crate::domain::status::Action;

impl Draft<'_> {
    pub(super) fn add_to_file(mut self, f: &FiledIn, facts: &Facts) -> Outcome {
        let expected = f.kind.method();
        if self.before.payment_method != expected {
            return Err(Refusal::WrongPaymentMethod { expected });
        }
        self.to(if f.kind == FileKind::AchPrenote { Action::Prenote } else { Action::File })?;
        if f.kind.holds() {
            if !self.before.processing.has_instructions() {
                return Err(Refusal::InstructionsNotGenerated);
            }
            if destination_drifted(self.before, &facts.destination, true) {
                return Err(Refusal::DestinationChanged);
            }
            if let Some((id, _)) = &facts.live_file {
                return Err(Refusal::AlreadyInFile(id.clone()));
            }
        }
        if expected == PaymentMethod::Ach {
            match &facts.bank {
                BankFact::Clear(_) => {}
                BankFact::Unreadable => return Err(Refusal::BankDetailsUnreadable),
                BankFact::NotEncrypted => return Err(Refusal::BankDetailsNotEncrypted),
                BankFact::Missing | BankFact::NotLoaded => return Err(Refusal::BankDetailsMissing),
            }
            // The file carries the account number in full: the decryption leaves its entry.
            self.chain("bank_details_decrypted", json!({ "purpose": format!("{} file {}", f.kind.as_str(), f.file_id) }));
        }
        let mut details = json!({ "fileId": f.file_id, "kind": f.kind.as_str() });
        if let Some(trace) = &f.trace_number {
            details["traceNumber"] = json!(trace);
        }
        if let Some(check) = f.check_number {
            details["checkNumber"] = json!(check);
        }
        let mut record = details.clone();
        if f.kind == FileKind::AchPrenote {
            record["sentAt"] = json!(self.at);
            self.after.processing.prenote = Some(record);
            return self.done("prenote_sent", "payout_prenote_sent", details, vec![]);
        }
        record["addedAt"] = json!(self.at);
        self.after.processing.payment_file = Some(record);
        self.done("added_to_payment_file", "payout_added_to_payment_file", details, vec![])
    }

    pub(super) fn remove_from_file(mut self, file_id: &str, reason: &str) -> Outcome {
        self.to(Action::File)?;
        self.after.processing.payment_file = None;
        let details = json!({ "fileId": file_id, "reason": reason });
        self.done("removed_from_payment_file", "payout_removed_from_payment_file", details, vec![])
    }
}
