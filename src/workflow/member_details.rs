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
        .ok_or_else(|| AppError::refused(ErrorCode::NoOpenPayout, "The member has no open payout to attach bank details to", None))?;
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
    pub status: &'static str,
    pub tin_type: String,
    pub tin_last4: String,
}

/// Stores a W-9 for this tax year (status generated) with the TIN encrypted, and its audit row.
pub async fn save_w9(ctx: &Context, by: &Actor, origin: &audit::Origin, member: Uuid, w9: W9) -> AppResult<TaxInfoSaved> {
    let tax_year = Utc::now().year();
    let tin_last4 = w9.tin[5..].to_string();
    let email = db::users::email(&ctx.db, member).await?.ok_or_else(|| AppError::NotFound("Member not found".into()))?;
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
    let mut tx = ctx.db.begin().await?;
    let (id, form_id) = db::tax_forms::insert_w9(&mut tx, form).await?;
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
    Ok(TaxInfoSaved { form_id, form_type: "W-9", tax_year, status: "generated", tin_type: w9.tin_type, tin_last4 })
}
