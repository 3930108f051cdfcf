//! The receipt and the instructions as PDFs: the data each template reads, rendering off the
//! async threads, and the receipt's SHA-256 in the audit trail.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::db::{self, audit};
use crate::domain::calculation::Calculation;
use crate::domain::change::{effective_calculation, Actor, PayoutAction};
use crate::domain::money::Money;
use crate::domain::payout::{PaymentMethod, Payout};
use crate::domain::processing::InstructedDestination;
use crate::domain::status::PayoutStatus;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::workflow::view::mask_bank;
use crate::workflow::{change, Context};

fn day(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%B %-d, %Y").to_string()).unwrap_or_else(|| "—".into())
}

/// Masked destination: "Checking ••••6789, First Bank" or the mailing address.
fn destination(p: &Payout) -> String {
    if p.payment_method == PaymentMethod::Check {
        let address = match p.processing.instructions.as_ref().map(|i| &i.destination) {
            Some(InstructedDestination::Check { mailing_address }) => mailing_address.clone(),
            _ => Value::Null,
        };
        let f = |k: &str| address.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let line2 = f("line2");
        return format!("{}{}, {}, {} {}", f("line1"), if line2.is_empty() { String::new() } else { format!(", {line2}") }, f("city"), f("state"), f("postalCode"));
    }
    let masked = p.bank_details.as_ref().map(mask_bank);
    let last4 = masked.as_ref().and_then(|m| m.last4.clone()).unwrap_or_else(|| "????".into());
    let mut kind = masked.as_ref().and_then(|m| m.account_type.clone()).unwrap_or_else(|| "account".into());
    let bank = masked.and_then(|m| m.bank_name).map(|b| format!(", {b}")).unwrap_or_default();
    if let Some(first) = kind.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    format!("{kind} ••••{last4}{bank}")
}

async fn typeset(template: &'static str, data: Value) -> AppResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || crate::documents::render(template, &data))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

/// The document's SHA-256 as the trail records it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn line_items(calc: &Calculation, with_net: bool) -> Vec<Value> {
    calc.line_items
        .iter()
        .filter(|i| with_net || i.label != "Net payment")
        .map(|i| json!({ "label": i.label, "amount": i.amount.display_usd() }))
        .collect()
}

/// The calculation a document shows: the one recorded, else computed with the real W-9 status.
async fn calculation(ctx: &Context, p: &Payout) -> AppResult<Calculation> {
    let has_w9 = match p.processing.calculation {
        Some(_) => false,
        None => db::tax_forms::has_w9(&ctx.db, p.user_id).await?,
    };
    Ok(effective_calculation(p, has_w9, &ctx.rules.calculation()))
}

/// The Withholding row and the tax footnote: with a W-9 on file nothing is withheld and the whole
/// reward is reported; without one, backup withholding at the rate shown was withheld and is
/// reported with it.
fn tax_notes(calc: &Calculation, tax_year: i32) -> (String, String) {
    if calc.has_w9 && calc.withholding_amount == Money::ZERO {
        (
            "None: W-9 on file".into(),
            format!(
                "Tax: your W-9 is on file, so nothing was withheld. The whole reward of {} is reported to the IRS on Form 1099-MISC for tax year {tax_year}.",
                calc.gross_amount.display_usd()
            ),
        )
    } else {
        let percent = format!("{}%", (calc.withholding_rate.parse::<rust_decimal::Decimal>().unwrap_or_default() * rust_decimal::Decimal::from(100)).normalize());
        (
            format!("{} federal backup withholding ({percent}, no W-9 on file)", calc.withholding_amount.display_usd()),
            format!(
                "Tax: no W-9 was on file, so federal backup withholding of {percent} ({}) was withheld and paid to the IRS. \
                 The reward of {} and the amount withheld are reported on Form 1099-MISC for tax year {tax_year}.",
                calc.withholding_amount.display_usd(),
                calc.gross_amount.display_usd()
            ),
        )
    }
}

/// The member's mailing address for the receipt: the check's address when the payout went by
/// check, else the member's primary address in `user_addresses` (the main app's own record).
async fn mailing_address(ctx: &Context, p: &Payout) -> AppResult<Value> {
    if let Some(InstructedDestination::Check { mailing_address }) = p.processing.instructions.as_ref().map(|i| &i.destination) {
        return Ok(mailing_address.clone());
    }
    let mut tx = ctx.db.begin().await?;
    let address = db::users::primary_address(&mut tx, p.user_id).await?;
    tx.rollback().await?;
    Ok(address.unwrap_or(Value::Null))
}

/// `{line1, line2, city, state, postalCode}` as printed lines; none when unknown.
fn address_lines(a: &Value) -> Vec<String> {
    let f = |k: &str| a.get(k).and_then(Value::as_str).map(str::trim).unwrap_or_default().to_string();
    let city = [f("city"), format!("{} {}", f("state"), f("postalCode")).trim().to_string()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ");
    [f("line1"), f("line2"), city].into_iter().filter(|l| !l.is_empty()).collect()
}

/// The receipt of a completed payout; its hash is recorded in the trail (once per distinct
/// document, even when two downloads race).
pub async fn receipt(ctx: &Context, by: &Actor, p: &Payout) -> AppResult<Vec<u8>> {
    if p.status != PayoutStatus::Completed {
        return Err(AppError::refused(
            ErrorCode::ReceiptNotAvailable,
            format!("A receipt exists once the payout is completed; this one is {}: it comes when the payment is confirmed", p.status),
            Some(json!({ "payoutId": p.payout_id, "currentStatus": p.status })),
        ));
    }
    let calc = calculation(ctx, p).await?;
    let completed = p.completed_date.or(p.processing.completed_date.as_ref().map(|s| s.at));
    let tax_year = completed.map(|c| c.year()).unwrap_or_else(|| Utc::now().year());
    let (withholding_note, tax_note) = tax_notes(&calc, tax_year);
    let data = json!({
        "company": ctx.rules.company_name,
        "companyAddress": ctx.rules.company_address,
        "supportEmail": ctx.rules.support_email,
        "payoutId": p.payout_id,
        "recipient": {
            "name": p.member.name.clone().unwrap_or_default(),
            "email": p.member.email.clone().unwrap_or_default(),
            "address": address_lines(&mailing_address(ctx, p).await?),
        },
        "method": p.payment_method.describe(),
        "destination": destination(p),
        "lineItems": line_items(&calc, false),
        "gross": calc.gross_amount.display_usd(),
        "net": calc.net_amount.display_usd(),
        "sentDate": day(p.processing.sent_date.as_ref().map(|s| s.at)),
        "completedDate": day(completed),
        "confirmationNumber": p.processing.confirmation_number.clone().flatten().unwrap_or_else(|| "—".into()),
        "withholdingNote": withholding_note,
        "taxNote": tax_note,
        "taxYear": tax_year,
        "issuedAt": first_issued(p).unwrap_or_else(Utc::now).format("%B %-d, %Y").to_string(),
    });
    let pdf = typeset(crate::documents::RECEIPT_TEMPLATE, data).await?;
    let sha256 = sha256_hex(&pdf);
    if !p.audit_trail.has("receipt_issued", "sha256", &sha256) {
        let action = PayoutAction::IssueReceipt { sha256, bytes: pdf.len() };
        change::apply(ctx, &p.payout_id, by, &audit::Origin::default(), action).await?;
    }
    Ok(pdf)
}

/// When the receipt was first issued: its date is printed, so a receipt fetched (or emailed) on a
/// later day is the same document with the same hash, recorded once.
fn first_issued(p: &Payout) -> Option<DateTime<Utc>> {
    let first = p.audit_trail.entries.iter().find(|e| e["action"] == "receipt_issued")?;
    DateTime::parse_from_rfc3339(first["at"].as_str()?).ok().map(|t| t.with_timezone(&Utc))
}

/// The receipts the email sender attaches to the "completed" email (`notify` cannot reach
/// `workflow`, so `app` hands it this). None when the payout is no longer completed (its payment
/// failed since the email was queued): the sender then withdraws the message rather than tell
/// the member of money that did not arrive. The issue is recorded in the trail as by the system.
pub fn emailed_receipts(ctx: Context) -> crate::notify::sender::Receipts {
    std::sync::Arc::new(move |payout_id: String| {
        let ctx = ctx.clone();
        Box::pin(async move {
            let payout = crate::workflow::payouts::find(&ctx, &payout_id).await.map_err(|e| format!("cannot read payout {payout_id} for its receipt: {e}"))?;
            if payout.status != PayoutStatus::Completed {
                tracing::warn!(payout.id = %payout_id, payout.status = %payout.status, "the completed email is withdrawn: the payout is no longer completed");
                return Ok(None);
            }
            receipt(&ctx, &Actor::system(), &payout).await.map(Some).map_err(|e| format!("cannot render the receipt of payout {payout_id}: {e}"))
        })
    })
}

/// The instructions as a document for the finance team (masked destination only).
pub async fn instructions_pdf(ctx: &Context, p: &Payout) -> AppResult<Vec<u8>> {
    if !p.processing.has_instructions() {
        return Err(AppError::refused(ErrorCode::InstructionsNotGenerated, "This payout has no payment instructions yet: generate them first (generate-instructions)", Some(json!({ "payoutId": p.payout_id }))));
    }
    // An old row's instructions in a shape we cannot read still print, with what is known.
    let instructions = p.processing.instructions.as_ref();
    let calc = calculation(ctx, p).await?;
    let approvers = p.approval_workflow.approvals.iter().map(|a| a.email.clone().unwrap_or_else(|| format!("admin {}", a.admin_id))).collect::<Vec<_>>().join(", ");
    let generated = instructions.and_then(|i| DateTime::parse_from_rfc3339(&i.generated_at).ok()).map(|t| t.with_timezone(&Utc));
    let data = json!({
        "company": ctx.rules.company_name,
        "payoutId": p.payout_id,
        "recipient": { "name": p.member.name.clone().unwrap_or_default(), "email": p.member.email.clone().unwrap_or_default() },
        "method": p.payment_method.describe(),
        "destination": destination(p),
        "net": instructions.map(|i| i.net_amount.display_usd()).unwrap_or_else(|| "—".into()),
        "approvedBy": if approvers.is_empty() { "—".to_string() } else { approvers },
        "lineItems": line_items(&calc, true),
        "generatedAt": day(generated),
    });
    typeset(crate::documents::INSTRUCTIONS_TEMPLATE, data).await
}
