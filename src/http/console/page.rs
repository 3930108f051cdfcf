//! The console's frame: who is looking (`Viewer`), the page layout, the error pages, and the
//! small formatting helpers every page shares.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::domain::money::Money;
use crate::domain::status::PayoutStatus;
use crate::error::AppError;
use crate::http::console::{assets, form};
use crate::http::AppState;

/// The signed-in person looking at a page, with their form token.
pub struct Viewer {
    pub user: CurrentUser,
    /// Goes into every form as `_csrf` (see `form::token`).
    pub csrf: String,
}

impl Viewer {
    pub fn is_finance(&self) -> bool {
        self.user.is_finance_manager()
    }

    pub fn is_admin(&self) -> bool {
        self.user.is_admin()
    }

    /// "Super Admin", "Manager", "Support" or "Member".
    pub fn role_label(&self) -> &'static str {
        self.user.admin.as_ref().map(|a| a.role.as_str()).unwrap_or("Member")
    }

    pub fn name(&self) -> &str {
        self.user.name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(&self.user.email)
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await.map_err(|err| ConsoleError { err, dev: state.dev_logins.is_some() })?;
        let csrf = form::token(state.sessions.secret(), &user.session_id);
        Ok(Viewer { user, csrf })
    }
}

/// An error as a page: the API's message, with the status the API would give.
pub struct ConsoleError {
    pub err: AppError,
    /// Dev mode: the sign-in page links to `/console/dev-login`.
    pub dev: bool,
}

impl From<AppError> for ConsoleError {
    fn from(err: AppError) -> Self {
        ConsoleError { err, dev: false }
    }
}

impl From<sqlx::Error> for ConsoleError {
    fn from(err: sqlx::Error) -> Self {
        ConsoleError { err: err.into(), dev: false }
    }
}

pub type PageResult = Result<Response, ConsoleError>;

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = status_of(&self.err);
        if let AppError::Internal(e) = &self.err {
            tracing::error!(error.message = %e, error.chain = ?e, "console request failed");
        }
        let markup = match status {
            StatusCode::UNAUTHORIZED => layout(
                "Sign in",
                None,
                html! {
                    h1 { "Sign in" }
                    p { "You are not signed in, or your session has ended. Sign in to the Tenure app, then open this page again." }
                    @if self.dev {
                        p { a href="/console/dev-login" { "Sign in as a demo user" } " (dev mode)." }
                    }
                },
            ),
            StatusCode::NOT_FOUND => layout(
                "Not found",
                None,
                html! {
                    h1 { "Not found" }
                    p { (self.err.to_string()) "." }
                    p { a href="/console" { "Back to the console" } }
                },
            ),
            _ => layout(
                "Not possible",
                None,
                html! {
                    h1 { "That did not work" }
                    div.alert role="alert" { p { (self.err.to_string()) } p.code { "Code: " code { (self.err.code().as_str()) } } }
                    p { a href="/console" { "Back to the console" } }
                },
            ),
        };
        respond(status, markup)
    }
}

/// The HTTP status the API gives for `err`.
pub fn status_of(err: &AppError) -> StatusCode {
    StatusCode::from_u16(err.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An HTML answer; never cached (the pages show money and personal data).
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut res = (status, markup.into_string()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub fn ok(markup: Markup) -> PageResult {
    Ok(respond(StatusCode::OK, markup))
}

/// 303 to `to` (after a form POST, so a reload does not post again).
pub fn see_other(to: &str) -> PageResult {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let value = HeaderValue::from_str(to).map_err(|e| AppError::internal(anyhow::anyhow!("bad redirect: {e}")))?;
    res.headers_mut().insert(header::LOCATION, value);
    Ok(res)
}

/// Unknown console paths.
pub async fn not_found(state: axum::extract::State<AppState>) -> ConsoleError {
    ConsoleError { err: AppError::NotFound("There is no such page".into()), dev: state.dev_logins.is_some() }
}

/// `?done=<what>` after a redirect: one of a fixed set of messages (nothing from the URL is shown).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

impl Done {
    pub fn message(q: &Query<Done>) -> Option<&'static str> {
        Some(match q.done.as_deref()? {
            "created" => "Payout created. It now needs two approvals from admins other than its creator.",
            "approve" => "Your approval is recorded.",
            "reject" => "The payout was rejected.",
            "cancel" => "The payout was cancelled.",
            "generate-instructions" => "Payment instructions generated. The payout can now go into a payment file or be sent.",
            "mark-sent" => "Recorded as sent. The member was told when to expect it.",
            "confirm" => "Payment confirmed: the payout is completed and the receipt is ready.",
            "mark-failed" => "Recorded as failed. Reissue it once the member has fixed the details.",
            "reissue" => "Reissued: it needs two fresh approvals.",
            "bank" => "Bank details saved. They are stored encrypted; only the last four digits are shown.",
            "w9" => "W-9 saved.",
            "w9-unchanged" => "This W-9 was already on file; nothing changed.",
            "file" => "Payment file created. Download it and upload it to the bank.",
            "void" => "The file was voided; its payouts are free to go into a new file.",
            _ => return None,
        })
    }
}

/// The page frame: head, the skip link, the top bar with the menu for the viewer's role, the flash.
pub fn layout(title: &str, viewer: Option<&Viewer>, content: Markup) -> Markup {
    page(title, viewer, None, content)
}

pub fn page(title: &str, viewer: Option<&Viewer>, flash: Option<&str>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=(HTMX_CONFIG);
                meta name="referrer" content="same-origin";
                title { (title) " · Tenure payouts" }
                link rel="icon" href=(assets::url(assets::ICON)) type="image/svg+xml";
                link rel="stylesheet" href=(assets::url(assets::CSS));
                script src=(assets::url(assets::HTMX)) defer {}
            }
            body hx-boost="true" {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console" { "Tenure " span { "payouts" } }
                    @if let Some(v) = viewer {
                        nav aria-label="Main" {
                            ul {
                                @for (href, text, page_title) in MENU {
                                    @if v.is_finance() || matches!(*href, "/console/payouts" | "/console/me") {
                                        li { a href=(href) aria-current=[(title == *page_title).then_some("page")] { (text) } }
                                    }
                                }
                            }
                        }
                        p.who { (v.name()) " · " (v.role_label()) }
                    }
                }
                main #main {
                    @if let Some(text) = flash {
                        div.flash role="status" { (text) }
                    }
                    (content)
                }
            }
        }
    }
}

/// The menu: (link, text, the title of the page it opens).
const MENU: &[(&str, &str, &str)] = &[
    ("/console", "Overview", "Overview"),
    ("/console/queue", "Queue", "Queue"),
    ("/console/payouts", "Payouts", "Payouts"),
    ("/console/files", "Files", "Payment files"),
    ("/console/me", "My payout", "My payout"),
];

/// htmx settings: no injected styles (the CSP forbids them), no eval, no history snapshots of
/// finance pages in localStorage, and error pages swapped in like any other page.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,"historyCacheSize":0,"refreshOnHistoryMiss":true,"responseHandling":[{"code":"204","swap":false},{"code":"...","swap":true}]}"#;

/// How a status reads on a page.
pub fn status_label(s: PayoutStatus) -> &'static str {
    match s {
        PayoutStatus::PendingApproval => "Pending approval",
        PayoutStatus::Approved => "Approved",
        PayoutStatus::Rejected => "Rejected",
        PayoutStatus::PaymentSent => "Payment sent",
        PayoutStatus::Completed => "Completed",
        PayoutStatus::PaymentFailed => "Payment failed",
        PayoutStatus::Cancelled => "Cancelled",
    }
}

pub fn status_badge(s: PayoutStatus) -> Markup {
    html! { span class={ "badge badge-" (s.as_str()) } { (status_label(s)) } }
}

pub fn usd(m: &Money) -> String {
    m.display_usd()
}

/// `25 Nov 2026, 14:03 UTC`.
pub fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%-d %b %Y, %H:%M UTC").to_string()).unwrap_or_else(|| "—".into())
}

/// `25 Nov 2026`.
pub fn day(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%-d %b %Y").to_string()).unwrap_or_else(|| "—".into())
}

/// An ISO timestamp string as stored in the trail, shown like `when`.
pub fn when_text(iso: &str) -> String {
    DateTime::parse_from_rfc3339(iso).map(|t| when(Some(t.with_timezone(&Utc)))).unwrap_or_else(|_| iso.to_string())
}

/// A key/value row of a `<dl>`.
pub fn row(label: &str, id: Option<&str>, value: Markup) -> Markup {
    html! {
        div.kv {
            dt { (label) }
            @if let Some(id) = id { dd id=(id) { (value) } } @else { dd { (value) } }
        }
    }
}

/// A non-breaking bullet run, for masked numbers.
pub fn masked(last4: &str) -> Markup {
    html! { (PreEscaped("&bull;&bull;&bull;&bull;")) (last4) }
}
