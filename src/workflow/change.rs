//! The one path every payout change takes: lock the row, ask SPEC §4's table, read what the
//! action's rule needs, apply the pure rule (`domain::change`), write with compare-and-set
//! (the hash chain and head included), write the `user_audit_logs` row, the effects on other
//! tables and the outbox rows — in one transaction.

use chrono::Utc;
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};

use crate::crypto::Keyring;
use crate::db::{self, audit};
use crate::domain::change::{decide, Actor, BankFact, Decision, Effect, Facts, PayoutAction, Refusal};
use crate::domain::payout::{PaymentMethod, Payout, StoredBankDetails};
use crate::domain::status::transition;
use crate::error::{AppError, AppResult};
use crate::workflow::{notices, Context};

/// A payout before and after an action, and what the action read on the way.
#[derive(Debug)]
pub struct Applied {
    pub before: Payout,
    pub after: Payout,
    pub facts: Facts,
    /// False when the action had already happened (nothing was written).
    pub changed: bool,
}

/// Applies `action` to the payout `payout_id` on behalf of `by`.
pub async fn apply(ctx: &Context, payout_id: &str, by: &Actor, origin: &audit::Origin, action: PayoutAction) -> AppResult<Applied> {
    let mut tx = ctx.db.begin().await?;
    let before = lock(ctx, &mut tx, payout_id).await?;
    transition(before.status, action.kind()).map_err(|e| AppError::from_refusal(Refusal::InvalidStatus(e), &before.payout_id))?;
    let facts = load_facts(ctx, &mut tx, &before, &action).await?;
    let step = match decide(&before, &action, &facts, by, &ctx.rules.change()) {
        Ok(Decision::Change(step)) => *step,
        Ok(Decision::Unchanged) => return Ok(Applied { after: before.clone(), before, facts, changed: false }),
        Err(Refusal::DestinationChanged) => {
            // Found changed: the reset commits (approvals and instructions cleared, everyone
            // told), and the caller hears why nothing was paid.
            if let Ok(Decision::Change(reset)) = decide(&before, &PayoutAction::ResetDestination, &facts, by, &ctx.rules.change()) {
                write(ctx, &mut tx, &before, *reset, origin).await?;
                tx.commit().await?;
            }
            return Err(AppError::from_refusal(Refusal::DestinationChanged, &before.payout_id));
        }
        Err(refusal) => return Err(AppError::from_refusal(refusal, &before.payout_id)),
    };
    let after = write(ctx, &mut tx, &before, step, origin).await?;
    let after = with_policy(ctx, after);
    tx.commit().await?;
    Ok(Applied { before, after, facts, changed: true })
}

/// Writes a decided step: the row with compare-and-set, its audit row, its effects and emails.
pub(crate) async fn write(ctx: &Context, tx: &mut Transaction<'_, Postgres>, before: &Payout, step: crate::domain::change::Step, origin: &audit::Origin) -> AppResult<Payout> {
    let after = db::payouts::update(tx, before, &step.after)
        .await?
        // The row is locked, so this means a bug, not a race: refuse rather than write blind.
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("compare-and-set failed on a locked payout")))?;
    if let Some(record) = step.audit {
        let mut metadata = record.metadata;
        metadata["payoutId"] = json!(before.payout_id);
        let log = audit::AuditLog {
            entity_type: "payout",
            entity_id: Some(before.id),
            action: record.action,
            old_values: Some(record.old_values),
            new_values: Some(record.new_values),
            success: true,
            error_message: None,
            metadata,
        };
        audit::insert(tx, &payout_origin(origin, before), log).await?;
    }
    for effect in &step.effects {
        run_effect(tx, before, effect).await?;
    }
    notices::send(ctx, tx, &after, &step.notices).await?;
    Ok(after)
}

/// The payout locked for the transaction, or 404.
pub async fn lock(ctx: &Context, tx: &mut Transaction<'_, Postgres>, payout_id: &str) -> AppResult<Payout> {
    let payout = db::payouts::lock(tx, payout_id).await?.ok_or(AppError::PayoutNotFound)?;
    Ok(with_policy(ctx, payout))
}

/// A stricter REQUIRED_APPROVALS applies to open payouts too.
pub fn with_policy(ctx: &Context, mut payout: Payout) -> Payout {
    let w = &mut payout.approval_workflow;
    w.required_approvals = w.required_approvals.max(ctx.rules.required_approvals);
    payout
}

/// Audit rows about a payout name its member as `user_id`.
pub fn payout_origin(origin: &audit::Origin, payout: &Payout) -> audit::Origin {
    audit::Origin { user_id: Some(payout.user_id), ..origin.clone() }
}

/// Reads, under the lock, what the action's rule needs beyond the row.
pub(crate) async fn load_facts(ctx: &Context, tx: &mut Transaction<'_, Postgres>, payout: &Payout, action: &PayoutAction) -> AppResult<Facts> {
    let mut facts = Facts::at(Utc::now());
    if matches!(action, PayoutAction::Approve { .. } | PayoutAction::GenerateInstructions | PayoutAction::MarkSent(_) | PayoutAction::AddToFile(_) | PayoutAction::RevealDestination) {
        // The destination as it is now, read under the lock, for the fingerprint check.
        facts.has_w9 = db::tax_forms::has_w9(&mut **tx, payout.user_id).await?;
        match payout.payment_method {
            PaymentMethod::Check => facts.mailing_address = db::users::primary_address(tx, payout.user_id).await?,
            PaymentMethod::Ach => facts.bank = decrypt_bank(&ctx.keyring, payout.bank_details.as_ref()),
            PaymentMethod::Wire | PaymentMethod::Paypal => {}
        }
        facts.destination = destination_fingerprints(ctx, payout, &facts);
    }
    match action {
        PayoutAction::Approve { .. } => {
            if let Some(id) = payout.created_by {
                facts.creator_email = db::users::admin_email(tx, id).await?;
            }
        }
        PayoutAction::Confirm(_) if payout.processing.calculation.is_none() => {
            facts.has_w9 = db::tax_forms::has_w9(&mut **tx, payout.user_id).await?;
        }
        PayoutAction::RemoveMembership { .. } => facts.member_status = db::users::status(tx, payout.user_id).await?,
        _ => {}
    }
    if matches!(action, PayoutAction::AddToFile(_) | PayoutAction::Cancel { .. } | PayoutAction::ChangeDestination(_) | PayoutAction::MarkSent(_)) {
        facts.live_file = db::payment_files::live_file_of(tx, &payout.payout_id)
            .await?
            .and_then(|(id, kind)| Some((id.to_string(), crate::domain::change::FileKind::parse(&kind)?)));
    }
    Ok(facts)
}

/// The fingerprints of where the money would go now (SPEC §12): an HMAC over the method, the
/// bank details in clear (ACH) or the normalized primary address (check), and the net amount.
/// Empty when there is no readable destination.
fn destination_fingerprints(ctx: &Context, payout: &Payout, facts: &Facts) -> Vec<String> {
    let destination = match (&facts.bank, &facts.mailing_address) {
        (BankFact::Clear(bank), _) if payout.payment_method == PaymentMethod::Ach => {
            let field = |k: &str| bank.get(k).and_then(Value::as_str).unwrap_or_default().trim().to_string();
            json!({ "holder": field("accountHolderName"), "routing": field("routingNumber"), "account": field("accountNumber"), "type": field("accountType") })
        }
        (_, Some(address)) if payout.payment_method == PaymentMethod::Check => {
            let field = |k: &str| {
                let text = address.get(k).and_then(Value::as_str).unwrap_or_default();
                text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
            };
            json!({ "line1": field("line1"), "line2": field("line2"), "city": field("city"), "state": field("state"), "postalCode": field("postalCode"), "country": field("country") })
        }
        _ => return Vec::new(),
    };
    let net = crate::domain::calculation::calculate(payout.amount.amount(), facts.has_w9, &ctx.rules.calculation()).net_amount;
    let message = json!({ "method": payout.payment_method, "destination": destination, "netAmount": net });
    ctx.keyring.fingerprints(message.to_string().as_bytes())
}

/// The bank details in clear, from our encrypted form; an old plaintext row is refused.
pub fn decrypt_bank(keyring: &Keyring, stored: Option<&StoredBankDetails>) -> BankFact {
    let Some(stored) = stored else { return BankFact::Missing };
    if !Keyring::is_encrypted(&stored.0) {
        return BankFact::NotEncrypted;
    }
    let Ok((plain, _)) = keyring.decrypt(&stored.0) else { return BankFact::Unreadable };
    let Ok(mut clear) = serde_json::from_slice::<Value>(&plain) else { return BankFact::Unreadable };
    if let Some(o) = clear.as_object_mut() {
        o.retain(|k, _| ["accountHolderName", "routingNumber", "accountNumber", "accountType", "bankName"].contains(&k.as_str()));
    }
    let has = |k: &str| clear.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if has("routingNumber") && has("accountNumber") {
        BankFact::Clear(clear)
    } else {
        BankFact::Unreadable
    }
}

async fn run_effect(tx: &mut Transaction<'_, Postgres>, payout: &Payout, effect: &Effect) -> AppResult<()> {
    match effect {
        Effect::File1099 { tax_year, recipient, payer, income, notes } => {
            db::tax_forms::file_1099(tx, payout.user_id, *tax_year, recipient, payer, income, notes).await?
        }
        Effect::Correct1099 { correction, note } => db::tax_forms::correct_1099(tx, payout.user_id, &payout.payout_id, correction, note).await?,
        Effect::DeactivateMember => db::users::deactivate(tx, payout.user_id).await?,
        Effect::ReleaseFromFiles => db::payment_files::release(tx, &payout.payout_id).await?,
    }
    Ok(())
}
