//! The overview (SPEC §15): eligibility and available payouts, what needs action now (awaiting
//! my approval, approved awaiting payment, sent awaiting confirmation, failed), alerts, and the
//! health of emails and daily jobs. Members are sent to their own page.

use axum::extract::State;
use maud::{html, Markup};

use crate::db;
use crate::db::payouts::ListFilter;
use crate::domain::payout::Payout;
use crate::domain::status::PayoutStatus;
use crate::http::console::page::{self, usd, when, PageResult, Viewer};
use crate::http::AppState;
use crate::workflow::{eligibility, payouts as workflow};

async fn by_status(state: &AppState, status: PayoutStatus) -> Result<(Vec<Payout>, i64), crate::error::AppError> {
    workflow::list(&state.ctx, &ListFilter { status: Some(status), limit: 25, ..Default::default() }).await
}

pub async fn page(v: Viewer, State(state): State<AppState>) -> PageResult {
    if !v.is_finance() {
        return page::see_other("/console/me");
    }
    let db = &state.db;
    let (elig, pending, approved, sent, failed, alerts, outbox, jobs) = tokio::try_join!(
        eligibility::current(&state.ctx),
        by_status(&state, PayoutStatus::PendingApproval),
        by_status(&state, PayoutStatus::Approved),
        by_status(&state, PayoutStatus::PaymentSent),
        by_status(&state, PayoutStatus::PaymentFailed),
        async { Ok(db::alerts::open_alerts(db, 5).await?) },
        async { Ok(db::outbox::stats(db).await?) },
        async { Ok(db::job_slots::latest_runs(db).await?) },
    )?;
    let me = v.user.actor();
    let rules = state.ctx.rules.change();
    let mine: Vec<Payout> = pending.0.iter().filter(|p| v.is_admin() && workflow::awaits_approval_by(p, &me, &rules)).cloned().collect();
    let (needs_instructions, ready): (Vec<Payout>, Vec<Payout>) = approved.0.iter().cloned().partition(|p| !p.processing.has_instructions());
    let body = html! {
        h1 { "Overview" }
        div.grid {
            div.card { p.stat-label { "Payouts that can be created" } p.stat #available { (elig.available_payouts) } p.muted { a href="/console/queue" { "Open the queue" } } }
            div.card { p.stat-label { "Revenue" } p.stat { (usd(&elig.total_revenue)) } p.muted { "Threshold " (usd(&elig.revenue_threshold)) } }
            div.card { p.stat-label { "Selectable members" } p.stat { (elig.eligible_member_count) } p.muted { (elig.committed_payouts) " of " (elig.potential_winners) " funded rewards committed" } }
            div.card { p.stat-label { "Company eligible" } p.stat { @if elig.is_eligible { "Yes" } @else { "Not yet" } }
                p.muted { @if let Some(r) = &elig.reason { (r) } @else { "Next check " (when(elig.next_check_date)) } } }
        }
        h2 { "Needs action" }
        div.grid {
            (bucket("Awaiting my approval", "mine", &mine, mine.len() as i64, "Nothing waits for your approval.", "/console/payouts?status=pending_approval"))
            (bucket("Approved: generate instructions", "instructions", &needs_instructions, needs_instructions.len() as i64, "None.", "/console/payouts?status=approved"))
            (bucket("Approved: ready to send", "ready", &ready, ready.len() as i64, "None.", "/console/payouts?status=approved"))
            (bucket("Sent: awaiting confirmation", "sent", &sent.0, sent.1, "None.", "/console/payouts?status=payment_sent"))
            (bucket("Failed", "failed", &failed.0, failed.1, "None.", "/console/payouts?status=payment_failed"))
            (bucket("All awaiting approval", "pending", &pending.0, pending.1, "None.", "/console/payouts?status=pending_approval"))
        }
        div.two {
            section.card aria-labelledby="alerts-h" {
                h2 #alerts-h { "Alerts" }
                @if alerts.is_empty() { p.muted { "No open alerts." } }
                ul { @for a in &alerts { li { strong { (a.title) } " · " span.muted { (a.severity) ", " (when(a.created_at)) } br; (a.message) } } }
            }
            section.card aria-labelledby="health-h" {
                h2 #health-h { "Emails and jobs" }
                p {
                    @if outbox.failed > 0 { span.check-bad { (outbox.failed) " emails failed" } } @else { span.check-ok { "No failed emails" } }
                    " · " (outbox.pending) " waiting to send"
                    @if let Some(t) = outbox.oldest_pending_at { " (oldest " (when(Some(t))) ")" }
                }
                @if jobs.is_empty() { p.muted { "No job has run yet." } }
                ul { @for j in &jobs { li { (j.job_name) ": " @if j.outcome == "succeeded" { span.check-ok { (j.outcome) } } @else { span.check-bad { (j.outcome) } } " · " (when(Some(j.started_at))) } } }
            }
        }
    };
    page::ok(page::layout("Overview", Some(&v), body))
}

fn bucket(title: &str, id: &str, payouts: &[Payout], total: i64, empty: &str, more: &str) -> Markup {
    html! {
        section.card aria-labelledby={ (id) "-h" } {
            h3 id={ (id) "-h" } { (title) " " span.muted { "(" (total) ")" } }
            @if payouts.is_empty() { p.muted { (empty) } }
            ul id=(id) {
                @for p in payouts.iter().take(5) {
                    li { a href={ "/console/payouts/" (p.payout_id) } { (p.payout_id) } " · " (p.member.name.as_deref().unwrap_or("—")) " · " (usd(&p.amount)) }
                }
            }
            @if total > 5 { a href=(more) { "All " (total) } }
        }
    }
}
