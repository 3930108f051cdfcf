//! Payment files in the console (SPEC §14): create ACH, prenote and Positive Pay files from the
//! payouts that can go in one, open a file, download it (the audited API download), void it.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use crate::db::payouts::ListFilter;
use crate::domain::payout::{PaymentMethod, Payout};
use crate::domain::status::PayoutStatus;
use crate::error::{AppError, AppResult};
use crate::http::console::form::{post_form, ConsoleForm, Field, FormState};
use crate::http::console::page::{self, row, usd, when_text, Done, PageResult, Viewer};
use crate::http::extract::RequestContext;
use crate::http::payment_files::{file_id, AchFileBody, PayoutIdsBody};
use crate::http::payouts::ReasonBody;
use crate::http::session::{require_admin, require_finance, require_money_admin};
use crate::http::AppState;
use crate::workflow::payment_files::{self as workflow, PaymentFile};
use crate::workflow::payouts;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/files", get(list))
        .route("/console/files/ach", get(back_to_files).post(create_ach))
        .route("/console/files/ach-prenote", get(back_to_files).post(create_prenote))
        .route("/console/files/positive-pay", get(back_to_files).post(create_positive_pay))
        .route("/console/files/{fileId}", get(show))
        .route("/console/files/{fileId}/void", get(void_page).post(void))
}

/// A reload of a create form's answer: the files page.
async fn back_to_files() -> PageResult {
    page::see_other("/console/files")
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "ach" => "ACH credits",
        "ach_prenote" => "ACH prenotes",
        "positive_pay" => "Positive Pay",
        _ => "File",
    }
}

/// Payouts each kind of file can take now.
struct Candidates {
    ach: Vec<Payout>,
    prenote: Vec<Payout>,
    checks: Vec<Payout>,
}

async fn candidates(state: &AppState) -> AppResult<Candidates> {
    let of = |status| ListFilter { status: Some(status), limit: 100, ..Default::default() };
    let (approved_filter, pending_filter) = (of(PayoutStatus::Approved), of(PayoutStatus::PendingApproval));
    let (approved, pending) = tokio::try_join!(payouts::list(&state.ctx, &approved_filter), payouts::list(&state.ctx, &pending_filter))?;
    let free = |p: &&Payout| p.processing.payment_file.is_none();
    let ready = |p: &&Payout| p.processing.has_instructions();
    Ok(Candidates {
        ach: approved.0.iter().filter(|p| p.payment_method == PaymentMethod::Ach).filter(free).filter(ready).cloned().collect(),
        prenote: approved.0.iter().chain(pending.0.iter()).filter(|p| p.payment_method == PaymentMethod::Ach && p.bank_details.is_some()).cloned().collect(),
        checks: approved.0.iter().filter(|p| p.payment_method == PaymentMethod::Check).filter(free).filter(ready).cloned().collect(),
    })
}

fn checkboxes(payouts: &[Payout], state: &FormState, legend: &str) -> Markup {
    html! {
        fieldset.checks {
            legend { (legend) }
            @for p in payouts {
                @let id = format!("pick-{}-{}", legend.len(), p.payout_id);
                label for=(id) {
                    input type="checkbox" id=(id) name="payoutIds" value=(p.payout_id) checked[state.has("payoutIds", &p.payout_id)];
                    span { (p.payout_id) " " (p.member.name.as_deref().unwrap_or("")) " · " (usd(&p.amount)) }
                }
            }
            @if let Some(e) = state.error("payoutIds") { p.field-error id="payoutIds-error" { (e) } }
        }
    }
}

/// Which form a failed attempt belongs to, so only that one shows the error.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ach,
    Prenote,
    PositivePay,
}

async fn list(v: Viewer, State(state): State<AppState>) -> PageResult {
    list_page(&v, &state, None).await
}

async fn list_page(v: &Viewer, state: &AppState, failed: Option<(Kind, FormState)>) -> PageResult {
    require_finance(&v.user)?;
    let ((files, total), c) = tokio::try_join!(workflow::list(&state.ctx, 50, 0), candidates(state))?;
    let empty = FormState::default();
    let state_of = |k: Kind| failed.as_ref().filter(|(fk, _)| *fk == k).map(|(_, s)| s).unwrap_or(&empty);
    let status = failed.as_ref().and_then(|(_, s)| s.status).unwrap_or(axum::http::StatusCode::OK);
    let body = html! {
        h1 { "Payment files" }
        p.lede { "Files for the bank's upload portal. Each payout can be in one live file; voiding a file frees its payouts." }
        @if v.is_admin() {
            div.grid {
                section.card aria-labelledby="ach-h" {
                    h2 #ach-h { "Create ACH file" }
                    (state_of(Kind::Ach).alert())
                    @if c.ach.is_empty() { p.muted { "No approved ACH payout with instructions is waiting for a file." } } @else {
                        (post_form("/console/files/ach", &v.csrf, html! {
                            (checkboxes(&c.ach, state_of(Kind::Ach), "ACH payouts"))
                            (Field::new("effectiveDate", "Effective date").kind("date").hint("A banking day after today; empty means the next one.").input(state_of(Kind::Ach)))
                            button type="submit" { "Create ACH file" }
                        }))
                    }
                }
                section.card aria-labelledby="prenote-h" {
                    h2 #prenote-h { "Create prenote file" }
                    (state_of(Kind::Prenote).alert())
                    @if c.prenote.is_empty() { p.muted { "No ACH payout with bank details to test." } } @else {
                        (post_form("/console/files/ach-prenote", &v.csrf, html! {
                            (checkboxes(&c.prenote, state_of(Kind::Prenote), "Accounts to test"))
                            button.secondary type="submit" { "Create prenote file" }
                        }))
                    }
                }
                section.card aria-labelledby="pp-h" {
                    h2 #pp-h { "Create Positive Pay file" }
                    (state_of(Kind::PositivePay).alert())
                    @if c.checks.is_empty() { p.muted { "No approved check payout with instructions is waiting." } } @else {
                        (post_form("/console/files/positive-pay", &v.csrf, html! {
                            (checkboxes(&c.checks, state_of(Kind::PositivePay), "Checks"))
                            button type="submit" { "Create Positive Pay file" }
                        }))
                    }
                }
            }
        }
        section.card aria-labelledby="files-h" {
            h2 #files-h { "Files" " " span.muted { "(" (total) ")" } }
            @if files.is_empty() { p.muted { "No files yet." } } @else {
                div.table-wrap { table.stack {
                    thead { tr { th scope="col" { "File" } th scope="col" { "Kind" } th scope="col" { "Status" } th.num scope="col" { "Entries" } th.num scope="col" { "Total" } th scope="col" { "Created" } } }
                    tbody { @for f in &files { tr {
                        td data-label="File" { a href={ "/console/files/" (f.id) } { (f.file_name) } }
                        td data-label="Kind" { (kind_label(&f.kind)) }
                        td data-label="Status" { @if f.status == "void" { span.check-bad { "Void" } } @else { "Ready" } }
                        td.num data-label="Entries" { (f.entry_count) }
                        td.num data-label="Total" { (usd(&f.total_amount)) }
                        td data-label="Created" { (when_text(&f.created_at)) }
                    } } }
                } }
            }
        }
    };
    Ok(page::respond(status, page::layout("Payment files", Some(v), body)))
}

async fn created(v: &Viewer, state: &AppState, kind: Kind, form: &ConsoleForm, result: AppResult<PaymentFile>) -> PageResult {
    match result {
        Ok(file) => page::see_other(&format!("/console/files/{}?done=file", file.id)),
        Err(err @ (AppError::Forbidden(_) | AppError::Unauthorized | AppError::InvalidSession)) => Err(err.into()),
        Err(err) => list_page(v, state, Some((kind, form.state(Some(&err))))).await,
    }
}

async fn create_ach(v: Viewer, rc: RequestContext, State(state): State<AppState>, form: ConsoleForm) -> PageResult {
    require_money_admin(&state, &v.user)?;
    let result = async {
        let (ids, date) = form.body::<AchFileBody>(&["payoutIds"]).validate()?;
        workflow::create_ach(&state.ctx, &v.user.actor(), &rc.origin(&v.user), ids, date, false).await
    }
    .await;
    created(&v, &state, Kind::Ach, &form, result).await
}

async fn create_prenote(v: Viewer, rc: RequestContext, State(state): State<AppState>, form: ConsoleForm) -> PageResult {
    require_admin(&v.user)?;
    let result = async {
        let ids = form.body::<PayoutIdsBody>(&["payoutIds"]).validate()?;
        workflow::create_ach(&state.ctx, &v.user.actor(), &rc.origin(&v.user), ids, None, true).await
    }
    .await;
    created(&v, &state, Kind::Prenote, &form, result).await
}

async fn create_positive_pay(v: Viewer, rc: RequestContext, State(state): State<AppState>, form: ConsoleForm) -> PageResult {
    require_money_admin(&state, &v.user)?;
    let result = async {
        let ids = form.body::<PayoutIdsBody>(&["payoutIds"]).validate()?;
        workflow::create_positive_pay(&state.ctx, &v.user.actor(), &rc.origin(&v.user), ids).await
    }
    .await;
    created(&v, &state, Kind::PositivePay, &form, result).await
}

fn file_summary(f: &PaymentFile) -> Markup {
    html! {
        dl.kvs {
            (row("Name", Some("file-name"), html! { span.mono { (f.file_name) } }))
            (row("Kind", None, html! { (kind_label(&f.kind)) }))
            (row("Status", Some("file-status"), html! { @if f.status == "void" { "Void" } @else { "Ready" } }))
            (row("Entries", None, html! { (f.entry_count) }))
            (row("Total", None, html! { (usd(&f.total_amount)) }))
            @if let Some(d) = f.effective_date { (row("Effective date", None, html! { (d.format("%-d %b %Y").to_string()) })) }
            (row("Created", None, html! { (when_text(&f.created_at)) " by " (f.created_by_email.as_deref().unwrap_or("—")) }))
            (row("SHA-256", None, html! { span.mono { (f.sha256) } }))
            @if let Some(r) = &f.void_reason { (row("Void reason", None, html! { (r) })) }
        }
    }
}

async fn show(v: Viewer, State(state): State<AppState>, Path(id): Path<String>, done: axum::extract::Query<Done>) -> PageResult {
    require_finance(&v.user)?;
    let f = workflow::get(&state.ctx, file_id(&id).map_err(|_| AppError::NotFound("Payment file not found".into()))?).await?;
    let body = html! {
        p { a href="/console/files" { "← All files" } }
        h1 { "Payment file" }
        section.card {
            (file_summary(&f))
            @if v.is_admin() {
                ul.actions {
                    li { a.button href={ "/api/payment-files/" (f.id) "/download" } download=(f.file_name) hx-boost="false" { "Download" } }
                    @if f.status != "void" { li { a.button.danger.secondary href={ "/console/files/" (f.id) "/void" } { "Void" } } }
                }
                p.muted { "Each download is recorded in the audit log." }
            }
        }
        section.card {
            h2 { "Payouts in this file" }
            ul { @for id in &f.payout_ids { li { a href={ "/console/payouts/" (id) } { (id) } } } }
        }
    };
    page::ok(page::page("Payment file", Some(&v), Done::message(&done), body))
}

fn void_markup(v: &Viewer, f: &PaymentFile, state: &FormState) -> Markup {
    html! {
        p { a href={ "/console/files/" (f.id) } { "← Back to the file" } }
        h1 { "Void " (f.file_name) "?" }
        (state.alert())
        section.card.confirm-box {
            (file_summary(f))
            p { "Void a file only if it was not uploaded, or the bank rejected it. Its payouts become free to go into a new file; issued checks are voided." }
            (post_form(&format!("/console/files/{}/void", f.id), &v.csrf, html! {
                (Field::new("reason", "Reason").required().textarea(state))
                ul.actions {
                    li { button.danger type="submit" { "Yes, void file" } }
                    li { a.button.secondary href={ "/console/files/" (f.id) } { "No, go back" } }
                }
            }))
        }
    }
}

async fn void_page(v: Viewer, State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    require_admin(&v.user)?;
    let f = workflow::get(&state.ctx, file_id(&id).map_err(|_| AppError::NotFound("Payment file not found".into()))?).await?;
    page::ok(page::layout("Void file", Some(&v), void_markup(&v, &f, &FormState::default())))
}

async fn void(v: Viewer, rc: RequestContext, State(state): State<AppState>, Path(id): Path<String>, form: ConsoleForm) -> PageResult {
    require_admin(&v.user)?;
    let id = file_id(&id).map_err(|_| AppError::NotFound("Payment file not found".into()))?;
    let result = async {
        let reason = form.body::<ReasonBody>(&[]).validate()?;
        workflow::void(&state.ctx, &v.user.actor(), &rc.origin(&v.user), id, reason).await
    }
    .await;
    match result {
        Ok(f) => page::see_other(&format!("/console/files/{}?done=void", f.id)),
        Err(err @ (AppError::NotFound(_) | AppError::Forbidden(_))) => Err(err.into()),
        Err(err) => {
            let f = workflow::get(&state.ctx, id).await?;
            let fs = form.state(Some(&err));
            Ok(page::respond(fs.status.unwrap_or(axum::http::StatusCode::BAD_REQUEST), page::layout("Void file", Some(&v), void_markup(&v, &f, &fs))))
        }
    }
}

