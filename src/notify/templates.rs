//! `{{name}}` substitution over the template files; values are HTML-escaped in HTML bodies.
//! The first line of a `.txt` template is `Subject: …`.

use super::Email;

struct Template {
    name: &'static str,
    text: &'static str,
    html: &'static str,
}

macro_rules! template {
    ($name:literal) => {
        Template {
            name: $name,
            text: include_str!(concat!("../../templates/email/", $name, ".txt")),
            html: include_str!(concat!("../../templates/email/", $name, ".html")),
        }
    };
}

const TEMPLATES: &[Template] = &[
    template!("eligibility_reached"),
    template!("payout_awaiting_approval"),
    template!("payout_approved"),
    template!("payout_rejected"),
    template!("payment_sent"),
    template!("payout_completed"),
    template!("payment_failed_member"),
    template!("payment_failed_admin"),
    template!("membership_removed"),
    template!("bank_details_changed"),
    template!("destination_changed_admin"),
    template!("destination_changed_member"),
];

fn fill(template: &str, vars: &[(&str, String)], escape: bool) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        let value = if escape { html_escape(value) } else { value.clone() };
        out = out.replace(&format!("{{{{{name}}}}}"), &value);
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Renders `name` for `recipient`. Panics only for a template name that does not exist (a bug).
pub fn render(name: &'static str, recipient: &str, dedupe_key: String, payout_id: Option<String>, vars: &[(&str, String)]) -> Email {
    let t = TEMPLATES.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no email template {name}"));
    let text = fill(t.text, vars, false);
    let (subject_line, body) = text.split_once('\n').unwrap_or((&text, ""));
    Email {
        dedupe_key,
        template: t.name,
        recipient: recipient.to_string(),
        subject: subject_line.trim_start_matches("Subject:").trim().to_string(),
        body_text: body.to_string(),
        body_html: fill(t.html, vars, true),
        payout_id,
        attach_receipt_of: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_listed_with_a_subject() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/email");
        let files: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        for f in &files {
            let name = f.trim_end_matches(".txt").trim_end_matches(".html");
            assert!(TEMPLATES.iter().any(|t| t.name == name), "{f} is not listed in TEMPLATES");
        }
        for t in TEMPLATES {
            assert!(t.text.starts_with("Subject: "), "{} has no subject line", t.name);
        }
    }

    #[test]
    fn every_placeholder_is_filled_and_html_escaped() {
        let vars = [
            ("admin_name", "Ava <Admin>".to_string()),
            ("date", "2026-11-23".into()),
            ("revenue", "$250,000.00".into()),
            ("revenue_source", "database".into()),
            ("threshold", "$100,000.00".into()),
            ("company_age_months", "30".into()),
            ("available_payouts", "2".into()),
            ("eligible_member_count", "9".into()),
            ("queue_url", "https://payouts.tenure.example/console/queue".into()),
            ("required_approvals", "2".into()),
        ];
        let e = render("eligibility_reached", "a@b.c", "k".into(), None, &vars);
        assert_eq!(e.subject, "Payout eligibility reached: 2 reward(s) can be paid");
        assert!(e.body_text.contains("Revenue:            $250,000.00") && e.body_text.contains("Ava <Admin>"), "{}", e.body_text);
        assert!(e.body_html.contains("<strong>$250,000.00</strong>") && e.body_html.contains("Ava &lt;Admin&gt;"), "{}", e.body_html);
        assert!(e.body_text.contains("for a Super Admin or Manager") && e.body_text.contains("https://payouts.tenure.example/console/queue"));
        assert!(e.body_html.contains(r#"href="https://payouts.tenure.example/console/queue""#));
        assert!(!e.body_text.contains("{{") && !e.body_html.contains("{{"), "unfilled placeholder");
    }

    mod as_sent {
        //! Every email as the workflow builds it: the notices the payout rules decide, with the
        //! vars `workflow::notices` adds, rendered in both bodies.

        use std::collections::HashMap;

        use chrono::{TimeZone, Utc};

        use crate::config::{PayoutRules, Purpose, Settings};
        use crate::domain::change::{awaiting_approval, decide, Actor, ConfirmDetails, Decision, Facts, Notice, PayoutAction};
        use crate::domain::payout::{tests_support::payout, Payout};
        use crate::domain::status::PayoutStatus;
        use crate::notify::Email;
        use crate::workflow::notices::{admin_vars, audience, member_email, Audience, Links};

        const BASE: &str = "https://payouts.tenure.example";

        fn rules() -> PayoutRules {
            let vars: HashMap<String, String> = [("SUPPORT_EMAIL", "help@tenure.example")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            Settings::from_map(&vars, Purpose::Dev).unwrap().payout
        }

        fn admin(id: i32) -> Actor {
            Actor { user_id: Some(uuid::Uuid::from_u128(100 + id as u128)), admin_id: Some(id), email: Some(format!("a{id}@tenure.test")), name: Some(format!("Admin {id}")), role: Some("Manager".into()) }
        }

        fn notices(before: &Payout, action: PayoutAction, facts: &Facts) -> (Payout, Vec<Notice>) {
            match decide(before, &action, facts, &admin(2), &rules().change()) {
                Ok(Decision::Change(step)) => (step.after.clone(), step.notices.clone()),
                other => panic!("expected a change, got {other:?}"),
            }
        }

        /// Renders each notice: a member's message, or the message one admin gets.
        fn render_all(p: &Payout, notices: &[Notice]) -> Vec<Email> {
            let (links, rules) = (Links(BASE), rules());
            notices
                .iter()
                .map(|n| match n {
                    Notice::Member { template, vars } => member_email(&links, &rules, p, template, vars, "event").unwrap(),
                    Notice::Admins { template, vars } => {
                        let mut all = vec![("admin_name", "Noah".to_string())];
                        all.extend(admin_vars(&links, &rules, p, vars));
                        super::render(template, "noah@tenure.test", "k".into(), Some(p.payout_id.clone()), &all)
                    }
                })
                .collect()
        }

        /// What every email must be: filled, money with separators, links absolute, nothing
        /// that does not exist.
        fn check(e: &Email) {
            for body in [&e.subject, &e.body_text, &e.body_html] {
                assert!(!body.contains("{{") && !body.contains("}}"), "{}: unfilled placeholder in {body}", e.template);
                assert!(!body.contains("$$") && !body.contains("100000") && !body.contains("99700"), "{}: money without separators in {body}", e.template);
                assert!(!body.to_lowercase().contains("admin portal"), "{}: there is no admin portal", e.template);
                assert!(!body.contains("href=\"/"), "{}: relative link in {body}", e.template);
                assert!(!body.contains("reply to this email"), "{}: replies go to the sender address, which nobody reads", e.template);
            }
            // A removed member has nothing left to open; every other email links to a page.
            if e.template != "membership_removed" {
                assert!(e.body_text.contains(BASE) && e.body_html.contains(&format!("href=\"{BASE}/")), "{}: an absolute link in both bodies", e.template);
            }
        }

        fn completed(has_w9: bool) -> (Payout, Vec<Email>) {
            let mut p = payout();
            p.status = PayoutStatus::PaymentSent;
            p.processing.sent_date = Some(crate::domain::processing::Stamp::new(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap()));
            let facts = Facts { has_w9, ..Facts::at(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()) };
            let confirm = ConfirmDetails { completed_date: Utc.with_ymd_and_hms(2026, 2, 3, 0, 0, 0).unwrap(), confirmation_number: Some("FED-1".into()), notes: None };
            let (after, n) = notices(&p, PayoutAction::Confirm(confirm), &facts);
            let emails = render_all(&after, &n);
            (after, emails)
        }

        #[test]
        fn the_completed_email_shows_the_net_with_separators_links_absolutely_and_attaches_the_receipt() {
            let (p, emails) = completed(true);
            let [e] = &emails[..] else { panic!("one email: {emails:?}") };
            check(e);
            assert_eq!((e.template, e.recipient.as_str()), ("payout_completed", "mia@tenure.test"));
            assert_eq!(e.attach_receipt_of.as_deref(), Some(p.payout_id.as_str()), "the receipt goes with it");
            assert_eq!(e.subject, format!("Your payout {} is complete: receipt attached", p.payout_id));
            let receipt = format!("{BASE}/api/payouts/{}/receipt", p.payout_id);
            assert!(e.body_text.contains("$99,700.00 has arrived") && e.body_text.contains("the $100,000.00 reward"), "{}", e.body_text);
            assert!(e.body_text.contains(&receipt) && e.body_text.contains("attached as a PDF"), "{}", e.body_text);
            assert!(e.body_html.contains("<strong>$99,700.00</strong>") && e.body_html.contains(&format!(r#"<a href="{receipt}">"#)), "{}", e.body_html);
            assert!(e.body_text.contains("help@tenure.example") && e.body_html.contains(r#"href="mailto:help@tenure.example""#));
            assert_eq!(p.receipt_url.as_deref(), Some(format!("/api/payouts/{}/receipt", p.payout_id).as_str()), "the stored link stays relative");

            let (_, emails) = completed(false);
            assert!(emails[0].body_text.contains("$75,700.00 has arrived"), "no W-9: 24% withheld: {}", emails[0].body_text);
        }

        #[test]
        fn a_failed_payment_tells_the_member_and_every_admin_with_links_to_their_pages() {
            let (p, _) = completed(true);
            let (after, n) = notices(&p, PayoutAction::MarkFailed { reason: "Account closed".into(), return_code: Some("R02".into()) }, &Facts::at(Utc::now()));
            let emails = render_all(&after, &n);
            let member = emails.iter().find(|e| e.template == "payment_failed_member").unwrap();
            let admins = emails.iter().find(|e| e.template == "payment_failed_admin").unwrap();
            for e in [member, admins] {
                check(e);
            }
            assert!(member.body_text.contains(&format!("{BASE}/console/me")) && member.body_html.contains(&format!(r#"href="{BASE}/console/me""#)));
            assert!(member.body_text.contains("(ACH return code R02)"));
            assert!(admins.body_text.contains("The $100,000.00 payout") && admins.body_html.contains("The $100,000.00 payout"), "{}", admins.body_text);
            assert!(admins.body_text.contains(&format!("{BASE}/console/payouts/{}", p.payout_id)));
            assert!(admins.body_text.contains("a Super Admin or Manager\nthen reissues"), "says who acts, as Support gets it too: {}", admins.body_text);
            assert_eq!(audience("payment_failed_admin"), Audience::EveryAdmin);
        }

        #[test]
        fn approval_requests_go_to_approvers_and_link_the_payout() {
            let p = payout();
            let n = vec![awaiting_approval("created", &admin(1), &p, 2)];
            let [e] = &render_all(&p, &n)[..] else { panic!() };
            check(e);
            assert_eq!(audience(e.template), Audience::Approvers, "Support cannot approve: no request to them");
            assert_eq!(audience("destination_changed_admin"), Audience::Approvers);
            assert_eq!(audience("eligibility_reached"), Audience::EveryAdmin);
            assert_eq!(e.subject, format!("Payout {} awaits your approval", p.payout_id));
            assert!(e.body_text.contains("of $100,000.00 to Mia Member") && e.body_text.contains("created by Admin 1"), "{}", e.body_text);
            assert!(e.body_text.contains("but the admin who created it may approve"), "{}", e.body_text);
            let link = format!("{BASE}/console/payouts/{}", p.payout_id);
            assert!(e.body_text.contains(&link) && e.body_html.contains(&format!(r#"<a href="{link}">"#)));
        }

        #[test]
        fn the_approved_and_rejected_emails_read_right() {
            let p = payout();
            let facts = Facts::at(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
            let first = match decide(&p, &PayoutAction::Approve { comment: None }, &facts, &admin(2), &rules().change()) {
                Ok(Decision::Change(s)) => s.after,
                other => panic!("{other:?}"),
            };
            let (after, n) = match decide(&first, &PayoutAction::Approve { comment: None }, &facts, &admin(3), &rules().change()) {
                Ok(Decision::Change(s)) => (s.after, s.notices),
                other => panic!("{other:?}"),
            };
            let [approved] = &render_all(&after, &n)[..] else { panic!() };
            check(approved);
            assert_eq!(approved.subject, "Your $100,000.00 payout has been approved");
            assert!(approved.body_text.contains("withhold 24%") && approved.body_text.contains("back for approval"), "{}", approved.body_text);
            let (after, n) = notices(&p, PayoutAction::Reject { reason: "Duplicate <account>".into() }, &facts);
            let [rejected] = &render_all(&after, &n)[..] else { panic!() };
            check(rejected);
            assert!(rejected.body_text.contains("of $100,000.00 was not approved") && rejected.body_text.contains("Duplicate <account>"));
            assert!(rejected.body_html.contains("Duplicate &lt;account&gt;"));
        }

        /// The templates no notice above reaches, with the vars their callers give.
        #[test]
        fn the_other_templates_fill_every_placeholder() {
            let p = payout();
            let member: [(&str, Vec<(&'static str, String)>); 5] = [
                ("payment_sent", vec![
                    ("net_amount", "$99,700.00".into()), ("method", "an ACH bank transfer".into()), ("sent_date", "March 1, 2026".into()),
                    ("expected_arrival", "March 4, 2026".into()), ("tracking", "Tracking number: T1".into()),
                ]),
                ("bank_details_changed", vec![("changed_at", "March 1, 2026".into()), ("changed_by", "you".into())]),
                ("destination_changed_member", vec![]),
                ("membership_removed", vec![]),
                ("payout_rejected", vec![("reason", "r".into())]),
            ];
            let rules = rules();
            for (template, vars) in member {
                let e = member_email(&Links(BASE), &rules, &p, template, &vars, "x").unwrap();
                check(&e);
                assert!(e.attach_receipt_of.is_none(), "{template}");
            }
            let n = vec![Notice::Admins { template: "destination_changed_admin", vars: vec![] }];
            let [e] = &render_all(&p, &n)[..] else { panic!() };
            check(e);
            assert!(e.body_text.contains("($100,000.00 for Mia Member)"), "{}", e.body_text);
            let sent = member_email(&Links(BASE), &rules, &p, "payment_sent", &[("net_amount", "$99,700.00".into())], "x").unwrap();
            assert!(sent.body_text.contains("Amount sent:       $99,700.00") && sent.body_html.contains("<strong>$99,700.00</strong>"));
            let removed = member_email(&Links(BASE), &rules, &p, "membership_removed", &[], "x").unwrap();
            assert_eq!(removed.subject, "Your Tenure membership has ended");
        }
    }
}
