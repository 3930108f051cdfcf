//! Every change to a payout as a value (`PayoutAction`) and one pure rule per action that turns
//! the payout before into the payout after, with its trail entries, its `user_audit_logs` record,
//! its emails and its effects on other tables. `workflow::change::apply` runs the I/O around it.
//! Adding an action means one variant here and one function below.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::approvals::{self, ApprovalPolicy, ApprovalRefusal, ApprovalWorkflow, Approver, Rejection};
use super::calculation::{calculate, CalculationRules};
use super::money::Money;
use super::payout::{PaymentMethod, Payout, StoredBankDetails};
use super::processing::{iso, FailureRecord, InstructedDestination, InstructionsRecord};
use super::status::{transition, Action, InvalidTransition, PayoutStatus};

/// Who acts: a signed-in person (an admin or a member) or the service's own jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub admin_id: Option<i32>,
    pub email: Option<String>,
    pub name: Option<String>,
    /// The admin role as the main app spells it ("Super Admin", "Manager", "Support").
    pub role: Option<String>,
}

impl Actor {
    /// The daily jobs.
    pub fn system() -> Self {
        Actor { user_id: None, admin_id: None, email: None, name: None, role: None }
    }

    /// How audit entries name the actor: `admin:<id>`, `user:<uuid>` or `system`.
    pub fn label(&self) -> String {
        match (self.admin_id, self.user_id) {
            (Some(id), _) => format!("admin:{id}"),
            (None, Some(user)) => format!("user:{user}"),
            (None, None) => "system".into(),
        }
    }

    /// How emails name the actor: their name, else their email.
    pub fn display_name(&self) -> String {
        self.name.clone().or_else(|| self.email.clone()).unwrap_or_else(|| "the payout service".into())
    }
}

/// When the payment was sent and when it should arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentDetails {
    pub sent_date: DateTime<Utc>,
    pub expected_arrival: DateTime<Utc>,
    pub tracking_number: Option<String>,
    pub notes: Option<String>,
}

/// When the money arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmDetails {
    pub completed_date: DateTime<Utc>,
    pub confirmation_number: Option<String>,
    pub notes: Option<String>,
}

/// New bank details, already encrypted, with what may be shown of them.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDestination {
    /// The AES-GCM envelope of the details.
    pub envelope: Value,
    pub last4: String,
    pub account_type: String,
    pub bank_name: Option<String>,
}

/// Every change a payout can go through after creation.
#[derive(Debug, Clone, PartialEq)]
pub enum PayoutAction {
    Approve { comment: Option<String> },
    Reject { reason: String },
    Cancel { reason: String },
    ChangeDestination(NewDestination),
    GenerateInstructions,
    MarkSent(SentDetails),
    Confirm(ConfirmDetails),
    MarkFailed { reason: String, return_code: Option<String> },
    Reissue,
    IssueReceipt { sha256: String, bytes: usize },
    RemoveMembership { months: u32 },
}

impl PayoutAction {
    /// The row of SPEC §4's table the action needs (approval as the not-yet-complete kind: both
    /// kinds start from the same status).
    pub fn kind(&self) -> Action {
        match self {
            PayoutAction::Approve { .. } => Action::Approve { completes: false },
            PayoutAction::Reject { .. } => Action::Reject,
            PayoutAction::Cancel { .. } => Action::Cancel,
            PayoutAction::ChangeDestination(_) => Action::ChangeDestination,
            PayoutAction::GenerateInstructions => Action::GenerateInstructions,
            PayoutAction::MarkSent(_) => Action::MarkSent,
            PayoutAction::Confirm(_) => Action::Confirm,
            PayoutAction::MarkFailed { .. } => Action::MarkFailed,
            PayoutAction::Reissue => Action::Reissue,
            PayoutAction::IssueReceipt { .. } => Action::IssueReceipt,
            PayoutAction::RemoveMembership { .. } => Action::RemoveMembership,
        }
    }
}

/// The bank details as the instructions need them, once decrypted.
#[derive(Debug, Clone, PartialEq)]
pub enum BankFact {
    NotLoaded,
    Missing,
    /// Encrypted under an unknown key, or incomplete.
    Unreadable,
    /// The clear details (holder, routing and account number, type, bank name).
    Clear(Value),
}

/// What an action's rule needs from outside the payout row, read under the same lock.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub now: DateTime<Utc>,
    /// A W-9 is on file for the member.
    pub has_w9: bool,
    /// The creator's email, lowercase.
    pub creator_email: Option<String>,
    /// The member's primary mailing address (checks).
    pub mailing_address: Option<Value>,
    pub bank: BankFact,
    /// The member's `users.status` (membership removal).
    pub member_status: Option<String>,
}

impl Facts {
    pub fn at(now: DateTime<Utc>) -> Self {
        Facts { now, has_w9: false, creator_email: None, mailing_address: None, bank: BankFact::NotLoaded, member_status: None }
    }
}

/// The configured rules the actions apply.
#[derive(Debug, Clone)]
pub struct ChangeRules {
    pub required_approvals: u32,
    pub allow_creator_approval: bool,
    pub calculation: CalculationRules,
    /// The payer on the 1099-MISC.
    pub company_name: String,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    InvalidStatus(InvalidTransition),
    NotAnAdmin,
    Approval(ApprovalRefusal),
    InstructionsNotGenerated,
    UnsupportedPaymentMethod(PaymentMethod),
    AddressMissing,
    BankDetailsMissing,
    BankDetailsUnreadable,
    /// A field of the request contradicts the payout (e.g. confirmed before it was sent).
    Invalid { field: &'static str, message: &'static str },
}

impl From<InvalidTransition> for Refusal {
    fn from(e: InvalidTransition) -> Self {
        Refusal::InvalidStatus(e)
    }
}

/// The `user_audit_logs` row of a change.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub action: &'static str,
    pub old_values: Value,
    pub new_values: Value,
    /// Merged into the metadata beside the payout id.
    pub metadata: Value,
}

impl AuditRecord {
    /// The usual record: the status before, the status after and the details.
    pub fn status_change(action: &'static str, from: PayoutStatus, to: PayoutStatus, details: Value) -> Self {
        AuditRecord { action, old_values: json!({ "status": from }), new_values: json!({ "status": to, "details": details }), metadata: json!({}) }
    }
}

/// An email the change sends, rendered and queued in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// To the payout's member.
    Member { template: &'static str, vars: Vec<(&'static str, String)> },
    /// To every active admin.
    Admins { template: &'static str, vars: Vec<(&'static str, String)> },
}

/// A write to a table other than `payout_management`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The 1099-MISC for the year the money arrived: box 3 other income, federal tax withheld.
    File1099 { tax_year: i32, recipient: Value, payer: Value, income: Value, notes: String },
    /// The 1099-MISC written on confirmation must not be filed as is.
    Flag1099 { note: String },
    /// The member's account becomes Inactive (SPEC §9).
    DeactivateMember,
}

/// A change that will be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub after: Payout,
    pub audit: Option<AuditRecord>,
    pub notices: Vec<Notice>,
    pub effects: Vec<Effect>,
}

/// An action's outcome: a change, or nothing to do (it already happened).
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Change(Step),
    Unchanged,
}

/// Whether new bank details clear the approvals: once anyone approved, a new destination
/// sends the payout back for fresh approval.
pub fn destination_change_clears(before: &Payout) -> bool {
    before.approval_workflow.current() > 0 || before.status == PayoutStatus::Approved
}

/// Applies `action` to `before`. Pure: everything it needs is in its arguments.
pub fn decide(before: &Payout, action: &PayoutAction, facts: &Facts, by: &Actor, rules: &ChangeRules) -> Result<Decision, Refusal> {
    let c = Draft { before, after: before.clone(), at: iso(facts.now), by };
    match action {
        PayoutAction::Approve { comment } => c.approve(comment.clone(), facts, rules),
        PayoutAction::Reject { reason } => c.reject(reason),
        PayoutAction::Cancel { reason } => c.cancel(reason),
        PayoutAction::ChangeDestination(d) => c.change_destination(d, rules),
        PayoutAction::GenerateInstructions => c.generate_instructions(facts, rules),
        PayoutAction::MarkSent(s) => c.mark_sent(s),
        PayoutAction::Confirm(d) => c.confirm(d, facts, rules),
        PayoutAction::MarkFailed { reason, return_code } => c.mark_failed(reason, return_code.clone()),
        PayoutAction::Reissue => c.reissue(rules),
        PayoutAction::IssueReceipt { sha256, bytes } => c.issue_receipt(sha256, *bytes),
        PayoutAction::RemoveMembership { months } => c.remove_membership(*months, facts),
    }
}

/// The payout being changed, with the moment and the actor every rule stamps on it.
struct Draft<'a> {
    before: &'a Payout,
    after: Payout,
    at: String,
    by: &'a Actor,
}

type Outcome = Result<Decision, Refusal>;

impl Draft<'_> {
    /// Moves to the status the table gives for `action`.
    fn to(&mut self, action: Action) -> Result<PayoutStatus, Refusal> {
        let to = transition(self.before.status, action)?;
        self.after.status = to;
        Ok(to)
    }

    fn chain(&mut self, action: &str, details: Value) -> Value {
        let by = self.by.label();
        self.after.audit_trail.append(action, &by, &self.at, details)
    }

    /// The usual finish: one trail entry, the status-change audit record, the emails.
    fn done(mut self, trail_action: &str, audit_action: &'static str, details: Value, notices: Vec<Notice>) -> Outcome {
        self.chain(trail_action, details.clone());
        let audit = AuditRecord::status_change(audit_action, self.before.status, self.after.status, details);
        Ok(Decision::Change(Step { after: self.after, audit: Some(audit), notices, effects: Vec::new() }))
    }

    fn approve(mut self, comment: Option<String>, facts: &Facts, rules: &ChangeRules) -> Outcome {
        let approver = match (self.by.admin_id, self.by.user_id, &self.by.email) {
            (Some(admin_id), Some(user_id), Some(email)) => Approver { admin_id, user_id, email: email.clone(), role: self.by.role.clone() },
            _ => return Err(Refusal::NotAnAdmin),
        };
        let policy = ApprovalPolicy {
            created_by: self.before.created_by,
            creator_email: facts.creator_email.as_deref(),
            payee: self.before.user_id,
            allow_creator_approval: rules.allow_creator_approval,
        };
        let workflow = &mut self.after.approval_workflow;
        let completes = approvals::approve(workflow, &approver, self.at.clone(), comment, policy).map_err(Refusal::Approval)?;
        let details = json!({ "approvals": workflow.current(), "requiredApprovals": workflow.required_approvals, "fullyApproved": completes });
        self.to(Action::Approve { completes })?;
        let notices = if completes { vec![Notice::Member { template: "payout_approved", vars: vec![] }] } else { vec![] };
        let (trail, audit) = if completes { ("approved", "payout_approved") } else { ("approval_added", "payout_approval_added") };
        self.done(trail, audit, details, notices)
    }

    fn reject(mut self, reason: &str) -> Outcome {
        self.to(Action::Reject)?;
        let admin_id = self.by.admin_id.ok_or(Refusal::NotAnAdmin)?;
        self.after.approval_workflow.rejection = Some(Rejection { admin_id, email: self.by.email.clone(), at: self.at.clone(), reason: reason.to_string() });
        let notices = vec![Notice::Member { template: "payout_rejected", vars: vec![("reason", reason.to_string())] }];
        self.done("rejected", "payout_rejected", json!({ "reason": reason }), notices)
    }

    fn cancel(mut self, reason: &str) -> Outcome {
        self.to(Action::Cancel)?;
        self.after.internal_notes = Some(self.before.notes_with(json!({ "at": self.at, "by": self.by.label(), "note": format!("Cancelled: {reason}") })));
        let details = json!({ "reason": reason, "previousStatus": self.before.status });
        self.done("cancelled", "payout_cancelled", details, vec![])
    }

    fn change_destination(mut self, d: &NewDestination, rules: &ChangeRules) -> Outcome {
        self.to(Action::ChangeDestination)?;
        let clears = destination_change_clears(self.before);
        let mut stored = d.envelope.clone();
        stored["last4"] = json!(d.last4);
        stored["accountType"] = json!(d.account_type);
        stored["bankName"] = json!(d.bank_name);
        stored["updatedAt"] = json!(self.at);
        self.after.bank_details = Some(StoredBankDetails(stored));
        if clears {
            self.after.approval_workflow = ApprovalWorkflow::new(self.before.approval_workflow.required_approvals.max(rules.required_approvals));
            // Instructions named the old account: they must be generated again after re-approval.
            if self.after.processing.instructions.is_some() {
                self.after.processing.forget_instructions();
            }
        }
        let masked = json!({ "last4": d.last4, "accountType": d.account_type, "bankName": d.bank_name, "approvalsCleared": clears });
        let trail = if clears { "bank_details_changed_approvals_cleared" } else { "bank_details_updated" };
        self.done(trail, "payout_bank_details_updated", masked, vec![])
    }

    fn generate_instructions(mut self, facts: &Facts, rules: &ChangeRules) -> Outcome {
        self.to(Action::GenerateInstructions)?;
        let calc = calculate(self.before.amount.amount(), facts.has_w9, &rules.calculation);
        let destination = match self.before.payment_method {
            PaymentMethod::Check => InstructedDestination::Check { mailing_address: facts.mailing_address.clone().ok_or(Refusal::AddressMissing)? },
            PaymentMethod::Ach => {
                match &facts.bank {
                    BankFact::Clear(_) => {}
                    BankFact::Unreadable => return Err(Refusal::BankDetailsUnreadable),
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

    fn mark_sent(mut self, s: &SentDetails) -> Outcome {
        self.to(Action::MarkSent)?;
        if !self.before.processing.has_instructions() {
            return Err(Refusal::InstructionsNotGenerated);
        }
        let p = &mut self.after.processing;
        p.sent_date = Some(s.sent_date);
        p.expected_arrival_date = Some(s.expected_arrival);
        p.tracking_number = Some(s.tracking_number.clone());
        p.sent_by = Some(self.by.label());
        if s.notes.is_some() {
            p.sent_notes = s.notes.clone();
        }
        self.after.scheduled_date = Some(s.expected_arrival);
        let net = self.before.processing.calculation.as_ref().map(|c| c.net_amount.to_string()).unwrap_or_default();
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
        let details = json!({ "sentDate": iso(s.sent_date), "expectedArrivalDate": iso(s.expected_arrival), "trackingNumber": s.tracking_number });
        self.done("payment_sent", "payout_payment_sent", details, notices)
    }

    fn confirm(mut self, d: &ConfirmDetails, facts: &Facts, rules: &ChangeRules) -> Outcome {
        self.to(Action::Confirm)?;
        if self.before.processing.sent_date.is_some_and(|sent| d.completed_date < sent) {
            return Err(Refusal::Invalid { field: "completedDate", message: "must not be before the sent date" });
        }
        let calc = effective_calculation(self.before, facts.has_w9, &rules.calculation);
        let p = &mut self.after.processing;
        p.completed_date = Some(d.completed_date);
        p.confirmation_number = Some(d.confirmation_number.clone());
        p.confirmed_by = Some(self.by.label());
        if d.notes.is_some() {
            p.confirm_notes = d.notes.clone();
        }
        p.calculation = Some(calc.clone());
        let receipt_url = format!("/api/payouts/{}/receipt", self.before.payout_id);
        self.after.completed_date = Some(d.completed_date);
        self.after.receipt_url = Some(receipt_url.clone());
        let member = &self.before.member;
        let effect = Effect::File1099 {
            tax_year: d.completed_date.year(),
            recipient: json!({ "name": member.name, "email": member.email, "userId": self.before.user_id }),
            payer: json!({ "name": rules.company_name }),
            income: json!({ "box3OtherIncome": calc.gross_amount, "federalIncomeTaxWithheld": calc.withholding_amount, "payoutId": self.before.payout_id }),
            notes: format!("Payout {}", self.before.payout_id),
        };
        let notices = vec![Notice::Member { template: "payout_completed", vars: vec![("net_amount", calc.net_amount.to_string()), ("receipt_url", receipt_url)] }];
        let details = json!({ "completedDate": iso(d.completed_date), "confirmationNumber": d.confirmation_number });
        let mut outcome = self.done("completed", "payout_completed", details, notices)?;
        if let Decision::Change(step) = &mut outcome {
            step.effects.push(effect);
        }
        Ok(outcome)
    }

    fn mark_failed(mut self, reason: &str, return_code: Option<String>) -> Outcome {
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
            let code = return_code.unwrap_or_else(|| "no return code".into());
            vec![Effect::Flag1099 { note: format!(" | Payment failed after confirmation ({code}); review before filing") }]
        } else {
            vec![]
        };
        let details = serde_json::to_value(&failure).unwrap_or_default();
        let mut outcome = self.done("payment_failed", "payout_payment_failed", details, notices)?;
        if let Decision::Change(step) = &mut outcome {
            step.effects = effects;
        }
        Ok(outcome)
    }

    fn reissue(mut self, rules: &ChangeRules) -> Outcome {
        self.to(Action::Reissue)?;
        let p = &mut self.after.processing;
        p.forget_attempt();
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
        self.done("reissued", "payout_reissued", json!({ "reissue": reissues, "approvalsCleared": old.current() }), notices)
    }

    fn issue_receipt(mut self, sha256: &str, bytes: usize) -> Outcome {
        self.to(Action::IssueReceipt)?;
        if self.before.audit_trail.has("receipt_issued", "sha256", sha256) {
            return Ok(Decision::Unchanged);
        }
        self.chain("receipt_issued", json!({ "sha256": sha256, "bytes": bytes }));
        // Downloading a receipt is recorded in the trail only, not as a user_audit_logs row.
        Ok(Decision::Change(Step { after: self.after, audit: None, notices: vec![], effects: vec![] }))
    }

    fn remove_membership(mut self, months: u32, facts: &Facts) -> Outcome {
        self.to(Action::RemoveMembership)?;
        if self.before.processing.is_membership_removed() {
            return Ok(Decision::Unchanged);
        }
        let p = &mut self.after.processing;
        p.membership_removed = Some(true);
        p.membership_removed_at = Some(facts.now);
        self.chain("membership_removed", json!({ "months": months, "previousUserStatus": facts.member_status }));
        let audit = AuditRecord {
            action: "membership_removed",
            old_values: json!({ "userStatus": facts.member_status }),
            new_values: json!({ "userStatus": "Inactive" }),
            metadata: json!({ "job": "membership-removal" }),
        };
        let notices = vec![Notice::Member { template: "membership_removed", vars: vec![] }];
        Ok(Decision::Change(Step { after: self.after, audit: Some(audit), notices, effects: vec![Effect::DeactivateMember] }))
    }
}

/// "Payout awaiting approval" to every admin, after creation or a reissue.
pub fn awaiting_approval(event: &str, by: &Actor, payout: &Payout, required: u32) -> Notice {
    Notice::Admins {
        template: "payout_awaiting_approval",
        vars: vec![
            ("queue_position", payout.queue_position.to_string()),
            ("event", event.to_string()),
            ("actor", by.display_name()),
            ("required_approvals", required.to_string()),
        ],
    }
}

/// The calculation instructions were generated with; for a row the old service left without
/// one, computed with the member's real W-9 status (never assuming one is on file).
pub fn effective_calculation(payout: &Payout, has_w9: bool, rules: &CalculationRules) -> super::calculation::Calculation {
    payout.processing.calculation.clone().unwrap_or_else(|| calculate(payout.amount.amount(), has_w9, rules))
}

/// The amount a payout sends, for messages: the stored net, else nothing.
pub fn net_amount(payout: &Payout) -> Option<Money> {
    payout.processing.calculation.as_ref().map(|c| c.net_amount)
}

#[cfg(test)]
#[path = "change_tests.rs"]
mod tests;
