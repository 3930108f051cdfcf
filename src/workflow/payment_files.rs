//! Payment files (SPEC §14): NACHA ACH and prenote files, Positive Pay issue files, voiding and
//! downloading. A file is made in one transaction: every payout locked and checked through the
//! change path (status, instructions, §12's fingerprint, one live file), the file built and
//! re-read (`domain::nacha::build` validates before it returns), stored with its SHA-256, and
//! an audit entry on every payout in it. If any payout is refused, nothing is filed.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{self, audit, payment_files::FileRow};
use crate::domain::banking_days::{is_banking_day, new_york_time, next_banking_day_after};
use crate::domain::change::{decide, Actor, BankFact, Decision, FileKind, FiledIn, PayoutAction, Refusal};
use crate::domain::money::Money;
use crate::domain::nacha::{self, AccountKind, AchEntry, AchRequest, BuildError};
use crate::domain::payout::Payout;
use crate::domain::positive_pay::{self, PositivePayRecord};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::workflow::change::{load_facts, lock, payout_origin, write};
use crate::workflow::Context;

/// A payment file's metadata, as SPEC §14 lists it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFile {
    pub id: String,
    /// `ach`, `ach_prenote` or `positive_pay`.
    pub kind: String,
    /// `ready` or `void`.
    pub status: String,
    pub file_name: String,
    pub sha256: String,
    pub entry_count: i32,
    pub total_amount: Money,
    pub effective_date: Option<NaiveDate>,
    pub payout_ids: Vec<String>,
    pub created_by: Option<i32>,
    pub created_by_email: Option<String>,
    pub created_at: String,
    pub void_reason: Option<String>,
    pub voided_at: Option<String>,
}

impl From<FileRow> for PaymentFile {
    fn from(r: FileRow) -> Self {
        let iso = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        PaymentFile {
            id: r.id.to_string(),
            kind: r.kind,
            status: r.status,
            file_name: r.file_name,
            sha256: r.sha256,
            entry_count: r.entry_count,
            total_amount: Money::new(r.total_amount),
            effective_date: r.effective_date,
            payout_ids: r.payout_ids,
            created_by: r.created_by,
            created_by_email: r.created_by_email,
            created_at: iso(r.created_at),
            void_reason: r.void_reason,
            voided_at: r.voided_at.map(iso),
        }
    }
}

fn file_not_found() -> AppError {
    AppError::NotFound("Payment file not found".into())
}

fn profile_missing(what: &str) -> AppError {
    AppError::refused(ErrorCode::BankProfileMissing, format!("No bank profile for {what}: set the BANK_* settings (see the README)"), None)
}

/// The entry date for an ACH file: the one asked for (a banking day after today in New York),
/// else the next banking day after today.
pub fn effective_date(requested: Option<NaiveDate>, now: chrono::DateTime<Utc>) -> AppResult<NaiveDate> {
    let today = new_york_time(now).date();
    match requested {
        None => Ok(next_banking_day_after(today)),
        Some(d) if d > today && is_banking_day(d) => Ok(d),
        Some(d) => Err(AppError::refused(
            ErrorCode::NotABankingDay,
            format!("{d} is not a banking day after today ({today} in New York): the next one is {}", next_banking_day_after(today.max(d))),
            Some(json!({ "effectiveDate": d.to_string(), "nextBankingDay": next_banking_day_after(today.max(d)).to_string() })),
        )),
    }
}

/// A payout locked and accepted for a file, with what its entry needs.
struct Filed {
    payout: Payout,
    step: crate::domain::change::Step,
    facts_bank: BankFact,
    amount: Decimal,
}

/// Locks the payouts (in id order, so concurrent files cannot deadlock) and asks the change
/// rules whether each may go in the file. The first refusal rolls the whole request back; a
/// changed destination is then reset in its own transaction, as the change path does.
async fn admit<'c>(
    ctx: &Context,
    mut tx: Transaction<'c, Postgres>,
    by: &Actor,
    origin: &audit::Origin,
    payout_ids: &[String],
    filed_in: impl Fn(usize) -> FiledIn,
) -> AppResult<(Transaction<'c, Postgres>, Vec<Filed>)> {
    match check_each(ctx, &mut tx, by, payout_ids, filed_in).await {
        Ok(admitted) => Ok((tx, admitted)),
        Err((err, reset)) => {
            // The payout locks go first: the reset takes them again.
            drop(tx);
            Err(reset_if_changed(ctx, by, origin, err, reset).await)
        }
    }
}

async fn check_each(
    ctx: &Context,
    tx: &mut Transaction<'_, Postgres>,
    by: &Actor,
    payout_ids: &[String],
    filed_in: impl Fn(usize) -> FiledIn,
) -> Result<Vec<Filed>, (AppError, Option<String>)> {
    let mut sorted: Vec<&String> = payout_ids.iter().collect();
    sorted.sort();
    let mut locked = std::collections::HashMap::new();
    for id in sorted {
        let payout = lock(ctx, tx, id).await.map_err(|e| (e, None))?;
        locked.insert(id.clone(), payout);
    }
    let mut admitted = Vec::new();
    for (i, id) in payout_ids.iter().enumerate() {
        let payout = locked.remove(id).expect("locked above");
        let action = PayoutAction::AddToFile(filed_in(i));
        let facts = load_facts(ctx, tx, &payout, &action).await.map_err(|e| (e, None))?;
        match decide(&payout, &action, &facts, by, &ctx.rules.change()) {
            Ok(Decision::Change(step)) => {
                let amount = payout
                    .processing
                    .instructions
                    .as_ref()
                    .map(|i| i.net_amount.amount())
                    .or_else(|| payout.processing.calculation.as_ref().map(|c| c.net_amount.amount()))
                    .unwrap_or_else(|| payout.amount.amount());
                admitted.push(Filed { step: *step, facts_bank: facts.bank.clone(), payout, amount });
            }
            Ok(Decision::Unchanged) => {}
            Err(refusal) => {
                let reset = matches!(refusal, Refusal::DestinationChanged).then(|| id.clone());
                return Err((AppError::from_refusal(refusal, id), reset));
            }
        }
    }
    Ok(admitted)
}

/// After a refused file: a destination found changed is reset (approvals and instructions
/// cleared, everyone told), as the change path does when paying.
async fn reset_if_changed(ctx: &Context, by: &Actor, origin: &audit::Origin, err: AppError, reset: Option<String>) -> AppError {
    if let Some(id) = reset {
        if let Err(e) = crate::workflow::change::apply(ctx, &id, by, origin, PayoutAction::ResetDestination).await {
            tracing::warn!(payout.id = %id, error.message = %e, "could not reset a changed destination after refusing a file");
        }
    }
    err
}

fn check_request(payout_ids: &[String]) -> AppResult<()> {
    if payout_ids.is_empty() {
        return Err(AppError::validation(vec![crate::domain::validation::FieldError::new("payoutIds", "name at least one payout")]));
    }
    Ok(())
}

/// Writes each admitted payout's step (trail entry, audit row) and its file item.
async fn record(ctx: &Context, tx: &mut Transaction<'_, Postgres>, origin: &audit::Origin, file_id: Uuid, kind: FileKind, admitted: Vec<Filed>, numbers: &[(Option<String>, Option<i64>)]) -> AppResult<()> {
    for (filed, (trace, check)) in admitted.into_iter().zip(numbers) {
        db::payment_files::insert_item(tx, file_id, &filed.payout.payout_id, kind.as_str(), filed.amount, trace.as_deref(), *check).await.map_err(|e| match &e {
            // Two files raced for one payout: the partial unique index refused the second.
            sqlx::Error::Database(d) if d.constraint() == Some("payout_payment_file_items_one_live") => {
                AppError::from_refusal(Refusal::AlreadyInFile("another file made at the same moment".into()), &filed.payout.payout_id)
            }
            _ => e.into(),
        })?;
        write(ctx, tx, &filed.payout, filed.step, &payout_origin(origin, &filed.payout)).await?;
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A NACHA PPD credit file (or a prenote file) for the given ACH payouts.
pub async fn create_ach(ctx: &Context, by: &Actor, origin: &audit::Origin, payout_ids: Vec<String>, requested: Option<NaiveDate>, prenote: bool) -> AppResult<PaymentFile> {
    check_request(&payout_ids)?;
    let profile = ctx.bank.ach.clone().ok_or_else(|| profile_missing("ACH files"))?;
    let now = Utc::now();
    let effective = effective_date(requested, now)?;
    let kind = if prenote { FileKind::AchPrenote } else { FileKind::Ach };
    let file_id = Uuid::new_v4();
    let odfi8 = profile.odfi_routing.chars().take(8).collect::<String>();
    let trace = |i: usize| format!("{odfi8}{:07}", i + 1);
    let tx = ctx.db.begin().await?;
    let (mut tx, admitted) = admit(ctx, tx, by, origin, &payout_ids, |i| FiledIn { file_id: file_id.to_string(), kind, trace_number: Some(trace(i)), check_number: None }).await?;
    let mut entries = Vec::new();
    for filed in &admitted {
        let BankFact::Clear(bank) = &filed.facts_bank else { return Err(AppError::from_refusal(Refusal::BankDetailsMissing, &filed.payout.payout_id)) };
        let text = |k: &str| bank.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        entries.push(AchEntry {
            routing: text("routingNumber"),
            account_number: text("accountNumber"),
            account_kind: if text("accountType") == "savings" { AccountKind::Savings } else { AccountKind::Checking },
            amount: if prenote { Money::ZERO } else { Money::new(filed.amount) },
            individual_id: individual_id(&filed.payout.payout_id),
            individual_name: text("accountHolderName"),
        });
    }
    // A–Z then 0–9: the day's files told apart (the 37th file of a day wraps around to A).
    const MODIFIERS: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let made_today = db::payment_files::ach_files_on(&mut tx, new_york_time(now).date()).await?;
    let file_id_modifier = MODIFIERS[(made_today % 36) as usize] as char;
    let request = AchRequest { origin: profile, file_id_modifier, created_at: new_york_time(now), effective_date: effective, entries, prenote };
    let file = nacha::build(&request).map_err(|e| match e {
        BuildError::Refused(problems) => AppError::refused(ErrorCode::ValidationError, format!("The file cannot be written: {}", problems.join("; ")), Some(json!(problems))),
        BuildError::Invalid(problems) => AppError::internal(anyhow::anyhow!("NACHA file failed its own re-read: {problems:?}")),
    })?;
    let numbers: Vec<(Option<String>, Option<i64>)> = file.trace_numbers.iter().map(|t| (Some(t.clone()), None)).collect();
    let name = format!("{}-{}-{}.ach", if prenote { "prenote" } else { "ach" }, effective.format("%Y%m%d"), &file_id.simple().to_string()[..8]);
    let total = file.total_credit.amount();
    store(&mut tx, by, file_id, kind, &name, &file.bytes, file.entry_count as i32, total, Some(effective), &payout_ids).await?;
    record(ctx, &mut tx, origin, file_id, kind, admitted, &numbers).await?;
    tx.commit().await?;
    get(ctx, file_id).await
}

/// A Positive Pay file: the next check numbers for the given check payouts, issue records for
/// them, and void records for checks voided since the last file.
pub async fn create_positive_pay(ctx: &Context, by: &Actor, origin: &audit::Origin, payout_ids: Vec<String>) -> AppResult<PaymentFile> {
    check_request(&payout_ids)?;
    let account = ctx.bank.originating_account.clone().ok_or_else(|| profile_missing("Positive Pay (BANK_ORIGINATING_ACCOUNT)"))?;
    let now = Utc::now();
    let issue_date = new_york_time(now).date();
    let file_id = Uuid::new_v4();
    let mut tx = ctx.db.begin().await?;
    // The numbers are taken before the payouts are admitted; a refusal rolls both back.
    let first = db::payment_files::take_check_numbers(&mut tx, &account, ctx.bank.check_number_start as i64, payout_ids.len() as i64).await?;
    let (mut tx, admitted) = admit(ctx, tx, by, origin, &payout_ids, |i| FiledIn { file_id: file_id.to_string(), kind: FileKind::PositivePay, trace_number: None, check_number: Some(first as u64 + i as u64) }).await?;
    let mut records = Vec::new();
    let mut numbers = Vec::new();
    for (i, filed) in admitted.iter().enumerate() {
        let number = first + i as i64;
        let payee = bank_payee(&db::users::display_name(&mut tx, filed.payout.user_id).await?.unwrap_or_default());
        db::payment_files::register_check(
            &mut tx,
            db::payment_files::IssuedCheck { account: &account, check_number: number, payout_id: &filed.payout.payout_id, amount: filed.amount, payee: &payee, issue_date, file_id },
        )
        .await?;
        records.push(PositivePayRecord { account: account.clone(), check_number: number as u64, amount: Money::new(filed.amount), issue_date, payee, void: false });
        numbers.push((None, Some(number)));
    }
    let voids = db::payment_files::pending_voids(&mut tx, &account).await?;
    let void_numbers: Vec<i64> = voids.iter().map(|v| v.check_number).collect();
    for v in voids {
        records.push(PositivePayRecord { account: account.clone(), check_number: v.check_number as u64, amount: Money::new(v.amount), issue_date: v.issue_date, payee: v.payee, void: true });
    }
    let bytes = positive_pay::render(ctx.bank.positive_pay_layout, &records)
        .map_err(|problems| AppError::refused(ErrorCode::ValidationError, format!("The Positive Pay file cannot be written: {}", problems.join("; ")), Some(json!(problems))))?;
    db::payment_files::mark_voids_reported(&mut tx, &account, &void_numbers, file_id).await?;
    let total: Decimal = admitted.iter().map(|f| f.amount).sum();
    let name = format!("positive-pay-{}-{}.{}", issue_date.format("%Y%m%d"), &file_id.simple().to_string()[..8], ctx.bank.positive_pay_layout.extension());
    store(&mut tx, by, file_id, FileKind::PositivePay, &name, &bytes, records.len() as i32, total, None, &payout_ids).await?;
    record(ctx, &mut tx, origin, file_id, FileKind::PositivePay, admitted, &numbers).await?;
    tx.commit().await?;
    get(ctx, file_id).await
}

#[allow(clippy::too_many_arguments)]
async fn store(
    tx: &mut Transaction<'_, Postgres>,
    by: &Actor,
    id: Uuid,
    kind: FileKind,
    name: &str,
    bytes: &[u8],
    entry_count: i32,
    total: Decimal,
    effective_date: Option<NaiveDate>,
    payout_ids: &[String],
) -> AppResult<()> {
    let sha = sha256_hex(bytes);
    let new = db::payment_files::NewFile {
        id,
        kind: kind.as_str(),
        file_name: name,
        content: bytes,
        sha256: &sha,
        entry_count,
        total_amount: total,
        effective_date,
        payout_ids,
        created_by: by.admin_id,
        created_by_email: by.email.as_deref(),
    };
    Ok(db::payment_files::insert(tx, new).await?)
}

/// The payee as a bank file can carry it: accented Latin letters spelled plainly, any other
/// character (an `@`, another script) a space. The bank matches the payee loosely; the check
/// number and amount are what it holds to.
fn bank_payee(name: &str) -> String {
    let mut buf = [0u8; 4];
    let plain: String = name
        .chars()
        .map(|c| crate::domain::bank::bank_file_name(c.encode_utf8(&mut buf)).unwrap_or_else(|_| " ".into()))
        .collect();
    let words: Vec<&str> = plain.split_whitespace().collect();
    if words.is_empty() { "MEMBER".into() } else { words.join(" ") }
}

/// The ACH individual id (15 characters): the payout id without its `PO-` prefix and dashes,
/// its last 15 characters (the date and the random part).
fn individual_id(payout_id: &str) -> String {
    let plain: String = payout_id.trim_start_matches("PO-").chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    plain.chars().skip(plain.chars().count().saturating_sub(15)).collect()
}

pub async fn get(ctx: &Context, id: Uuid) -> AppResult<PaymentFile> {
    db::payment_files::get(&ctx.db, id).await?.map(PaymentFile::from).ok_or(file_not_found())
}

pub async fn list(ctx: &Context, limit: i64, offset: i64) -> AppResult<(Vec<PaymentFile>, i64)> {
    let (rows, total) = db::payment_files::list(&ctx.db, limit, offset).await?;
    Ok((rows.into_iter().map(PaymentFile::from).collect(), total))
}

/// The stored bytes (identical on every download), with an audit row in the same transaction.
pub async fn download(ctx: &Context, by: &Actor, origin: &audit::Origin, id: Uuid) -> AppResult<(PaymentFile, Vec<u8>)> {
    let file = get(ctx, id).await?;
    let mut tx = ctx.db.begin().await?;
    let bytes = db::payment_files::content(&mut tx, id).await?.ok_or(file_not_found())?;
    let log = audit::AuditLog {
        entity_type: "payment_file",
        entity_id: None,
        action: "payment_file_downloaded",
        old_values: None,
        new_values: None,
        success: true,
        error_message: None,
        metadata: json!({ "fileId": file.id, "kind": file.kind, "sha256": file.sha256, "by": by.label() }),
    };
    audit::insert(&mut tx, origin, log).await?;
    tx.commit().await?;
    Ok((file, bytes))
}

/// Voids a file while none of its payouts is marked sent: they leave it (an audit entry on
/// each) and its checks become void records for the next Positive Pay file.
pub async fn void(ctx: &Context, by: &Actor, origin: &audit::Origin, id: Uuid, reason: String) -> AppResult<PaymentFile> {
    let mut tx = ctx.db.begin().await?;
    let file = db::payment_files::lock(&mut tx, id).await?.ok_or(file_not_found())?;
    if file.status == "void" {
        return get(ctx, id).await;
    }
    let kind = FileKind::parse(&file.kind).unwrap_or(FileKind::Ach);
    let mut payouts = Vec::new();
    let mut ids = file.payout_ids.clone();
    ids.sort();
    for payout_id in &ids {
        payouts.push(lock(ctx, &mut tx, payout_id).await?);
    }
    let file_key = file.id.to_string();
    let in_this_file = |p: &Payout| p.processing.payment_file.as_ref().and_then(|f| f.get("fileId")).and_then(Value::as_str) == Some(file_key.as_str());
    if kind.holds() {
        // Payouts still held by this file must not have moved on: their money went out with it.
        if let Some(sent) = payouts.iter().find(|p| in_this_file(p) && p.status != crate::domain::status::PayoutStatus::Approved) {
            return Err(AppError::refused(
                ErrorCode::FileAlreadySent,
                format!("Payout {} in this file is already {}: a file whose money went out cannot be voided", sent.payout_id, sent.status),
                Some(json!({ "payoutId": sent.payout_id, "status": sent.status })),
            ));
        }
    }
    db::payment_files::void(&mut tx, id, &reason, by.admin_id).await?;
    if kind.holds() {
        for payout in payouts.iter().filter(|p| in_this_file(p)) {
            let action = PayoutAction::RemoveFromFile { file_id: file.id.to_string(), reason: reason.clone() };
            let facts = load_facts(ctx, &mut tx, payout, &action).await?;
            if let Ok(Decision::Change(step)) = decide(payout, &action, &facts, by, &ctx.rules.change()) {
                write(ctx, &mut tx, payout, *step, &payout_origin(origin, payout)).await?;
            }
        }
    }
    tx.commit().await?;
    get(ctx, id).await
}
