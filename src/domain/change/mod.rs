//! Every change to a payout as a value (`PayoutAction`) and one pure rule per action that turns
//! the payout before into the payout after, with its trail entries, its `user_audit_logs` record,
//! its emails and its effects on other tables. `workflow::change::apply` runs the I/O around it.
//! Adding an action means one variant here and one function in `rules`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::approvals::ApprovalRefusal;
use crate::domain::calculation::{calculate, Calculation, CalculationRules};
use crate::domain::payout::{PaymentMethod, Payout};
use crate::domain::processing::iso;
use crate::domain::status::{Action, InvalidTransition, PayoutStatus};

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
    /// The payment file the money went out in (SPEC §14): must be the payout's live file.
    pub payment_file_id: Option<String>,
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
    /// The destination no longer matches what was approved (found by a check, not asked for):
    /// back to pending approval with approvals and instructions cleared.
    ResetDestination,
    /// Put in a payment file (SPEC §14).
    AddToFile(FiledIn),
    /// Released from a voided payment file.
    RemoveFromFile { file_id: String, reason: String },
    /// An admin reads the full account number in the console: decrypted, chained and audited,
    /// nothing else changes.
    RevealDestination,
}

/// The kinds of payment file (SPEC §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Ach,
    AchPrenote,
    PositivePay,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Ach => "ach",
            FileKind::AchPrenote => "ach_prenote",
            FileKind::PositivePay => "positive_pay",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [FileKind::Ach, FileKind::AchPrenote, FileKind::PositivePay].into_iter().find(|k| k.as_str() == s)
    }

    /// The payment method the file pays.
    pub fn method(self) -> PaymentMethod {
        match self {
            FileKind::Ach | FileKind::AchPrenote => PaymentMethod::Ach,
            FileKind::PositivePay => PaymentMethod::Check,
        }
    }

    /// A prenote moves no money and does not hold the payout.
    pub fn holds(self) -> bool {
        self != FileKind::AchPrenote
    }
}

/// A payout's place in a payment file.
#[derive(Debug, Clone, PartialEq)]
pub struct FiledIn {
    pub file_id: String,
    pub kind: FileKind,
    /// ACH and prenote entries.
    pub trace_number: Option<String>,
    /// Positive Pay issues.
    pub check_number: Option<u64>,
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
            PayoutAction::ResetDestination => Action::ChangeDestination,
            PayoutAction::AddToFile(f) if f.kind == FileKind::AchPrenote => Action::Prenote,
            PayoutAction::AddToFile(_) | PayoutAction::RemoveFromFile { .. } => Action::File,
            PayoutAction::RevealDestination => Action::Reveal,
        }
    }
}

/// The bank details as the instructions need them, once decrypted.
#[derive(Debug, Clone, PartialEq)]
pub enum BankFact {
    NotLoaded,
    Missing,
    /// Stored in plain text by the old service: never used to pay (SPEC §12).
    NotEncrypted,
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
    /// The current destination's fingerprints (under the current key first, then previous
    /// keys); empty when there is no readable destination to fingerprint.
    pub destination: Vec<String>,
    /// The live ACH or Positive Pay file holding the payout, if any.
    pub live_file: Option<(String, FileKind)>,
}

impl Facts {
    /// Nothing read yet, at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Facts { now, has_w9: false, creator_email: None, mailing_address: None, bank: BankFact::NotLoaded, member_status: None, destination: Vec::new(), live_file: None }
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
    /// The destination differs from the one the approvals vouch for.
    DestinationChanged,
    Approval(ApprovalRefusal),
    InstructionsNotGenerated,
    UnsupportedPaymentMethod(PaymentMethod),
    AddressMissing,
    BankDetailsMissing,
    BankDetailsNotEncrypted,
    BankDetailsUnreadable,
    /// A payout of the other method was named for a payment file.
    WrongPaymentMethod { expected: PaymentMethod },
    /// The payout is in a live payment file (its id): void the file first.
    AlreadyInFile(String),
    /// Fields of the request contradict the payout or the clock (e.g. confirmed before it was
    /// sent, or dated next year): every one of them.
    Invalid(Vec<crate::domain::validation::FieldError>),
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
    /// One live row per payout: a second confirmation updates it.
    File1099 { tax_year: i32, recipient: Value, payer: Value, income: Value, notes: String },
    /// The payment failed after confirmation: the payout's 1099-MISC gets a correction entry
    /// and must not be filed as it is.
    Correct1099 { correction: Value, note: String },
    /// The member's account becomes Inactive (SPEC §9).
    DeactivateMember,
    /// The payout leaves any payment file it is in; its issued checks become voids for the next
    /// Positive Pay file (SPEC §14).
    ReleaseFromFiles,
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
    Change(Box<Step>),
    Unchanged,
}

/// Whether the approvals still vouch for the destination `current` fingerprints (SPEC §12). An
/// approval counts only while its recorded fingerprint is among them. `to_pay`: before money
/// moves, an approval that recorded no destination (given before one existed, or by the old
/// service) does not count either. Without a readable destination there is nothing to compare;
/// the step that needs one refuses on its own.
pub fn destination_drifted(p: &Payout, current: &[String], to_pay: bool) -> bool {
    if current.is_empty() {
        return false;
    }
    p.approval_workflow.approvals.iter().any(|a| match &a.fingerprint {
        Some(fp) => !current.contains(fp),
        None => to_pay,
    })
}

/// Whether new bank details clear the approvals: once anyone approved, a new destination
/// sends the payout back for fresh approval.
pub fn destination_change_clears(before: &Payout) -> bool {
    before.approval_workflow.current() > 0 || before.status == PayoutStatus::Approved
}

/// Applies `action` to `before`. Pure: everything it needs is in its arguments.
pub fn decide(before: &Payout, action: &PayoutAction, facts: &Facts, by: &Actor, rules: &ChangeRules) -> Result<Decision, Refusal> {
    let c = rules::Draft { before, after: before.clone(), at: iso(facts.now), by };
    match action {
        PayoutAction::Approve { comment } => c.approve(comment.clone(), facts, rules),
        PayoutAction::Reject { reason } => c.reject(reason),
        PayoutAction::Cancel { reason } => c.cancel(reason, facts),
        PayoutAction::ChangeDestination(d) => c.change_destination(d, facts, rules),
        PayoutAction::GenerateInstructions => c.generate_instructions(facts, rules),
        PayoutAction::MarkSent(s) => c.mark_sent(s, facts),
        PayoutAction::Confirm(d) => c.confirm(d, facts, rules),
        PayoutAction::MarkFailed { reason, return_code } => c.mark_failed(reason, return_code.clone()),
        PayoutAction::Reissue => c.reissue(rules),
        PayoutAction::IssueReceipt { sha256, bytes } => c.issue_receipt(sha256, *bytes),
        PayoutAction::RemoveMembership { months } => c.remove_membership(*months, facts),
        PayoutAction::ResetDestination => c.reset_destination(rules),
        PayoutAction::AddToFile(f) => c.add_to_file(f, facts),
        PayoutAction::RemoveFromFile { file_id, reason } => c.remove_from_file(file_id, reason),
        PayoutAction::RevealDestination => c.reveal_destination(facts),
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
pub fn effective_calculation(payout: &Payout, has_w9: bool, rules: &CalculationRules) -> Calculation {
    payout.processing.calculation.clone().unwrap_or_else(|| calculate(payout.amount.amount(), has_w9, rules))
}

mod dates;
mod filing;
mod rules;

pub use dates::approved_at;

#[cfg(test)]
mod tests;
