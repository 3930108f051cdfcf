//! What a member (or an admin for them) submits: bank details for the open payout, stored
//! encrypted, and a W-9 with the TIN encrypted.

use chrono::{Datelike, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{self, audit};
use crate::domain::bank::BankDetails;
use crate::domain::w9::W9;
use crate::domain::change::{destination_change_clears, Actor, NewDestination, PayoutAction};
use crate::domain::processing::iso;
use crate::domain::status::PayoutStatus;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::workflow::view::{mask_bank, MaskedBank};
use crate::workflow::{change, Context};

/// Bank details as saved: masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BankInfoSaved {
    pub payout_id: String,
    pub status: PayoutStatus,
    pub bank_details: Option<MaskedBank>,
    /// True when approvals were cleared because the destination changed after an approval.
    pub approvals_cleared: bool,
}

/// Stores the member's bank details, encrypted, on their newest open payout. After an approval
/// the change clears the approvals and sends the payout back for fresh approval.
pub async fn save_bank_details(ctx: &Context, by: &Actor, origin: &audit::Origin, member: Uuid, details: BankDetails) -> AppResult<BankInfoSaved> {
    let payout_id = db::payouts::open_payout_of(&ctx.db, member)
        .await?
        .ok_or_else(|| AppError::refused(ErrorCode::NoOpenPayout, "The member has no open payout to attach bank details to: bank details are taken once an admin has created the member's payout", None))?;
    let plaintext = serde_json::to_vec(&details).map_err(AppError::internal)?;
    let destination = NewDestination {
        envelope: ctx.keyring.encrypt(&plaintext),
        last4: details.last4(),
        account_type: details.account_type.clone(),
        bank_name: details.bank_name.clone(),
    };
    let applied = change::apply(ctx, &payout_id, by, origin, PayoutAction::ChangeDestination(destination)).await?;
    Ok(BankInfoSaved {
        approvals_cleared: destination_change_clears(&applied.before),
        status: applied.after.status,
        bank_details: applied.after.bank_details.as_ref().map(mask_bank),
        payout_id,
    })
}

/// A W-9 as saved: the TIN masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxInfoSaved {
    pub form_id: String,
    pub form_type: &'static str,
    pub tax_year: i32,
    pub status: String,
    pub tin_type: String,
    pub tin_last4: String,
    /// True when the same W-9 was already on file: nothing was added.
    pub unchanged: bool,
}

/// Whether the W-9 on file says exactly what `w9` says (the TIN compared in clear).
fn same_w9(keyring: &crate::crypto::Keyring, on_file: &serde_json::Value, w9: &W9) -> bool {
    let text = |k: &str| on_file.get(k).and_then(serde_json::Value::as_str).map(String::from);
    let tin = keyring.decrypt(&on_file["tin"]).ok().and_then(|(plain, _)| String::from_utf8(plain).ok());
    tin.as_deref() == Some(w9.tin.as_str())
        && text("legalName").as_deref() == Some(w9.legal_name.as_str())
        && text("tinType").as_deref() == Some(w9.tin_type.as_str())
        && text("addressLine1").as_deref() == Some(w9.address_line1.as_str())
        && text("addressLine2") == w9.address_line2
        && text("city").as_deref() == Some(w9.city.as_str())
        && text("state").as_deref() == Some(w9.state.as_str())
        && text("postalCode").as_deref() == Some(w9.postal_code.as_str())
}

/// Stores a W-9 for this tax year (status generated) with the TIN encrypted, and its audit row.
/// It supersedes the member's earlier W-9s (SPEC §12: the latest counts); the same W-9 again
/// adds nothing.
pub async fn save_w9(ctx: &Context, by: &Actor, origin: &audit::Origin, member: Uuid, w9: W9) -> AppResult<TaxInfoSaved> {
    let tax_year = Utc::now().year();
    let tin_last4 = w9.tin[5..].to_string();
    let email = db::users::email(&ctx.db, member).await?.ok_or_else(|| AppError::NotFound("Member not found".into()))?;
    let mut tx = ctx.db.begin().await?;
    // One submission at a time per member, so two identical ones cannot both be added.
    db::tax_forms::lock_member_w9s(&mut tx, member).await?;
    if let Some(on_file) = db::tax_forms::latest_w9(&mut tx, member).await? {
        if same_w9(&ctx.keyring, &on_file.w9_data, &w9) {
            tx.commit().await?;
            let saved = TaxInfoSaved { form_id: on_file.form_id, form_type: "W-9", tax_year: on_file.tax_year, status: on_file.status, tin_type: w9.tin_type, tin_last4, unchanged: true };
            return Ok(saved);
        }
    }
    let now = iso(Utc::now());
    let w9_data = json!({
        "legalName": w9.legal_name, "tinType": w9.tin_type, "tin": ctx.keyring.encrypt(w9.tin.as_bytes()),
        "tinLast4": tin_last4, "addressLine1": w9.address_line1, "addressLine2": w9.address_line2,
        "city": w9.city, "state": w9.state, "postalCode": w9.postal_code,
        "submittedBy": by.label(), "submittedAt": now,
    });
    let address = json!({ "line1": w9.address_line1, "line2": w9.address_line2, "city": w9.city, "state": w9.state, "postalCode": w9.postal_code });
    let form = db::tax_forms::NewW9 {
        user_id: member,
        tax_year,
        recipient: json!({ "name": w9.legal_name, "email": email, "address": address }),
        w9_data,
        generation: json!({ "source": "payout-service", "at": now }),
    };
    let (id, form_id) = db::tax_forms::insert_w9(&mut tx, form).await?;
    db::tax_forms::supersede_w9s(&mut tx, member, id, &form_id).await?;
    let log = audit::AuditLog {
        entity_type: "tax_form",
        entity_id: Some(id),
        action: "w9_submitted",
        old_values: None,
        new_values: Some(json!({ "formId": form_id, "taxYear": tax_year, "tinType": w9.tin_type, "tinLast4": tin_last4 })),
        success: true,
        error_message: None,
        metadata: json!({}),
    };
    audit::insert(&mut tx, &audit::Origin { user_id: Some(member), ..origin.clone() }, log).await?;
    tx.commit().await?;
    Ok(TaxInfoSaved { form_id, form_type: "W-9", tax_year, status: "generated".into(), tin_type: w9.tin_type, tin_last4, unchanged: false })
}
