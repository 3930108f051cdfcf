//! Console forms: the per-session form token, the form body extractor that checks it, and the
//! field helpers that put the API's own error messages next to their inputs.
//!
//! The token is `base64url(HMAC-SHA256(k, "console-form:v1:" || session id))` with
//! `k = HMAC-SHA256(BETTER_AUTH_SECRET, "payout-service console csrf")`: stateless, the same for
//! the whole session, new at each sign-in, and never equal to a cookie signature. It is checked
//! on top of the Origin check (`http::csrf`), which every console POST passes first.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use maud::{html, Markup};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::CurrentUser;
use crate::domain::validation::FieldError;
use crate::error::AppError;
use crate::http::console::page::ConsoleError;
use crate::http::{AppState, BODY_LIMIT_BYTES};

/// The form token of a session.
pub fn token(secret: &[u8], session_id: &str) -> String {
    let mut k = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    k.update(b"payout-service console csrf");
    let key = k.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(b"console-form:v1:");
    mac.update(session_id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A submitted console form from a signed-in person whose token matched.
pub struct ConsoleForm {
    pub user: CurrentUser,
    pub fields: Vec<(String, String)>,
}

impl FromRequest<AppState> for ConsoleForm {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let dev = state.dev_logins.is_some();
        let (mut parts, body) = req.into_parts();
        let user = CurrentUser::from_request_parts(&mut parts, state).await.map_err(|err| ConsoleError { err, dev })?;
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(AppError::UnsupportedMediaType("Send the form as application/x-www-form-urlencoded".into()).into());
        }
        let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES).await.map_err(|_| ConsoleError::from(AppError::PayloadTooLarge))?;
        let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let expected = token(state.sessions.secret(), &user.session_id);
        let sent = fields.iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(AppError::refused(
                crate::error::ErrorCode::CsrfRejected,
                "This form has expired or did not come from this console; reload the page and submit it again",
                None,
            )
            .into());
        }
        Ok(ConsoleForm { user, fields: fields.into_iter().filter(|(k, _)| k != "_csrf").collect() })
    }
}

impl ConsoleForm {
    /// The form as the API's JSON body: one string per field (empty fields left out), and an
    /// array for each name in `lists`.
    pub fn json(&self, lists: &[&str]) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.fields {
            if lists.contains(&k.as_str()) {
                let entry = map.entry(k.clone()).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(Value::String(v.clone()));
                }
            } else if !v.trim().is_empty() {
                map.insert(k.clone(), Value::String(v.clone()));
            }
        }
        Value::Object(map)
    }

    /// The form read into an API body type (whose `validate` then checks every field).
    pub fn body<T: DeserializeOwned + Default>(&self, lists: &[&str]) -> T {
        serde_json::from_value(self.json(lists)).unwrap_or_default()
    }

    /// The values as typed, to fill the form again after an error.
    pub fn state(&self, err: Option<&AppError>) -> FormState {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in &self.fields {
            values.entry(k.clone()).or_default().push(v.clone());
        }
        FormState::failed(values, err)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// What a form shows: the values to fill in, and the errors of the last attempt.
#[derive(Default)]
pub struct FormState {
    pub values: HashMap<String, Vec<String>>,
    pub errors: Vec<FieldError>,
    /// The API's message for the whole attempt.
    pub message: Option<String>,
    /// The status to answer with (400, 409, 422…), when the attempt failed.
    pub status: Option<StatusCode>,
}

impl FormState {
    pub fn with(defaults: &[(&str, String)]) -> Self {
        FormState { values: defaults.iter().map(|(k, v)| (k.to_string(), vec![v.clone()])).collect(), ..Default::default() }
    }

    fn failed(values: HashMap<String, Vec<String>>, err: Option<&AppError>) -> Self {
        let mut state = FormState { values, ..Default::default() };
        if let Some(err) = err {
            state.status = Some(crate::http::console::page::status_of(err));
            state.message = Some(err.to_string());
            if let AppError::Validation { details, .. } = err {
                state.errors = details.clone();
            }
        }
        state
    }

    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).and_then(|v| v.last()).map(String::as_str).unwrap_or("")
    }

    pub fn has(&self, name: &str, value: &str) -> bool {
        self.values.get(name).is_some_and(|v| v.iter().any(|x| x == value))
    }

    /// The message for `name` (or for `name[i]`).
    pub fn error(&self, name: &str) -> Option<String> {
        let mine: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| e.path == name || e.path.strip_prefix(name).is_some_and(|rest| rest.starts_with('[')))
            .map(|e| e.message.as_str())
            .collect();
        (!mine.is_empty()).then(|| mine.join("; "))
    }

    /// The banner above a failed form.
    pub fn alert(&self) -> Markup {
        html! {
            @if let Some(message) = &self.message {
                div.alert role="alert" {
                    p { strong { "Not saved: " } (message) }
                    @let unplaced: Vec<&FieldError> = self.errors.iter().filter(|e| e.path == "body").collect();
                    @for e in unplaced { p { (e.message) } }
                }
            }
        }
    }
}

/// `<form method=post>` with the token.
pub fn post_form(action: &str, csrf: &str, content: Markup) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="_csrf" value=(csrf);
            (content)
        }
    }
}

/// The error paragraph under a field, and the attributes that tie it to the input.
fn error_line(name: &str, error: &Option<String>) -> Markup {
    html! {
        @if let Some(message) = error {
            p.field-error id={ (name) "-error" } { (message) }
        }
    }
}

pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub required: bool,
    pub hint: Option<&'a str>,
    pub autocomplete: Option<&'a str>,
    pub inputmode: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Self {
        Field { name, label, kind: "text", required: false, hint: None, autocomplete: Some("off"), inputmode: None }
    }
    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }
    pub fn autocomplete(mut self, a: &'a str) -> Self {
        self.autocomplete = Some(a);
        self
    }
    pub fn numeric(mut self) -> Self {
        self.inputmode = Some("numeric");
        self
    }

    /// The label, and "optional" beside it (outside it, so the field's name is the label alone).
    fn label_row(&self) -> Markup {
        html! {
            div.label-row {
                label for=(self.name) { (self.label) }
                @if !self.required { span.optional { "optional" } }
            }
        }
    }

    fn described_by(&self, error: &Option<String>) -> Option<String> {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        if error.is_some() {
            ids.push(format!("{}-error", self.name));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    pub fn input(&self, state: &FormState) -> Markup {
        let error = state.error(self.name);
        html! {
            div.field {
                (self.label_row())
                @if let Some(hint) = self.hint { p.hint id={ (self.name) "-hint" } { (hint) } }
                input id=(self.name) name=(self.name) type=(self.kind) value=(state.value(self.name))
                    required[self.required] autocomplete=[self.autocomplete] inputmode=[self.inputmode]
                    aria-invalid=[error.as_ref().map(|_| "true")] aria-describedby=[self.described_by(&error)];
                (error_line(self.name, &error))
            }
        }
    }

    pub fn textarea(&self, state: &FormState) -> Markup {
        let error = state.error(self.name);
        html! {
            div.field {
                (self.label_row())
                @if let Some(hint) = self.hint { p.hint id={ (self.name) "-hint" } { (hint) } }
                textarea id=(self.name) name=(self.name) rows="3" required[self.required]
                    aria-invalid=[error.as_ref().map(|_| "true")] aria-describedby=[self.described_by(&error)] { (state.value(self.name)) }
                (error_line(self.name, &error))
            }
        }
    }

    /// A `<select>` of (value, label) options.
    pub fn select(&self, state: &FormState, options: &[(&str, &str)]) -> Markup {
        let error = state.error(self.name);
        let current = state.value(self.name);
        html! {
            div.field {
                (self.label_row())
                @if let Some(hint) = self.hint { p.hint id={ (self.name) "-hint" } { (hint) } }
                select id=(self.name) name=(self.name) required[self.required]
                    aria-invalid=[error.as_ref().map(|_| "true")] aria-describedby=[self.described_by(&error)] {
                    @for (value, label) in options {
                        option value=(value) selected[*value == current] { (label) }
                    }
                }
                (error_line(self.name, &error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_per_session_and_per_secret() {
        let a = token(b"secret-one", "session-1");
        assert_eq!(a, token(b"secret-one", "session-1"));
        assert_ne!(a, token(b"secret-one", "session-2"));
        assert_ne!(a, token(b"secret-two", "session-1"));
        assert_eq!(a.len(), 43, "base64url of 32 bytes");
    }

    #[test]
    fn form_fields_become_the_api_body() {
        let form = ConsoleForm {
            user: CurrentUser {
                user_id: uuid::Uuid::nil(),
                email: "a@b.c".into(),
                name: None,
                session_id: "s".into(),
                admin: None,
                two_factor_enabled: false,
            },
            fields: vec![
                ("reason".into(), "Member asked".into()),
                ("notes".into(), "  ".into()),
                ("payoutIds".into(), "PO-1".into()),
                ("payoutIds".into(), "PO-2".into()),
            ],
        };
        assert_eq!(form.json(&["payoutIds"]), serde_json::json!({ "reason": "Member asked", "payoutIds": ["PO-1", "PO-2"] }));
        let state = form.state(Some(&AppError::validation(vec![FieldError { path: "payoutIds[1]".into(), message: "bad".into() }])));
        assert_eq!(state.error("payoutIds").as_deref(), Some("bad"));
        assert_eq!(state.status, Some(StatusCode::BAD_REQUEST));
        assert!(state.has("payoutIds", "PO-2"));
    }
}
