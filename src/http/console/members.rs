//! A member's page (SPEC §15): their payout status, the bank-details and W-9 forms, and the
//! receipt once paid. `/console/me` for anyone; `/console/members/{userId}` for finance roles
//! (admins may submit the forms for the member, Support only reads). The forms call the same
//! validators and use cases as `POST /api/members/{userId}/bank-info` and `/tax-info`.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use uuid::Uuid;

use crate::domain::payout::{PaymentMethod, Payout};
use crate::domain::status::PayoutStatus;
use crate::error::AppError;
use crate::http::console::form::{post_form, ConsoleForm, Field, FormState};
use crate::http::console::page::{self, day, masked, row, status_badge, usd, Done, PageResult, Viewer};
use crate::http::console::payouts::method_label;
use crate::http::extract::RequestContext;
use crate::http::members::{may_see_member, may_submit_for, BankInfoBody, TaxInfoBody};
use crate::http::AppState;
use crate::workflow::{member_details, payouts};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/me", get(me))
        .route("/console/members/{userId}", get(member))
        .route("/console/members/{userId}/bank-info", get(back_to_member).post(save_bank))
        .route("/console/members/{userId}/tax-info", get(back_to_member).post(save_w9))
}

/// A reload of a form's answer (the address bar holds the POST's URL after an error): the page.
async fn back_to_member(Path(raw): Path<String>) -> PageResult {
    page::see_other(&format!("/console/members/{}", member_id(&raw)?))
}

/// Which form a failed attempt belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Bank,
    W9,
}

async fn me(v: Viewer, State(state): State<AppState>, done: Query<Done>) -> PageResult {
    let id = v.user.user_id;
    render(&v, &state, id, Done::message(&done), None).await
}

fn member_id(raw: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound("Member not found".into()))
}

async fn member(v: Viewer, State(state): State<AppState>, Path(raw): Path<String>, done: Query<Done>) -> PageResult {
    let id = member_id(&raw)?;
    may_see_member(&v.user, id)?;
    render(&v, &state, id, Done::message(&done), None).await
}

async fn render(v: &Viewer, state: &AppState, member: Uuid, flash: Option<&str>, failed: Option<(Which, FormState)>) -> PageResult {
    let ctx = &state.ctx;
    let (rows, has_w9) = tokio::try_join!(payouts::of_member(ctx, member), async { Ok(crate::db::tax_forms::has_w9(&state.db, member).await?) })?;
    let removal = payouts::membership_removal_date(ctx, &rows);
    let open = rows.iter().find(|p| p.status.is_open());
    let current = open.or_else(|| rows.first());
    let own = member == v.user.user_id;
    let may_submit = may_submit_for(&v.user, member).is_ok();
    let title = if own { "My payout".to_string() } else { format!("Member {}", current.and_then(|p| p.member.name.clone()).unwrap_or_else(|| member.to_string())) };
    let empty = FormState::default();
    let state_of = |w: Which| failed.as_ref().filter(|(fw, _)| *fw == w).map(|(_, s)| s).unwrap_or(&empty);
    let status = failed.as_ref().and_then(|(_, s)| s.status).unwrap_or(axum::http::StatusCode::OK);
    let action = |what: &str| format!("/console/members/{member}/{what}");
    let body = html! {
        h1 { (title) }
        section.card aria-labelledby="status-h" {
            h2 #status-h { "Status" }
            @match current {
                None => p { "No payout yet. When revenue funds the next reward and you are at the head of the queue, it appears here." },
                Some(p) => (summary(p, own || v.is_finance())),
            }
            @if let Some(d) = removal { p { "Membership retires on " (day(Some(d))) ", after the completed payout." } }
        }
        @if let Some(p) = open.filter(|_| may_submit) {
            @if p.payment_method == PaymentMethod::Ach && matches!(p.status, PayoutStatus::PendingApproval | PayoutStatus::Approved | PayoutStatus::PaymentFailed) {
                section.card aria-labelledby="bank-h" {
                    h2 #bank-h { "Bank details" }
                    @if p.approval_workflow.current() > 0 || p.status == PayoutStatus::Approved {
                        p.warning { "This payout already has approvals. New bank details clear them: two admins must approve again." }
                    }
                    (state_of(Which::Bank).alert())
                    (post_form(&action("bank-info"), &v.csrf, html! {
                        div.form-grid {
                            (Field::new("accountHolderName", "Account holder name").required().autocomplete("name").input(state_of(Which::Bank)))
                            (Field::new("bankName", "Bank name").input(state_of(Which::Bank)))
                            (Field::new("routingNumber", "Routing number").required().numeric().hint("9 digits, from the bottom left of a check.").input(state_of(Which::Bank)))
                            (Field::new("accountNumber", "Account number").required().numeric().hint("4 to 17 digits.").input(state_of(Which::Bank)))
                            (Field::new("accountType", "Account type").required().select(state_of(Which::Bank), &[("checking", "Checking"), ("savings", "Savings")]))
                        }
                        p.muted { "Stored encrypted. After saving, only the last four digits are ever shown." }
                        button type="submit" { "Save bank details" }
                    }))
                }
            }
        }
        @if may_submit {
            section.card aria-labelledby="w9-h" {
                h2 #w9-h { "W-9" }
                @if has_w9 { p { span.check-ok { "A W-9 is on file." } " Submit a new one only if your details changed." } }
                @else { p { "Without a W-9, backup withholding is taken from the payout. Submit one before the payout is approved." } }
                (state_of(Which::W9).alert())
                (post_form(&action("tax-info"), &v.csrf, html! {
                    div.form-grid {
                        (Field::new("legalName", "Legal name").required().autocomplete("name").input(state_of(Which::W9)))
                        (Field::new("tin", "TIN").required().hint("Social Security or Employer Identification Number, 9 digits.").input(state_of(Which::W9)))
                        (Field::new("tinType", "TIN type").required().select(state_of(Which::W9), &[("SSN", "SSN"), ("EIN", "EIN")]))
                        (Field::new("addressLine1", "Address line 1").required().autocomplete("address-line1").input(state_of(Which::W9)))
                        (Field::new("addressLine2", "Address line 2").autocomplete("address-line2").input(state_of(Which::W9)))
                        (Field::new("city", "City").required().autocomplete("address-level2").input(state_of(Which::W9)))
                        (Field::new("state", "State").required().hint("Two letters, e.g. TX.").autocomplete("address-level1").input(state_of(Which::W9)))
                        (Field::new("postalCode", "ZIP code").required().autocomplete("postal-code").input(state_of(Which::W9)))
                    }
                    button type="submit" { "Save W-9" }
                }))
            }
        }
        @if rows.len() > 1 {
            section.card {
                h2 { "History" }
                (crate::http::console::payouts::payout_table(&rows, false))
            }
        }
    };
    Ok(page::respond(status, page::page(&title, Some(v), flash, body)))
}

fn summary(p: &Payout, may_open: bool) -> Markup {
    let bank = p.bank_details.as_ref().map(crate::workflow::view::mask_bank);
    html! {
        dl.kvs {
            (row("Payout", None, html! { @if may_open { a href={ "/console/payouts/" (p.payout_id) } { (p.payout_id) } } @else { (p.payout_id) } }))
            (row("Status", Some("member-status"), status_badge(p.status)))
            (row("Amount", None, html! { (usd(&p.amount)) }))
            (row("Method", None, html! { (method_label(p.payment_method)) }))
            @if let Some(b) = bank { (row("Bank account", Some("bank-on-file"), html! { (b.account_type.as_deref().unwrap_or("account")) " " (masked(b.last4.as_deref().unwrap_or("????"))) })) }
            (row("Approvals", None, html! { (p.approval_workflow.current()) " of " (p.approval_workflow.required_approvals) }))
            @if let Some(d) = p.completed_date { (row("Completed", None, html! { (day(Some(d))) })) }
        }
        @if p.status == PayoutStatus::Completed {
            p { a.button href={ "/api/payouts/" (p.payout_id) "/receipt" } download hx-boost="false" { "Download receipt" } }
        }
    }
}

async fn submitted(v: &Viewer, state: &AppState, member: Uuid, which: Which, form: &ConsoleForm, result: Result<&'static str, AppError>) -> PageResult {
    let base = if member == v.user.user_id { "/console/me".to_string() } else { format!("/console/members/{member}") };
    match result {
        Ok(done) => page::see_other(&format!("{base}?done={done}")),
        Err(err @ (AppError::NotFound(_) | AppError::Forbidden(_))) => Err(err.into()),
        Err(err) => render(v, state, member, None, Some((which, form.state(Some(&err))))).await,
    }
}

async fn save_bank(v: Viewer, rc: RequestContext, State(state): State<AppState>, Path(raw): Path<String>, form: ConsoleForm) -> PageResult {
    let member = member_id(&raw)?;
    may_submit_for(&v.user, member)?;
    let result = async {
        let details = form.body::<BankInfoBody>(&[]).validate()?;
        member_details::save_bank_details(&state.ctx, &v.user.actor(), &rc.origin(&v.user), member, details).await.map(|_| "bank")
    }
    .await;
    submitted(&v, &state, member, Which::Bank, &form, result).await
}

async fn save_w9(v: Viewer, rc: RequestContext, State(state): State<AppState>, Path(raw): Path<String>, form: ConsoleForm) -> PageResult {
    let member = member_id(&raw)?;
    may_submit_for(&v.user, member)?;
    let result = async {
        let w9 = form.body::<TaxInfoBody>(&[]).validate()?;
        let saved = member_details::save_w9(&state.ctx, &v.user.actor(), &rc.origin(&v.user), member, w9).await?;
        Ok(if saved.unchanged { "w9-unchanged" } else { "w9" })
    }
    .await;
    submitted(&v, &state, member, Which::W9, &form, result).await
}
