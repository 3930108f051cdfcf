//! Paying out (SPEC §6): payment instructions, sent, confirmed, failed, reissued. Each is one
//! action handed to `change::apply`.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::audit;
use crate::domain::calculation::Calculation;
use crate::domain::change::{Actor, BankFact, ConfirmDetails, PayoutAction, SentDetails};
use crate::domain::money::Money;
use crate::domain::payout::{PaymentMethod, Payout};
use crate::domain::processing::InstructedDestination;
use crate::error::{AppError, AppResult};
use crate::workflow::change;
use crate::workflow::Context;

/// What finance needs to send the money.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Instructions {
    pub payout_id: String,
    pub payment_method: PaymentMethod,
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

/// Computes the calculation and the instructions of an approved payout. For ACH this is the one
/// place bank details are decrypted, and the decryption leaves its own trail entry.
pub async fn generate_instructions(ctx: &Context, by: &Actor, origin: &audit::Origin, payout_id: &str) -> AppResult<Instructions> {
    let applied = change::apply(ctx, payout_id, by, origin, PayoutAction::GenerateInstructions).await?;
    let p = &applied.after;
    let missing = || AppError::internal(anyhow::anyhow!("instructions were generated but not recorded"));
    let record = p.processing.instructions.clone().ok_or_else(missing)?;
    let calculation = p.processing.calculation.clone().ok_or_else(missing)?;
    let bank_details = match applied.facts.bank {
        BankFact::Clear(clear) => Some(clear),
        _ => None,
    };
    let mailing_address = match record.destination {
        InstructedDestination::Check { mailing_address } => Some(mailing_address),
        InstructedDestination::Ach { .. } => None,
    };
    Ok(Instructions {
        payout_id: p.payout_id.clone(),
        payment_method: p.payment_method,
        amount_to_send: calculation.net_amount,
        calculation,
        reference: record.reference,
        recipient_name: p.member.name.clone(),
        bank_details,
        mailing_address,
        generated_at: record.generated_at,
    })
}

/// The full bank details of an ACH payout for an admin's eyes (the console's reveal): the
/// decryption is chained in the trail and written to `user_audit_logs` before they are returned.
pub async fn reveal_bank_details(ctx: &Context, by: &Actor, origin: &audit::Origin, payout_id: &str) -> AppResult<(Payout, Value)> {
    let applied = change::apply(ctx, payout_id, by, origin, PayoutAction::RevealDestination).await?;
    match applied.facts.bank {
        BankFact::Clear(clear) => Ok((applied.after, clear)),
        _ => Err(AppError::internal(anyhow::anyhow!("a reveal was recorded without readable details"))),
    }
}

/// Records that the money was sent and tells the member when to expect it.
pub async fn mark_sent(ctx: &Context, by: &Actor, origin: &audit::Origin, payout_id: &str, sent: SentDetails) -> AppResult<Payout> {
    Ok(change::apply(ctx, payout_id, by, origin, PayoutAction::MarkSent(sent)).await?.after)
}

/// Records that the money arrived: the payout completes, its 1099-MISC is written and the
/// member gets the receipt link.
pub async fn confirm(ctx: &Context, by: &Actor, origin: &audit::Origin, payout_id: &str, details: ConfirmDetails) -> AppResult<Payout> {
    Ok(change::apply(ctx, payout_id, by, origin, PayoutAction::Confirm(details)).await?.after)
}

/// Records a failed or returned payment; the member and every admin are told.
pub async fn mark_failed(
    ctx: &Context,
    by: &Actor,
    origin: &audit::Origin,
    payout_id: &str,
    reason: String,
    return_code: Option<String>,
) -> AppResult<Payout> {
    Ok(change::apply(ctx, payout_id, by, origin, PayoutAction::MarkFailed { reason, return_code }).await?.after)
}

/// Sends a failed payout back for fresh approval.
pub async fn reissue(ctx: &Context, by: &Actor, origin: &audit::Origin, payout_id: &str) -> AppResult<Payout> {
    Ok(change::apply(ctx, payout_id, by, origin, PayoutAction::Reissue).await?.after)
}
