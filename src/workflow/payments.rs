//! Paying out (SPEC §6): bank details and W-9, payment instructions, sent, confirmed, failed,
//! reissued. Same shape as every change: lock, ask the domain, compare-and-set, chain, audit,
//! outbox — one transaction.

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::crypto::Keyring;
use crate::db::{self, audit, payouts::PayoutRow};
use crate::domain::approvals::{self, ApprovalWorkflow};
use crate::domain::bank::{BankDetails, W9};
use crate::domain::calculation::{calculate, Calculation, CalculationRules};
use crate::domain::money::Money;
use crate::domain::status::{transition, Action, PayoutStatus};
use crate::error::{AppError, AppResult};
use crate::workflow::payouts::{chain, commit_change, invalid_status, lock_or_404, notify_member};
use crate::workflow::view::{mask_bank, MaskedBank};

fn business(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Business { code, message: message.into(), details: None }
}

/// The row's processing object; anything else the old service left there is kept under `legacy`.
fn processing(row: &PayoutRow) -> serde_json::Map<String, Value> {
    match &row.processing {
        Some(Value::Object(o)) => o.clone(),
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(other) => serde_json::Map::from_iter([("legacy".to_string(), other.clone())]),
    }
}

/// The member's payout that bank details attach to: the newest open one.
async fn open_payout_id(state: &AppState, user_id: Uuid) -> AppResult<String> {
    let rows = db::payouts::for_member(&state.db, user_id).await?;
    rows.into_iter()
        .find(|r| r.status().is_some_and(PayoutStatus::is_open))
        .map(|r| r.payout_id)
        .ok_or_else(|| business("NO_OPEN_PAYOUT", "The member has no open payout to attach bank details to"))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BankInfoSaved {
    pub payout_id: String,
    pub status: PayoutStatus,
    pub bank_details: Option<MaskedBank>,
    /// True when approvals were cleared because the destination changed after an approval.
    pub approvals_cleared: bool,
}

pub async fn save_bank_details(
    state: &AppState,
    by: &CurrentUser,
    origin: &audit::Origin,
    member: Uuid,
    details: BankDetails,
) -> AppResult<BankInfoSaved> {
    let payout_id = open_payout_id(state, member).await?;
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, &payout_id).await?;
    let from = row.status().ok_or_else(|| invalid_status(&row, Action::ChangeDestination))?;
    let workflow = ApprovalWorkflow::read(row.approval_workflow.as_ref().unwrap_or(&Value::Null), state.settings.payout.required_approvals);
    // Once anyone approved, a new destination sends the payout back for fresh approval.
    let clears = workflow.current() > 0 || from == PayoutStatus::Approved;
    let to = match from {
        PayoutStatus::PendingApproval | PayoutStatus::Approved if clears => {
            transition(from, Action::ChangeDestination).map_err(|_| invalid_status(&row, Action::ChangeDestination))?
        }
        PayoutStatus::PendingApproval | PayoutStatus::PaymentFailed => from,
        _ => return Err(invalid_status(&row, Action::ChangeDestination)),
    };
    let plaintext = serde_json::to_vec(&details).map_err(AppError::internal)?;
    let mut stored = state.keyring.encrypt(&plaintext);
    stored["last4"] = json!(details.last4());
    stored["accountType"] = json!(details.account_type);
    stored["bankName"] = json!(details.bank_name);
    stored["updatedAt"] = json!(approvals::now_iso());
    let masked = json!({ "last4": details.last4(), "accountType": details.account_type, "bankName": details.bank_name, "approvalsCleared": clears });
    let (trail, _) = chain(&row, if clears { "bank_details_changed_approvals_cleared" } else { "bank_details_updated" }, &by.actor(), masked.clone());
    let mut proc = processing(&row);
    let mut change = db::payouts::Change { status: Some(to), bank_details: Some(stored.clone()), audit_trail: Some(trail), ..Default::default() };
    if clears {
        change.approval_workflow = Some(serde_json::to_value(ApprovalWorkflow::new(workflow.required_approvals)).map_err(AppError::internal)?);
        // Instructions named the old account: they must be generated again after re-approval.
        if proc.remove("instructions").is_some() {
            proc.remove("instructionsGeneratedAt");
            change.processing = Some(Value::Object(proc));
        }
    }
    commit_change(&mut tx, &row, origin, "payout_bank_details_updated", to, change, masked).await?;
    tx.commit().await?;
    Ok(BankInfoSaved { payout_id, status: to, bank_details: mask_bank(&stored), approvals_cleared: clears })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxInfoSaved {
    pub form_id: String,
    pub form_type: &'static str,
    pub tax_year: i32,
    pub status: &'static str,
    pub tin_type: String,
    pub tin_last4: String,
}

pub async fn save_w9(state: &AppState, by: &CurrentUser, origin: &audit::Origin, member: Uuid, w9: W9) -> AppResult<TaxInfoSaved> {
    let tax_year = Utc::now().year();
    let tin_last4 = w9.tin[5..].to_string();
    let email: Option<String> = sqlx::query_scalar("SELECT email::text FROM users WHERE id = $1").bind(member).fetch_optional(&state.db).await?;
    let Some(email) = email else { return Err(AppError::NotFound("Member not found".into())) };
    let w9_data = json!({
        "legalName": w9.legal_name, "tinType": w9.tin_type, "tin": state.keyring.encrypt(w9.tin.as_bytes()),
        "tinLast4": tin_last4, "addressLine1": w9.address_line1, "addressLine2": w9.address_line2,
        "city": w9.city, "state": w9.state, "postalCode": w9.postal_code,
        "submittedBy": by.actor(), "submittedAt": approvals::now_iso(),
    });
    let recipient = json!({ "name": w9.legal_name, "email": email, "address": { "line1": w9.address_line1, "line2": w9.address_line2, "city": w9.city, "state": w9.state, "postalCode": w9.postal_code } });
    let mut tx = state.db.begin().await?;
    let (id, form_id): (Uuid, String) = sqlx::query_as(
        "INSERT INTO tax_forms (id, form_id, user_id, form_type, tax_year, status, recipient_info, w9_data, generation, corrections, created_at, updated_at)
         VALUES (gen_random_uuid(), gen_random_uuid()::text, $1, 'W-9', $2, 'generated', $3, $4, $5, '[]', now(), now())
         RETURNING id, form_id",
    )
    .bind(member)
    .bind(tax_year)
    .bind(recipient)
    .bind(w9_data)
    .bind(json!({ "source": "payout-service", "at": approvals::now_iso() }))
    .fetch_one(&mut *tx)
    .await?;
    audit::insert(
        &mut tx,
        &audit::Origin { user_id: Some(member), ..origin.clone() },
        audit::AuditLog {
            entity_type: "tax_form",
            entity_id: Some(id),
            action: "w9_submitted",
            old_values: None,
            new_values: Some(json!({ "formId": form_id, "taxYear": tax_year, "tinType": w9.tin_type, "tinLast4": tin_last4 })),
            success: true,
            error_message: None,
            metadata: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(TaxInfoSaved { form_id, form_type: "W-9", tax_year, status: "generated", tin_type: w9.tin_type, tin_last4 })
}

/// The bank details in clear, from our encrypted form or a legacy plaintext row.
fn decrypt_bank(keyring: &Keyring, stored: &Value) -> AppResult<Value> {
    let unreadable = || {
        business(
            "BANK_DETAILS_UNREADABLE",
            "The stored bank details cannot be read (unknown key or incomplete): ask the member to submit them again, or configure ENCRYPTION_KEY_PREVIOUS",
        )
    };
    let mut clear = if Keyring::is_encrypted(stored) {
        let (plain, _) = keyring.decrypt(stored).map_err(|_| unreadable())?;
        serde_json::from_slice::<Value>(&plain).map_err(|_| unreadable())?
    } else {
        stored.clone()
    };
    if let Some(o) = clear.as_object_mut() {
        o.retain(|k, _| ["accountHolderName", "routingNumber", "accountNumber", "accountType", "bankName"].contains(&k.as_str()));
    }
    let has = |k: &str| clear.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if !(has("routingNumber") && has("accountNumber")) {
        return Err(unreadable());
    }
    Ok(clear)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Instructions {
    pub payout_id: String,
    pub payment_method: String,
    pub calculation: Calculation,
    /// The amount to send.
    pub amount_to_send: Money,
    /// Put this on the transfer or check memo.
    pub reference: String,
    pub recipient_name: Option<String>,
    /// ACH only: the full bank details (this response is never cached).
    #[schema(value_type = Option<Object>)]
    pub bank_details: Option<Value>,
    /// Check only: the member's primary mailing address.
    #[schema(value_type = Option<Object>)]
    pub mailing_address: Option<Value>,
    pub generated_at: String,
}

pub async fn has_w9<'e, E: sqlx::Executor<'e, Database = sqlx::Postgres>>(db: E, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM tax_forms WHERE user_id = $1 AND form_type = 'W-9' AND status IS DISTINCT FROM 'pending')",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// The calculation instructions were generated with; for a row the old service left without
/// one, computed now with the member's real W-9 status (never assuming one is on file).
pub async fn effective_calculation<'e, E: sqlx::Executor<'e, Database = sqlx::Postgres>>(
    state: &AppState,
    db: E,
    row: &PayoutRow,
) -> Result<Value, sqlx::Error> {
    if let Some(c) = row.processing.as_ref().and_then(|p| p.get("calculation")).filter(|c| c.get("lineItems").is_some()) {
        return Ok(c.clone());
    }
    let w9 = has_w9(db, row.user_id).await?;
    Ok(serde_json::to_value(calculate(row.amount, w9, &calculation_rules(state))).unwrap_or_default())
}

pub fn calculation_rules(state: &AppState) -> CalculationRules {
    CalculationRules { retention_fee: state.settings.payout.retention_fee, backup_withholding_rate: state.settings.payout.backup_withholding_rate }
}

pub async fn generate_instructions(state: &AppState, by: &CurrentUser, origin: &audit::Origin, payout_id: &str) -> AppResult<Instructions> {
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    let from = row.status().ok_or_else(|| invalid_status(&row, Action::GenerateInstructions))?;
    let to = transition(from, Action::GenerateInstructions).map_err(|_| invalid_status(&row, Action::GenerateInstructions))?;
    let w9 = has_w9(&mut *tx, row.user_id).await?;
    let calc = calculate(row.amount, w9, &calculation_rules(state));
    let generated_at = approvals::now_iso();
    if !["ach", "check"].contains(&row.payment_method.as_str()) {
        return Err(business(
            "UNSUPPORTED_PAYMENT_METHOD",
            format!("Payouts are paid by ACH or check; this legacy payout says '{}': cancel it and create a new one", row.payment_method),
        ));
    }
    let (bank, address, masked) = match row.payment_method.as_str() {
        "check" => {
            let address: Option<Value> = sqlx::query_scalar(
                "SELECT jsonb_build_object('line1', street_address, 'line2', address_line_2, 'city', city, 'state', state,
                        'postalCode', postal_code, 'country', country_code)
                 FROM user_addresses WHERE user_id = $1 AND is_primary IS TRUE ORDER BY updated_at DESC NULLS LAST LIMIT 1",
            )
            .bind(row.user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let address = address.ok_or_else(|| business("ADDRESS_MISSING", "The member has no primary mailing address for a check"))?;
            (None, Some(address.clone()), json!({ "method": "check", "mailingAddress": address }))
        }
        _ => {
            let stored = row.bank_details.clone().filter(|b| !b.is_null() && b.as_object().is_some_and(|o| !o.is_empty()));
            let stored = stored.ok_or_else(|| business("BANK_DETAILS_MISSING", "The member has not submitted bank details for an ACH transfer"))?;
            let clear = decrypt_bank(&state.keyring, &stored)?;
            let m = mask_bank(&stored);
            (Some(clear), None, json!({ "method": "ach", "last4": m.as_ref().and_then(|m| m.last4.clone()),
                                        "accountType": m.as_ref().and_then(|m| m.account_type.clone()),
                                        "bankName": m.as_ref().and_then(|m| m.bank_name.clone()) }))
        }
    };
    let mut instructions_snapshot = masked;
    instructions_snapshot["netAmount"] = json!(calc.net_amount);
    instructions_snapshot["reference"] = json!(row.payout_id);
    instructions_snapshot["generatedAt"] = json!(generated_at);
    instructions_snapshot["generatedBy"] = json!(by.actor());
    let mut proc = processing(&row);
    proc.insert("calculation".into(), serde_json::to_value(&calc).map_err(AppError::internal)?);
    proc.insert("instructions".into(), instructions_snapshot);
    proc.insert("instructionsGeneratedAt".into(), json!(generated_at));
    let tax = json!({ "hasW9": calc.has_w9, "rate": calc.withholding_rate, "amount": calc.withholding_amount, "reason": calc.withholding_reason });
    let mut trail_row = row.clone();
    if bank.is_some() {
        // The one place bank details are decrypted leaves its own entry.
        let (t, _) = chain(&row, "bank_details_decrypted", &by.actor(), json!({ "purpose": "payment instructions" }));
        trail_row.audit_trail = Some(t);
    }
    let details = json!({ "netAmount": calc.net_amount, "withholding": calc.withholding_amount, "method": row.payment_method });
    let (trail, _) = chain(&trail_row, "instructions_generated", &by.actor(), details.clone());
    commit_change(
        &mut tx,
        &row,
        origin,
        "payout_instructions_generated",
        to,
        db::payouts::Change { processing: Some(Value::Object(proc)), tax_withholding: Some(tax), audit_trail: Some(trail), ..Default::default() },
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(Instructions {
        payout_id: row.payout_id.clone(),
        payment_method: row.payment_method.clone(),
        amount_to_send: calc.net_amount,
        calculation: calc,
        reference: row.payout_id.clone(),
        recipient_name: row.member_name.clone(),
        bank_details: bank,
        mailing_address: address,
        generated_at,
    })
}

pub struct Sent {
    pub sent_date: DateTime<Utc>,
    pub expected_arrival: DateTime<Utc>,
    pub tracking_number: Option<String>,
    pub notes: Option<String>,
}

pub async fn mark_sent(state: &AppState, by: &CurrentUser, origin: &audit::Origin, payout_id: &str, sent: Sent) -> AppResult<PayoutRow> {
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    let from = row.status().ok_or_else(|| invalid_status(&row, Action::MarkSent))?;
    let to = transition(from, Action::MarkSent).map_err(|_| invalid_status(&row, Action::MarkSent))?;
    let mut proc = processing(&row);
    if !proc.contains_key("instructions") {
        return Err(AppError::Conflict {
            code: "INSTRUCTIONS_NOT_GENERATED",
            message: "Generate the payment instructions before marking the payment sent".into(),
            details: Some(json!({ "payoutId": row.payout_id })),
        });
    }
    proc.insert("sentDate".into(), json!(approvals::iso(sent.sent_date)));
    proc.insert("expectedArrivalDate".into(), json!(approvals::iso(sent.expected_arrival)));
    proc.insert("trackingNumber".into(), json!(sent.tracking_number));
    proc.insert("sentBy".into(), json!(by.actor()));
    if let Some(n) = &sent.notes {
        proc.insert("sentNotes".into(), json!(n));
    }
    let details = json!({ "sentDate": approvals::iso(sent.sent_date), "expectedArrivalDate": approvals::iso(sent.expected_arrival), "trackingNumber": sent.tracking_number });
    let (trail, entry) = chain(&row, "payment_sent", &by.actor(), details.clone());
    commit_change(
        &mut tx,
        &row,
        origin,
        "payout_payment_sent",
        to,
        db::payouts::Change { status: Some(to), processing: Some(Value::Object(proc)), scheduled_date: Some(sent.expected_arrival), audit_trail: Some(trail), ..Default::default() },
        details,
    )
    .await?;
    let net = row.processing.as_ref().and_then(|p| p.pointer("/calculation/netAmount")).and_then(Value::as_str).unwrap_or_default().to_string();
    notify_member(
        &mut tx,
        &row,
        "payment_sent",
        &entry,
        &[
            ("net_amount", net),
            ("method", if row.payment_method == "check" { "a paper check".into() } else { "an ACH bank transfer".into() }),
            ("sent_date", sent.sent_date.format("%B %-d, %Y").to_string()),
            ("expected_arrival", sent.expected_arrival.format("%B %-d, %Y").to_string()),
            ("tracking", sent.tracking_number.clone().map(|t| format!("Tracking number: {t}")).unwrap_or_default()),
        ],
    )
    .await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    tx.commit().await?;
    Ok(row)
}

pub struct Confirmation {
    pub completed_date: DateTime<Utc>,
    pub confirmation_number: Option<String>,
    pub notes: Option<String>,
}

pub async fn confirm(state: &AppState, by: &CurrentUser, origin: &audit::Origin, payout_id: &str, c: Confirmation) -> AppResult<PayoutRow> {
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    let from = row.status().ok_or_else(|| invalid_status(&row, Action::Confirm))?;
    let to = transition(from, Action::Confirm).map_err(|_| invalid_status(&row, Action::Confirm))?;
    let mut proc = processing(&row);
    if let Some(sent) = proc.get("sentDate").and_then(Value::as_str).and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
        if c.completed_date < sent.with_timezone(&Utc) {
            return Err(AppError::validation(vec![crate::error::FieldError::new("completedDate", "must not be before the sent date")]));
        }
    }
    proc.insert("completedDate".into(), json!(approvals::iso(c.completed_date)));
    proc.insert("confirmationNumber".into(), json!(c.confirmation_number));
    proc.insert("confirmedBy".into(), json!(by.actor()));
    if let Some(n) = &c.notes {
        proc.insert("confirmNotes".into(), json!(n));
    }
    let calc = effective_calculation(state, &mut *tx, &row).await?;
    proc.insert("calculation".into(), calc.clone());
    let receipt_url = format!("/api/payouts/{}/receipt", row.payout_id);
    let details = json!({ "completedDate": approvals::iso(c.completed_date), "confirmationNumber": c.confirmation_number });
    let (trail, entry) = chain(&row, "completed", &by.actor(), details.clone());
    commit_change(
        &mut tx,
        &row,
        origin,
        "payout_completed",
        to,
        db::payouts::Change {
            status: Some(to),
            processing: Some(Value::Object(proc)),
            completed_date: Some(c.completed_date),
            receipt_url: Some(receipt_url.clone()),
            audit_trail: Some(trail),
            ..Default::default()
        },
        details,
    )
    .await?;
    // The 1099-MISC for the year the money arrived: box 3 other income, federal tax withheld.
    let gross = calc.get("grossAmount").cloned().unwrap_or_else(|| json!(Money::new(row.amount)));
    let withheld = calc.get("withholdingAmount").cloned().unwrap_or_else(|| json!(Money::ZERO));
    sqlx::query(
        "INSERT INTO tax_forms (id, form_id, user_id, form_type, tax_year, status, recipient_info, payer_info, income_details, corrections, notes, created_at, updated_at)
         VALUES (gen_random_uuid(), gen_random_uuid()::text, $1, '1099-MISC', $2, 'pending', $3, $4, $5, '[]', $6, now(), now())",
    )
    .bind(row.user_id)
    .bind(c.completed_date.year())
    .bind(json!({ "name": row.member_name, "email": row.member_email, "userId": row.user_id }))
    .bind(json!({ "name": state.settings.payout.company_name }))
    .bind(json!({ "box3OtherIncome": gross, "federalIncomeTaxWithheld": withheld, "payoutId": row.payout_id }))
    .bind(format!("Payout {}", row.payout_id))
    .execute(&mut *tx)
    .await?;
    let net = calc.get("netAmount").and_then(Value::as_str).unwrap_or_default().to_string();
    notify_member(&mut tx, &row, "payout_completed", &entry, &[("net_amount", net), ("receipt_url", receipt_url)]).await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn mark_failed(
    state: &AppState,
    by: &CurrentUser,
    origin: &audit::Origin,
    payout_id: &str,
    reason: String,
    return_code: Option<String>,
) -> AppResult<PayoutRow> {
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    let from = row.status().ok_or_else(|| invalid_status(&row, Action::MarkFailed))?;
    let to = transition(from, Action::MarkFailed).map_err(|_| invalid_status(&row, Action::MarkFailed))?;
    let mut proc = processing(&row);
    let failure = json!({ "reason": reason, "returnCode": return_code, "at": approvals::now_iso(), "by": by.actor(), "previousStatus": from.as_str() });
    let mut failures = proc.get("failures").and_then(Value::as_array).cloned().unwrap_or_default();
    failures.push(failure.clone());
    proc.insert("failures".into(), Value::Array(failures));
    proc.insert("failure".into(), failure.clone());
    let (trail, entry) = chain(&row, "payment_failed", &by.actor(), failure.clone());
    commit_change(
        &mut tx,
        &row,
        origin,
        "payout_payment_failed",
        to,
        db::payouts::Change { status: Some(to), processing: Some(Value::Object(proc)), audit_trail: Some(trail), ..Default::default() },
        failure,
    )
    .await?;
    if from == PayoutStatus::Completed {
        // The 1099-MISC written on confirmation must not be filed as is.
        sqlx::query(
            "UPDATE tax_forms SET notes = coalesce(notes, '') || $2, updated_at = now()
             WHERE user_id = $1 AND form_type = '1099-MISC' AND income_details ->> 'payoutId' = $3",
        )
        .bind(row.user_id)
        .bind(format!(" | Payment failed after confirmation ({}); review before filing", return_code.clone().unwrap_or_else(|| "no return code".into())))
        .bind(&row.payout_id)
        .execute(&mut *tx)
        .await?;
    }
    let code = return_code.clone().map(|c| format!(" (ACH return code {c})")).unwrap_or_default();
    notify_member(&mut tx, &row, "payment_failed_member", &entry, &[("reason", reason.clone()), ("return_code", code.clone())]).await?;
    let event_key: String = entry["hash"].as_str().unwrap_or_default().chars().take(16).collect();
    for (_, email, name) in db::alerts::active_admins(&mut tx).await? {
        let vars = [
            ("admin_name", name.unwrap_or_else(|| "admin".into())),
            ("payout_id", row.payout_id.clone()),
            ("amount", Money::new(row.amount).to_string()),
            ("member_name", row.member_name.clone().unwrap_or_else(|| "a member".into())),
            ("reason", reason.clone()),
            ("return_code", code.clone()),
        ];
        let key = format!("payment_failed_admin:{}:{event_key}:{}", row.payout_id, email.to_lowercase());
        crate::notify::enqueue(&mut tx, &crate::notify::templates::render("payment_failed_admin", &email, key, Some(row.payout_id.clone()), &vars)).await?;
    }
    let row = lock_or_404(&mut tx, payout_id).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn reissue(state: &AppState, by: &CurrentUser, origin: &audit::Origin, payout_id: &str) -> AppResult<PayoutRow> {
    let mut tx = state.db.begin().await?;
    let row = lock_or_404(&mut tx, payout_id).await?;
    let from = row.status().ok_or_else(|| invalid_status(&row, Action::Reissue))?;
    let to = transition(from, Action::Reissue).map_err(|_| invalid_status(&row, Action::Reissue))?;
    let workflow = ApprovalWorkflow::read(row.approval_workflow.as_ref().unwrap_or(&Value::Null), state.settings.payout.required_approvals);
    let mut proc = processing(&row);
    for stale in ["instructions", "instructionsGeneratedAt", "sentDate", "expectedArrivalDate", "trackingNumber", "completedDate", "confirmationNumber"] {
        proc.remove(stale);
    }
    let reissues = proc.get("reissues").and_then(Value::as_u64).unwrap_or(0) + 1;
    proc.insert("reissues".into(), json!(reissues));
    let mut fresh = ApprovalWorkflow::new(workflow.required_approvals);
    fresh.legacy = workflow.legacy.clone();
    let details = json!({ "reissue": reissues, "approvalsCleared": workflow.current() });
    let (trail, entry) = chain(&row, "reissued", &by.actor(), details.clone());
    commit_change(
        &mut tx,
        &row,
        origin,
        "payout_reissued",
        to,
        db::payouts::Change {
            status: Some(to),
            approval_workflow: Some(serde_json::to_value(&fresh).map_err(AppError::internal)?),
            processing: Some(Value::Object(proc)),
            audit_trail: Some(trail),
            clear_payment: true,
            ..Default::default()
        },
        details,
    )
    .await?;
    let row_after = lock_or_404(&mut tx, payout_id).await?;
    crate::workflow::payouts::notify_admins_awaiting(state, &mut tx, &row_after, &entry, "reissued", by).await?;
    tx.commit().await?;
    Ok(row_after)
}
