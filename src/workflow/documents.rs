//! The receipt and the instructions as PDFs: the data each template reads, rendering off the
//! async threads, and the receipt's SHA-256 in the audit trail.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::db::payouts::PayoutRow;
use crate::domain::status::PayoutStatus;
use crate::error::{AppError, AppResult};
use crate::workflow::payments::effective_calculation;
use crate::workflow::payouts::{chain, lock_or_404};
use crate::workflow::view::mask_bank;

/// "100000.00" → "$100,000.00" for the documents.
fn usd(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .and_then(|s| s.parse::<rust_decimal::Decimal>().ok())
        .map(|d| crate::domain::money::Money::new(d).display_usd())
        .unwrap_or_else(|| "—".into())
}

fn items(calc: &Value, with_net: bool) -> Vec<Value> {
    calc.get("lineItems")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| with_net || i["label"] != "Net payment")
        .map(|i| json!({ "label": i["label"], "amount": usd(i.get("amount")) }))
        .collect()
}

fn day(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%B %-d, %Y").to_string()).unwrap_or_else(|| "—".into())
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str).and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc))
}

fn method_name(row: &PayoutRow) -> String {
    match row.payment_method.as_str() {
        "check" => "Paper check".into(),
        "ach" => "ACH bank transfer".into(),
        other => format!("{other} (legacy)"),
    }
}

/// Masked destination: "Checking ••••6789, First Bank" or the mailing address.
fn destination(row: &PayoutRow) -> String {
    let instructions = row.processing.as_ref().and_then(|p| p.get("instructions"));
    if row.payment_method == "check" {
        let a = instructions.and_then(|i| i.get("mailingAddress")).cloned().unwrap_or(Value::Null);
        let f = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let line2 = f("line2");
        return format!("{}{}, {}, {} {}", f("line1"), if line2.is_empty() { String::new() } else { format!(", {line2}") }, f("city"), f("state"), f("postalCode"));
    }
    let masked = row.bank_details.as_ref().and_then(mask_bank);
    let last4 = masked.as_ref().and_then(|m| m.last4.clone()).unwrap_or_else(|| "????".into());
    let kind = masked.as_ref().and_then(|m| m.account_type.clone()).unwrap_or_else(|| "account".into());
    let bank = masked.and_then(|m| m.bank_name).map(|b| format!(", {b}")).unwrap_or_default();
    let mut kind = kind;
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

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The receipt of a completed payout; its hash is recorded (once per distinct document).
pub async fn receipt(state: &AppState, actor: &str, row: &PayoutRow) -> AppResult<Vec<u8>> {
    if row.status() != Some(PayoutStatus::Completed) {
        return Err(AppError::Conflict {
            code: "RECEIPT_NOT_AVAILABLE",
            message: "A receipt exists once the payout is completed".into(),
            details: Some(json!({ "payoutId": row.payout_id, "currentStatus": row.status })),
        });
    }
    let calc = effective_calculation(state, &state.db, row).await?;
    let processing = row.processing.clone().unwrap_or(Value::Null);
    let completed = row.completed_date.or_else(|| parse_time(processing.get("completedDate")));
    let withheld = calc.get("withholdingAmount").and_then(Value::as_str).unwrap_or("0.00");
    let data = json!({
        "company": state.settings.payout.company_name,
        "payoutId": row.payout_id,
        "recipient": { "name": row.member_name.clone().unwrap_or_default(), "email": row.member_email.clone().unwrap_or_default() },
        "method": method_name(row),
        "destination": destination(row),
        "lineItems": items(&calc, false),
        "gross": usd(calc.get("grossAmount")),
        "net": usd(calc.get("netAmount")),
        "sentDate": day(parse_time(processing.get("sentDate"))),
        "completedDate": day(completed),
        "confirmationNumber": processing.get("confirmationNumber").and_then(Value::as_str).unwrap_or("—"),
        "withholdingNote": if withheld == "0.00" { "None (W-9 on file)".to_string() } else { format!("{} federal backup withholding (no W-9 on file)", usd(calc.get("withholdingAmount"))) },
        "taxYear": completed.map(|c| c.year()).unwrap_or_else(|| Utc::now().year()),
        "issuedAt": Utc::now().format("%B %-d, %Y").to_string(),
    });
    let pdf = typeset(crate::documents::RECEIPT_TEMPLATE, data).await?;
    let hash = sha256_hex(&pdf);
    let issued = |r: &PayoutRow| r.trail().iter().any(|e| e["action"] == "receipt_issued" && e["details"]["sha256"] == hash.as_str());
    if !issued(row) {
        let mut tx = state.db.begin().await?;
        let locked = lock_or_404(&mut tx, &row.payout_id).await?;
        // Checked again under the lock: two downloads at once record one entry.
        if !issued(&locked) {
            let (trail, _) = chain(&locked, "receipt_issued", actor, json!({ "sha256": hash, "bytes": pdf.len() }));
            sqlx::query("UPDATE payout_management SET audit_trail = $2, updated_at = now() WHERE id = $1").bind(locked.id).bind(trail).execute(&mut *tx).await?;
            crate::db::payouts::set_head(&mut tx, locked.id).await?;
        }
        tx.commit().await?;
    }
    Ok(pdf)
}

/// The instructions as a document for the finance team (masked destination only).
pub async fn instructions_pdf(state: &AppState, row: &PayoutRow) -> AppResult<Vec<u8>> {
    let processing = row.processing.clone().unwrap_or(Value::Null);
    let Some(instructions) = processing.get("instructions") else {
        return Err(AppError::Conflict {
            code: "INSTRUCTIONS_NOT_GENERATED",
            message: "Generate the payment instructions first".into(),
            details: Some(json!({ "payoutId": row.payout_id })),
        });
    };
    let calc = effective_calculation(state, &state.db, row).await?;
    let approvers = row
        .approval_workflow
        .as_ref()
        .map(|w| crate::domain::approvals::ApprovalWorkflow::read(w, state.settings.payout.required_approvals))
        .map(|w| w.approvals.iter().map(|a| a.email.clone().unwrap_or_else(|| format!("admin {}", a.admin_id))).collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    let data = json!({
        "company": state.settings.payout.company_name,
        "payoutId": row.payout_id,
        "recipient": { "name": row.member_name.clone().unwrap_or_default(), "email": row.member_email.clone().unwrap_or_default() },
        "method": method_name(row),
        "destination": destination(row),
        "net": usd(instructions.get("netAmount")),
        "approvedBy": if approvers.is_empty() { "—".to_string() } else { approvers },
        "lineItems": items(&calc, true),
        "generatedAt": day(parse_time(instructions.get("generatedAt"))),
    });
    typeset(crate::documents::INSTRUCTIONS_TEMPLATE, data).await
}
