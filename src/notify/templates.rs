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
            ("revenue", "250000.00".into()),
            ("revenue_source", "database".into()),
            ("threshold", "100000.00".into()),
            ("company_age_months", "30".into()),
            ("available_payouts", "2".into()),
            ("eligible_member_count", "9".into()),
        ];
        let e = render("eligibility_reached", "a@b.c", "k".into(), None, &vars);
        assert_eq!(e.subject, "Payout eligibility reached: 2 reward(s) can be paid");
        assert!(e.body_text.contains("$250000.00") && e.body_text.contains("Ava <Admin>"));
        assert!(e.body_html.contains("Ava &lt;Admin&gt;"));
        assert!(!e.body_text.contains("{{") && !e.body_html.contains("{{"), "unfilled placeholder");
    }
}
