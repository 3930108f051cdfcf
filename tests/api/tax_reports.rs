//! SPEC §14: the year-end 1099-MISC file (IRIS CSV and summary) and the payouts CSV report.

use chrono::Datelike;
use serde_json::{json, Value};

use crate::support::desk::{desk, Desk};
use crate::support::harness::*;

const PAYER: [(&str, &str); 7] = [
    ("PAYER_NAME", "Tenure Inc"),
    ("PAYER_TIN", "12-3456789"),
    ("PAYER_ADDRESS_LINE1", "1 Main"),
    ("PAYER_CITY", "Austin"),
    ("PAYER_STATE", "TX"),
    ("PAYER_POSTAL_CODE", "78701"),
    ("PAYER_PHONE", "5125550100"),
];

fn bank() -> Value {
    json!({ "accountHolderName": "Member Zero", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking", "bankName": "First Bank" })
}

fn w9() -> Value {
    json!({ "legalName": "Member Zero", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "9 Elm St", "addressLine2": "Apt 4", "city": "Dallas", "state": "TX", "postalCode": "75201" })
}

async fn ok(d: &Desk, token: &str, path: &str, body: Value) {
    let (status, answer) = d.post(token, path, body).await;
    assert!(status == 200 || status == 201, "{path}: {status} {answer}");
}

/// Bank details (and the W-9 when `with_w9`), two approvals, instructions, sent, confirmed.
pub(crate) async fn complete(d: &Desk, idx: usize, id: &str, with_w9: bool) -> chrono::DateTime<chrono::Utc> {
    let member = &d.members[idx].1;
    ok(d, member, &format!("/api/members/{}/bank-info", d.uid(idx)), bank()).await;
    if with_w9 {
        ok(d, member, &format!("/api/members/{}/tax-info", d.uid(idx)), w9()).await;
    }
    let p = |action: &str| format!("/api/payouts/{id}/{action}");
    ok(d, &d.manager, &p("approve"), json!({})).await;
    ok(d, &d.second, &p("approve"), json!({})).await;
    ok(d, &d.creator, &p("generate-instructions"), json!({})).await;
    let sent = json!({ "sentDate": minutes_from_now(1).1, "expectedArrivalDate": minutes_from_now(3 * 24 * 60).1, "trackingNumber": "ACH-1" });
    ok(d, &d.manager, &p("mark-sent"), sent).await;
    let (completed, completed_at) = minutes_from_now(2);
    ok(d, &d.manager, &p("confirm"), json!({ "completedDate": completed_at, "confirmationNumber": "FED-1" })).await;
    completed
}

async fn download(d: &Desk, token: &str, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let res = d.app.client.get(d.app.url(path)).bearer_auth(token).send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.text().await.unwrap())
}

/// Member 0 with a W-9, member 1 without one (the desk's data-less W-9 row removed, so 24%
/// backup withholding applies): both completed, each a 1099-MISC.
#[tokio::test]
async fn the_iris_file_has_every_1099_with_the_w9_decrypted_and_is_audited_without_the_tin() {
    let d = desk(250_000, 2, &PAYER).await;
    let ids = d.create(&[0, 1]).await;
    sqlx::query("DELETE FROM tax_forms WHERE user_id = $1 AND form_type = 'W-9'").bind(d.members[1].0.user_id).execute(&d.app.db).await.unwrap();
    let completed = complete(&d, 0, &ids[0], true).await;
    complete(&d, 1, &ids[1], false).await;
    let year = completed.year();
    let path = format!("/api/tax/1099-misc?year={year}&format=iris-csv");

    let (status, headers, body) = download(&d, &d.manager, &path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/csv");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-disposition"], format!("attachment; filename=\"1099-misc-{year}-iris.csv\"").as_str());
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert_eq!(lines.len(), 4, "header, two forms, the empty tail: {body}");
    assert!(lines[0].starts_with("\"Form Type\",\"Tax Year\",\"Payer Name\""), "{}", lines[0]);
    let payer = format!("\"1099-MISC\",{year},\"Tenure Inc\",\"EIN\",\"123456789\",\"1 Main\",\"Austin\",\"TX\",\"78701\",\"US\",\"5125550100\",");
    let with_w9 = lines.iter().find(|l| l.contains(&ids[0])).unwrap();
    assert!(with_w9.starts_with(&payer), "{with_w9}");
    let recipient = format!("\"SSN\",\"123456789\",\"Member Zero\",\"9 Elm St\",\"Apt 4\",\"Dallas\",\"TX\",\"75201\",\"US\",\"{}\",,,,100000.00,0.00,", ids[0]);
    assert!(with_w9.contains(&recipient), "{with_w9}");
    let without = lines.iter().find(|l| l.contains(&ids[1])).unwrap();
    let blank_tin = format!("\"5125550100\",,,\"member1@tenure.test\",\"1 Main St\",\"\",\"Austin\",\"TX\",\"78701\",\"US\",\"{}\",,,,100000.00,24000.00,", ids[1]);
    assert!(without.contains(&blank_tin), "no W-9: TIN blank, the primary address, backup withholding: {without}");

    let audit: Vec<Value> = sqlx::query_scalar("SELECT to_jsonb(l) FROM user_audit_logs l WHERE action = 'tax_file_downloaded'").fetch_all(&d.app.db).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["entity_type"], "tax_file");
    assert_eq!((audit[0]["metadata"]["year"].as_i64(), audit[0]["metadata"]["format"].as_str(), audit[0]["metadata"]["count"].as_i64()), (Some(year.into()), Some("iris-csv"), Some(2)));
    assert!(audit[0]["admin_id"].is_i64(), "who downloaded it");
    let text = audit[0].to_string();
    assert!(!text.contains("123456789") && !text.contains("123-45-6789"), "{text}");

    // Admins only (finance managers who are not admins, and members, get 403); inputs named.
    assert_eq!(download(&d, &d.support, &path).await.0, 403);
    assert_eq!(download(&d, &d.members[0].1, &path).await.0, 403);
    let bad = [
        ("year=1999&format=iris-csv".to_string(), "year"),
        ("year=20266&format=summary".to_string(), "year"),
        (format!("year={}&format=summary", year + 2), "year"),
        (format!("year={year}&format=pdf"), "format"),
        ("format=summary".to_string(), "year"),
    ];
    for (query, field) in bad {
        let (status, answer) = d.get(&d.manager, &format!("/api/tax/1099-misc?{query}")).await;
        assert_eq!((status, answer["error"]["code"].as_str(), answer["error"]["details"][0]["path"].as_str()), (400, Some("VALIDATION_ERROR"), Some(field)), "{query}");
    }

    let (status, headers, body) = download(&d, &d.creator, &format!("/api/tax/1099-misc?year={year}&format=summary")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let summary = &serde_json::from_str::<Value>(&body).unwrap()["data"];
    assert_eq!(summary["year"], year);
    assert_eq!(summary["count"], 2);
    assert_eq!((summary["totalBox3"].as_str(), summary["totalBox4"].as_str()), (Some("200000.00"), Some("24000.00")));
    assert_eq!(summary["backupWithholdingByMonth"], json!([{ "month": completed.format("%Y-%m").to_string(), "amount": "24000.00" }]));
    assert_eq!(summary["membersMissingW9"], json!([{ "userId": d.uid(1), "email": "member1@tenure.test", "payoutId": ids[1] }]));
    assert!(!body.contains("123456789"), "no TIN in the summary");
    assert_eq!(d.count("SELECT count(*) FROM user_audit_logs WHERE action = 'tax_file_downloaded' AND metadata ->> 'format' = 'summary'").await, 1);

    // Another year has no forms: the header alone.
    let (status, _, body) = download(&d, &d.manager, &format!("/api/tax/1099-misc?year={}&format=iris-csv", year - 1)).await;
    assert_eq!((status, body.matches("\r\n").count()), (200, 1));
}

#[tokio::test]
async fn without_the_payer_settings_the_iris_file_is_refused_but_the_summary_is_not() {
    let d = desk(250_000, 1, &[]).await;
    let year = chrono::Utc::now().year();
    let (status, answer) = d.get(&d.manager, &format!("/api/tax/1099-misc?year={year}&format=iris-csv")).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("BANK_PROFILE_MISSING")));
    assert_eq!(d.count("SELECT count(*) FROM user_audit_logs WHERE action = 'tax_file_downloaded'").await, 0, "nothing was downloaded");
    let (status, answer) = d.get(&d.manager, &format!("/api/tax/1099-misc?year={year}&format=summary")).await;
    assert_eq!((status, answer["data"]["count"].as_i64(), answer["data"]["totalBox3"].as_str()), (200, Some(0), Some("0.00")));
}

#[tokio::test]
async fn the_payouts_report_filters_writes_decimals_and_no_secrets() {
    let d = desk(250_000, 2, &[]).await;
    sqlx::query("UPDATE users SET name = '=HYPERLINK(\"http://evil.test\")' WHERE id = $1").bind(d.members[1].0.user_id).execute(&d.app.db).await.unwrap();
    let ids = d.create(&[0, 1]).await;
    ok(&d, &d.members[0].1, &format!("/api/members/{}/bank-info", d.uid(0)), bank()).await;
    ok(&d, &d.members[0].1, &format!("/api/members/{}/tax-info", d.uid(0)), w9()).await;
    ok(&d, &d.manager, &format!("/api/payouts/{}/approve", ids[0]), json!({})).await;
    ok(&d, &d.second, &format!("/api/payouts/{}/approve", ids[0]), json!({})).await;
    ok(&d, &d.creator, &format!("/api/payouts/{}/generate-instructions", ids[0]), json!({})).await;

    // Finance roles (Support too); `limit` is checked but every row comes back.
    let (status, headers, body) = download(&d, &d.support, "/api/reports/payouts.csv?limit=1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-disposition"], "attachment; filename=\"payouts.csv\"");
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "\"payout_id\",\"user_id\",\"member_email\",\"member_name\",\"status\",\"payment_method\",\"amount\",\"net_amount\",\"withholding\",\"created_at\",\"approved_at\",\"sent_date\",\"completed_date\",\"tracking_number\",\"confirmation_number\"");
    assert_eq!(lines.len(), 3, "{body}");
    let approved = lines.iter().find(|l| l.contains(&ids[0])).unwrap();
    let start = format!("\"{}\",\"{}\",\"member0@tenure.test\",\"member0@tenure.test\",\"approved\",\"ach\",100000.00,99700.00,0.00,\"20", ids[0], d.uid(0));
    assert!(approved.starts_with(&start), "{approved}");
    let cells: Vec<&str> = approved.split(',').collect();
    assert!(cells[10].starts_with("\"20"), "approved_at is known: {approved}");
    let pending = lines.iter().find(|l| l.contains(&ids[1])).unwrap();
    assert!(pending.contains(",\"'=HYPERLINK(\"\"http://evil.test\"\")\",\"pending_approval\",\"ach\",100000.00,,,"), "formula defused, no calculation yet: {pending}");
    for secret in ["000123456789", "021000021", "123456789", "123-45-6789", "ava@", "mia@", "noah@", "liam@"] {
        assert!(!body.contains(secret), "{secret} in the report");
    }

    let (_, _, body) = download(&d, &d.manager, "/api/reports/payouts.csv?status=approved").await;
    let rows: Vec<&str> = body.split("\r\n").skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 1, "{body}");
    assert!(rows[0].contains(&ids[0]));
    let (status, answer) = d.get(&d.manager, "/api/reports/payouts.csv?status=paid&createdFrom=yesterday").await;
    assert_eq!((status, answer["error"]["details"].as_array().map(Vec::len)), (400, Some(2)), "{answer}");
    assert_eq!(download(&d, &d.members[0].1, "/api/reports/payouts.csv").await.0, 403);
}
