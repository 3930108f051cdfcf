//! One pure rule per action: the payout before becomes the payout after, with its trail entry,
//! audit record, emails and effects.

use chrono::Datelike;
use serde_json::json;

use super::*;
use crate::domain::approvals::{self, ApprovalPolicy, ApprovalWorkflow, Approver, Rejection};
use crate::domain::calculation::calculate;
use crate::domain::payout::{PaymentMethod, StoredBankDetails};
use crate::domain::processing::{iso, FailureRecord, InstructedDestination, InstructionsRecord, Stamp};
use crate::domain::status::{transition, Action};

/// The payout being changed, with the moment and the actor every rule stamps on it.
pub(super) struct Draft<'a> {
    pub(super) before: &'a Payout,
    pub(super) after: Payout,
    pub(super) at: String,
    pub(super) by: &'a Actor,
}

pub(super) type Outcome = Result<Decision, Refusal>;

impl Draft<'_> {
    /// Moves to the status the table gives for `action`.
    pub(super) fn to(&mut self, action: Action) -> Result<PayoutStatus, Refusal> {
        let to = transition(self.before.status, action)?;
        self.after.status = to;
        Ok(to)
    }

    pub(super) fn chain(&mut self, action: &str, details: Value) -> Value {
        let by = self.by.label();
        self.after.audit_trail.append(action, &by, &self.at, details)
    }

    /// The usual finish: one trail entry, the status-change audit record, the emails.
    pub(super) fn done(self, trail_action: &str, audit_action: &'static str, details: Value, notices: Vec<Notice>) -> Outcome {
        self.done_with_effects(trail_action, audit_action, details, notices, Vec::new())
    }

    /// As `done`, with writes to other tables.
    fn done_with_effects(mut self, trail_action: &str, audit_action: &'static str, details: Value, notices: Vec<Notice>, effects: Vec<Effect>) -> Outcome {
        self.chain(trail_action, details.clone());
        let audit = AuditRecord::status_change(audit_action, self.before.status, self.after.status, details);
        Ok(Decision::Change(Box::new(Step { after: self.after, audit: Some(audit), notices, effects })))
    }

    pub(super) fn approve(mut self, comment: Option<String>, facts: &Facts, rules: &ChangeRules) -> Outcome {
        let approver = match (self.by.admin_id, self.by.user_id, &self.by.email) {
            (Some(admin_id), Some(user_id), Some(email)) => Approver { admin_id, user_id, email: email.clone(), role: self.by.role.clone() },
            _ => return Err(Refusal::NotAnAdmin),
        };
        if destination_drifted(self.before, &facts.destination, false) {
            return Err(Refusal::DestinationChanged);
        }
        let maker = self.before.bank_details.as_ref().and_then(|b| b.text("setBy"));
        let policy = ApprovalPolicy {
            created_by: self.before.created_by,
            creator_email: facts.creator_email.as_deref(),
            payee: self.before.user_id,
            allow_creator_approval: rules.allow_creator_approval,
            destination_maker: maker.as_deref(),
        };
        let fingerprint = facts.destination.first().cloned();
        let workflow = &mut self.after.approval_workflow;
        let completes = approvals::approve(workflow, &approver, self.at.clone(), comment, fingerprint, policy).map_err(Refusal::Approval)?;
        let details = json!({ "approvals": workflow.current(), "requiredApprovals": workflow.required_approvals, "fullyApproved": completes });
        self.to(Action::Approve { completes })?;
        let notices = if completes { vec![Notice::Member { template: "payout_approved", vars: vec![] }] } else { vec![] };
        let (trail, audit) = if completes { ("approved", "payout_approved") } else { ("approval_added", "payout_approval_added") };
        self.done(trail, audit, details, notices)
    }

    pub(super) fn reject(mut self, reason: &str) -> Outcome {
        self.to(Action::Reject)?;
        let admin_id = self.by.admin_id.ok_or(Refusal::NotAnAdmin)?;
        self.after.approval_workflow.rejection = Some(Rejection { admin_id, email: self.by.email.clone(), at: self.at.clone(), reason: reason.to_string() });
        let notices = vec![Notice::Member { template: "payout_rejected", vars: vec![("reason", reason.to_string())] }];
        self.done("rejected", "payout_rejected", json!({ "reason": reason }), notices)
    }

    pub(super) fn cancel(mut self, reason: &str, facts: &Facts) -> Outcome {
        self.to(Action::Cancel)?;
        refuse_in_live_ach_file(facts)?;
        self.after.internal_notes = Some(self.before.notes_with(json!({ "at": self.at, "by": self.by.label(), "note": format!("Cancelled: {reason}") })));
        self.after.processing.payment_file = None;
        let details = json!({ "reason": reason, "previousStatus": self.before.status });
        // A check already in a Positive Pay file becomes a void record in the next one.
        self.done_with_effects("cancelled", "payout_cancelled", details, vec![], vec![Effect::ReleaseFromFiles])
    }

    pub(super) fn change_destination(mut self, d: &NewDestination, facts: &Facts, rules: &ChangeRules) -> Outcome {
        self.to(Action::ChangeDestination)?;
        refuse_in_live_ach_file(facts)?;
        let clears = destination_change_clears(self.before);
        let mut stored = d.envelope.clone();
        stored["last4"] = json!(d.last4);
        stored["accountType"] = json!(d.account_type);
        stored["bankName"] = json!(d.bank_name);
        stored["updatedAt"] = json!(self.at);
        stored["setBy"] = json!(self.by.label());
        self.after.bank_details = Some(StoredBankDetails(stored));
        if clears {
            self.after.approval_workflow = ApprovalWorkflow::new(self.before.approval_workflow.required_approvals.max(rules.required_approvals));
            // Instructions named the old account: they must be generated again after re-approval.
            if self.after.processing.has_instructions() {
                self.after.processing.forget_instructions();
            }
        }
        let masked = json!({ "last4": d.last4, "accountType": d.account_type, "bankName": d.bank_name, "approvalsCleared": clears });
        let trail = if clears { "bank_details_changed_approvals_cleared" } else { "bank_details_updated" };
        // The member hears of every change, in case it was not them; never with the numbers.
        let by_member = self.by.user_id == Some(self.before.user_id) && self.by.admin_id.is_none();
        let changed_by = if by_member { "you".to_string() } else { format!("{} (staff)", self.by.display_name()) };
        let when = self.at.get(..10).unwrap_or(&self.at).to_string();
        let notices = vec![Notice::Member { template: "bank_details_changed", vars: vec![("changed_at", when), ("changed_by", changed_by)] }];
        self.done(trail, "payout_bank_details_updated", masked, notices)
    }

    pub(super) fn generate_instructions(mut self, facts: &Facts, rules: &ChangeRules) -> Outcome {
        self.to(Action::GenerateInstructions)?;
        if destination_drifted(self.before, &facts.destination, true) {
            return Err(Refusal::DestinationChanged);
        }
        let calc = calculate(self.before.amount.amount(), facts.has_w9, &rules.calculation);
        let destination = match self.before.payment_method {
            PaymentMethod::Check => InstructedDestination::Check { mailing_address: facts.mailing_address.clone().ok_or(Refusal::AddressMissing)? },
            PaymentMethod::Ach => {
                match &facts.bank {
                    BankFact::Clear(_) => {}
                    BankFact::Unreadable => return Err(Refusal::BankDetailsUnreadable),
                    BankFact::NotEncrypted => return Err(Refusal::BankDetailsNotEncrypted),
                    BankFact::Missing | BankFact::NotLoaded => return Err(Refusal::BankDetailsMissing),
                }
                let stored = self.before.bank_details.as_ref().ok_or(Refusal::BankDetailsMissing)?;
                // The one place bank details are decrypted leaves its own entry.
                self.chain("bank_details_decrypted", json!({ "purpose": "payment instructions" }));
                InstructedDestination::Ach { last4: stored.last4(), account_type: stored.text("accountType"), bank_name: stored.text("bankName") }
            }
            other => return Err(Refusal::UnsupportedPaymentMethod(other)),
        };
        let p = &mut self.after.processing;
        p.instructions = Some(InstructionsRecord {
            destination,
            net_amount: calc.net_amount,
            reference: self.before.payout_id.clone(),
            generated_at: self.at.clone(),
            generated_by: self.by.label(),
        });
        p.instructions_generated_at = Some(self.at.clone());
        self.after.tax_withholding = Some(json!({ "hasW9": calc.has_w9, "rate": calc.withholding_rate, "amount": calc.withholding_amount, "reason": calc.withholding_reason }));
        let details = json!({ "netAmount": calc.net_amount, "withholding": calc.withholding_amount, "method": self.before.payment_method });
        self.after.processing.calculation = Some(calc);
        self.done("instructions_generated", "payout_instructions_generated", details, vec![])
    }

    pub(super) fn mark_sent(mut self, s: &SentDetails, facts: &Facts) -> Outcome {
        self.to(Action::MarkSent)?;
        if !self.before.processing.has_instructions() {
            return Err(Refusal::InstructionsNotGenerated);
        }
        if destination_drifted(self.before, &facts.destination, true) {
            return Err(Refusal::DestinationChanged);
        }
        let mut errors = super::dates::check_sent(self.before, s.sent_date, s.expected_arrival, facts.now);
        if let Some(named) = &s.payment_file_id {
            if facts.live_file.as_ref().map(|(id, _)| id) != Some(named) {
                errors.push(crate::domain::validation::FieldError::new("paymentFileId", "is not a live payment file holding this payout"));
            }
        }
        if !errors.is_empty() {
            return Err(Refusal::Invalid(errors));
        }
        let p = &mut self.after.processing;
        p.sent_date = Some(Stamp::new(s.sent_date));
        p.expected_arrival_date = Some(Stamp::new(s.expected_arrival));
        p.tracking_number = Some(s.tracking_number.clone());
        p.sent_by = Some(self.by.label());
        if s.notes.is_some() {
            p.sent_notes = s.notes.clone();
        }
        self.after.scheduled_date = Some(s.expected_arrival);
        let net = self.before.processing.calculation.as_ref().map(|c| c.net_amount.display_usd()).unwrap_or_default();
        let method = if self.before.payment_method == PaymentMethod::Check { "a paper check" } else { "an ACH bank transfer" };
        let notices = vec![Notice::Member {
            template: "payment_sent",
            vars: vec![
                ("net_amount", net),
                ("method", method.into()),
                ("sent_date", s.sent_date.format("%B %-d, %Y").to_string()),
                ("expected_arrival", s.expected_arrival.format("%B %-d, %Y").to_string()),
                ("tracking", s.tracking_number.as_ref().map(|t| format!("Tracking number: {t}")).unwrap_or_default()),
            ],
        }];
        let mut details = json!({ "sentDate": iso(s.sent_date), "expectedArrivalDate": iso(s.expected_arrival), "trackingNumber": s.tracking_number });
        if let Some(file) = &s.payment_file_id {
            details["paymentFileId"] = json!(file);
        }
        self.done("payment_sent", "payout_payment_sent", details, notices)
    }

    pub(super) fn confirm(mut self, d: &ConfirmDetails, facts: &Facts, rules: &ChangeRules) -> Outcome {
        self.to(Action::Confirm)?;
        let errors = super::dates::check_completed(self.before, d.completed_date, facts.now);
        if !errors.is_empty() {
            return Err(Refusal::Invalid(errors));
        }
        let calc = effective_calculation(self.before, facts.has_w9, &rules.calculation);
        let p = &mut self.after.processing;
        p.completed_date = Some(Stamp::new(d.completed_date));
        p.confirmation_number = Some(d.confirmation_number.clone());
        p.confirmed_by = Some(self.by.label());
        if d.notes.is_some() {
            p.confirm_notes = d.notes.clone();
        }
        p.calculation = Some(calc.clone());
        let receipt_url = format!("/api/payouts/{}/receipt", self.before.payout_id);
        self.after.completed_date = Some(d.completed_date);
        self.after.receipt_url = Some(receipt_url);
        let member = &self.before.member;
        let effect = Effect::File1099 {
            tax_year: d.completed_date.year(),
            recipient: json!({ "name": member.name, "email": member.email, "userId": self.before.user_id }),
            payer: json!({ "name": rules.company_name }),
            income: json!({ "box3OtherIncome": calc.gross_amount, "federalIncomeTaxWithheld": calc.withholding_amount, "payoutId": self.before.payout_id }),
            notes: format!("Payout {}", self.before.payout_id),
        };
        let notices = vec![Notice::Member { template: "payout_completed", vars: vec![("net_amount", calc.net_amount.display_usd())] }];
        let details = json!({ "completedDate": iso(d.completed_date), "confirmationNumber": d.confirmation_number });
        self.done_with_effects("completed", "payout_completed", details, notices, vec![effect])
    }

    pub(super) fn mark_failed(mut self, reason: &str, return_code: Option<String>) -> Outcome {
        self.to(Action::MarkFailed)?;
        let failure = FailureRecord { reason: reason.to_string(), return_code: return_code.clone(), at: self.at.clone(), by: self.by.label(), previous_status: self.before.status };
        let p = &mut self.after.processing;
        p.failures.get_or_insert_with(Vec::new).push(failure.clone());
        p.failure = Some(failure.clone());
        let code = return_code.as_ref().map(|c| format!(" (ACH return code {c})")).unwrap_or_default();
        let vars = vec![("reason", reason.to_string()), ("return_code", code)];
        let notices = vec![
            Notice::Member { template: "payment_failed_member", vars: vars.clone() },
            Notice::Admins { template: "payment_failed_admin", vars },
        ];
        let effects = if self.before.status == PayoutStatus::Completed {
            let correction = json!({ "at": self.at, "by": self.by.label(), "reason": "payment failed after confirmation", "returnCode": return_code });
            let code = return_code.unwrap_or_else(|| "no return code".into());
            vec![Effect::Correct1099 { correction, note: format!(" | Payment failed after confirmation ({code}); review before filing") }]
        } else {
            vec![]
        };
        let details = serde_json::to_value(&failure).unwrap_or_default();
        self.done_with_effects("payment_failed", "payout_payment_failed", details, notices, effects)
    }

    pub(super) fn reissue(mut self, rules: &ChangeRules) -> Outcome {
        self.to(Action::Reissue)?;
        let p = &mut self.after.processing;
        p.forget_attempt();
        p.payment_file = None;
        let reissues = p.reissues.unwrap_or(0) + 1;
        p.reissues = Some(reissues);
        let old = &self.before.approval_workflow;
        let mut fresh = ApprovalWorkflow::new(old.required_approvals.max(rules.required_approvals));
        fresh.legacy = old.legacy.clone();
        let required = fresh.required_approvals;
        self.after.approval_workflow = fresh;
        self.after.scheduled_date = None;
        self.after.completed_date = None;
        self.after.receipt_url = None;
        self.after.tax_withholding = None;
        let notices = vec![awaiting_approval("reissued", self.by, &self.after, required)];
        let details = json!({ "reissue": reissues, "approvalsCleared": old.current() });
        // The failed attempt's check (if any) is voided in the next Positive Pay file.
        self.done_with_effects("reissued", "payout_reissued", details, notices, vec![Effect::ReleaseFromFiles])
    }

    pub(super) fn reset_destination(mut self, rules: &ChangeRules) -> Outcome {
        self.to(Action::ChangeDestination)?;
        let old = &self.before.approval_workflow;
        let mut fresh = ApprovalWorkflow::new(old.required_approvals.max(rules.required_approvals));
        fresh.legacy = old.legacy.clone();
        self.after.approval_workflow = fresh;
        self.after.processing.forget_instructions();
        self.after.processing.payment_file = None;
        let details = json!({ "approvalsCleared": old.current(), "previousStatus": self.before.status });
        let notices = vec![
            Notice::Admins { template: "destination_changed_admin", vars: vec![] },
            Notice::Member { template: "destination_changed_member", vars: vec![] },
        ];
        self.done_with_effects("destination_changed", "payout_destination_changed", details, notices, vec![Effect::ReleaseFromFiles])
    }

    /// The full account number shown to an admin (SPEC §15): only readable, encrypted ACH
    /// details; one trail entry and one audit row, nothing else changes.
    pub(super) fn reveal_destination(mut self, facts: &Facts) -> Outcome {
        let status = self.to(Action::Reveal)?;
        if self.before.payment_method != PaymentMethod::Ach {
            return Err(Refusal::UnsupportedPaymentMethod(self.before.payment_method));
        }
        match &facts.bank {
            BankFact::Clear(_) => {}
            BankFact::Unreadable => return Err(Refusal::BankDetailsUnreadable),
            BankFact::NotEncrypted => return Err(Refusal::BankDetailsNotEncrypted),
            BankFact::Missing | BankFact::NotLoaded => return Err(Refusal::BankDetailsMissing),
        }
        let details = json!({ "purpose": "console reveal" });
        self.chain("bank_details_decrypted", details.clone());
        let audit = AuditRecord::status_change("payout_bank_details_revealed", status, status, details);
        Ok(Decision::Change(Box::new(Step { after: self.after, audit: Some(audit), notices: vec![], effects: vec![] })))
    }

    pub(super) fn issue_receipt(mut self, sha256: &str, bytes: usize) -> Outcome {
        self.to(Action::IssueReceipt)?;
        if self.before.audit_trail.has("receipt_issued", "sha256", sha256) {
            return Ok(Decision::Unchanged);
        }
        self.chain("receipt_issued", json!({ "sha256": sha256, "bytes": bytes }));
        // Downloading a receipt is recorded in the trail only, not as a user_audit_logs row.
        Ok(Decision::Change(Box::new(Step { after: self.after, audit: None, notices: vec![], effects: vec![] })))
    }

    pub(super) fn remove_membership(mut self, months: u32, facts: &Facts) -> Outcome {
        self.to(Action::RemoveMembership)?;
        if self.before.processing.is_membership_removed() {
            return Ok(Decision::Unchanged);
        }
        let p = &mut self.after.processing;
        p.membership_removed = Some(true);
        p.membership_removed_at = Some(Stamp::new(facts.now));
        // The subscription cancel is owed from this moment, durably: recorded with the removal
        // and retried until the subscription service accepts it (SPEC §13).
        p.subscription_cancellation = Some(json!({ "ok": false, "state": "pending", "attempts": 0, "requestedAt": self.at }));
        self.chain("membership_removed", json!({ "months": months, "previousUserStatus": facts.member_status }));
        let audit = AuditRecord {
            action: "membership_removed",
            old_values: json!({ "userStatus": facts.member_status }),
            new_values: json!({ "userStatus": "Inactive" }),
            metadata: json!({ "job": "membership-removal" }),
        };
        let notices = vec![Notice::Member { template: "membership_removed", vars: vec![] }];
        Ok(Decision::Change(Box::new(Step { after: self.after, audit: Some(audit), notices, effects: vec![Effect::DeactivateMember] })))
    }
}

/// Money already in a live ACH file would still reach the bank: the file is voided first.
fn refuse_in_live_ach_file(facts: &Facts) -> Result<(), Refusal> {
    match &facts.live_file {
        Some((id, FileKind::Ach)) => Err(Refusal::AlreadyInFile(id.clone())),
        _ => Ok(()),
    }
}
