//! The pure rules of every payout action, without a database.

use chrono::{Duration, TimeZone};
use rust_decimal::Decimal;

use super::*;
use crate::domain::approvals::ApprovalRefusal;
use crate::domain::payout::StoredBankDetails;
use crate::domain::payout::tests_support::payout;

fn rules() -> ChangeRules {
    ChangeRules {
        required_approvals: 2,
        allow_creator_approval: false,
        calculation: CalculationRules { retention_fee: Decimal::from(300), backup_withholding_rate: Decimal::new(24, 2) },
        company_name: "Tenure".into(),
    }
}

fn admin(id: i32) -> Actor {
    Actor { user_id: Some(Uuid::from_u128(100 + id as u128)), admin_id: Some(id), email: Some(format!("a{id}@tenure.test")), name: None, role: Some("Manager".into()) }
}

fn facts() -> Facts {
    Facts::at(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap())
}

fn step(d: Result<Decision, Refusal>) -> Step {
    match d {
        Ok(Decision::Change(s)) => *s,
        other => panic!("expected a change, got {other:?}"),
    }
}

#[test]
fn two_distinct_admins_approve_and_the_member_hears_once() {
    let p = payout();
    let first = step(decide(&p, &PayoutAction::Approve { comment: None }, &facts(), &admin(2), &rules()));
    assert_eq!(first.after.status, PayoutStatus::PendingApproval);
    assert!(first.notices.is_empty());
    assert_eq!(first.audit.as_ref().unwrap().action, "payout_approval_added");
    let again = decide(&first.after, &PayoutAction::Approve { comment: None }, &facts(), &admin(2), &rules());
    assert_eq!(again, Err(Refusal::Approval(ApprovalRefusal::AlreadyApproved)));
    let creator = decide(&first.after, &PayoutAction::Approve { comment: None }, &facts(), &admin(1), &rules());
    assert!(matches!(creator, Err(Refusal::Approval(ApprovalRefusal::SelfApproval(_)))));
    let second = step(decide(&first.after, &PayoutAction::Approve { comment: Some("ok".into()) }, &facts(), &admin(3), &rules()));
    assert_eq!(second.after.status, PayoutStatus::Approved);
    assert_eq!(second.notices, vec![Notice::Member { template: "payout_approved", vars: vec![] }]);
    assert_eq!(second.after.audit_trail.entries.len(), 2);
    assert!(second.after.audit_trail.is_intact());
}

#[test]
fn the_table_is_asked_before_any_rule() {
    let mut p = payout();
    p.status = PayoutStatus::Cancelled;
    let refused = decide(&p, &PayoutAction::MarkSent(SentDetails { sent_date: facts().now, expected_arrival: facts().now, tracking_number: None, notes: None, payment_file_id: None }), &facts(), &admin(2), &rules());
    assert!(matches!(refused, Err(Refusal::InvalidStatus(InvalidTransition { from: PayoutStatus::Cancelled, action: Action::MarkSent }))));
}

#[test]
fn instructions_need_a_readable_destination_and_record_the_calculation() {
    let mut p = payout();
    p.status = PayoutStatus::Approved;
    let gen = PayoutAction::GenerateInstructions;
    assert_eq!(decide(&p, &gen, &Facts { bank: BankFact::Missing, ..facts() }, &admin(2), &rules()), Err(Refusal::BankDetailsMissing));
    p.bank_details = Some(StoredBankDetails(json!({ "encrypted": "x", "last4": "6789", "accountType": "checking" })));
    assert_eq!(decide(&p, &gen, &Facts { bank: BankFact::Unreadable, ..facts() }, &admin(2), &rules()), Err(Refusal::BankDetailsUnreadable));
    assert_eq!(decide(&p, &gen, &Facts { bank: BankFact::NotEncrypted, ..facts() }, &admin(2), &rules()), Err(Refusal::BankDetailsNotEncrypted));
    let s = step(decide(&p, &gen, &Facts { bank: BankFact::Clear(json!({})), has_w9: false, ..facts() }, &admin(2), &rules()));
    let calc = s.after.processing.calculation.clone().unwrap();
    assert_eq!(calc.net_amount.to_string(), "75700.00", "100000 − 300 − 24%");
    let actions: Vec<_> = s.after.audit_trail.entries.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, ["bank_details_decrypted", "instructions_generated"]);
    p.payment_method = PaymentMethod::Wire;
    assert_eq!(decide(&p, &gen, &facts(), &admin(2), &rules()), Err(Refusal::UnsupportedPaymentMethod(PaymentMethod::Wire)));
    p.payment_method = PaymentMethod::Check;
    assert_eq!(decide(&p, &gen, &facts(), &admin(2), &rules()), Err(Refusal::AddressMissing));
}

#[test]
fn confirmation_files_a_1099_and_failure_after_it_flags_that_form() {
    let mut p = payout();
    p.status = PayoutStatus::PaymentSent;
    p.processing.sent_date = Some(crate::domain::processing::Stamp::new(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap()));
    let early = ConfirmDetails { completed_date: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), confirmation_number: None, notes: None };
    assert!(matches!(decide(&p, &PayoutAction::Confirm(early), &facts(), &admin(2), &rules()), Err(Refusal::Invalid(e)) if e[0].path == "completedDate"));
    let ok = ConfirmDetails { completed_date: Utc.with_ymd_and_hms(2026, 2, 3, 0, 0, 0).unwrap(), confirmation_number: Some("C1".into()), notes: None };
    let s = step(decide(&p, &PayoutAction::Confirm(ok), &Facts { has_w9: true, ..facts() }, &admin(2), &rules()));
    assert_eq!(s.after.status, PayoutStatus::Completed);
    assert!(matches!(&s.effects[..], [Effect::File1099 { tax_year: 2026, .. }]));
    let failed = step(decide(&s.after, &PayoutAction::MarkFailed { reason: "returned".into(), return_code: Some("R01".into()) }, &facts(), &admin(2), &rules()));
    assert!(matches!(&failed.effects[..], [Effect::Correct1099 { note, correction }] if note.contains("R01") && correction["returnCode"] == "R01"));
    assert_eq!(failed.notices.len(), 2, "the member and every admin");
    let reissued = step(decide(&failed.after, &PayoutAction::Reissue, &facts(), &admin(2), &rules()));
    assert_eq!(reissued.after.status, PayoutStatus::PendingApproval);
    assert_eq!((reissued.after.completed_date, reissued.after.receipt_url.clone()), (None, None));
    assert_eq!(reissued.after.processing.reissues, Some(1));
    assert!(reissued.after.processing.failures.as_ref().is_some_and(|f| f.len() == 1), "the history of failures stays");
}

#[test]
fn new_bank_details_after_an_approval_clear_it() {
    let p = payout();
    let approved_once = step(decide(&p, &PayoutAction::Approve { comment: None }, &facts(), &admin(2), &rules())).after;
    let d = NewDestination { envelope: json!({ "encrypted": "e" }), last4: "1111".into(), account_type: "savings".into(), bank_name: None };
    let s = step(decide(&approved_once, &PayoutAction::ChangeDestination(d.clone()), &facts(), &Actor { admin_id: None, ..admin(9) }, &rules()));
    assert_eq!(s.after.approval_workflow.current(), 0);
    assert_eq!(s.after.audit_trail.entries.last().unwrap()["action"], "bank_details_changed_approvals_cleared");
    assert_eq!(s.after.bank_details.as_ref().unwrap().last4().as_deref(), Some("1111"));
    let untouched = step(decide(&p, &PayoutAction::ChangeDestination(d), &facts(), &admin(9), &rules()));
    assert_eq!(untouched.after.audit_trail.entries.last().unwrap()["action"], "bank_details_updated");
}

#[test]
fn revealing_the_account_is_chained_and_audited_and_changes_nothing_else() {
    let mut p = payout();
    p.status = PayoutStatus::Approved;
    let clear = Facts { bank: BankFact::Clear(json!({ "routingNumber": "011000015", "accountNumber": "123456789" })), ..facts() };
    let s = step(decide(&p, &PayoutAction::RevealDestination, &clear, &admin(2), &rules()));
    assert_eq!(s.after.status, PayoutStatus::Approved);
    assert_eq!(s.after.approval_workflow, p.approval_workflow);
    let last = s.after.audit_trail.entries.last().unwrap();
    assert_eq!((last["action"].as_str(), last["details"]["purpose"].as_str()), (Some("bank_details_decrypted"), Some("console reveal")));
    assert_eq!(s.audit.as_ref().map(|a| a.action), Some("payout_bank_details_revealed"));
    assert!(!serde_json::to_string(&s.after.audit_trail.entries).unwrap().contains("123456789"), "the number never enters the trail");
    assert_eq!(decide(&p, &PayoutAction::RevealDestination, &facts(), &admin(2), &rules()).err(), Some(Refusal::BankDetailsMissing));
    p.status = PayoutStatus::Cancelled;
    assert!(matches!(decide(&p, &PayoutAction::RevealDestination, &clear, &admin(2), &rules()), Err(Refusal::InvalidStatus(_))));
}

#[test]
fn a_receipt_and_a_removal_are_recorded_once() {
    let mut p = payout();
    p.status = PayoutStatus::Completed;
    let issue = PayoutAction::IssueReceipt { sha256: "ab".into(), bytes: 10 };
    let s = step(decide(&p, &issue, &facts(), &admin(2), &rules()));
    assert!(s.audit.is_none());
    assert_eq!(decide(&s.after, &issue, &facts(), &admin(2), &rules()), Ok(Decision::Unchanged));
    let remove = PayoutAction::RemoveMembership { months: 12 };
    let s = step(decide(&p, &remove, &Facts { member_status: Some("Active".into()), ..facts() }, &Actor::system(), &rules()));
    assert_eq!(s.effects, vec![Effect::DeactivateMember]);
    assert_eq!(s.after.audit_trail.entries[0]["actor"], "system");
    assert_eq!(decide(&s.after, &remove, &facts(), &Actor::system(), &rules()), Ok(Decision::Unchanged));
}

#[test]
fn payment_dates_must_be_sane_and_every_bad_one_is_named() {
    let mut p = payout();
    p.status = PayoutStatus::Approved;
    p.processing.instructions = Some(crate::domain::processing::InstructionsRecord {
        destination: crate::domain::processing::InstructedDestination::Ach { last4: None, account_type: None, bank_name: None },
        net_amount: p.amount,
        reference: p.payout_id.clone(),
        generated_at: "2026-03-01T00:00:00.000Z".into(),
        generated_by: "admin:1".into(),
    });
    let approved = Utc.with_ymd_and_hms(2026, 2, 20, 0, 0, 0).unwrap();
    p.approval_workflow.approvals.push(crate::domain::approvals::Approval { admin_id: 2, email: None, role: None, at: Some(iso(approved)), comment: None, fingerprint: None });
    let now = facts().now;
    let sent = |sent_date, expected_arrival| PayoutAction::MarkSent(SentDetails { sent_date, expected_arrival, tracking_number: None, notes: None, payment_file_id: None });
    let fields = |r: Result<Decision, Refusal>| match r {
        Err(Refusal::Invalid(errors)) => errors.into_iter().map(|e| e.path).collect::<Vec<_>>(),
        other => panic!("expected a 400, got {other:?}"),
    };
    assert_eq!(fields(decide(&p, &sent(now + Duration::days(400), now + Duration::days(401)), &facts(), &admin(2), &rules())), ["sentDate"], "next year");
    assert_eq!(fields(decide(&p, &sent(approved - Duration::days(1), now), &facts(), &admin(2), &rules())), ["sentDate"], "before approval");
    assert_eq!(fields(decide(&p, &sent(now, now + Duration::days(61)), &facts(), &admin(2), &rules())), ["expectedArrivalDate"]);
    assert!(decide(&p, &sent(now + Duration::minutes(4), now + Duration::days(3)), &facts(), &admin(2), &rules()).is_ok(), "clock skew");
    p.status = PayoutStatus::PaymentSent;
    p.processing.sent_date = Some(crate::domain::processing::Stamp::new(now - Duration::days(1)));
    let confirm = |completed_date| PayoutAction::Confirm(ConfirmDetails { completed_date, confirmation_number: None, notes: None });
    assert_eq!(fields(decide(&p, &confirm(now + Duration::hours(1)), &facts(), &admin(2), &rules())), ["completedDate"], "in the future");
    assert_eq!(fields(decide(&p, &confirm(approved - Duration::days(30)), &facts(), &admin(2), &rules())), ["completedDate", "completedDate"], "before approval and before sending");
}
