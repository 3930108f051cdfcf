//! SPEC §4, §6: bank details, W-9, instructions, sent, confirmed, failed, reissued.

use payout_service::crypto::Keyring;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::support::harness::*;
use crate::support::desk::{desk, Desk};

fn bank() -> Value {
    json!({ "accountHolderName": "Member Zero", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking", "bankName": "First Bank" })
}

fn w9() -> Value {
    json!({ "legalName": "Member Zero", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701" })
}

async fn approved(d: &Desk, idx: usize) -> String {
    let id = d.create(&[idx]).await.remove(0);
    for t in [&d.manager, &d.second] {
        let (s, b) = d.post(t, &format!("/api/payouts/{id}/approve"), json!({})).await;
        assert_eq!(s, 200, "{b}");
    }
    id
}

async fn row_text(d: &Desk, id: &str) -> String {
    let v: Value = sqlx::query_scalar("SELECT to_jsonb(p) FROM payout_management p WHERE payout_id = $1").bind(id).fetch_one(&d.app.db).await.unwrap();
    v.to_string()
}

#[tokio::test]
async fn bank_details_are_validated_encrypted_and_only_ever_shown_masked() {
    let d = desk(250_000, 2, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let member = d.members[0].1.clone();
    let path = format!("/api/members/{}/bank-info", d.uid(0));

    let (status, body) = d.post(&member, &path, json!({ "accountHolderName": "1", "routingNumber": "021000022", "accountNumber": "12ab", "accountType": "gold" })).await;
    assert_eq!(status, 400);
    let paths: Vec<&str> = body["error"]["details"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["accountHolderName", "routingNumber", "accountNumber", "accountType"], "all at once");

    let (status, body) = d.post(&member, &path, bank()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["bankDetails"], json!({ "last4": "6789", "accountType": "checking", "bankName": "First Bank" }));
    assert_eq!(body["data"]["approvalsCleared"], false);
    let text = row_text(&d, &id).await;
    assert!(!text.contains("000123456789") && !text.contains("021000021") && !text.contains("Member Zero"), "{text}");
    let stored: Value = sqlx::query_scalar("SELECT bank_details FROM payout_management WHERE payout_id = $1").bind(&id).fetch_one(&d.app.db).await.unwrap();
    let ring = Keyring::new(&SecretString::from(ENCRYPTION_KEY.to_string()), &[]);
    let (plain, _) = ring.decrypt(&stored).unwrap();
    let clear: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(clear["accountNumber"], "000123456789");
    let (_, read) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert_eq!(read["data"]["bankDetails"]["last4"], "6789");
    assert!(!read.to_string().contains("encrypted"), "no ciphertext in reads either");

    // Who may submit: the member, an admin; not Support for someone else, not another member.
    assert_eq!(d.post(&d.manager, &path, bank()).await.0, 200);
    assert_eq!(d.post(&d.support, &path, bank()).await.0, 403);
    assert_eq!(d.post(&d.members[1].1, &path, bank()).await.0, 404);
    let (status, body) = d.post(&d.members[1].1, &format!("/api/members/{}/bank-info", d.uid(1)), bank()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("NO_OPEN_PAYOUT")));
}

#[tokio::test]
async fn a_new_destination_after_approval_clears_the_approvals() {
    let d = desk(250_000, 1, &[]).await;
    let member = d.members[0].1.clone();
    let path = format!("/api/members/{}/bank-info", d.uid(0));
    let id = d.create(&[0]).await.remove(0);
    d.post(&member, &path, bank()).await;
    d.post(&d.manager, &format!("/api/payouts/{id}/approve"), json!({})).await;
    d.post(&d.second, &format!("/api/payouts/{id}/approve"), json!({})).await;
    let (_, p) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert_eq!(p["data"]["status"], "approved");

    let mut other = bank();
    other["accountNumber"] = json!("99887766");
    let (status, body) = d.post(&member, &path, other).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["approvalsCleared"], true);
    assert_eq!(body["data"]["status"], "pending_approval");
    let (_, p) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert_eq!(p["data"]["status"], "pending_approval");
    assert_eq!(p["data"]["currentApprovals"], 0);
    let (_, audit) = d.get(&d.manager, &format!("/api/payouts/{id}/audit")).await;
    let last = audit["data"]["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "bank_details_changed_approvals_cleared");
    assert_eq!(last["actor"], format!("user:{}", d.uid(0)));
    assert_eq!(audit["data"]["chainValid"], true);
}

#[tokio::test]
async fn a_w9_is_stored_with_the_tin_encrypted() {
    let d = desk(250_000, 1, &[]).await;
    sqlx::query("DELETE FROM tax_forms").execute(&d.app.db).await.unwrap();
    let path = format!("/api/members/{}/tax-info", d.uid(0));
    let (status, body) = d.post(&d.members[0].1, &path, json!({ "tin": "12", "tinType": "ITIN" })).await;
    assert_eq!(status, 400);
    assert!(body["error"]["details"].as_array().unwrap().len() >= 6);
    let mut odd = w9();
    odd["postalCode"] = json!("1234é");
    assert_eq!(d.post(&d.members[0].1, &path, odd).await.0, 400, "non-ASCII ZIP is a 400, not a panic");
    let (status, body) = d.post(&d.members[0].1, &path, w9()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["tinLast4"], "6789");
    assert_eq!(body["data"]["status"], "generated");
    let row: Value = sqlx::query_scalar("SELECT to_jsonb(t) FROM tax_forms t WHERE form_type = 'W-9'").fetch_one(&d.app.db).await.unwrap();
    assert!(!row.to_string().contains("123456789") && !row.to_string().contains("123-45-6789"), "{row}");
    assert_eq!(row["status"], "generated");
    assert_eq!(row["w9_data"]["tinLast4"], "6789");
    let (_, members) = d.get(&d.manager, "/api/eligibility/members").await;
    assert_eq!(members["data"]["members"][0]["hasW9"], true);

    // SPEC §12: the same W-9 again adds nothing; a changed one supersedes the earlier one.
    let (status, again) = d.post(&d.members[0].1, &path, w9()).await;
    assert_eq!((status, again["data"]["formId"].clone()), (200, body["data"]["formId"].clone()), "{again}");
    assert_eq!(d.count("SELECT count(*) FROM tax_forms WHERE form_type = 'W-9'").await, 1);
    let mut moved = w9();
    moved["addressLine1"] = json!("2 Oak Ave");
    let (status, newer) = d.post(&d.members[0].1, &path, moved).await;
    assert_eq!(status, 201, "{newer}");
    let statuses: Vec<(String, String)> = sqlx::query_as("SELECT form_id, status FROM tax_forms WHERE form_type = 'W-9' ORDER BY created_at")
        .fetch_all(&d.app.db).await.unwrap();
    assert_eq!(statuses, vec![
        (body["data"]["formId"].as_str().unwrap().to_string(), "corrected".to_string()),
        (newer["data"]["formId"].as_str().unwrap().to_string(), "generated".to_string()),
    ], "the latest counts");
}

#[tokio::test]
async fn the_whole_ach_path_from_approval_to_completion() {
    let d = desk(250_000, 1, &[("PUBLIC_BASE_URL", "https://payouts.tenure.test/"), ("COMPANY_ADDRESS", "1 Market St; San Francisco, CA 94105"), ("SUPPORT_EMAIL", "help@tenure.test")]).await;
    let id = d.create(&[0]).await.remove(0);
    let p = |action: &str| format!("/api/payouts/{id}/{action}");
    d.post(&d.manager, &p("approve"), json!({})).await;
    d.post(&d.second, &p("approve"), json!({})).await;

    let (sent, sent_at) = minutes_from_now(1);
    let (arrival, arrival_at) = minutes_from_now(1 + 3 * 24 * 60);
    let (completed, completed_at) = minutes_from_now(2);
    let (_, before_sent) = minutes_from_now(1 - 24 * 60);
    let (status, body) = d.post(&d.manager, &p("mark-sent"), json!({ "sentDate": sent_at, "expectedArrivalDate": arrival_at })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("INSTRUCTIONS_NOT_GENERATED")));
    let (status, body) = d.post(&d.creator, &p("generate-instructions"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("BANK_DETAILS_MISSING")));
    assert_eq!(d.post(&d.support, &p("generate-instructions"), json!({})).await.0, 403, "admins only");

    // Bank details arrive after approval: approvals cleared, approve again.
    d.post(&d.members[0].1, &format!("/api/members/{}/bank-info", d.uid(0)), bank()).await;
    d.post(&d.manager, &p("approve"), json!({})).await;
    d.post(&d.second, &p("approve"), json!({})).await;

    let res = d.app.client.post(d.app.url(&p("generate-instructions"))).bearer_auth(&d.creator).header("idempotency-key", "gen-1").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    let i = &body["data"];
    assert_eq!(i["bankDetails"]["accountNumber"], "000123456789", "in full, here only");
    assert_eq!(i["bankDetails"]["routingNumber"], "021000021");
    assert_eq!(i["amountToSend"], "99700.00", "W-9 on file: no withholding");
    assert_eq!(i["calculation"]["netAmount"], "99700.00");
    assert_eq!(i["calculation"]["retentionFee"], "300.00");
    assert_eq!(i["calculation"]["withholdingAmount"], "0.00");
    assert_eq!(i["reference"], id);
    let text = row_text(&d, &id).await;
    assert!(!text.contains("000123456789"), "the stored snapshot is masked");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_idempotency_keys WHERE position('000123456789' in convert_from(coalesce(response_body, ''), 'UTF8')) > 0")
        .fetch_one(&d.app.db).await.unwrap();
    assert_eq!(stored, 0, "decrypted bank details are never kept for idempotent replays");
    let (_, audit) = d.get(&d.manager, &format!("/api/payouts/{id}/audit")).await;
    let actions: Vec<&str> = audit["data"]["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.ends_with(&["bank_details_decrypted", "instructions_generated"]), "{actions:?}");

    let res = d.app.client.get(d.app.url(&p("receipt"))).bearer_auth(&d.members[0].1).send().await.unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "RECEIPT_NOT_AVAILABLE");
    let (status, body) = d.post(&d.support, &p("mark-sent"), json!({ "sentDate": sent_at, "expectedArrivalDate": before_sent })).await;
    assert_eq!((status, body["error"]["details"][0]["path"].as_str()), (400, Some("expectedArrivalDate")));
    let (status, body) = d.post(&d.support, &p("mark-sent"), json!({ "sentDate": sent_at, "expectedArrivalDate": arrival_at, "trackingNumber": "ACH-778" })).await;
    assert_eq!(status, 200, "finance roles mark sent: {body}");
    assert_eq!(body["data"]["status"], "payment_sent");
    assert_eq!(body["data"]["scheduledDate"], arrival_at);
    let sent_mail: String = sqlx::query_scalar("SELECT body_text FROM payout_email_outbox WHERE template = 'payment_sent'").fetch_one(&d.app.db).await.unwrap();
    let arrival_words = arrival.format("%B %-d, %Y").to_string();
    assert!(sent_mail.contains("$99,700.00") && sent_mail.contains(&arrival_words) && sent_mail.contains("ACH-778"), "{sent_mail}");

    let (status, body) = d.post(&d.support, &p("confirm"), json!({ "completedDate": completed_at, "confirmationNumber": "FED-123" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "completed");
    assert_eq!(body["data"]["completedDate"], completed_at);
    assert_eq!(body["data"]["receiptUrl"], format!("/api/payouts/{id}/receipt"));
    let form: Value = sqlx::query_scalar("SELECT to_jsonb(t) FROM tax_forms t WHERE form_type = '1099-MISC'").fetch_one(&d.app.db).await.unwrap();
    assert_eq!((form["tax_year"].as_i64(), form["status"].as_str()), (Some(i64::from(chrono::Datelike::year(&completed))), Some("pending")), "the year the money arrived");
    assert_eq!(form["income_details"]["box3OtherIncome"], "100000.00");
    assert_eq!(form["income_details"]["federalIncomeTaxWithheld"], "0.00");
    let done: String = sqlx::query_scalar("SELECT body_text FROM payout_email_outbox WHERE template = 'payout_completed'").fetch_one(&d.app.db).await.unwrap();
    assert!(done.contains(&format!("https://payouts.tenure.test/api/payouts/{id}/receipt")), "absolute, from PUBLIC_BASE_URL: {done}");
    assert!(done.contains("$99,700.00 has arrived") && done.contains("$100,000.00 reward"), "{done}");
    let (_, status_view) = d.get(&d.members[0].1, &format!("/api/members/{}/payout", d.uid(0))).await;
    let removal = completed.checked_add_months(chrono::Months::new(12)).unwrap().format("%Y-%m-%d").to_string();
    assert!(status_view["data"]["membershipRemovalDate"].as_str().unwrap().starts_with(&removal), "12 months after completion");

    // The receipt: a real PDF with the figures, its hash in the audit trail.
    let res = d.app.client.get(d.app.url(&p("receipt"))).bearer_auth(&d.members[0].1).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap().to_vec();
    let text = pdf_text(&pdf);
    let (sent_words, completed_words) = (sent.format("%B %-d, %Y").to_string(), completed.format("%B %-d, %Y").to_string());
    for expected in ["Tenure", "Payout receipt", id.as_str(), "member0", "99,700.00", "$100,000.00", "−$300.00", "$99,700.00", "FED-123", completed_words.as_str(), sent_words.as_str(), "Checking ••••6789"] {
        assert!(text.contains(expected), "receipt lacks {expected:?}:\n{text}");
    }
    // Issue 14: who pays and where, the member's address, a thank-you, and the tax note for a
    // W-9 on file (nothing withheld, the whole reward reported).
    for expected in ["1 Market St", "San Francisco, CA 94105", "1 Main St", "Austin, TX 78701", "help@tenure.test", "Thank you for being a member", "PAYOUT REFERENCE", "None: W-9 on file", "whole reward of $100,000.00", "Form 1099-MISC"] {
        assert!(text.contains(expected), "receipt lacks {expected:?}:\n{text}");
    }
    assert!(!text.contains("backup withholding of"), "no withholding note with a W-9:\n{text}");
    assert_eq!(pdf_pages(&pdf), 1, "one page");
    assert!(!text.contains("000123456789"));
    let hash: String = payout_service::workflow::documents::sha256_hex(&pdf);
    let (_, audit) = d.get(&d.manager, &format!("/api/payouts/{id}/audit")).await;
    let issued: Vec<&Value> = audit["data"]["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "receipt_issued").collect();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["details"]["sha256"], hash);
    let again = d.app.client.get(d.app.url(&p("receipt"))).bearer_auth(&d.support).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(payout_service::workflow::documents::sha256_hex(&again), hash, "the same document again");
    let (_, audit) = d.get(&d.manager, &format!("/api/payouts/{id}/audit")).await;
    assert_eq!(audit["data"]["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "receipt_issued").count(), 1);
    assert_eq!(audit["data"]["chainValid"], true);

    let res = d.app.client.get(d.app.url(&p("instructions.pdf"))).bearer_auth(&d.creator).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = pdf_text(&res.bytes().await.unwrap());
    assert!(text.contains("Payment instructions") && text.contains("99,700.00") && text.contains("••••6789"), "{text}");
    assert!(!text.contains("000123456789") && !text.contains("021000021"), "the PDF never carries full numbers");
    assert_eq!(d.app.client.get(d.app.url(&p("instructions.pdf"))).bearer_auth(&d.support).send().await.unwrap().status(), 403);

    // Issue 14: the emails as they arrive over SMTP. The completed one carries the receipt as a
    // PDF; approval requests reach only those who can approve; links are absolute.
    let smtp = crate::support::smtp::SmtpServer::start(free_port()).await;
    let mut env = base_env(&d.app.database_url);
    crate::jobs::with_smtp(&mut env, smtp.port);
    env.insert("PUBLIC_BASE_URL".into(), "https://payouts.tenure.test".into());
    let _sender = spawn_app_with_background(env).await;
    assert!(eventually(30, || async { d.count("SELECT count(*) FROM payout_email_outbox WHERE status <> 'sent'").await == 0 }).await, "every email sent");
    let messages = smtp.messages();
    let subject = |m: &crate::support::smtp::Received, s: &str| m.header("Subject").is_some_and(|h| h.contains(s));
    let done = messages.iter().find(|m| subject(m, "is complete")).expect("the completed email");
    assert_eq!(done.to, ["member0@tenure.test"]);
    assert!(done.data.contains("multipart/mixed") && done.data.contains("text/plain") && done.data.contains("text/html"), "both bodies and an attachment");
    let attached = attachment(&done.data, "application/pdf").expect("a PDF part");
    assert!(attached.starts_with(b"%PDF-"), "the attachment is a PDF");
    assert!(done.data.contains(&format!("receipt-{id}.pdf")), "named like the download");
    let text = pdf_text(&attached);
    assert!(text.contains(id.as_str()) && text.contains("$99,700.00") && text.contains("Thank you for being a member"), "the receipt itself:\n{text}");
    assert!(done.data.contains(&format!("https://payouts.tenure.test/api/payouts/{id}/receipt")), "{}", done.data);
    let awaiting: Vec<&str> = messages.iter().filter(|m| subject(m, "awaits your approval")).flat_map(|m| m.to.iter().map(String::as_str)).collect();
    assert!(!awaiting.is_empty() && !awaiting.contains(&"liam@tenure.test") && !awaiting.contains(&"ava@tenure.test"), "approvers only, not Support, not the creator: {awaiting:?}");
    let to_support: Vec<String> = messages.iter().filter(|m| m.to.iter().any(|t| t == "liam@tenure.test")).filter_map(|m| m.header("Subject")).collect();
    assert!(to_support.iter().all(|s| !s.contains("approval")), "Support is never asked to approve: {to_support:?}");
    for m in &messages {
        assert!(!m.data.contains("admin portal") && !m.data.contains("$100000") && !m.data.contains("href=\"/"), "{}", m.data);
    }
    let issued = d.count(&format!("SELECT count(*) FROM payout_management, jsonb_array_elements(audit_trail) e WHERE payout_id = '{id}' AND e->>'action' = 'receipt_issued'")).await;
    assert!(issued >= 1, "the emailed receipt is recorded like a download");
}

/// The first MIME part of `content_type` in a raw message, base64-decoded.
fn attachment(data: &str, content_type: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let start = data.find(&format!("Content-Type: {content_type}"))?;
    let part = &data[start..];
    let body_at = part.find("\n\n")? + 2;
    let encoded: String = part[body_at..].lines().take_while(|l| !l.starts_with("--") && !l.is_empty()).collect();
    base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()
}

/// How many pages poppler's pdfinfo counts.
fn pdf_pages(pdf: &[u8]) -> usize {
    let path = std::env::temp_dir().join(format!("payout-{}.pdf", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdfinfo").arg(&path).output().expect("pdfinfo (poppler-utils) is needed to read the PDFs");
    let _ = std::fs::remove_file(&path);
    let info = String::from_utf8_lossy(&out.stdout).into_owned();
    info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|n| n.trim().parse().ok()).unwrap_or_else(|| panic!("no page count: {info}"))
}

/// The text of a PDF, as poppler's pdftotext reads it.
fn pdf_text(pdf: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("payout-{}.pdf", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").arg("-layout").arg(&path).arg("-").output()
        .expect("pdftotext (poppler-utils) is needed to read the PDFs");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn without_a_w9_a_quarter_is_withheld_and_checks_need_an_address() {
    let d = desk(350_000, 2, &[]).await;
    sqlx::query("DELETE FROM tax_forms").execute(&d.app.db).await.unwrap();
    sqlx::query("DELETE FROM user_addresses WHERE user_id = $1").bind(d.members[1].0.user_id).execute(&d.app.db).await.unwrap();
    // Encrypted as the member's submission would be (SPEC §12: plaintext is never used to pay),
    // and in place before the approvals, which bind to it.
    let ach = d.create(&[0]).await.remove(0);
    let details = json!({"accountHolderName":"Legacy Row","routingNumber":"021000021","accountNumber":"55554444","accountType":"savings"});
    let envelope = Keyring::new(&SecretString::from(ENCRYPTION_KEY.to_string()), &[]).encrypt(details.to_string().as_bytes());
    sqlx::query("UPDATE payout_management SET bank_details = $2 WHERE payout_id = $1").bind(&ach).bind(envelope).execute(&d.app.db).await.unwrap();
    for t in [&d.manager, &d.second] {
        assert_eq!(d.post(t, &format!("/api/payouts/{ach}/approve"), json!({})).await.0, 200);
    }
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{ach}/generate-instructions"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["bankDetails"]["accountNumber"], "55554444");
    assert_eq!(body["data"]["calculation"]["withholdingAmount"], "24000.00");
    assert_eq!(body["data"]["amountToSend"], "75700.00");
    assert!(body["data"]["calculation"]["withholdingReason"].as_str().unwrap().contains("W-9"));
    let tax: Value = sqlx::query_scalar("SELECT tax_withholding FROM payout_management WHERE payout_id = $1").bind(&ach).fetch_one(&d.app.db).await.unwrap();
    assert_eq!((tax["hasW9"].as_bool(), tax["amount"].as_str()), (Some(false), Some("24000.00")));

    let id = d.create(&[1]).await.remove(0);
    sqlx::query("UPDATE payout_management SET payment_method = 'check' WHERE payout_id = $1").bind(&id).execute(&d.app.db).await.unwrap();
    d.post(&d.manager, &format!("/api/payouts/{id}/approve"), json!({})).await;
    d.post(&d.second, &format!("/api/payouts/{id}/approve"), json!({})).await;
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{id}/generate-instructions"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("ADDRESS_MISSING")));
    sqlx::query("INSERT INTO user_addresses (id, user_id, street_address, city, state, postal_code, is_primary) VALUES (gen_random_uuid(), $1, '9 Elm St', 'Denver', 'CO', '80202', true)")
        .bind(d.members[1].0.user_id).execute(&d.app.db).await.unwrap();
    // SPEC §12: the approvals were given before there was an address; the new one is approved afresh.
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{id}/generate-instructions"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("DESTINATION_CHANGED")), "{body}");
    for t in [&d.manager, &d.second] {
        assert_eq!(d.post(t, &format!("/api/payouts/{id}/approve"), json!({})).await.0, 200);
    }
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{id}/generate-instructions"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["mailingAddress"]["line1"], "9 Elm St");
    assert!(body["data"]["bankDetails"].is_null());
}

#[tokio::test]
async fn a_failed_payment_is_reissued_only_after_fresh_approval() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let p = |action: &str| format!("/api/payouts/{id}/{action}");
    assert_eq!(d.post(&d.members[0].1, &format!("/api/members/{}/bank-info", d.uid(0)), bank()).await.0, 200);
    d.post(&d.manager, &p("approve"), json!({})).await;
    d.post(&d.second, &p("approve"), json!({})).await;
    let sent = json!({ "sentDate": minutes_from_now(1).1, "expectedArrivalDate": minutes_from_now(1 + 3 * 24 * 60).1 });
    assert_eq!(d.post(&d.manager, &p("mark-failed"), json!({ "reason": "x" })).await.0, 409, "not sent yet");
    d.post(&d.creator, &p("generate-instructions"), json!({})).await;
    d.post(&d.manager, &p("mark-sent"), sent.clone()).await;
    for bad in ["R99x", "R+1", "R00", "X01"] {
        let (status, body) = d.post(&d.manager, &p("mark-failed"), json!({ "reason": "Account closed", "returnCode": bad })).await;
        assert_eq!((status, body["error"]["details"][0]["path"].as_str()), (400, Some("returnCode")), "{bad}");
    }
    let (status, body) = d.post(&d.manager, &p("mark-failed"), json!({ "reason": "Account closed", "returnCode": "R02" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "payment_failed");
    assert_eq!(body["data"]["processing"]["failure"]["returnCode"], "R02");
    let failed_mails: Vec<String> = sqlx::query_scalar("SELECT template FROM payout_email_outbox WHERE template LIKE 'payment_failed%' ORDER BY template").fetch_all(&d.app.db).await.unwrap();
    assert_eq!(failed_mails.iter().filter(|t| *t == "payment_failed_admin").count(), 4, "every admin");
    assert_eq!(failed_mails.iter().filter(|t| *t == "payment_failed_member").count(), 1);

    assert_eq!(d.post(&d.support, &p("reissue"), json!({})).await.0, 403, "admins only");
    let (status, body) = d.post(&d.creator, &p("reissue"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["status"], "pending_approval");
    assert!(body["data"]["scheduledDate"].is_null() && body["data"]["receiptUrl"].is_null() && body["data"]["completedDate"].is_null());
    assert_eq!(body["data"]["currentApprovals"], 0);
    assert!(body["data"]["processing"].get("instructions").is_none(), "instructions must be generated again");
    assert_eq!(d.post(&d.manager, &p("mark-sent"), sent.clone()).await.0, 409, "no money moves before fresh approval");

    d.post(&d.manager, &p("approve"), json!({})).await;
    d.post(&d.second, &p("approve"), json!({})).await;
    d.post(&d.creator, &p("generate-instructions"), json!({})).await;
    assert_eq!(d.post(&d.manager, &p("mark-sent"), sent).await.0, 200);
    let (status, _) = d.post(&d.manager, &p("confirm"), json!({ "completedDate": minutes_from_now(2).1 })).await;
    assert_eq!(status, 200);
    // A confirmed ACH can still bounce.
    let (status, body) = d.post(&d.manager, &p("mark-failed"), json!({ "reason": "Returned after settlement", "returnCode": "R01" })).await;
    assert_eq!((status, body["data"]["status"].as_str()), (200, Some("payment_failed")));
    let note: String = sqlx::query_scalar("SELECT notes FROM tax_forms WHERE form_type = '1099-MISC'").fetch_one(&d.app.db).await.unwrap();
    assert!(note.contains("review before filing"), "{note}");
    let (_, audit) = d.get(&d.manager, &format!("/api/payouts/{id}/audit")).await;
    assert_eq!(audit["data"]["chainValid"], true);

    // SPEC §12: one live 1099-MISC per payout — the bounce corrected it, a second confirmation
    // updates the same row instead of adding one.
    let form: Value = sqlx::query_scalar("SELECT to_jsonb(t) FROM tax_forms t WHERE form_type = '1099-MISC'").fetch_one(&d.app.db).await.unwrap();
    assert_eq!(form["status"], "corrected");
    assert_eq!(form["corrections"][0]["returnCode"], "R01");
    assert_eq!(d.post(&d.creator, &p("reissue"), json!({})).await.0, 200);
    d.post(&d.manager, &p("approve"), json!({})).await;
    d.post(&d.second, &p("approve"), json!({})).await;
    assert_eq!(d.post(&d.creator, &p("generate-instructions"), json!({})).await.0, 200);
    let again = json!({ "sentDate": minutes_from_now(3).1, "expectedArrivalDate": minutes_from_now(3 + 24 * 60).1 });
    assert_eq!(d.post(&d.manager, &p("mark-sent"), again).await.0, 200);
    assert_eq!(d.post(&d.manager, &p("confirm"), json!({ "completedDate": minutes_from_now(4).1 })).await.0, 200);
    let forms: Vec<Value> = sqlx::query_scalar("SELECT to_jsonb(t) FROM tax_forms t WHERE form_type = '1099-MISC'").fetch_all(&d.app.db).await.unwrap();
    assert_eq!(forms.len(), 1, "still one row for the payout");
    assert_eq!((forms[0]["status"].as_str(), forms[0]["corrections"].as_array().map(Vec::len)), (Some("pending"), Some(1)), "pending again, history kept");
}

#[tokio::test]
async fn legacy_wire_payouts_and_unreadable_details_are_clear_422s() {
    let d = desk(350_000, 2, &[]).await;
    let wire = approved(&d, 0).await;
    sqlx::query("UPDATE payout_management SET payment_method = 'wire' WHERE payout_id = $1").bind(&wire).execute(&d.app.db).await.unwrap();
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{wire}/generate-instructions"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("UNSUPPORTED_PAYMENT_METHOD")));
    let other = approved(&d, 1).await;
    let foreign = Keyring::new(&SecretString::from("another-key-0123456789abcdef0123".to_string()), &[]).encrypt(b"{}");
    sqlx::query("UPDATE payout_management SET bank_details = $2 WHERE payout_id = $1").bind(&other).bind(foreign).execute(&d.app.db).await.unwrap();
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{other}/generate-instructions"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("BANK_DETAILS_UNREADABLE")));
}

/// SPEC §12: plaintext bank details the old service left are never used to pay; bank details
/// must fit a bank file; TINs must be plausible and states USPS codes.
#[tokio::test]
async fn only_encrypted_bank_file_ready_details_and_plausible_tins_are_taken() {
    let d = desk(250_000, 1, &[]).await;
    let id = approved(&d, 0).await;
    let plaintext = json!({ "accountHolderName": "Old Row", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "checking" });
    sqlx::query("UPDATE payout_management SET bank_details = $2 WHERE payout_id = $1").bind(&id).bind(&plaintext).execute(&d.app.db).await.unwrap();
    let (status, body) = d.post(&d.creator, &format!("/api/payouts/{id}/generate-instructions"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("BANK_DETAILS_NOT_ENCRYPTED")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("reencrypt"));

    let member = &d.members[0].1;
    let bank_path = format!("/api/members/{}/bank-info", d.uid(0));
    let mut cyrillic = bank();
    cyrillic["accountHolderName"] = json!("Иван Петров");
    cyrillic["accountNumber"] = json!("0000000");
    let (status, body) = d.post(member, &bank_path, cyrillic).await;
    assert_eq!(status, 400, "{body}");
    let errors: Vec<(String, String)> = body["error"]["details"].as_array().unwrap().iter()
        .map(|e| (e["path"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string())).collect();
    assert!(errors.iter().any(|(p, m)| p == "accountHolderName" && m.contains("Latin")), "{errors:?}");
    assert!(errors.contains(&("accountNumber".into(), "must not be all zeros".into())), "{errors:?}");
    let mut accented = bank();
    accented["accountHolderName"] = json!("José Núñez");
    assert_eq!(d.post(member, &bank_path, accented).await.0, 200, "accented Latin letters are spelled plainly");

    let tax_path = format!("/api/members/{}/tax-info", d.uid(0));
    let forms_before = d.count("SELECT count(*) FROM tax_forms WHERE form_type = 'W-9'").await;
    for (tin, tin_type) in [("666-12-3456", "SSN"), ("123-00-4567", "SSN"), ("07-1234567", "EIN")] {
        let mut form = w9();
        form["tin"] = json!(tin);
        form["tinType"] = json!(tin_type);
        let (status, body) = d.post(member, &tax_path, form).await;
        assert_eq!((status, body["error"]["details"][0]["path"].as_str()), (400, Some("tin")), "{tin}: {body}");
    }
    let mut zz = w9();
    zz["state"] = json!("ZZ");
    let (status, body) = d.post(member, &tax_path, zz).await;
    assert_eq!((status, body["error"]["details"][0]["path"].as_str()), (400, Some("state")), "{body}");
    assert_eq!(d.count("SELECT count(*) FROM tax_forms WHERE form_type = 'W-9'").await, forms_before, "nothing stored");
}

/// SPEC §12: sent and completed dates are not in the future, not before the approval; arrival
/// is within 60 days; every bad field is named at once and nothing is written.
#[tokio::test]
async fn payment_dates_must_be_sane() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let p = |action: &str| format!("/api/payouts/{id}/{action}");
    assert_eq!(d.post(&d.members[0].1, &format!("/api/members/{}/bank-info", d.uid(0)), bank()).await.0, 200);
    d.post(&d.manager, &p("approve"), json!({})).await;
    d.post(&d.second, &p("approve"), json!({})).await;
    assert_eq!(d.post(&d.creator, &p("generate-instructions"), json!({})).await.0, 200);
    let paths = |body: &Value| body["error"]["details"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let (status, body) = d.post(&d.manager, &p("mark-sent"), json!({ "sentDate": "2100-01-01T00:00:00Z", "expectedArrivalDate": "2100-06-01T00:00:00Z" })).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(paths(&body), ["sentDate", "expectedArrivalDate"], "in the future, and months in transit");
    let (status, body) = d.post(&d.manager, &p("mark-sent"), json!({ "sentDate": "2000-01-01T00:00:00Z", "expectedArrivalDate": "2000-01-03T00:00:00Z" })).await;
    assert_eq!((status, paths(&body)), (400, vec!["sentDate".to_string()]), "before the approval: {body}");
    assert_eq!(d.count("SELECT count(*) FROM user_audit_logs WHERE action = 'payout_payment_sent'").await, 0);
    let (sent, sent_at) = minutes_from_now(1);
    let arrival = (sent + chrono::Duration::days(2)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(d.post(&d.manager, &p("mark-sent"), json!({ "sentDate": sent_at, "expectedArrivalDate": arrival })).await.0, 200);
    let (status, body) = d.post(&d.manager, &p("confirm"), json!({ "completedDate": "2000-01-01T00:00:00Z" })).await;
    assert_eq!((status, paths(&body)), (400, vec!["completedDate".to_string(), "completedDate".to_string()]), "before approval and before sending: {body}");
    let (status, body) = d.post(&d.manager, &p("confirm"), json!({ "completedDate": "2100-01-01T00:00:00Z" })).await;
    assert_eq!((status, paths(&body)), (400, vec!["completedDate".to_string()]), "{body}");
    assert_eq!(d.count("SELECT count(*) FROM tax_forms WHERE form_type = '1099-MISC'").await, 0, "no 1099 for a refused confirm");
}

/// SPEC §12: approvals bind to the destination. Bank details swapped directly in the database
/// after approval are caught before any money moves (instructions, then mark-sent): 409
/// DESTINATION_CHANGED, the payout back to pending approval with approvals cleared, an audit
/// entry, and admins and the member told. The admin who set the details cannot approve them, and
/// the member hears of every change without the numbers.
#[tokio::test]
async fn approvals_bind_to_the_destination_they_approved() {
    let d = desk(250_000, 1, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let p = |action: &str| format!("/api/payouts/{id}/{action}");
    let bank_path = format!("/api/members/{}/bank-info", d.uid(0));
    // Maker ≠ checker: the manager types the member's details, so another admin must approve.
    assert_eq!(d.post(&d.manager, &bank_path, bank()).await.0, 200);
    let (status, body) = d.post(&d.manager, &p("approve"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("DESTINATION_MAKER_CANNOT_APPROVE")), "{body}");
    let mail: String = sqlx::query_scalar("SELECT body_text FROM payout_email_outbox WHERE template = 'bank_details_changed'").fetch_one(&d.app.db).await.unwrap();
    assert!(mail.contains("If this was not you") && !mail.contains("123456789") && !mail.contains("021000021"), "{mail}");
    // The member sets their own details; two admins approve those.
    assert_eq!(d.post(&d.members[0].1, &bank_path, bank()).await.0, 200);
    for t in [&d.manager, &d.second] {
        assert_eq!(d.post(t, &p("approve"), json!({})).await.0, 200);
    }
    let (_, staff) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert!(staff["data"]["approvalWorkflow"]["approvals"].as_array().unwrap().iter().all(|a| a["fingerprint"].as_str().is_some_and(|f| f.len() == 64)));

    // Someone with database access swaps the account.
    let swap = |account: &'static str| {
        let db = d.app.db.clone();
        let id = id.clone();
        async move {
            let mut details = bank();
            details["accountNumber"] = json!(account);
            let envelope = Keyring::new(&SecretString::from(ENCRYPTION_KEY.to_string()), &[]).encrypt(details.to_string().as_bytes());
            sqlx::query("UPDATE payout_management SET bank_details = bank_details || $2 WHERE payout_id = $1").bind(&id).bind(envelope).execute(&db).await.unwrap();
        }
    };
    swap("999888777").await;
    let (status, body) = d.post(&d.creator, &p("generate-instructions"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("DESTINATION_CHANGED")), "{body}");
    assert!(body["data"].is_null(), "no bank details in the answer");
    let (_, after) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert_eq!((after["data"]["status"].as_str(), after["data"]["currentApprovals"].as_i64()), (Some("pending_approval"), Some(0)));
    assert_eq!(d.count("SELECT count(*) FROM user_audit_logs WHERE action = 'payout_destination_changed'").await, 1);
    assert_eq!(d.count("SELECT count(*) FROM payout_email_outbox WHERE template = 'destination_changed_admin'").await, 2, "those who can approve it again");
    assert_eq!(d.count("SELECT count(*) FROM payout_email_outbox WHERE template = 'destination_changed_member'").await, 1);
    let (_, audit) = d.get(&d.manager, &p("audit")).await;
    assert!(audit["data"]["entries"].as_array().unwrap().iter().any(|e| e["action"] == "destination_changed"));
    assert_eq!(audit["data"]["chainValid"], true);

    // Approved afresh, instructions generated — then swapped again: mark-sent re-checks.
    for t in [&d.manager, &d.second] {
        assert_eq!(d.post(t, &p("approve"), json!({})).await.0, 200);
    }
    assert_eq!(d.post(&d.creator, &p("generate-instructions"), json!({})).await.0, 200);
    swap("555444333").await;
    let sent = json!({ "sentDate": minutes_from_now(1).1, "expectedArrivalDate": minutes_from_now(1 + 2 * 24 * 60).1 });
    let (status, body) = d.post(&d.manager, &p("mark-sent"), sent).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("DESTINATION_CHANGED")), "{body}");
    let (_, after) = d.get(&d.manager, &format!("/api/payouts/{id}")).await;
    assert_eq!(after["data"]["status"], "pending_approval");
    assert!(after["data"]["processing"].get("instructions").is_none(), "instructions for the old account are gone");
}
