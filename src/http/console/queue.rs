//! The queue with each member's blockers, and creating payouts from its head (SPEC §5): a
//! review page that lists exactly who would be paid, then the create use case.

use axum::extract::{Query, State};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::AppError;
use crate::http::console::form::{post_form, ConsoleForm, Field, FormState};
use crate::http::console::page::{self, day, usd, PageResult, Viewer};
use crate::http::extract::RequestContext;
use crate::http::payouts::CreatePayoutsBody;
use crate::http::session::{require_admin, require_finance};
use crate::http::AppState;
use crate::workflow::eligibility::{self, QueueMember};
use crate::workflow::payouts as workflow;

const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct QueueParams {
    offset: Option<i64>,
}

pub async fn queue(v: Viewer, State(state): State<AppState>, Query(q): Query<QueueParams>) -> PageResult {
    require_finance(&v.user)?;
    let offset = q.offset.unwrap_or(0).max(0);
    let page_of = eligibility::members(&state.ctx, PAGE, offset).await?;
    let available = page_of.available_payouts;
    let body = html! {
        h1 { "Queue" }
        p.lede { (page_of.total) " members in the queue, " (page_of.selectable_count) " selectable now; " (available) " payouts can be created." }
        @if v.is_admin() {
            section.card aria-labelledby="create-h" {
                h2 #create-h { "Create payouts from the head of the queue" }
                @if available > 0 {
                    form method="get" action="/console/payouts/new" {
                        (Field::new("count", "How many payouts").kind("number").required().numeric()
                            .hint("The first selectable members in queue order are paid; nobody can be skipped.")
                            .input(&FormState::with(&[("count", "1".into())])))
                        button type="submit" { "Review payouts to create" }
                    }
                } @else {
                    p.muted { "No payout can be created now: revenue has not funded another reward, or nobody is selectable." }
                }
            }
        }
        section.card {
            div.table-wrap {
                table.stack {
                    thead { tr {
                        th.num scope="col" { "#" }
                        th scope="col" { "Member" }
                        th scope="col" { "Member since" }
                        th.num scope="col" { "Paid in" }
                        th scope="col" { "W-9" }
                        th scope="col" { "Selectable" }
                    } }
                    tbody { @for m in &page_of.members { (member_row(m)) } }
                }
            }
            @if offset + PAGE < page_of.total {
                a.button.secondary href={ "/console/queue?offset=" (offset + PAGE) } { "Next page" }
            }
        }
    };
    page::ok(page::layout("Queue", Some(&v), body))
}

fn member_row(m: &QueueMember) -> Markup {
    html! {
        tr {
            td.num data-label="#" { (m.queue_position) }
            td data-label="Member" {
                (m.full_name.as_deref().unwrap_or("—")) br;
                span.muted { (m.email.as_deref().unwrap_or("")) }
            }
            td data-label="Member since" { (day(m.tenure_start_date)) }
            td.num data-label="Paid in" { (m.lifetime_payment_total.as_ref().map(usd).unwrap_or_else(|| "—".into())) }
            td data-label="W-9" { @if m.has_w9 { "On file" } @else { span.muted { "None" } } }
            td data-label="Selectable" {
                @if m.selectable { span.check-ok { "Yes" } } @else {
                    span.check-bad { "No" }
                    @for b in &m.blockers { br; span.muted { (b.message()) } }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ReviewParams {
    count: Option<String>,
}

/// The first `count` selectable members, as they would be paid.
async fn head(state: &AppState, count: usize) -> Result<Vec<QueueMember>, AppError> {
    let page = eligibility::members(&state.ctx, 100, 0).await?;
    Ok(page.members.into_iter().filter(|m| m.selectable).take(count).collect())
}

pub async fn review(v: Viewer, State(state): State<AppState>, Query(q): Query<ReviewParams>) -> PageResult {
    require_admin(&v.user)?;
    let count = match q.count.as_deref().map(str::trim).map(str::parse::<usize>) {
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => {
            return Err(AppError::validation(vec![crate::domain::validation::FieldError {
                path: "count".into(),
                message: "must be a whole number from 1 to 100".into(),
            }])
            .into())
        }
    };
    let members = head(&state, count).await?;
    review_page(&v, &members, &FormState::with(&[("paymentMethod", "ach".into())]), count)
}

fn review_page(v: &Viewer, members: &[QueueMember], state: &FormState, asked: usize) -> PageResult {
    let status = state.status.unwrap_or(axum::http::StatusCode::OK);
    let body = html! {
        p { a href="/console/queue" { "← Back to the queue" } }
        h1 { "Create payouts" }
        (state.alert())
        @if members.len() < asked {
            p.warning { "Only " (members.len()) " members are selectable now, not " (asked) "." }
        }
        section.card.confirm-box {
            @if members.is_empty() {
                p { "Nobody is selectable now." }
            } @else {
                p { "These members, in queue order, would each get a payout of the reward amount. Each payout then needs two approvals from admins other than you." }
                ol { @for m in members { li { (m.full_name.as_deref().unwrap_or("—")) " <" (m.email.as_deref().unwrap_or("")) "> · position " (m.queue_position) } } }
                (post_form("/console/payouts", &v.csrf, html! {
                    @for m in members { input type="hidden" name="userIds" value=(m.user_id); }
                    (Field::new("paymentMethod", "Payment method").required().select(state, &[("ach", "ACH (bank transfer)"), ("check", "Check")]))
                    (Field::new("notes", "Notes").hint("Kept as the first internal note on each payout.").textarea(state))
                    ul.actions {
                        li { button type="submit" { "Create payouts" } }
                        li { a.button.secondary href="/console/queue" { "No, go back" } }
                    }
                }))
            }
        }
    };
    Ok(page::respond(status, page::layout("Create payouts", Some(v), body)))
}

pub async fn create(v: Viewer, rc: RequestContext, State(state): State<AppState>, form: ConsoleForm) -> PageResult {
    require_admin(&v.user)?;
    let result = async {
        let request = form.body::<CreatePayoutsBody>(&["userIds"]).validate()?;
        workflow::create(&state.ctx, &v.user.actor(), &rc.origin(&v.user), request).await
    }
    .await;
    match result {
        Ok(created) if created.len() == 1 => page::see_other(&format!("/console/payouts/{}?done=created", created[0].payout_id)),
        Ok(_) => page::see_other("/console/payouts?status=pending_approval"),
        Err(err @ (AppError::Forbidden(_) | AppError::Unauthorized | AppError::InvalidSession)) => Err(err.into()),
        Err(err) => {
            let asked = form.fields.iter().filter(|(k, _)| k == "userIds").count().max(1);
            let members = head(&state, asked).await?;
            review_page(&v, &members, &form.state(Some(&err)), asked)
        }
    }
}
