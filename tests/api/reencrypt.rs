//! `payout-service reencrypt`: everything ends under the current key; a second run changes nothing.

use std::process::Command;

use payout_service::crypto::Keyring;
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::harness::*;
use crate::support::members::*;

const OLD: &str = "old-key-0123456789abcdef01234567";
const NEW: &str = "new-key-0123456789abcdef01234567";

fn ring(current: &str, previous: &[&str]) -> Keyring {
    Keyring::new(&SecretString::from(current.to_string()), &previous.iter().map(|p| SecretString::from(p.to_string())).collect::<Vec<_>>())
}

fn run(url: &str, previous: &str) -> (bool, Value) {
    let out = Command::new(binary())
        .arg("reencrypt")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("ENCRYPTION_KEY", NEW)
        .env("ENCRYPTION_KEY_PREVIOUS", previous)
        .env("LOG_FORMAT", "json")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.success(), report)
}

async fn snapshot(db: &PgPool) -> Value {
    sqlx::query_scalar("SELECT jsonb_build_object('p', (SELECT jsonb_agg(bank_details ORDER BY payout_id) FROM payout_management), 't', (SELECT jsonb_agg(w9_data ORDER BY form_id) FROM tax_forms WHERE form_type = 'W-9'))")
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn reencrypt_moves_every_secret_to_the_current_key_once() {
    let url = fresh_database(APP_TEMPLATE).await;
    let db = PgPool::connect(&url).await.unwrap();
    let old = ring(OLD, &[]);
    let new = ring(NEW, &[]);
    let mut ids = Vec::new();
    let banks = [
        json!({ "accountHolderName": "Plain Row", "routingNumber": "021000021", "accountNumber": "11112222", "accountType": "checking" }),
        { let mut v = old.encrypt(br#"{"accountHolderName":"Old Key","routingNumber":"021000021","accountNumber":"33334444","accountType":"savings"}"#); v["last4"] = json!("4444"); v },
        { let mut v = new.encrypt(br#"{"accountHolderName":"New Key","routingNumber":"021000021","accountNumber":"55556666","accountType":"checking"}"#); v["last4"] = json!("6666"); v },
    ];
    for (i, bank) in banks.iter().enumerate() {
        let m = MemberSpec::new(&format!("re{i}@tenure.test"), 14).w9(None).insert(&db).await;
        let id = payout(&db, m, "approved").await;
        sqlx::query("UPDATE payout_management SET bank_details = $2 WHERE payout_id = $1").bind(&id).bind(bank).execute(&db).await.unwrap();
        ids.push((id, m));
    }
    sqlx::query("INSERT INTO tax_forms (id, user_id, form_type, tax_year, status, w9_data) VALUES (gen_random_uuid(), $1, 'W-9', 2026, 'generated', $2), (gen_random_uuid(), $3, 'W-9', 2026, 'generated', $4)")
        .bind(ids[0].1.user_id).bind(json!({ "tin": "123-45-6789", "tinType": "SSN" }))
        .bind(ids[1].1.user_id).bind(json!({ "tin": old.encrypt(b"987654321"), "tinType": "EIN", "tinLast4": "4321" }))
        .execute(&db).await.unwrap();

    let (ok, report) = run(&url, "");
    assert!(!ok, "without the old key some rows cannot be read: {report}");
    assert_eq!(report["failures"].as_array().unwrap().len(), 2);
    // What it could do, it did: the plaintext rows are encrypted already.
    assert_eq!(report["bankDetails"], json!({ "scanned": 3, "alreadyCurrent": 1, "reencrypted": 0, "plaintextEncrypted": 1, "failed": 1 }));
    assert_eq!(report["tins"], json!({ "scanned": 2, "alreadyCurrent": 0, "reencrypted": 0, "plaintextEncrypted": 1, "failed": 1 }));

    let (ok, report) = run(&url, OLD);
    assert!(ok, "{report}");
    assert_eq!(report["bankDetails"], json!({ "scanned": 3, "alreadyCurrent": 2, "reencrypted": 1, "plaintextEncrypted": 0, "failed": 0 }));
    assert_eq!(report["tins"], json!({ "scanned": 2, "alreadyCurrent": 1, "reencrypted": 1, "plaintextEncrypted": 0, "failed": 0 }));

    let after = snapshot(&db).await;
    let text = after.to_string();
    for secret in ["11112222", "33334444", "123-45-6789", "123456789", "987654321"] {
        assert!(!text.contains(secret), "{secret} left in clear: {text}");
    }
    for bank in after["p"].as_array().unwrap() {
        let (plain, current) = new.decrypt(bank).unwrap();
        assert!(current);
        assert!(serde_json::from_slice::<Value>(&plain).unwrap()["accountNumber"].is_string());
        assert!(bank["last4"].is_string());
    }
    for w9 in after["t"].as_array().unwrap() {
        let (plain, _) = new.decrypt(&w9["tin"]).unwrap();
        assert_eq!(plain.len(), 9);
    }
    let (_, trail): (String, Value) = sqlx::query_as("SELECT payout_id, audit_trail FROM payout_management WHERE payout_id = $1").bind(&ids[0].0).fetch_one(&db).await.unwrap();
    assert_eq!(trail.as_array().unwrap().last().unwrap()["action"], "bank_details_reencrypted");

    let (ok, report) = run(&url, OLD);
    assert!(ok);
    assert_eq!(report["bankDetails"]["alreadyCurrent"], 3);
    assert_eq!(report["tins"]["alreadyCurrent"], 2);
    assert_eq!(snapshot(&db).await, after, "a second run changes nothing");
}
