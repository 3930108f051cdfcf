//! The emails a change sends, rendered and written to the outbox in the change's transaction.
//! Each message's dedupe key names the event (the trail entry's hash), so a retried request
//! never queues a second copy.

use sqlx::{Postgres, Transaction};

use crate::db;
use crate::domain::change::Notice;
use crate::domain::payout::Payout;
use crate::error::AppResult;
use crate::notify::{self, templates::render};

/// Queues `template` to every active admin, each with `vars` and their own name; the dedupe key
/// is `{key}:{email}`.
pub async fn to_every_admin(
    tx: &mut Transaction<'_, Postgres>,
    template: &'static str,
    key: &str,
    payout_id: Option<&str>,
    vars: &[(&'static str, String)],
) -> AppResult<()> {
    for (_, email, name) in db::alerts::active_admins(tx).await? {
        let mut all = vec![("admin_name", name.unwrap_or_else(|| "admin".into()))];
        all.extend(vars.iter().cloned());
        let key = format!("{key}:{}", email.to_lowercase());
        notify::enqueue(tx, &render(template, &email, key, payout_id.map(String::from), &all)).await?;
    }
    Ok(())
}

/// Queues the change's emails about `payout` (as it is after the change).
pub async fn send(tx: &mut Transaction<'_, Postgres>, payout: &Payout, notices: &[Notice]) -> AppResult<()> {
    if notices.is_empty() {
        return Ok(());
    }
    let event = payout.audit_trail.entries.last().and_then(|e| e["hash"].as_str()).unwrap_or_default();
    let event_key: String = event.chars().take(16).collect();
    let id = payout.payout_id.as_str();
    for notice in notices {
        match notice {
            Notice::Member { template, vars } => {
                let Some(email) = &payout.member.email else { continue };
                let mut all = vec![("member_name", payout.member_name_or("member")), ("payout_id", id.to_string()), ("amount", payout.amount.to_string())];
                all.extend(vars.iter().cloned());
                let key = format!("{template}:{id}:{event_key}");
                notify::enqueue(tx, &render(template, email, key, Some(id.to_string()), &all)).await?;
            }
            Notice::Admins { template, vars } => {
                let mut all = vec![("payout_id", id.to_string()), ("amount", payout.amount.to_string()), ("member_name", payout.member_name_or("a member"))];
                all.extend(vars.iter().cloned());
                to_every_admin(tx, template, &format!("{template}:{id}:{event_key}"), Some(id), &all).await?;
            }
        }
    }
    Ok(())
}
