//! Bad input at scale (SPEC §12, §13): schemathesis, pinned and installed by `scripts/test`,
//! generates requests from the published OpenAPI document for every endpoint — valid ones,
//! invalid ones, and the edges of every schema — seeded with real sessions, a payout in each
//! state and real members (tests/tools/fuzz_hooks.py), so they reach the business rules, not
//! only the parsers. Every answer must be no 5xx, documented for its operation, in the
//! documented schema (the error envelope for every 4xx) and content type; afterwards nothing
//! is half-written.

use serde_json::{json, Value};

use crate::support::desk::{desk, Desk};
use crate::support::harness::*;

fn bank() -> Value {
    json!({ "accountHolderName": "Fuzz Member", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking", "bankName": "First Bank" })
}

fn w9() -> Value {
    json!({ "legalName": "Fuzz Member", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701" })
}

/// Moves member `idx`'s payout `id` along the lifecycle up to `upto` (a step name).
async fn advance(d: &Desk, idx: usize, id: &str, upto: &str) {
    let p = |action: &str| format!("/api/payouts/{id}/{action}");
    let steps: Vec<(&str, String, Value)> = vec![
        ("bank", format!("/api/members/{}/bank-info", d.uid(idx)), bank()),
        ("w9", format!("/api/members/{}/tax-info", d.uid(idx)), w9()),
        ("approve", p("approve"), json!({})),
        ("approve2", p("approve"), json!({})),
        ("instructions", p("generate-instructions"), json!({})),
        ("sent", p("mark-sent"), json!({ "sentDate": minutes_from_now(1).1, "expectedArrivalDate": minutes_from_now(3 * 24 * 60).1 })),
        ("confirm", p("confirm"), json!({ "completedDate": minutes_from_now(2).1 })),
    ];
    for (name, path, body) in steps {
        let token = match name {
            "bank" | "w9" => &d.members[idx].1,
            "approve2" => &d.second,
            "approve" | "sent" | "confirm" => &d.manager,
            _ => &d.creator,
        };
        let (status, answer) = d.post(token, &path, body).await;
        assert!(status == 200 || status == 201, "{name} for member {idx}: {status} {answer}");
        if name == upto {
            break;
        }
    }
}

#[tokio::test]
async fn generated_requests_to_every_endpoint_get_documented_answers_and_never_a_5xx() {
    let st = std::env::var("PAYOUT_TEST_SCHEMATHESIS")
        .expect("PAYOUT_TEST_SCHEMATHESIS is not set: run the suite with scripts/test, which installs the pinned schemathesis");
    // With a bank profile, so the payment-file endpoints reach their rules too.
    let d = desk(3_000_000, 14, &crate::payment_files::PROFILE).await;

    // A payout in each state (created together, in queue order), and members without one.
    let payouts = d.create(&[0, 1, 2, 3, 4, 5, 6, 7]).await;
    for (idx, upto) in [(1, "approve2"), (2, "instructions"), (3, "sent"), (4, "confirm"), (5, "sent")] {
        advance(&d, idx, &payouts[idx], upto).await;
    }
    let (status, _) = d.post(&d.manager, &format!("/api/payouts/{}/mark-failed", payouts[5]), json!({ "reason": "Account closed", "returnCode": "R02" })).await;
    assert_eq!(status, 200);
    for (idx, action) in [(6, "cancel"), (7, "reject")] {
        let (status, body) = d.post(&d.creator, &format!("/api/payouts/{}/{action}", payouts[idx]), json!({ "reason": "Fuzz seed" })).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    let states: Vec<String> = sqlx::query_scalar("SELECT DISTINCT status FROM payout_management ORDER BY 1").fetch_all(&d.app.db).await.unwrap();
    assert_eq!(states.len(), 7, "a payout in each of the seven states: {states:?}");

    // A prenote file (it does not hold its payout) for the file endpoints to find.
    let (status, prenote) = d.post(&d.creator, "/api/payment-files/ach-prenote", json!({ "payoutIds": [payouts[1]] })).await;
    assert_eq!(status, 201, "{prenote}");
    let file_ids = vec![prenote["data"]["id"].as_str().unwrap().to_string()];

    let mut tokens = vec![d.creator.clone(), d.manager.clone(), d.second.clone(), d.support.clone()];
    tokens.extend(d.members.iter().take(8).map(|m| m.1.clone()));
    let seeds = json!({
        "payoutIds": payouts,
        "userIds": (0..d.members.len()).map(|i| d.uid(i)).collect::<Vec<_>>(),
        "tokens": tokens,
        "fileIds": file_ids,
    });
    let dir = crate::support::binary::temp_dir("fuzz");
    let seeds_path = dir.join("seeds.json");
    std::fs::write(&seeds_path, seeds.to_string()).unwrap();
    let examples = std::env::var("PAYOUT_FUZZ_EXAMPLES").unwrap_or_else(|_| "300".into());
    let seed = std::env::var("PAYOUT_FUZZ_SEED").unwrap_or_else(|_| "20261125".into());
    let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools");
    let report = dir.join("report.json");
    let out = tokio::process::Command::new(&st)
        .args(["run", &d.app.url("/api/openapi.json")])
        // Every check but two: `positive_data_acceptance` expects every schema-valid request to
        // succeed, which business rules (409, 422) rightly refuse; `ignored_auth` is replaced by
        // the hooks, which send every request as one of the real sessions or none.
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance,ignored_auth"])
        .args(["--phases", "examples,coverage,fuzzing", "--max-examples", &examples, "--seed", &seed])
        // One worker: CPython 3.11's `ast` is not thread-safe (gh-106905), and Hypothesis
        // parses lambdas to describe them, which with two workers failed runs at random.
        .args(["--workers", "1", "--no-shrink", "--suppress-health-check", "all", "--request-timeout", "20"])
        .args(["--report", "json", "--report-json-path"])
        .arg(&report)
        .env("SCHEMATHESIS_HOOKS", "fuzz_hooks")
        .env("PYTHONPATH", &tools)
        .env("PAYOUT_FUZZ_SEEDS", &seeds_path)
        .env("PAYOUT_FUZZ_SEED", &seed)
        .env("NO_COLOR", "1")
        .current_dir(&*dir)
        .output()
        .await
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    // "Test cases:" is followed by "  N generated, …".
    let cases: u64 = stdout
        .lines()
        .skip_while(|l| l.trim() != "Test cases:")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    eprintln!("schemathesis: {cases} cases\n{summary}");
    assert!(out.status.success(), "schemathesis found failures:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(cases >= 1000, "a real run, not a handful: {cases} cases");

    // Nothing half-written: every payout's trail is intact and agrees with its head, its status
    // and its audit rows; no payout has two live 1099s.
    let rows: Vec<(String, String, Value, Option<String>, Option<i32>, Value)> =
        sqlx::query_as("SELECT payout_id, status, audit_trail, audit_head, audit_count, approval_workflow FROM payout_management WHERE payout_id NOT LIKE 'PAY-LEGACY%'")
            .fetch_all(&d.app.db)
            .await
            .unwrap();
    assert!(rows.len() >= payouts.len());
    for (id, status, trail, head, count, workflow) in &rows {
        assert!(payout_service::domain::audit_chain::verify_with_head(trail, head.as_deref(), *count), "{id}: trail intact and complete");
        let audit_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM user_audit_logs WHERE metadata ->> 'payoutId' = $1").bind(id).fetch_one(&d.app.db).await.unwrap();
        // Every trail entry has its audit row, but two the trail alone records: a receipt
        // download, and the decryption that goes with generating ACH instructions (whose row
        // covers both).
        let trail_only = |e: &&Value| e["action"] == "receipt_issued" || e["action"] == "bank_details_decrypted";
        let entries = trail.as_array().map_or(0, |t| t.iter().filter(|e| !trail_only(e)).count());
        assert_eq!(audit_rows, entries as i64, "{id}: one audit row per trail entry: {trail}");
        if status == "approved" {
            let approvals = workflow["approvals"].as_array().map_or(0, |a| a.len());
            assert!(approvals >= 2, "{id}: approved with {approvals} approvals");
        }
    }
    let doubled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT income_details ->> 'payoutId' FROM tax_forms WHERE form_type = '1099-MISC' AND status IS DISTINCT FROM 'corrected' GROUP BY 1 HAVING count(*) > 1) x",
    )
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(doubled, 0, "one live 1099 per payout");
}
