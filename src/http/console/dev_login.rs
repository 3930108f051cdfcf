//! `/console/dev-login` (dev mode only, SPEC §15): the demo users, each a one-click sign-in
//! that sets the same Better Auth cookie the main app would. The route is merged into the
//! router only when `AppState::dev_logins` is set, which only `payout-service dev` does.

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use crate::error::AppError;
use crate::http::console::page::{self, ConsoleError};
use crate::http::{AppState, BODY_LIMIT_BYTES};

/// A demo person one can sign in as.
#[derive(Clone, Debug)]
pub struct DevLogin {
    pub email: String,
    pub name: String,
    /// The admin role, or none for a member.
    pub role: Option<String>,
    /// The signed session cookie value.
    pub cookie_value: String,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/console/dev-login", get(list).post(sign_in))
}

fn logins(state: &AppState) -> Result<&[DevLogin], ConsoleError> {
    state.dev_logins.as_deref().ok_or_else(|| ConsoleError { err: AppError::NotFound("There is no such page".into()), dev: false })
}

/// `?as=<email>`: the page with only that person's button (the links dev mode prints).
#[derive(Debug, Default, serde::Deserialize)]
struct As {
    #[serde(rename = "as")]
    who: Option<String>,
}

async fn list(State(state): State<AppState>, Query(q): Query<As>) -> Result<Response, ConsoleError> {
    let all = logins(&state)?;
    let picked: Vec<DevLogin> = all.iter().filter(|p| q.who.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(&p.email))).cloned().collect();
    let people: &[DevLogin] = if picked.is_empty() { all } else { &picked };
    let button = |p: &DevLogin| match &p.role {
        Some(role) => format!("Sign in as {} ({role})", p.name),
        None => format!("Sign in as {} ({})", p.name, p.email),
    };
    // No session yet, so no form token: the Origin check guards this POST.
    let form = |p: &DevLogin| {
        html! {
            li { form method="post" action="/console/dev-login" {
                input type="hidden" name="email" value=(p.email);
                button type="submit" { (button(p)) }
            } }
        }
    };
    let markup = page::layout(
        "Demo sign-in",
        None,
        html! {
            h1 { "Demo sign-in" }
            p.lede { "Dev mode only: pick a demo person. Outside dev mode this page does not exist; people arrive signed in from the Tenure app." }
            @if people.iter().any(|p| p.role.is_some()) {
                section.card {
                    h2 { "Finance team" }
                    ul.people { @for p in people.iter().filter(|p| p.role.is_some()) { (form(p)) } }
                }
            }
            @if people.iter().any(|p| p.role.is_none()) {
                section.card {
                    h2 { "Members" }
                    ul.people { @for p in people.iter().filter(|p| p.role.is_none()) { (form(p)) } }
                }
            }
        },
    );
    page::ok(markup)
}

async fn sign_in(State(state): State<AppState>, req: Request) -> Result<Response, ConsoleError> {
    let people = logins(&state)?;
    let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT_BYTES).await.map_err(|_| ConsoleError::from(AppError::PayloadTooLarge))?;
    let email = form_urlencoded::parse(&bytes).find(|(k, _)| k == "email").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let person = people.iter().find(|p| p.email == email).ok_or_else(|| ConsoleError::from(AppError::NotFound("No demo user with that email".into())))?;
    let cookie = format!(
        "{}.session_token={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800",
        state.sessions.cookie_prefix(),
        person.cookie_value
    );
    let to = if person.role.is_some() { "/console" } else { "/console/me" };
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(header::LOCATION, HeaderValue::from_static(to));
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| AppError::internal(anyhow::anyhow!("cookie: {e}")))?);
    Ok(res)
}
