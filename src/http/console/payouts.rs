//! Payouts in the console: the list, the payout's story (timeline, approvals with their
//! fingerprint status, masked destination, the actions its state and the viewer's role allow),
//! a confirmation page per action, and the audited reveal of the account number. Each POST reads
//! the form into the JSON endpoint's body type, validates it the same way, and calls the same
//! use case.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::payout::{PaymentMethod, Payout};
use crate::domain::status::{transition, Action, PayoutStatus, ALL_STATUSES};
use crate::error::{AppError, AppResult};
use crate::http::console::form::{post_form, ConsoleForm, Field, FormState};
use crate::http::console::page::{self, day, masked, row, status_badge, usd, when, when_text, Done, PageResult, Viewer};
use crate::http::extract::RequestContext;
use crate::http::payments::{ConfirmBody, MarkFailedBody, MarkSentBody};
use crate::http::payouts::{scoped, ListQuery, ReasonBody};
use crate::http::session::{require_admin, require_finance, require_money_admin};
use crate::http::AppState;
use crate::workflow::payouts::{self as workflow, ApprovalCheck};
use crate::workflow::{member_view, payments};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/payouts", get(list).post(crate::http::console::queue::create))
        .route("/console/payouts/new", get(crate::http::console::queue::review))
        .route("/console/queue", get(crate::http::console::queue::queue))
        .route("/console/payouts/{payoutId}", get(story))
        .route("/console/payouts/{payoutId}/reveal", get(back_to_payout).post(reveal))
        .route("/console/payouts/{payoutId}/{action}", get(confirm_page).post(act))
}

/// Who may take an action, by SPEC §3 (the same checks as the JSON endpoints' extractors).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Admin, with two-factor when required.
    MoneyAdmin,
    Admin,
    Finance,
}

/// One action of a payout's page.
struct Step {
    slug: &'static str,
    /// The link on the payout page.
    link: &'static str,
    /// The confirmation page's button.
    yes: &'static str,
    /// SPEC §4's row it needs.
    action: Action,
    role: Role,
    danger: bool,
}

const STEPS: [Step; 8] = [
    Step { slug: "approve", link: "Approve", yes: "Yes, approve", action: Action::Approve { completes: false }, role: Role::MoneyAdmin, danger: false },
    Step { slug: "generate-instructions", link: "Generate instructions", yes: "Yes, generate instructions", action: Action::GenerateInstructions, role: Role::MoneyAdmin, danger: false },
    Step { slug: "mark-sent", link: "Mark sent", yes: "Yes, mark sent", action: Action::MarkSent, role: Role::Finance, danger: false },
    Step { slug: "confirm", link: "Confirm arrival", yes: "Yes, confirm arrival", action: Action::Confirm, role: Role::Finance, danger: false },
    Step { slug: "reissue", link: "Reissue", yes: "Yes, reissue", action: Action::Reissue, role: Role::Admin, danger: false },
    Step { slug: "mark-failed", link: "Mark failed", yes: "Yes, mark failed", action: Action::MarkFailed, role: Role::Finance, danger: true },
    Step { slug: "reject", link: "Reject", yes: "Yes, reject", action: Action::Reject, role: Role::Admin, danger: true },
    Step { slug: "cancel", link: "Cancel", yes: "Yes, cancel", action: Action::Cancel, role: Role::Admin, danger: true },
];

fn step(slug: &str) -> AppResult<&'static Step> {
    STEPS.iter().find(|s| s.slug == slug).ok_or_else(|| AppError::NotFound("There is no such page".into()))
}

fn allowed_role(state: &AppState, v: &Viewer, role: Role) -> AppResult<()> {
    match role {
        Role::MoneyAdmin => require_money_admin(state, &v.user),
        Role::Admin => require_admin(&v.user),
        Role::Finance => require_finance(&v.user),
    }
}

/// Whether the step is offered on the payout's page now: the state table, the role, and what
/// the step needs that the table does not say (instructions before sending; one generation).
fn offered(state: &AppState, v: &Viewer, p: &Payout, s: &Step) -> bool {
    let action = match s.action {
        // Offered when this approval is allowed at all; whether it completes does not matter.
        Action::Approve { .. } => Action::Approve { completes: false },
        a => a,
    };
    let needs = match s.action {
        Action::GenerateInstructions => !p.processing.has_instructions(),
        Action::MarkSent => p.processing.has_instructions(),
        _ => true,
    };
    transition(p.status, action).is_ok() && allowed_role(state, v, s.role).is_ok() && needs
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    status: Option<String>,
    offset: Option<String>,
}

async fn list(v: Viewer, State(state): State<AppState>, Query(q): Query<ListParams>) -> PageResult {
    let status = q.status.filter(|s| !s.is_empty());
    let query = ListQuery { status: status.clone(), offset: q.offset, limit: Some("50".into()), ..Default::default() };
    let filter = query.validate()?;
    let (offset, limit) = (filter.offset, filter.limit);
    let (payouts, total) = match scoped(&v.user, filter) {
        Some(f) => workflow::list(&state.ctx, &f).await?,
        None => (Vec::new(), 0),
    };
    let current = status.unwrap_or_default();
    let body = html! {
        h1 { "Payouts" }
        @if v.is_finance() {
            form.filters method="get" action="/console/payouts" {
                div.field {
                    label for="status" { "Status" }
                    select id="status" name="status" {
                        option value="" selected[current.is_empty()] { "Any status" }
                        @for s in ALL_STATUSES { option value=(s.as_str()) selected[current == s.as_str()] { (page::status_label(s)) } }
                    }
                }
                button.secondary type="submit" { "Show" }
            }
        } @else {
            p.lede { "Your payouts." }
        }
        section.card {
            @if payouts.is_empty() {
                p.muted { "No payouts." }
            } @else {
                (payout_table(&payouts, v.is_finance()))
                p.muted { "Showing " (offset + 1) "–" (offset + payouts.len() as i64) " of " (total) "." }
                @if offset + limit < total {
                    a.button.secondary href={ "/console/payouts?status=" (current) "&offset=" (offset + limit) } { "Next page" }
                }
            }
        }
    };
    page::ok(page::layout("Payouts", Some(&v), body))
}

/// Payouts as a table; the first column links each payout.
pub fn payout_table(payouts: &[Payout], finance: bool) -> Markup {
    html! {
        div.table-wrap {
            table.stack {
                thead { tr {
                    th scope="col" { "Payout" }
                    @if finance { th scope="col" { "Member" } }
                    th scope="col" { "Status" }
                    th.num scope="col" { "Amount" }
                    th scope="col" { "Method" }
                    th scope="col" { "Approvals" }
                    th scope="col" { "Created" }
                } }
                tbody {
                    @for p in payouts {
                        tr {
                            td data-label="Payout" { a href={ "/console/payouts/" (p.payout_id) } { (p.payout_id) } }
                            @if finance { td data-label="Member" { (p.member.name.as_deref().unwrap_or("—")) } }
                            td data-label="Status" { (status_badge(p.status)) }
                            td.num data-label="Amount" { (usd(&p.amount)) }
                            td data-label="Method" { (method_label(p.payment_method)) }
                            td data-label="Approvals" { (p.approval_workflow.current()) " of " (p.approval_workflow.required_approvals) }
                            td data-label="Created" { (day(p.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

pub fn method_label(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Ach => "ACH",
        PaymentMethod::Check => "Check",
        PaymentMethod::Wire => "Wire",
        PaymentMethod::Paypal => "PayPal",
    }
}

/// Where the money goes, masked: `checking ••••6789 (First Bank)` or the check's address.
fn destination(p: &Payout) -> Markup {
    let bank = p.bank_details.as_ref().map(crate::workflow::view::mask_bank);
    html! {
        @match (p.payment_method, bank) {
            (PaymentMethod::Ach, Some(b)) => {
                (b.account_type.as_deref().unwrap_or("account")) " " (masked(b.last4.as_deref().unwrap_or("????")))
                @if let Some(name) = &b.bank_name { " (" (name) ")" }
            },
            (PaymentMethod::Ach, None) => span.check-none { "No bank details yet" },
            (PaymentMethod::Check, _) => "Check to the member's primary address",
            (m, _) => (method_label(m)),
        }
    }
}

/// The trail action as a person reads it.
fn trail_label(action: &str, details: &Value) -> String {
    let text = match action {
        "created" => "Created",
        "approval_added" => "Approved (one of the approvals)",
        "approved" => "Approved (fully)",
        "rejected" => "Rejected",
        "cancelled" => "Cancelled",
        "bank_details_updated" => "Bank details entered",
        "bank_details_changed_approvals_cleared" => "Bank details changed; approvals cleared",
        "destination_changed" => "Destination changed; approvals and instructions cleared",
        "bank_details_decrypted" => {
            return match details.get("purpose").and_then(Value::as_str) {
                Some("console reveal") => "Bank details revealed to an admin".into(),
                Some(p) if p.starts_with("ach_prenote file") => "Bank details decrypted to build a prenote file".into(),
                Some(p) if p.starts_with("ach file") => "Bank details decrypted to build an ACH file".into(),
                Some(purpose) => format!("Bank details decrypted for {purpose}"),
                None => "Bank details decrypted".into(),
            }
        }
        "instructions_generated" => "Payment instructions generated",
        "added_to_payment_file" => "Put in a payment file",
        "prenote_sent" | "added_to_prenote_file" => "Prenote file created",
        "removed_from_payment_file" => "Released from a voided payment file",
        "payment_sent" => "Payment sent",
        "completed" => "Payment confirmed; completed",
        "payment_failed" => "Payment failed",
        "reissued" => "Reissued for fresh approval",
        "receipt_issued" => "Receipt downloaded",
        "membership_removed" => "Membership retired",
        other => return humanize(other),
    };
    text.into()
}

fn humanize(s: &str) -> String {
    let mut out = s.replace(['_', '-'], " ");
    if let Some(first) = out.get(0..1) {
        out.replace_range(0..1, &first.to_uppercase());
    }
    out
}

/// The few details worth a line under a timeline entry.
fn trail_detail(details: &Value) -> Option<String> {
    let text = |k: &str| details.get(k).and_then(Value::as_str).map(str::to_string);
    let mut parts = Vec::new();
    if let Some(r) = text("reason") {
        parts.push(format!("Reason: {r}"));
    }
    if let Some(c) = text("comment") {
        parts.push(format!("Comment: {c}"));
    }
    let money = |k: &str| details.get(k).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_f64().map(|f| f.to_string())));
    if let Some(n) = money("netAmount").and_then(|n| n.parse::<rust_decimal::Decimal>().ok()) {
        parts.push(format!("Net {}", crate::domain::money::Money::new(n).display_usd()));
    }
    if let Some(t) = text("trackingNumber") {
        parts.push(format!("Tracking {t}"));
    }
    if let Some(c) = text("returnCode") {
        parts.push(format!("Return code {c}"));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

async fn story(v: Viewer, State(state): State<AppState>, Path(payout_id): Path<String>, done: Query<Done>) -> PageResult {
    let p = workflow::visible(&state.ctx, &v.user.actor(), &payout_id).await?;
    let flash = Done::message(&done);
    if !v.is_finance() {
        return page::ok(page::page(&p.payout_id, Some(&v), flash, member_story(&p)));
    }
    let me = v.user.actor();
    let (preview, names) = tokio::try_join!(workflow::approval_preview(&state.ctx, &me, &p), workflow::actor_names(&state.ctx, &p))?;
    let name_of = |label: &str| names.get(label).cloned().unwrap_or_else(|| if label == "system" { "The service".into() } else { label.to_string() });
    let offered_steps: Vec<&Step> = STEPS
        .iter()
        .filter(|s| offered(&state, &v, &p, s))
        .filter(|s| s.slug != "approve" || preview.viewer_may_approve.is_ok())
        .collect();
    let approve_blocked = (p.status == PayoutStatus::PendingApproval && v.is_admin()).then(|| preview.viewer_may_approve.as_ref().err()).flatten();
    let can_reveal = p.payment_method == PaymentMethod::Ach
        && p.bank_details.is_some()
        && transition(p.status, Action::Reveal).is_ok()
        && require_money_admin(&state, &v.user).is_ok();
    let w = &p.approval_workflow;
    let calc = p.processing.calculation.as_ref();
    let file_id = p.processing.payment_file.as_ref().and_then(|f| f.get("fileId")).and_then(Value::as_str);
    let trail = &p.audit_trail;
    let body = html! {
        h1 { (p.payout_id) }
        p.lede { (status_badge(p.status)) " " (usd(&p.amount)) " to " (p.member.name.as_deref().unwrap_or("the member")) " by " (method_label(p.payment_method)) }
        section.card aria-labelledby="next-h" {
            h2 #next-h { "What can be done now" }
            @if offered_steps.is_empty() && !can_reveal {
                p.muted { (nothing_to_do(&p, &v)) }
            }
            @if let Some(why) = approve_blocked {
                p.warning { "You cannot approve this payout: " (why.to_string()) }
            }
            ul.actions {
                @for s in &offered_steps {
                    li { a.button.danger[s.danger].secondary[s.danger] href={ "/console/payouts/" (p.payout_id) "/" (s.slug) } { (s.link) } }
                }
                @if can_reveal {
                    li { (post_form(&format!("/console/payouts/{}/reveal", p.payout_id), &v.csrf, html! {
                        button.secondary type="submit" hx-boost="false" { "Reveal account number" }
                    })) }
                }
                @if p.processing.has_instructions() && v.is_admin() {
                    li { a.button.secondary href={ "/api/payouts/" (p.payout_id) "/instructions.pdf" } hx-boost="false" { "Instructions PDF" } }
                }
                @if p.status == PayoutStatus::Completed {
                    li { a.button.secondary href={ "/api/payouts/" (p.payout_id) "/receipt" } download hx-boost="false" { "Download receipt" } }
                }
            }
        }
        div.two {
            div {
                section.card aria-labelledby="details-h" {
                    h2 #details-h { "Details" }
                    dl.kvs {
                        (row("Status", Some("status"), html! { (page::status_label(p.status)) }))
                        (row("Member", Some("member"), html! { (p.member.name.as_deref().unwrap_or("—")) " <" (p.member.email.as_deref().unwrap_or("no email")) ">" }))
                        (row("Amount", Some("amount"), html! { (usd(&p.amount)) }))
                        (row("Method", None, html! { (method_label(p.payment_method)) " · " a href={ "/console/members/" (p.user_id) } { "member's page" } }))
                        (row("Destination", Some("destination"), destination(&p)))
                        (row("Queue position", None, html! { (p.queue_position) }))
                        (row("Created", None, html! { (when(p.created_at)) }))
                        @if let Some(c) = calc {
                            (row("Net to send", Some("net"), html! { (usd(&c.net_amount)) }))
                            (row("Withheld", None, html! { (usd(&c.withholding_amount)) @if let Some(r) = &c.withholding_reason { " — " (r) } }))
                        }
                        @if let Some(s) = &p.processing.sent_date { (row("Sent", None, html! { (when(Some(s.at))) })) }
                        @if let Some(s) = &p.processing.expected_arrival_date { (row("Expected", None, html! { (day(Some(s.at))) })) }
                        @if let Some(c) = p.completed_date { (row("Completed", None, html! { (when(Some(c))) })) }
                        @if let Some(id) = file_id { (row("Payment file", None, html! { a href={ "/console/files/" (id) } { "Open the file" } })) }
                        @if let Some(f) = &p.processing.failure { (row("Failure", None, html! { (f.reason) @if let Some(c) = &f.return_code { " (" (c) ")" } })) }
                    }
                }
                section.card aria-labelledby="approvals-h" {
                    h2 #approvals-h { "Approvals" }
                    p { (w.current()) " of " (w.required_approvals) " approvals from admins other than the creator." }
                    @if w.approvals.is_empty() {
                        p.muted { "No approvals yet." }
                    } @else {
                        ul #approvals {
                            @for (a, check) in w.approvals.iter().zip(preview.checks.iter()) {
                                li {
                                    strong { (name_of(&format!("admin:{}", a.admin_id))) }
                                    @if let Some(role) = &a.role { " (" (role) ")" }
                                    " · " (a.at.as_deref().map(when_text).unwrap_or_default()) " · "
                                    (approval_check(*check))
                                    @if let Some(c) = &a.comment { br; span.muted { "“" (c) "”" } }
                                }
                            }
                        }
                    }
                    @if let Some(r) = &w.rejection {
                        p.warning { "Rejected: " (r.reason) }
                    }
                }
            }
            section.card aria-labelledby="timeline-h" {
                h2 #timeline-h { "Timeline" }
                @if trail.is_intact() {
                    p.chain-ok { "✓ Audit chain verified (" (trail.entries.len()) " entries)" }
                } @else {
                    p.chain-bad role="alert" { "✗ The audit chain is broken: an entry was edited, removed or inserted. Tell security before acting." }
                }
                ol.timeline #timeline {
                    @for e in trail.entries.iter().rev() {
                        @let action = e.get("action").and_then(Value::as_str).unwrap_or("entry");
                        @let details = e.get("details").cloned().unwrap_or(Value::Null);
                        li {
                            span.what { (trail_label(action, &details)) }
                            div.meta {
                                (e.get("actor").and_then(Value::as_str).map(name_of).unwrap_or_else(|| "—".into()))
                                " · " (e.get("at").and_then(Value::as_str).map(when_text).unwrap_or_default())
                            }
                            @if let Some(d) = trail_detail(&details) { div.detail { (d) } }
                        }
                    }
                }
            }
        }
    };
    page::ok(page::page(&p.payout_id, Some(&v), flash, body))
}

fn nothing_to_do(p: &Payout, v: &Viewer) -> &'static str {
    match p.status {
        PayoutStatus::Completed => "Completed. Nothing left to do.",
        PayoutStatus::Rejected | PayoutStatus::Cancelled => "Closed. Nothing can change it now.",
        PayoutStatus::PendingApproval if !v.is_admin() => "Waiting for two admins to approve. Approving, rejecting and cancelling need a Super Admin or Manager.",
        PayoutStatus::Approved if !v.is_admin() && !p.processing.has_instructions() => {
            "Approved. An admin generates the payment instructions next; then it can be marked sent."
        }
        _ => "Nothing you can do on this payout right now.",
    }
}

fn approval_check(c: ApprovalCheck) -> Markup {
    html! {
        @match c {
            ApprovalCheck::Matches => span.check-ok { "matches the current destination" },
            ApprovalCheck::Changed => span.check-bad { "destination changed since; does not count" },
            ApprovalCheck::NoDestination => span.check-none { "given before there was a destination; will not count for payment" },
            ApprovalCheck::NothingToCompare => span.check-none { "no destination to compare yet" },
        }
    }
}

/// What a member sees of their own payout: the allow-listed view, no trail, no staff notes.
fn member_story(p: &Payout) -> Markup {
    let m = member_view::member_view(p);
    html! {
        h1 { (m.payout_id) }
        p.lede { (status_badge(m.status)) " " (usd(&m.amount)) " by " (method_label(m.payment_method)) }
        section.card {
            h2 { "Your payout" }
            dl.kvs {
                (row("Status", Some("status"), html! { (page::status_label(m.status)) }))
                (row("Amount", Some("amount"), html! { (usd(&m.amount)) }))
                (row("Approvals", None, html! { (m.current_approvals) " of " (m.required_approvals) }))
                @if let Some(b) = &m.bank_details {
                    (row("Paid to", Some("destination"), html! { (b.account_type.as_deref().unwrap_or("account")) " " (masked(b.last4.as_deref().unwrap_or("????"))) }))
                }
                @if let Some(c) = &m.calculation {
                    (row("You receive", Some("net"), html! { (usd(&c.net_amount)) }))
                }
                @if let Some(d) = m.sent_date { (row("Sent", None, html! { (day(Some(d))) })) }
                @if let Some(d) = m.expected_arrival_date { (row("Expected", None, html! { (day(Some(d))) })) }
                @if let Some(d) = m.completed_date { (row("Completed", None, html! { (day(Some(d))) })) }
            }
            @if m.status == PayoutStatus::Completed {
                p { a.button href={ "/api/payouts/" (m.payout_id) "/receipt" } download hx-boost="false" { "Download receipt" } }
            }
            p { a href="/console/me" { "Bank details and W-9" } }
        }
    }
}

/// The fields of each confirmation form, with today's date where a date is asked.
fn fields(slug: &str, state: &FormState, p: &Payout) -> Markup {
    match slug {
        "approve" => html! { (Field::new("comment", "Comment").hint("Kept with your approval.").textarea(state)) },
        "reject" | "cancel" => html! { (Field::new("reason", "Reason").required().hint("The member is not shown this; it goes in the trail and the notes.").textarea(state)) },
        "mark-sent" => {
            let file = p.processing.payment_file.as_ref().and_then(|f| f.get("fileId")).and_then(Value::as_str).map(str::to_string);
            let mut options: Vec<(&str, &str)> = vec![("", "No payment file")];
            if let Some(id) = &file {
                options.push((id.as_str(), "The payout's live payment file"));
            }
            html! {
                div.form-grid {
                    (Field::new("sentDate", "Sent date").kind("date").required().input(state))
                    (Field::new("expectedArrivalDate", "Expected arrival date").kind("date").required().input(state))
                }
                (Field::new("trackingNumber", "Tracking number").hint("The bank's transfer or trace reference, or the check's tracking number.").input(state))
                (Field::new("paymentFileId", "Payment file").select(state, &options))
                (Field::new("notes", "Notes").textarea(state))
            }
        }
        "confirm" => html! {
            (Field::new("completedDate", "Completed date").kind("date").required().input(state))
            (Field::new("confirmationNumber", "Confirmation number").input(state))
            (Field::new("notes", "Notes").textarea(state))
        },
        "mark-failed" => html! {
            (Field::new("reason", "Reason").required().textarea(state))
            (Field::new("returnCode", "Return code").hint("An ACH return code such as R03, if the bank gave one.").input(state))
        },
        _ => html! {},
    }
}

fn defaults(slug: &str, p: &Payout) -> FormState {
    let today = chrono::Utc::now().date_naive().to_string();
    match slug {
        "mark-sent" => {
            let file = p.processing.payment_file.as_ref().and_then(|f| f.get("fileId")).and_then(Value::as_str).unwrap_or_default().to_string();
            FormState::with(&[("sentDate", today.clone()), ("expectedArrivalDate", today), ("paymentFileId", file)])
        }
        "confirm" => FormState::with(&[("completedDate", today)]),
        _ => FormState::default(),
    }
}

/// What the confirmation page says will happen.
fn consequence(slug: &str, p: &Payout) -> &'static str {
    match slug {
        "approve" if p.approval_workflow.current() + 1 >= p.approval_workflow.required_approvals => {
            "Yours is the last approval needed: the payout becomes approved and the member is told."
        }
        "approve" => "Your approval is recorded for the destination shown. Another admin must approve too.",
        "reject" => "Rejecting is final: the payout cannot be approved or paid afterwards.",
        "cancel" => "Cancelling is final, and frees the reward for the next member in the queue.",
        "generate-instructions" => "The bank details are decrypted to compute the payment (this is recorded). The net amount and withholding are fixed now.",
        "mark-sent" => "Record this only once the money has actually left the bank. The member is emailed.",
        "confirm" => "The payout completes, the 1099-MISC is written and the receipt becomes available.",
        "mark-failed" => "The payout returns as failed; it can be reissued after the details are fixed.",
        "reissue" => "The payout goes back to pending approval, with every approval cleared.",
        _ => "",
    }
}

fn confirm_markup(v: &Viewer, p: &Payout, s: &Step, state: &FormState) -> Markup {
    html! {
        p { a href={ "/console/payouts/" (p.payout_id) } { "← Back to " (p.payout_id) } }
        h1 { (s.link) " " (p.payout_id) "?" }
        (state.alert())
        section.card.confirm-box {
            dl.kvs {
                (row("Member", None, html! { (p.member.name.as_deref().unwrap_or("—")) " <" (p.member.email.as_deref().unwrap_or("no email")) ">" }))
                (row("Amount", None, html! { (usd(&p.amount)) }))
                @if let Some(c) = &p.processing.calculation { (row("Net to send", None, html! { (usd(&c.net_amount)) })) }
                (row("Destination", None, destination(p)))
                (row("Status", None, html! { (page::status_label(p.status)) }))
            }
            p { (consequence(s.slug, p)) }
            (post_form(&format!("/console/payouts/{}/{}", p.payout_id, s.slug), &v.csrf, html! {
                (fields(s.slug, state, p))
                ul.actions {
                    li { button.danger[s.danger] type="submit" { (s.yes) } }
                    li { a.button.secondary href={ "/console/payouts/" (p.payout_id) } { "No, go back" } }
                }
            }))
        }
    }
}

async fn confirm_page(v: Viewer, State(state): State<AppState>, Path((payout_id, slug)): Path<(String, String)>) -> PageResult {
    let s = step(&slug)?;
    let p = workflow::visible(&state.ctx, &v.user.actor(), &payout_id).await?;
    allowed_role(&state, &v, s.role)?;
    let title = format!("{} {}", s.link, p.payout_id);
    page::ok(page::layout(&title, Some(&v), confirm_markup(&v, &p, s, &defaults(&slug, &p))))
}

/// The console asks for days (UTC); the API takes moments. Today reads as now, any other day as
/// its last moment, so a step recorded the same day is never before the step it follows. Anything that is not a day goes to the API's validator as typed.
fn day_as_moment(body: &mut Value, keys: &[&str]) {
    let now = chrono::Utc::now();
    for key in keys {
        let Some(text) = body.get(*key).and_then(Value::as_str) else { continue };
        let Ok(day) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") else { continue };
        let end = day.and_hms_opt(23, 59, 59).map(|t| t.and_utc()).unwrap_or(now);
        let moment = if day == now.date_naive() { now } else { end };
        body[*key] = Value::String(moment.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
}

fn dated<T: serde::de::DeserializeOwned + Default>(form: &ConsoleForm, keys: &[&str]) -> T {
    let mut body = form.json(&[]);
    day_as_moment(&mut body, keys);
    serde_json::from_value(body).unwrap_or_default()
}

/// Runs the step through its use case, with the body read and validated as the API does.
async fn run(state: &AppState, v: &Viewer, origin: &crate::db::audit::Origin, payout_id: &str, slug: &str, form: &ConsoleForm) -> AppResult<()> {
    let ctx = &state.ctx;
    let by = v.user.actor();
    match slug {
        "approve" => {
            let mut f = crate::http::body::Fields::default();
            let comment = f.opt_string("comment", form.json(&[]).get("comment"), 2000);
            f.finish()?;
            workflow::approve(ctx, &by, origin, payout_id, comment).await.map(|_| ())
        }
        "reject" => workflow::reject(ctx, &by, origin, payout_id, form.body::<ReasonBody>(&[]).validate()?).await.map(|_| ()),
        "cancel" => workflow::cancel(ctx, &by, origin, payout_id, form.body::<ReasonBody>(&[]).validate()?).await.map(|_| ()),
        "generate-instructions" => payments::generate_instructions(ctx, &by, origin, payout_id).await.map(|_| ()),
        "mark-sent" => payments::mark_sent(ctx, &by, origin, payout_id, dated::<MarkSentBody>(form, &["sentDate", "expectedArrivalDate"]).validate()?).await.map(|_| ()),
        "confirm" => payments::confirm(ctx, &by, origin, payout_id, dated::<ConfirmBody>(form, &["completedDate"]).validate()?).await.map(|_| ()),
        "mark-failed" => {
            let (reason, code) = form.body::<MarkFailedBody>(&[]).validate()?;
            payments::mark_failed(ctx, &by, origin, payout_id, reason, code).await.map(|_| ())
        }
        "reissue" => payments::reissue(ctx, &by, origin, payout_id).await.map(|_| ()),
        _ => Err(AppError::NotFound("There is no such page".into())),
    }
}

async fn act(v: Viewer, rc: RequestContext, State(state): State<AppState>, Path((payout_id, slug)): Path<(String, String)>, form: ConsoleForm) -> PageResult {
    let s = step(&slug)?;
    allowed_role(&state, &v, s.role)?;
    let origin = rc.origin(&v.user);
    match run(&state, &v, &origin, &payout_id, &slug, &form).await {
        Ok(()) => page::see_other(&format!("/console/payouts/{payout_id}?done={slug}")),
        Err(err @ (AppError::PayoutNotFound | AppError::NotFound(_) | AppError::Forbidden(_) | AppError::Unauthorized | AppError::InvalidSession)) => Err(err.into()),
        Err(err) => {
            // The page again, as typed, with the API's message and each field's error beside it.
            let p = workflow::visible(&state.ctx, &v.user.actor(), &payout_id).await?;
            let fs = form.state(Some(&err));
            let status = fs.status.unwrap_or(axum::http::StatusCode::BAD_REQUEST);
            let title = format!("{} {}", s.link, p.payout_id);
            Ok(page::respond(status, page::layout(&title, Some(&v), confirm_markup(&v, &p, s, &fs))))
        }
    }
}

/// A reload of the reveal: back to the payout (revealing again is another audited click).
async fn back_to_payout(Path(payout_id): Path<String>) -> PageResult {
    let safe: String = payout_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    page::see_other(&format!("/console/payouts/{safe}"))
}

/// The full account number, for an admin's eyes only: audited, never cached, not a redirect
/// (so the number is never in a URL or the history).
async fn reveal(v: Viewer, rc: RequestContext, State(state): State<AppState>, Path(payout_id): Path<String>, form: ConsoleForm) -> PageResult {
    let _ = form;
    require_money_admin(&state, &v.user)?;
    let (p, clear) = payments::reveal_bank_details(&state.ctx, &v.user.actor(), &rc.origin(&v.user), &payout_id).await?;
    let text = |k: &str| clear.get(k).and_then(Value::as_str).unwrap_or("—").to_string();
    let body = html! {
        p { a href={ "/console/payouts/" (p.payout_id) } { "← Back to " (p.payout_id) } }
        h1 { "Bank details of " (p.payout_id) }
        p.warning { "This view was recorded in the payout's audit trail under your name. Do not copy these numbers anywhere but the bank's own system." }
        section.card {
            dl.kvs {
                (row("Account holder", Some("account-holder"), html! { (text("accountHolderName")) }))
                (row("Routing number", Some("routing-number"), html! { span.mono { (text("routingNumber")) } }))
                (row("Account number", Some("account-number"), html! { span.mono { (text("accountNumber")) } }))
                (row("Account type", None, html! { (text("accountType")) }))
                (row("Bank", None, html! { (text("bankName")) }))
            }
        }
    };
    page::ok(page::layout("Bank details", Some(&v), body))
}
