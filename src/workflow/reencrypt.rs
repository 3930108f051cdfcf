//! `payout-service reencrypt`: every bank detail and TIN under the current ENCRYPTION_KEY.
//! Legacy plaintext bank details get encrypted; values under a previous key (or Node's 16-byte
//! IVs) are re-encrypted; values already current are left alone, so a second run changes nothing.
//! One transaction per row, each row locked while it is rewritten.

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::crypto::Keyring;
use crate::db;
use crate::domain::audit_chain;

/// How many values of one kind were moved, were current already, or could not be read.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub scanned: u64,
    pub already_current: u64,
    pub reencrypted: u64,
    pub plaintext_encrypted: u64,
    pub failed: u64,
}

/// What `payout-service reencrypt` did, for bank details and TINs.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub bank_details: Counts,
    pub tins: Counts,
    /// Rows no configured key could decrypt (add the old key to ENCRYPTION_KEY_PREVIOUS).
    pub failures: Vec<String>,
}

enum Outcome {
    Current,
    Reencrypted(Value),
    Encrypted(Value),
    Failed,
}

/// Bank details: our envelope (keep the display fields) or the old plaintext camelCase fields.
fn bank_outcome(keyring: &Keyring, stored: &Value) -> Outcome {
    let display = |v: &mut Value, last4: Option<String>, account_type: Option<Value>, bank_name: Option<Value>| {
        v["last4"] = json!(last4);
        v["accountType"] = account_type.unwrap_or(Value::Null);
        v["bankName"] = bank_name.unwrap_or(Value::Null);
    };
    if Keyring::is_encrypted(stored) {
        match keyring.decrypt(stored) {
            Ok((_, true)) => Outcome::Current,
            Ok((plain, false)) => {
                let mut v = keyring.encrypt(&plain);
                let clear: Value = serde_json::from_slice(&plain).unwrap_or(Value::Null);
                let last4 = stored.get("last4").and_then(Value::as_str).map(String::from).or_else(|| last4_of(&clear));
                display(&mut v, last4, stored.get("accountType").or(clear.get("accountType")).cloned(), stored.get("bankName").or(clear.get("bankName")).cloned());
                Outcome::Reencrypted(v)
            }
            Err(_) => Outcome::Failed,
        }
    } else if stored.get("accountNumber").is_some() {
        let mut clear = serde_json::Map::new();
        for k in ["accountHolderName", "routingNumber", "accountNumber", "accountType", "bankName"] {
            if let Some(v) = stored.get(k) {
                clear.insert(k.into(), v.clone());
            }
        }
        let clear = Value::Object(clear);
        let mut v = keyring.encrypt(clear.to_string().as_bytes());
        display(&mut v, last4_of(&clear), clear.get("accountType").cloned(), clear.get("bankName").cloned());
        Outcome::Encrypted(v)
    } else {
        Outcome::Current
    }
}

fn last4_of(clear: &Value) -> Option<String> {
    let digits: String = clear.get("accountNumber")?.as_str()?.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 4).then(|| digits[digits.len() - 4..].to_string())
}

fn tin_outcome(keyring: &Keyring, tin: &Value) -> Outcome {
    match tin {
        Value::String(s) if !s.is_empty() => Outcome::Encrypted(keyring.encrypt(s.replace('-', "").as_bytes())),
        v if Keyring::is_encrypted(v) => match keyring.decrypt(v) {
            Ok((_, true)) => Outcome::Current,
            Ok((plain, false)) => Outcome::Reencrypted(keyring.encrypt(&plain)),
            Err(_) => Outcome::Failed,
        },
        _ => Outcome::Current,
    }
}

fn count(c: &mut Counts, o: &Outcome) {
    c.scanned += 1;
    match o {
        Outcome::Current => c.already_current += 1,
        Outcome::Reencrypted(_) => c.reencrypted += 1,
        Outcome::Encrypted(_) => c.plaintext_encrypted += 1,
        Outcome::Failed => c.failed += 1,
    }
}

/// Moves every bank detail and TIN to the current key, one transaction per row.
pub async fn run(db: &PgPool, keyring: &Keyring) -> Result<Report, sqlx::Error> {
    let mut report = Report::default();
    let ids = db::payout_secrets::ids_with_bank_details(db).await?;
    for id in ids {
        let mut tx = db.begin().await?;
        let Some(row) = db::payout_secrets::lock_bank_details(&mut tx, id).await? else { continue };
        let (payout_id, stored, trail) = (row.payout_id, row.bank_details, row.audit_trail);
        let outcome = bank_outcome(keyring, &stored);
        count(&mut report.bank_details, &outcome);
        let new_value = match outcome {
            Outcome::Reencrypted(v) | Outcome::Encrypted(v) => v,
            Outcome::Failed => {
                report.failures.push(format!("payout {payout_id}: bank details"));
                continue;
            }
            Outcome::Current => continue,
        };
        let mut trail = trail.and_then(|t| t.as_array().cloned()).unwrap_or_default();
        let entry = audit_chain::entry(&trail, "bank_details_reencrypted", "system", &crate::domain::processing::iso(chrono::Utc::now()), json!({ "keyId": keyring.current_key_id() }));
        trail.push(entry);
        db::payout_secrets::set_bank_details(&mut tx, id, new_value, Value::Array(trail)).await?;
        tx.commit().await?;
    }

    let forms = db::tax_forms::ids_with_tin(db).await?;
    for id in forms {
        let mut tx = db.begin().await?;
        let Some(row) = db::tax_forms::lock_w9(&mut tx, id).await? else { continue };
        let (form_id, mut w9) = (row.form_id, row.w9_data);
        let outcome = tin_outcome(keyring, &w9["tin"]);
        count(&mut report.tins, &outcome);
        match outcome {
            Outcome::Reencrypted(v) | Outcome::Encrypted(v) => {
                if w9.get("tinLast4").is_none() {
                    if let Some(s) = w9["tin"].as_str() {
                        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                        w9["tinLast4"] = json!(digits.get(digits.len().saturating_sub(4)..));
                    }
                }
                w9["tin"] = v;
                db::tax_forms::set_w9(&mut tx, id, w9).await?;
                tx.commit().await?;
            }
            Outcome::Failed => report.failures.push(format!("tax form {form_id}: TIN")),
            Outcome::Current => {}
        }
    }
    Ok(report)
}
