//! Trusting the main app's Better Auth sessions: token → session row → user → admin role, in one
//! database round trip, offered to handlers as extractors (`CurrentUser`, `AdminUser`, `FinanceUser`).

pub mod token;

use secrecy::ExposeSecret;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Settings;
use crate::db::sessions::SessionQueries;
use crate::domain::change::Actor;
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
    /// As the main app's `enum_admin_role` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::SuperAdmin => "Super Admin",
            AdminRole::Manager => "Manager",
            AdminRole::Support => "Support",
        }
    }

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
    /// `users.two_factor_enabled`.
    #[serde(skip)]
    pub two_factor_enabled: bool,
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

    /// The caller as the use cases know them (audit entries name them `admin:<id>` or `user:<uuid>`).
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            admin_id: self.admin.as_ref().map(|a| a.id),
            email: Some(self.email.clone()),
            name: self.name.clone(),
            role: self.admin.as_ref().map(|a| a.role.as_str().to_string()),
        }
    }
}

/// Validates sessions with the settings it was built from.
pub struct SessionValidator {
    secret: Vec<u8>,
    cookie_prefix: String,
    require_signed_bearer: bool,
    queries: SessionQueries,
    require_verified_email: bool,
    refresh: bool,
    update_age_ms: i64,
    expires_in_ms: i64,
}

impl SessionValidator {
    pub fn new(settings: &Settings) -> Self {
        SessionValidator {
            secret: settings
                .auth
                .better_auth_secret
                .as_ref()
                .map(|s| s.expose_secret().as_bytes().to_vec())
                .unwrap_or_default(),
            cookie_prefix: settings.auth.cookie_prefix.clone(),
            require_signed_bearer: settings.auth.require_signed_bearer,
            queries: SessionQueries::new(settings.auth.columns),
            require_verified_email: settings.auth.admin_require_verified_email,
            refresh: settings.auth.session_refresh,
            update_age_ms: settings.auth.session_update_age.as_millis() as i64,
            expires_in_ms: settings.auth.session_expires_in.as_millis() as i64,
        }
    }

    /// The session cookie's prefix (`{prefix}.session_token`).
    pub fn cookie_prefix(&self) -> &str {
        &self.cookie_prefix
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The caller of a request, or why not.
    pub async fn authenticate(&self, db: &PgPool, lane: &crate::db::lane::Lane, headers: &axum::http::HeaderMap) -> Result<CurrentUser, AppError> {
        let rules = TokenRules {
            secret: &self.secret,
            cookie_prefix: &self.cookie_prefix,
            require_signed_bearer: self.require_signed_bearer,
        };
        let token = token::extract(headers, &rules).map_err(|e| match e {
            TokenError::Missing => AppError::Unauthorized,
            TokenError::Invalid => AppError::InvalidSession,
        })?;
        let row = self.queries.lookup(db, lane, &token).await?.ok_or(AppError::InvalidSession)?;
        if row.expires_at_ms <= row.now_ms {
            return Err(AppError::InvalidSession);
        }
        if self.refresh && row.expires_at_ms - row.now_ms < self.update_age_ms {
            let new_expiry_ms = row.now_ms + self.expires_in_ms;
            // A failed refresh must not fail the request: the session is still valid now.
            if let Err(e) = self.queries.refresh(db, &token, new_expiry_ms).await {
                tracing::warn!(error.message = %e, "session refresh failed");
            }
        }
        let may_hold_a_role = admin_may_act(self.require_verified_email, row.email_verified == Some(true), &row.user_status);
        let admin = match (row.admin_id, row.admin_role.as_deref().and_then(AdminRole::parse)) {
            (Some(id), Some(role)) if may_hold_a_role => Some(Admin { id, role }),
            _ => None,
        };
        Ok(CurrentUser {
            user_id: row.user_id,
            email: row.email,
            name: row.name,
            session_id: row.session_id,
            admin,
            two_factor_enabled: row.two_factor_enabled == Some(true),
        })
    }

    /// Whether ADMIN_REQUIRE_VERIFIED_EMAIL is on (shown by health when it is not).
    pub fn requires_verified_email(&self) -> bool {
        self.require_verified_email
    }
}

/// SPEC §12: an admin row confers its role only on a user whose email is verified (unless that
/// check is knowingly turned off) and whose account is not suspended or inactive.
pub fn admin_may_act(require_verified_email: bool, email_verified: bool, user_status: &str) -> bool {
    (email_verified || !require_verified_email) && !matches!(user_status, "Suspended" | "Inactive")
}

#[cfg(test)]
mod tests {
    use super::admin_may_act;

    #[test]
    fn only_a_verified_active_user_holds_an_admin_role() {
        assert!(admin_may_act(true, true, "Active"));
        assert!(!admin_may_act(true, false, "Active"), "an unverified address proves nothing");
        assert!(admin_may_act(false, false, "Active"), "ADMIN_REQUIRE_VERIFIED_EMAIL=false");
        assert!(!admin_may_act(true, true, "Suspended"));
        assert!(!admin_may_act(false, true, "Inactive"));
        assert!(admin_may_act(true, true, "Pending"));
    }
}
