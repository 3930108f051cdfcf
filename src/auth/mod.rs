//! Trusting the main app's Better Auth sessions: token → session row → user → admin role, in one
//! database round trip, offered to handlers as extractors (`CurrentUser`, `AdminUser`, `FinanceUser`).

pub mod token;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use secrecy::ExposeSecret;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::app::AppState;
use crate::config::{SessionColumns, Settings};
use crate::error::AppError;
use token::{TokenError, TokenRules};

/// The admin roles of `enum_admin_role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AdminRole {
    #[serde(rename = "Super Admin")]
    SuperAdmin,
    Manager,
    Support,
}

impl AdminRole {
    pub fn parse(role: &str) -> Option<Self> {
        match role {
            "Super Admin" => Some(AdminRole::SuperAdmin),
            "Manager" => Some(AdminRole::Manager),
            "Support" => Some(AdminRole::Support),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Admin {
    pub id: i32,
    pub role: AdminRole,
}

/// The signed-in caller.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentUser {
    pub user_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    #[serde(skip)]
    pub session_id: String,
    pub admin: Option<Admin>,
}

impl CurrentUser {
    /// SPEC §3: Super Admin and Manager.
    pub fn is_admin(&self) -> bool {
        matches!(self.admin.as_ref().map(|a| a.role), Some(AdminRole::SuperAdmin | AdminRole::Manager))
    }

    /// SPEC §3: any admin role.
    pub fn is_finance_manager(&self) -> bool {
        self.admin.is_some()
    }

    /// How audit entries name this caller: `admin:<id>` or `user:<uuid>`.
    pub fn actor(&self) -> String {
        match &self.admin {
            Some(a) => format!("admin:{}", a.id),
            None => format!("user:{}", self.user_id),
        }
    }
}

/// Validates sessions with the settings it was built from.
pub struct SessionValidator {
    secret: Vec<u8>,
    cookie_prefix: String,
    require_signed_bearer: bool,
    lookup_sql: String,
    refresh_sql: String,
    refresh: bool,
    update_age_ms: i64,
    expires_in_ms: i64,
}

/// One row: the session, its user and the user's admin role (if any).
#[derive(sqlx::FromRow)]
struct SessionRow {
    session_id: String,
    user_id: Uuid,
    email: String,
    name: Option<String>,
    expires_at_ms: i64,
    now_ms: i64,
    admin_id: Option<i32>,
    admin_role: Option<String>,
}

impl SessionValidator {
    pub fn new(settings: &Settings) -> Self {
        // A stock install keeps "userId" as text; the cast keeps the users primary key usable.
        let (expires, user_id, updated) = match settings.auth.columns {
            SessionColumns::Snake => ("expires_at", "user_id", "updated_at"),
            SessionColumns::Camel => ("\"expiresAt\"", "\"userId\"::uuid", "\"updatedAt\""),
        };
        // EXTRACT(EPOCH …) reads a `timestamp` as UTC and a `timestamptz` as the instant it is,
        // so both column types compare correctly. An admin row counts only while active; with two
        // rows differing only in case, the strongest role wins (enum order).
        let lookup_sql = format!(
            "SELECT s.id AS session_id, u.id AS user_id, u.email, u.name,
                    (EXTRACT(EPOCH FROM s.{expires}) * 1000)::bigint AS expires_at_ms,
                    (EXTRACT(EPOCH FROM now()) * 1000)::bigint AS now_ms,
                    a.id AS admin_id, a.role::text AS admin_role
             FROM session s
             JOIN users u ON u.id = s.{user_id}
             LEFT JOIN LATERAL (
                 SELECT id, role FROM admin
                 WHERE lower(email) = lower(u.email) AND lower(coalesce(status, 'active')) = 'active'
                 ORDER BY role, id LIMIT 1
             ) a ON true
             WHERE s.token = $1"
        );
        // sqlx connects with TimeZone=UTC, so to_timestamp() lands right in either column type.
        let refresh_sql = format!(
            "UPDATE session SET {expires} = to_timestamp($2::float8 / 1000), {updated} = now()
             WHERE token = $1 AND {expires} < to_timestamp($2::float8 / 1000)"
        );
        SessionValidator {
            secret: settings
                .auth
                .better_auth_secret
                .as_ref()
                .map(|s| s.expose_secret().as_bytes().to_vec())
                .unwrap_or_default(),
            cookie_prefix: settings.auth.cookie_prefix.clone(),
            require_signed_bearer: settings.auth.require_signed_bearer,
            lookup_sql,
            refresh_sql,
            refresh: settings.auth.session_refresh,
            update_age_ms: settings.auth.session_update_age.as_millis() as i64,
            expires_in_ms: settings.auth.session_expires_in.as_millis() as i64,
        }
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The caller of a request, or why not.
    pub async fn authenticate(&self, db: &PgPool, headers: &axum::http::HeaderMap) -> Result<CurrentUser, AppError> {
        let rules = TokenRules {
            secret: &self.secret,
            cookie_prefix: &self.cookie_prefix,
            require_signed_bearer: self.require_signed_bearer,
        };
        let token = token::extract(headers, &rules).map_err(|e| match e {
            TokenError::Missing => AppError::Unauthorized,
            TokenError::Invalid => AppError::InvalidSession,
        })?;
        let row: Option<SessionRow> = sqlx::query_as(&self.lookup_sql).bind(&token).fetch_optional(db).await?;
        let row = row.ok_or(AppError::InvalidSession)?;
        if row.expires_at_ms <= row.now_ms {
            return Err(AppError::InvalidSession);
        }
        if self.refresh && row.expires_at_ms - row.now_ms < self.update_age_ms {
            let new_expiry_ms = row.now_ms + self.expires_in_ms;
            // A failed refresh must not fail the request: the session is still valid now.
            if let Err(e) = sqlx::query(&self.refresh_sql).bind(&token).bind(new_expiry_ms).execute(db).await {
                tracing::warn!(error.message = %e, "session refresh failed");
            }
        }
        let admin = match (row.admin_id, row.admin_role.as_deref().and_then(AdminRole::parse)) {
            (Some(id), Some(role)) => Some(Admin { id, role }),
            _ => None,
        };
        Ok(CurrentUser { user_id: row.user_id, email: row.email, name: row.name, session_id: row.session_id, admin })
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let user = state.sessions.authenticate(&state.db, &parts.headers).await?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// A caller with `isAdmin` (Super Admin or Manager); others get 403.
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if !user.is_admin() {
            return Err(AppError::Forbidden("This action needs an admin (Super Admin or Manager)".into()));
        }
        Ok(AdminUser(user))
    }
}

/// A caller with `isFinanceManager` (any admin role); others get 403.
pub struct FinanceUser(pub CurrentUser);

impl FromRequestParts<AppState> for FinanceUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if !user.is_finance_manager() {
            return Err(AppError::Forbidden("This action needs a finance role (any admin)".into()));
        }
        Ok(FinanceUser(user))
    }
}
