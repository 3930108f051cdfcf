//! The emails a change sends, rendered and written to the outbox in the change's transaction.
//! Each message's dedupe key names the event (the trail entry's hash), so a retried request
//! never queues a second copy.
//!
//! Every message gets what its reader needs to act on it: amounts as people write them
//! (`$100,000.00`) and absolute links from `PUBLIC_BASE_URL` — members to their console page
//! and the receipt, admins to the payout's console page. The "completed" email carries the
//! receipt as a PDF (rendered by the sender when it sends the message).

use sqlx::{Postgres, Transaction};

use crate::auth::AdminRole;
use crate::db;
use crate::domain::change::Notice;
use crate::domain::payout::Payout;
use crate::error::AppResult;
use crate::config::PayoutRules;
use crate::notify::{self, templates::render, Email};
use crate::workflow::Context;

/// Which admins an admin email goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every active admin, Support included: news every finance role should know.
    EveryAdmin,
    /// Only those who can approve (Super Admin and Manager, SPEC §3): requests to approve.
    Approvers,
}

/// Who each admin template is for. Approval requests ("awaits approval", "needs approval again")
/// go only to those who can approve; a failed payment and the eligibility news go to every admin
/// (their texts say which role acts).
pub fn audience(template: &str) -> Audience {
    match template {
        "payout_awaiting_approval" | "destination_changed_admin" => Audience::Approvers,
        _ => Audience::EveryAdmin,
    }
}

/// The absolute links emails carry, from `PUBLIC_BASE_URL`.
pub struct Links<'a>(pub &'a str);

impl Links<'_> {
    /// The receipt download (the member signs in first).
    pub fn receipt(&self, payout_id: &str) -> String {
        format!("{}/api/payouts/{payout_id}/receipt", self.0)
    }
    /// The member's own page in the console: their payout, bank details, W-9 and receipt.
    pub fn member_console(&self) -> String {
        format!("{}/console/me", self.0)
    }
    /// The payout's page in the console, for admins.
    pub fn admin_payout(&self, payout_id: &str) -> String {
        format!("{}/console/payouts/{payout_id}", self.0)
    }
    /// The queue of selectable members, for admins.
    pub fn admin_queue(&self) -> String {
        format!("{}/console/queue", self.0)
    }
}

/// Queues `template` to the active admins its [`audience`] names (but `except`), each with `vars`
/// and their own name; the dedupe key is `{key}:{email}`.
pub async fn to_admins(
    tx: &mut Transaction<'_, Postgres>,
    template: &'static str,
    key: &str,
    payout_id: Option<&str>,
    except: Option<i32>,
    vars: &[(&'static str, String)],
) -> AppResult<()> {
    let approvers_only = audience(template) == Audience::Approvers;
    for admin in db::alerts::active_admins(tx).await? {
        if Some(admin.id) == except {
            continue;
        }
        let role = admin.role.as_deref().and_then(AdminRole::parse);
        if approvers_only && !matches!(role, Some(AdminRole::SuperAdmin | AdminRole::Manager)) {
            continue;
        }
        let mut all = vec![("admin_name", admin.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "admin".into()))];
        all.extend(vars.iter().cloned());
        let key = format!("{key}:{}", admin.email.to_lowercase());
        notify::enqueue(tx, &render(template, &admin.email, key, payout_id.map(String::from), &all)).await?;
    }
    Ok(())
}

/// `0.24` → `24%`.
fn percent(rate: rust_decimal::Decimal) -> String {
    format!("{}%", (rate * rust_decimal::Decimal::from(100)).normalize())
}

/// Who may approve, as the approval requests say it.
fn creator_rule(allow_creator_approval: bool) -> &'static str {
    if allow_creator_approval {
        "any Super Admin or Manager may approve"
    } else {
        "any Super Admin or Manager but the admin who created it may approve"
    }
}

/// The member's message for `template`: the vars every member email gets, then the notice's.
/// None when the member has no email address. The "completed" email carries the receipt.
pub fn member_email(links: &Links, rules: &PayoutRules, payout: &Payout, template: &'static str, vars: &[(&'static str, String)], event_key: &str) -> Option<Email> {
    let email = payout.member.email.as_ref()?;
    let id = payout.payout_id.as_str();
    let mut all = vec![
        ("member_name", payout.member_name_or("member")),
        ("payout_id", id.to_string()),
        ("amount", payout.amount.display_usd()),
        ("console_url", links.member_console()),
        ("receipt_url", links.receipt(id)),
        ("support_email", rules.support_email.clone()),
        ("company", rules.company_name.clone()),
        ("withholding_rate", percent(rules.backup_withholding_rate)),
    ];
    all.extend(vars.iter().cloned());
    let key = format!("{template}:{id}:{event_key}");
    let mut message = render(template, email, key, Some(id.to_string()), &all);
    if template == "payout_completed" {
        message.attach_receipt_of = Some(id.to_string());
    }
    Some(message)
}

/// The vars every admin email about `payout` gets (before each admin's name), then the notice's.
pub fn admin_vars(links: &Links, rules: &PayoutRules, payout: &Payout, vars: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let id = payout.payout_id.as_str();
    let mut all = vec![
        ("payout_id", id.to_string()),
        ("amount", payout.amount.display_usd()),
        ("member_name", payout.member_name_or("a member")),
        ("payout_url", links.admin_payout(id)),
        ("creator_rule", creator_rule(rules.allow_creator_approval).into()),
    ];
    all.extend(vars.iter().cloned());
    all
}

/// Queues the change's emails about `payout` (as it is after the change).
pub async fn send(ctx: &Context, tx: &mut Transaction<'_, Postgres>, payout: &Payout, notices: &[Notice]) -> AppResult<()> {
    if notices.is_empty() {
        return Ok(());
    }
    let event = payout.audit_trail.entries.last().and_then(|e| e["hash"].as_str()).unwrap_or_default();
    let event_key: String = event.chars().take(16).collect();
    let id = payout.payout_id.as_str();
    let links = Links(&ctx.public_base_url);
    for notice in notices {
        match notice {
            Notice::Member { template, vars } => {
                if let Some(message) = member_email(&links, &ctx.rules, payout, template, vars, &event_key) {
                    notify::enqueue(tx, &message).await?;
                }
            }
            Notice::Admins { template, vars } => {
                let all = admin_vars(&links, &ctx.rules, payout, vars);
                // The creator cannot approve (unless ALLOW_CREATOR_APPROVAL): no request to them.
                let except = if audience(template) == Audience::Approvers && !ctx.rules.allow_creator_approval { payout.created_by } else { None };
                to_admins(tx, template, &format!("{template}:{id}:{event_key}"), Some(id), except, &all).await?;
            }
        }
    }
    Ok(())
}
