//! The finance console (SPEC §15) over plain HTTP, as a browser with JavaScript off uses it:
//! forms posted as `application/x-www-form-urlencoded` with the page's token, redirects followed
//! by hand. What the browser walk cannot see cheaply is checked here: the headers and CSP, the
//! form token and Origin refusals, dev-login's absence outside dev mode, the role matrix, the
//! API's messages beside the fields, and the audit rows the console's actions leave.

use reqwest::header::{CONTENT_TYPE, LOCATION, ORIGIN};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

use crate::support::desk::{desk, Desk};
use crate::support::harness::*;

fn bank() -> Value {
    json!({ "accountHolderName": "Member Zero", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking", "bankName": "First Bank" })
}

fn w9() -> Value {
    json!({ "legalName": "Member Zero", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701" })
}

/// A browser without JavaScript: one person's cookie, no automatic redirects.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
}

impl Browser {
    fn new(d: &Desk, token: &str) -> Browser {
        Browser { client: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(), base: d.app.url(""), cookie: TestApp::cookie(token) }
    }

    async fn get(&self, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
        let res = self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        (status, res.text().await.unwrap(), headers)
    }

    /// The session's form token, as the page at `path` (or, when it has no form, My payout) carries it.
    async fn token(&self, path: &str) -> String {
        let (status, mut html, _) = self.get(path).await;
        if !html.contains(r#"name="_csrf""#) {
            html = self.get("/console/me").await.1;
        }
        assert_eq!(status, 200, "{path}: {html}");
        let at = html.find(r#"name="_csrf" value=""#).unwrap_or_else(|| panic!("{path} has no form token"));
        let rest = &html[at + r#"name="_csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// Posts `fields` as a form from the console's own origin; (status, Location, body).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        self.post_from(path, fields, &self.base.clone()).await
    }

    async fn post_from(&self, path: &str, fields: &[(&str, &str)], origin: &str) -> (u16, String, String) {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header(ORIGIN, origin)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let location = res.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, location, res.text().await.unwrap())
    }
}

async fn status_of(d: &Desk, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM payout_management WHERE payout_id = $1").bind(id).fetch_one(&d.app.db).await.unwrap()
}

async fn audit_rows(d: &Desk, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM user_audit_logs WHERE action = $1").bind(action).fetch_one(&d.app.db).await.unwrap()
}

#[tokio::test]
async fn dev_login_does_not_exist_outside_dev_mode() {
    let app = spawn_app().await;
    let get = app.get("/console/dev-login").await;
    assert_eq!(get.status(), 404);
    assert!(get.text().await.unwrap().contains("<h1>Not found</h1>"));
    let post = app
        .client
        .post(app.url("/console/dev-login"))
        .header(ORIGIN, app.url(""))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("email=ava.sterling%40tenure.dev")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 404);
    assert!(post.headers().get("set-cookie").is_none(), "no session is handed out");
}

#[tokio::test]
async fn pages_carry_a_strict_csp_and_no_inline_script_or_style() {
    let d = desk(250_000, 2, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let ava = Browser::new(&d, &d.creator);
    let unsigned = d.app.get("/console").await;
    assert_eq!(unsigned.status(), 401);
    assert!(unsigned.text().await.unwrap().contains("Sign in"), "a sign-in page, not JSON");
    let pages = ["/console", "/console/queue", "/console/payouts", "/console/files", "/console/me", "/console/payouts/new?count=1"];
    let mut asset_paths = Vec::new();
    for path in pages.iter().map(|p| p.to_string()).chain([format!("/console/payouts/{id}"), format!("/console/payouts/{id}/cancel")]) {
        let (status, html, h) = ava.get(&path).await;
        assert_eq!(status, 200, "{path}: {html}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cache-control"], "no-store");
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        // Inline script, inline style and event-handler attributes are all forbidden by the CSP.
        for (i, _) in html.match_indices("<script") {
            assert!(html[i..i + 80.min(html.len() - i)].contains(" src="), "{path}: an inline <script>");
        }
        assert!(!html.contains("<style") && !html.contains(" style="), "{path}: inline style");
        assert!(!html.contains(" onclick=") && !html.contains(" onsubmit=") && !html.contains(" onload="), "{path}: an inline handler");
        let forms = html.matches(r#"method="post""#).count();
        assert_eq!(html.matches(r#"name="_csrf""#).count(), forms, "{path}: every POST form carries the token");
        for (i, _) in html.match_indices("/console/assets/") {
            asset_paths.push(html[i..i + html[i..].find('"').unwrap()].to_string());
        }
    }
    asset_paths.sort();
    asset_paths.dedup();
    assert_eq!(asset_paths.len(), 3, "htmx, the stylesheet and the icon: {asset_paths:?}");
    for path in &asset_paths {
        let res = d.app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
    }
    assert_eq!(d.app.get("/console/assets/htmx-2.0.11.min.js").await.status(), 404, "only the hashed names exist");
}

#[tokio::test]
async fn a_form_without_the_sessions_token_or_from_another_origin_changes_nothing() {
    let d = desk(250_000, 2, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let ava = Browser::new(&d, &d.creator);
    let path = format!("/console/payouts/{id}/cancel");
    let token = ava.token(&path).await;

    let (status, _, body) = ava.post(&path, &[("reason", "no token")]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("This form has expired"), "{body}");
    let (status, _, _) = ava.post(&path, &[("_csrf", "forged"), ("reason", "bad token")]).await;
    assert_eq!(status, 403);
    // Another person's token is not this session's.
    let noah_token = Browser::new(&d, &d.second).token(&format!("/console/payouts/{id}")).await;
    assert_ne!(noah_token, token);
    let (status, _, _) = ava.post(&path, &[("_csrf", &noah_token), ("reason", "someone else's token")]).await;
    assert_eq!(status, 403);
    let (status, _, body) = ava.post_from(&path, &[("_csrf", &token), ("reason", "cross-site")], "https://evil.example").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("did not come from the console"), "{body}");
    assert_eq!(status_of(&d, &id).await, "pending_approval", "nothing changed");

    let (status, location, body) = ava.post(&path, &[("_csrf", &token), ("reason", "Member asked to defer")]).await;
    assert_eq!((status, location.as_str()), (303, format!("/console/payouts/{id}?done=cancel").as_str()), "{body}");
    assert_eq!(status_of(&d, &id).await, "cancelled");
    assert_eq!(audit_rows(&d, "payout_cancelled").await, 1, "the same audit row as the API's cancel");
    let (_, page, _) = ava.get(&location).await;
    assert!(page.contains(r#"role="status""#) && page.contains("The payout was cancelled."), "the flash");
    assert!(page.contains("Reason: Member asked to defer"), "the reason is on the timeline");
}

#[tokio::test]
async fn each_role_sees_and_may_do_only_its_own() {
    let d = desk(250_000, 3, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let (ava, noah, liam) = (Browser::new(&d, &d.creator), Browser::new(&d, &d.second), Browser::new(&d, &d.support));
    let owner = Browser::new(&d, &d.members[0].1);
    let stranger = Browser::new(&d, &d.members[1].1);

    // The creator may not approve: no link, and the page says why.
    let (_, page, _) = ava.get(&format!("/console/payouts/{id}")).await;
    assert!(!page.contains(&format!(r#"href="/console/payouts/{id}/approve""#)), "no Approve for the creator");
    assert!(page.contains("You cannot approve this payout"), "the reason is shown");
    assert!(page.contains(&format!(r#"href="/console/payouts/{id}/cancel""#)));
    let (_, page, _) = noah.get(&format!("/console/payouts/{id}")).await;
    assert!(page.contains(&format!(r#"href="/console/payouts/{id}/approve""#)), "another admin may approve");
    // Support reads but may not decide: no links, and the pages and posts refuse.
    let (status, page, _) = liam.get(&format!("/console/payouts/{id}")).await;
    assert_eq!(status, 200);
    for action in ["approve", "reject", "cancel", "generate-instructions"] {
        assert!(!page.contains(&format!("/console/payouts/{id}/{action}\"")), "Support sees no {action}");
        assert_eq!(liam.get(&format!("/console/payouts/{id}/{action}")).await.0, 403, "{action}");
    }
    let token = liam.token(&format!("/console/payouts/{id}")).await;
    assert_eq!(liam.post(&format!("/console/payouts/{id}/cancel"), &[("_csrf", &token), ("reason", "x")]).await.0, 403);
    assert_eq!(liam.get("/console/payouts/new?count=1").await.0, 403, "Support does not create");
    // A member: their own payout, nothing of anyone else's, no finance pages.
    let (status, page, _) = owner.get(&format!("/console/payouts/{id}")).await;
    assert_eq!(status, 200);
    assert!(!page.contains("Timeline") && !page.contains("id=\"timeline\""), "members see no trail");
    let (status, page, _) = stranger.get(&format!("/console/payouts/{id}")).await;
    assert_eq!(status, 404);
    assert!(page.contains("<h1>Not found</h1>"));
    let (_, list, _) = stranger.get("/console/payouts").await;
    assert!(!list.contains(&id), "another member's list does not show it");
    assert_eq!(stranger.get(&format!("/console/members/{}", d.uid(0))).await.0, 404);
    for page in ["/console/queue", "/console/files"] {
        assert_eq!(stranger.get(page).await.0, 403, "{page}");
    }
    assert_eq!(stranger.get("/console").await.0, 303, "members are sent to their own page");
    assert_eq!(status_of(&d, &id).await, "pending_approval");
}

#[tokio::test]
async fn bad_input_comes_back_beside_its_field_with_the_apis_message_and_nothing_is_saved() {
    let d = desk(250_000, 2, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    let member = Browser::new(&d, &d.members[0].1);
    let token = member.token("/console/me").await;
    let path = format!("/console/members/{}/bank-info", d.uid(0));
    let (status, _, page) = member
        .post(&path, &[("_csrf", &token), ("accountHolderName", "Member Zero"), ("routingNumber", "123456789"), ("accountNumber", "12"), ("accountType", "checking")])
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains(r#"role="alert""#), "{page}");
    assert!(page.contains(r#"id="routingNumber-error""#) && page.contains(r#"aria-describedby="routingNumber-hint routingNumber-error""#), "{page}");
    assert!(page.contains(r#"id="accountNumber-error""#), "{page}");
    assert!(page.contains(r#"value="Member Zero""#), "what was typed is kept");
    let bank: Option<Value> = sqlx::query_scalar("SELECT bank_details FROM payout_management WHERE payout_id = $1").bind(&id).fetch_one(&d.app.db).await.unwrap();
    assert!(bank.is_none(), "nothing was written");

    // Admins see the business rule's refusal on the confirmation page, with its status.
    let ava = Browser::new(&d, &d.creator);
    let token = ava.token(&format!("/console/payouts/{id}")).await;
    let (status, _, page) = ava.post(&format!("/console/payouts/{id}/mark-sent"), &[("_csrf", &token), ("sentDate", "2026-11-25"), ("expectedArrivalDate", "2026-11-27")]).await;
    assert_eq!(status, 409, "not approved yet: {page}");
    assert!(page.contains("Not saved:") && page.contains("pending_approval"), "{page}");
    let (status, _, page) = ava.post(&format!("/console/payouts/{id}/reject"), &[("_csrf", &token), ("reason", "")]).await;
    assert_eq!(status, 400);
    assert!(page.contains(r#"id="reason-error""#), "{page}");
    assert_eq!(status_of(&d, &id).await, "pending_approval");
}

/// One action through its confirmation page's form; it must redirect back with the flash.
async fn step(who: &Browser, id: &str, action: &str, extra: Vec<(&str, String)>) {
    let token = who.token(&format!("/console/payouts/{id}/{action}")).await;
    let mut fields: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
    fields.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    let (status, location, body) = who.post(&format!("/console/payouts/{id}/{action}"), &fields).await;
    assert_eq!((status, location), (303, format!("/console/payouts/{id}?done={action}")), "{action}: {body}");
}

#[tokio::test]
async fn a_payout_goes_from_approval_to_completed_through_the_forms_and_the_reveal_is_audited() {
    let d = desk(250_000, 2, &[]).await;
    let id = d.create(&[0]).await.remove(0);
    assert_eq!(d.post(&d.members[0].1, &format!("/api/members/{}/bank-info", d.uid(0)), bank()).await.0, 200);
    let member = Browser::new(&d, &d.members[0].1);
    let token = member.token("/console/me").await;
    let w9_fields: Vec<(String, String)> = w9().as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
    let mut fields: Vec<(&str, &str)> = w9_fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fields.push(("_csrf", &token));
    let (status, location, _) = member.post(&format!("/console/members/{}/tax-info", d.uid(0)), &fields).await;
    assert_eq!((status, location.as_str()), (303, "/console/me?done=w9"));

    let (ava, mia, noah) = (Browser::new(&d, &d.creator), Browser::new(&d, &d.manager), Browser::new(&d, &d.second));
    step(&mia, &id, "approve", vec![("comment", "Looks right".into())]).await;
    step(&noah, &id, "approve", vec![]).await;
    assert_eq!(status_of(&d, &id).await, "approved");
    let (_, page, _) = ava.get(&format!("/console/payouts/{id}")).await;
    assert_eq!(page.matches("matches the current destination").count(), 2, "both approvals vouch for the destination");
    step(&ava, &id, "generate-instructions", vec![]).await;

    // The reveal: the numbers on a no-store page, a trail entry and an audit row.
    let token = ava.token(&format!("/console/payouts/{id}")).await;
    let (status, _, page) = ava.post(&format!("/console/payouts/{id}/reveal"), &[("_csrf", &token)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("000123456789") && page.contains("021000021"), "{page}");
    assert_eq!(audit_rows(&d, "payout_bank_details_revealed").await, 1);
    let reveals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payout_management, jsonb_array_elements(audit_trail) e
         WHERE payout_id = $1 AND e->>'action' = 'bank_details_decrypted' AND e->'details'->>'purpose' = 'console reveal'",
    )
    .bind(&id)
    .fetch_one(&d.app.db)
    .await
    .unwrap();
    assert_eq!(reveals, 1);
    let (_, story, _) = ava.get(&format!("/console/payouts/{id}")).await;
    assert!(story.contains("Bank details revealed to an admin"));
    assert!(!story.contains("000123456789"), "the payout page itself stays masked");
    let liam = Browser::new(&d, &d.support);
    let token = liam.token(&format!("/console/payouts/{id}")).await;
    assert_eq!(liam.post(&format!("/console/payouts/{id}/reveal"), &[("_csrf", &token)]).await.0, 403, "Support may not reveal");
    assert_eq!(audit_rows(&d, "payout_bank_details_revealed").await, 1);

    let today = chrono::Utc::now().date_naive().to_string();
    step(&liam, &id, "mark-sent", vec![("sentDate", today.clone()), ("expectedArrivalDate", today.clone()), ("trackingNumber", "TRACE-1".into())]).await;
    step(&liam, &id, "confirm", vec![("completedDate", today), ("confirmationNumber", "CONF-1".into())]).await;
    assert_eq!(status_of(&d, &id).await, "completed");
    let (_, me, _) = member.get("/console/me").await;
    assert!(me.contains(&format!(r#"href="/api/payouts/{id}/receipt""#)) && me.contains("download"), "the receipt link");
}
