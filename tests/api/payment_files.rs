//! SPEC §14: NACHA ACH, prenote and Positive Pay files, read back by an independent NACHA
//! parser (achkit from PyPI, pinned, installed by scripts/test) and checked position by position.

use chrono::{Datelike, Duration, Weekday};
use serde_json::{json, Value};

use crate::support::desk::{desk, Desk};
use crate::support::harness::*;

/// A bank profile for the tests (the routing numbers are real-format test values).
pub(crate) const PROFILE: [(&str, &str); 7] = [
    ("BANK_ODFI_ROUTING", "021000021"),
    ("BANK_IMMEDIATE_DESTINATION_NAME", "FIRST BANK"),
    ("BANK_IMMEDIATE_ORIGIN", "1123456789"),
    ("BANK_IMMEDIATE_ORIGIN_NAME", "TENURE INC"),
    ("BANK_COMPANY_NAME", "TENURE INC"),
    ("BANK_COMPANY_ID", "1123456789"),
    ("BANK_ORIGINATING_ACCOUNT", "000111222333"),
];

fn bank(account: &str) -> Value {
    json!({ "accountHolderName": "Member Zero", "routingNumber": "021000021", "accountNumber": account, "accountType": "checking", "bankName": "First Bank" })
}

fn w9() -> Value {
    json!({ "legalName": "Member Zero", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701" })
}

/// An approved payout for member `idx` (ACH with bank details, or check) with instructions.
async fn ready(d: &Desk, idx: usize, id: &str, method: &str) {
    if method == "ach" {
        assert_eq!(d.post(&d.members[idx].1, &format!("/api/members/{}/bank-info", d.uid(idx)), bank(&format!("00012345678{idx}"))).await.0, 200);
    }
    assert!(d.post(&d.members[idx].1, &format!("/api/members/{}/tax-info", d.uid(idx)), w9()).await.0 < 300);
    for t in [&d.manager, &d.second] {
        let (s, b) = d.post(t, &format!("/api/payouts/{id}/approve"), json!({})).await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = d.post(&d.creator, &format!("/api/payouts/{id}/generate-instructions"), json!({})).await;
    assert_eq!(s, 200, "{b}");
}

async fn create(d: &Desk, method: &str, idx: &[usize]) -> Vec<String> {
    let ids: Vec<String> = idx.iter().map(|i| d.uid(*i)).collect();
    let (status, body) = d.post(&d.creator, "/api/payouts", json!({ "userIds": ids, "paymentMethod": method })).await;
    assert_eq!(status, 201, "{body}");
    body["data"]["payoutIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

async fn download(d: &Desk, file_id: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = d.app.client.get(d.app.url(&format!("/api/payment-files/{file_id}/download"))).bearer_auth(&d.creator).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    (headers, res.bytes().await.unwrap().to_vec())
}

/// achkit's reading of the bytes.
fn independent_read(bytes: &[u8]) -> Value {
    let python = std::env::var("PAYOUT_TEST_PYTHON").expect("PAYOUT_TEST_PYTHON is not set: run the suite with scripts/test, which installs the pinned achkit");
    let dir = crate::support::binary::temp_dir("ach");
    let path = dir.join("file.ach");
    std::fs::write(&path, bytes).unwrap();
    let reader = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/ach_reader.py");
    let out = std::process::Command::new(python).arg(reader).arg(&path).output().unwrap();
    let read: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("achkit said {e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success() && read["valid"] == true, "achkit refused the file: {read}");
    read
}

fn next_saturday() -> String {
    let mut d = chrono::Utc::now().date_naive() + Duration::days(1);
    while d.weekday() != Weekday::Sat {
        d += Duration::days(1);
    }
    d.to_string()
}

#[tokio::test]
async fn an_ach_file_is_built_once_read_by_an_independent_parser_and_guards_its_payouts() {
    let d = desk(600_000, 4, &PROFILE).await;
    let ids = create(&d, "ach", &[0, 1, 2]).await;
    for (i, id) in ids.iter().enumerate().take(2) {
        ready(&d, i, id, "ach").await;
    }

    // Refused whole: a payout not yet approved, a non-banking day; nothing is filed.
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [ids[0], ids[2]] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("INVALID_STATUS")), "{body}");
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [ids[0]], "effectiveDate": next_saturday() })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("NOT_A_BANKING_DAY")), "{body}");
    assert_eq!(d.count("SELECT count(*) FROM payout_payment_files").await, 0, "nothing of a refused request is filed");
    assert_eq!(d.post(&d.support, "/api/payment-files/ach", json!({ "payoutIds": [ids[0]] })).await.0, 403, "admins only");

    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [ids[0], ids[1]] })).await;
    assert_eq!(status, 201, "{body}");
    let file = &body["data"];
    let file_id = file["id"].as_str().unwrap().to_string();
    assert_eq!((file["kind"].as_str(), file["status"].as_str(), file["entryCount"].as_i64()), (Some("ach"), Some("ready"), Some(2)));
    assert_eq!(file["totalAmount"], "199400.00", "two net amounts of 99,700.00");
    assert_eq!(file["payoutIds"], json!([ids[0], ids[1]]));

    let (headers, bytes) = download(&d, &file_id).await;
    assert_eq!(headers["cache-control"], "no-store");
    let sha: String = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes)).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(file["sha256"], sha, "the stored hash is the bytes'");
    assert_eq!(download(&d, &file_id).await.1, bytes, "identical bytes on every download");
    assert_eq!(d.count("SELECT count(*) FROM user_audit_logs WHERE action = 'payment_file_downloaded'").await, 2, "downloads are audited");

    // An independent parser agrees on counts, totals and hash.
    let read = independent_read(&bytes);
    assert_eq!(read["entryCount"], 2);
    assert_eq!(read["totalCredit"], "19940000");
    assert_eq!(read["totalDebit"], "0");
    assert_eq!(read["entryHash"], "0004200004", "two RDFI routing prefixes 02100002");
    assert_eq!(read["batchCount"], 1);
    assert_eq!(read["transactionCodes"], json!([22, 22]));

    // Hand-checked positions.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "blocked to 10 lines");
    assert!(lines.iter().all(|l| l.len() == 94 && l.chars().all(|c| !c.is_ascii_lowercase())));
    assert_eq!(&lines[0][..3], "101");
    assert_eq!(&lines[0][3..13], " 021000021");
    assert_eq!(&lines[0][13..23], "1123456789");
    assert_eq!(&lines[1][..4], "5220", "a PPD credit batch");
    assert_eq!(&lines[1][4..20], "TENURE INC      ");
    assert_eq!(&lines[1][50..53], "PPD");
    assert_eq!(&lines[1][53..63], "PAYOUT    ");
    let effective = file["effectiveDate"].as_str().unwrap().replace('-', "");
    assert_eq!(&lines[1][69..75], &effective[2..], "the effective entry date");
    let entry = lines[2];
    assert_eq!(&entry[..3], "622");
    assert_eq!(&entry[3..12], "021000021", "RDFI and check digit");
    assert_eq!(entry[12..29].trim_end(), "000123456780", "the account in full");
    assert_eq!(&entry[29..39], "0009970000", "$99,700.00 in cents");
    assert_eq!(&entry[54..76], format!("{:<22}", "MEMBER ZERO"));
    assert_eq!(&entry[79..94], "021000020000001", "trace: ODFI + sequence");
    assert_eq!(&lines[4][..4], "8220");
    assert_eq!(&lines[5][..1], "9");
    assert!(lines[6..].iter().all(|l| *l == "9".repeat(94)), "padding lines");

    // Each payout records the filing in its trail; it cannot be filed twice.
    let (_, audit) = d.get(&d.manager, &format!("/api/payouts/{}/audit", ids[0])).await;
    let actions: Vec<&str> = audit["data"]["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.ends_with(&["bank_details_decrypted", "added_to_payment_file"]), "{actions:?}");
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [ids[1]] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("ALREADY_IN_FILE")));
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{}/cancel", ids[0]), json!({ "reason": "changed mind" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("ALREADY_IN_FILE")), "money in a live file is voided first");

    // mark-sent may name the file, and only the payout's own live file.
    let sent = |file: &str| json!({ "sentDate": minutes_from_now(1).1, "expectedArrivalDate": minutes_from_now(3 * 24 * 60).1, "paymentFileId": file });
    let (status, body) = d.post(&d.manager, &format!("/api/payouts/{}/mark-sent", ids[0]), sent(&uuid::Uuid::new_v4().to_string())).await;
    assert_eq!((status, body["error"]["details"][0]["path"].as_str()), (400, Some("paymentFileId")));
    assert_eq!(d.post(&d.manager, &format!("/api/payouts/{}/mark-sent", ids[0]), sent(&file_id)).await.0, 200);
    let (status, body) = d.post(&d.creator, &format!("/api/payment-files/{file_id}/void"), json!({ "reason": "wrong date" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("FILE_ALREADY_SENT")));
}

#[tokio::test]
async fn a_voided_file_releases_its_payouts_and_a_changed_destination_is_never_filed() {
    let d = desk(600_000, 3, &PROFILE).await;
    let ids = create(&d, "ach", &[0, 1]).await;
    for (i, id) in ids.iter().enumerate() {
        ready(&d, i, id, "ach").await;
    }
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [ids[0]] })).await;
    assert_eq!(status, 201, "{body}");
    let file_id = body["data"]["id"].as_str().unwrap().to_string();
    let (status, body) = d.post(&d.creator, &format!("/api/payment-files/{file_id}/void"), json!({ "reason": "uploaded the wrong day" })).await;
    assert_eq!((status, body["data"]["status"].as_str(), body["data"]["voidReason"].as_str()), (200, Some("void"), Some("uploaded the wrong day")));
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [ids[0]] })).await;
    assert_eq!(status, 201, "released by the void: {body}");
    let (_, second) = download(&d, body["data"]["id"].as_str().unwrap()).await;
    let (_, first) = download(&d, &file_id).await;
    assert_eq!((&first[33..34], &second[33..34]), (&b"A"[..], &b"B"[..]), "the day's second file has the next file id modifier");

    // Bank details swapped in the database after approval: the file is refused, the payout reset.
    let other: Value = sqlx::query_scalar("SELECT bank_details FROM payout_management WHERE payout_id = $1").bind(&ids[0]).fetch_one(&d.app.db).await.unwrap();
    sqlx::query("UPDATE payout_management SET bank_details = $2 WHERE payout_id = $1").bind(&ids[1]).bind(&other).execute(&d.app.db).await.unwrap();
    let files = d.count("SELECT count(*) FROM payout_payment_files").await;
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [ids[1]] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("DESTINATION_CHANGED")), "{body}");
    assert_eq!(d.count("SELECT count(*) FROM payout_payment_files").await, files, "nothing filed");
    let (_, p) = d.get(&d.manager, &format!("/api/payouts/{}", ids[1])).await;
    assert_eq!(p["data"]["status"], "pending_approval", "approvals cleared for a fresh look");

    // A check payout is not an ACH entry; a prenote tests an account before approval.
    let check = create(&d, "check", &[2]).await.remove(0);
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [check] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("WRONG_PAYMENT_METHOD")));
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach-prenote", json!({ "payoutIds": [ids[1]] })).await;
    assert_eq!(status, 201, "{body}");
    let (_, bytes) = download(&d, body["data"]["id"].as_str().unwrap()).await;
    let read = independent_read(&bytes);
    assert_eq!((read["transactionCodes"].clone(), read["totalCredit"].as_str()), (json!([23]), Some("0")), "a zero-dollar prenote");
    let (_, p) = d.get(&d.manager, &format!("/api/payouts/{}", ids[1])).await;
    assert!(p["data"]["processing"]["prenote"]["sentAt"].is_string(), "the payout shows its prenote: {}", p["data"]["processing"]);
}

#[tokio::test]
async fn positive_pay_numbers_checks_once_and_reports_voids() {
    let d = desk(600_000, 3, &PROFILE).await;
    let ids = create(&d, "check", &[0, 1, 2]).await;
    for (i, id) in ids.iter().enumerate() {
        ready(&d, i, id, "check").await;
    }
    let (status, body) = d.post(&d.creator, "/api/payment-files/positive-pay", json!({ "payoutIds": [ids[0]] })).await;
    assert_eq!(status, 201, "{body}");
    let (_, bytes) = download(&d, body["data"]["id"].as_str().unwrap()).await;
    let csv = String::from_utf8(bytes).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "account,check_number,amount,issue_date,payee,action");
    assert!(rows[1].contains("000111222333") && rows[1].contains("100001") && rows[1].contains("99700.00") && rows[1].ends_with("ISSUE"), "{}", rows[1]);

    // Cancelling a check in a file voids it in the next file; numbers are never reused, and
    // two files made at once never share one.
    assert_eq!(d.post(&d.creator, &format!("/api/payouts/{}/cancel", ids[0]), json!({ "reason": "duplicate" })).await.0, 200);
    let a = d.post(&d.creator, "/api/payment-files/positive-pay", json!({ "payoutIds": [ids[1]] }));
    let b = d.post(&d.creator, "/api/payment-files/positive-pay", json!({ "payoutIds": [ids[2]] }));
    let ((sa, ba), (sb, bb)) = tokio::join!(a, b);
    assert_eq!((sa, sb), (201, 201), "{ba} {bb}");
    let numbers: Vec<i64> = sqlx::query_scalar("SELECT check_number FROM payout_check_register ORDER BY check_number").fetch_all(&d.app.db).await.unwrap();
    assert_eq!(numbers, vec![100001, 100002, 100003]);
    let mut all = String::new();
    for body in [ba, bb] {
        all.push_str(&String::from_utf8(download(&d, body["data"]["id"].as_str().unwrap()).await.1).unwrap());
    }
    assert_eq!(all.lines().filter(|l| l.contains("100001") && l.ends_with("VOID")).count(), 1, "one void record for the cancelled check: {all}");
}

#[tokio::test]
async fn without_a_bank_profile_files_are_refused_clearly() {
    let d = desk(250_000, 1, &[]).await;
    let id = create(&d, "ach", &[0]).await.remove(0);
    ready(&d, 0, &id, "ach").await;
    let (status, body) = d.post(&d.creator, "/api/payment-files/ach", json!({ "payoutIds": [id] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("BANK_PROFILE_MISSING")));
    let (status, body) = d.get(&d.support, "/api/payment-files").await;
    assert_eq!((status, body["data"]["total"].as_i64()), (200, Some(0)), "finance roles may list");
}

/// Two ACH files asked for at once with the same payout: one gets it, the other is refused,
/// and the payout is in exactly one live file.
#[tokio::test]
async fn two_files_at_once_never_both_take_a_payout() {
    let d = desk(250_000, 1, &PROFILE).await;
    let id = create(&d, "ach", &[0]).await.remove(0);
    ready(&d, 0, &id, "ach").await;
    let body = json!({ "payoutIds": [id] });
    let ((sa, ba), (sb, bb)) = tokio::join!(d.post(&d.creator, "/api/payment-files/ach", body.clone()), d.post(&d.manager, "/api/payment-files/ach", body.clone()));
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{ba} {bb}");
    let refused = if sa == 409 { ba } else { bb };
    assert_eq!(refused["error"]["code"], "ALREADY_IN_FILE");
    assert_eq!(d.count("SELECT count(*) FROM payout_payment_file_items WHERE live").await, 1);
    assert_eq!(d.count("SELECT count(*) FROM payout_payment_files").await, 1, "the refused file was not stored");
}

/// The fixed-width Positive Pay layout, position by position.
#[tokio::test]
async fn the_fixed_positive_pay_layout_puts_each_field_in_its_place() {
    let mut env: Vec<(&str, &str)> = PROFILE.to_vec();
    env.push(("POSITIVE_PAY_LAYOUT", "fixed"));
    env.push(("CHECK_NUMBER_START", "5000"));
    let d = desk(250_000, 1, &env).await;
    let id = create(&d, "check", &[0]).await.remove(0);
    ready(&d, 0, &id, "check").await;
    // The payee as the main app spells it, accents and all: the file spells it plainly.
    sqlx::query("UPDATE users SET name = 'Zoë O''Brien-Smith (member)' WHERE id = $1").bind(d.members[0].0.user_id).execute(&d.app.db).await.unwrap();
    let (status, body) = d.post(&d.creator, "/api/payment-files/positive-pay", json!({ "payoutIds": [id] })).await;
    assert_eq!(status, 201, "{body}");
    let (_, bytes) = download(&d, body["data"]["id"].as_str().unwrap()).await;
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "one issue and the trailer");
    assert!(lines.iter().all(|l| l.len() == 94));
    let issue = lines[0];
    assert_eq!(&issue[..15], "000000111222333", "the account, zero-filled");
    assert_eq!(&issue[15..25], "0000005000", "the first check number configured");
    assert_eq!(&issue[25..35], "0009970000", "$99,700.00 in cents");
    let today = payout_service::domain::banking_days::new_york_time(chrono::Utc::now()).date();
    assert_eq!(&issue[35..43], today.format("%m%d%Y").to_string());
    assert_eq!(&issue[43..44], "I");
    assert_eq!(issue[44..].trim_end(), "ZOE O'BRIEN-SMITH MEMBER");
    assert_eq!(&lines[1][15..25], "0000000001");
    assert_eq!(&lines[1][43..44], "T");
}
