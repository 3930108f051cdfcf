//! Better Auth sessions, shared with the main app (see BETTER_AUTH.md).

use std::time::Duration;

use secrecy::SecretString;

use super::{Purpose, Reader};

/// Development-only default, used by `payout-service dev` when no secret is configured.
pub const DEV_BETTER_AUTH_SECRET: &str = "dev-only-better-auth-secret-change-me-0000";

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The main app's Better Auth secret, byte for byte (at least 16 characters); signs session
    /// cookies. Required to serve; `dev` falls back to [`DEV_BETTER_AUTH_SECRET`].
    /// `BETTER_AUTH_SECRET`, no default.
    pub better_auth_secret: Option<SecretString>,
    /// Cookie names are `{prefix}.session_token` (and `__Secure-{prefix}.…`); letters, digits,
    /// `-`, `_`, `.`. `BETTER_AUTH_COOKIE_PREFIX`, default `better-auth`.
    pub cookie_prefix: String,
    /// Column names of the `session` table: `snake` or `camel` (see [`SessionColumns`]).
    /// `BETTER_AUTH_COLUMNS`, default `snake`.
    pub columns: SessionColumns,
    /// Refuse raw bearer tokens; accept only signed `token.signature` ones.
    /// `REQUIRE_SIGNED_BEARER`, default `false`.
    pub require_signed_bearer: bool,
    /// Extend sessions close to expiry, as Better Auth does. `SESSION_REFRESH`, default `true`.
    pub session_refresh: bool,
    /// Refresh when less than this remains. In seconds: `SESSION_UPDATE_AGE`, default `86400`.
    pub session_update_age: Duration,
    /// A refreshed session's new lifetime. In seconds: `SESSION_EXPIRES_IN`, default `604800`.
    pub session_expires_in: Duration,
    /// An admin row counts only for a user whose email is verified (SPEC §12: anyone can sign up
    /// with an admin's address). Turn off only knowingly: a warning is logged at start and
    /// `/api/health` shows it. `ADMIN_REQUIRE_VERIFIED_EMAIL`, default `true`.
    pub admin_require_verified_email: bool,
    /// Approving, generating instructions and downloading payment or tax files also need the
    /// user's two-factor authentication on. `ADMIN_REQUIRE_2FA`, default `false`.
    pub admin_require_2fa: bool,
}

/// Which column names the main app's Better Auth `session` table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionColumns {
    /// `expires_at`, `user_id`, `updated_at` (the main app's mapping).
    Snake,
    /// Quoted `"expiresAt"`, `"userId"`, `"updatedAt"` (a stock Better Auth install).
    Camel,
}

impl AuthSettings {
    pub(super) fn read(r: &mut Reader, purpose: Purpose) -> Self {
        let better_auth_secret = r.read("BETTER_AUTH_SECRET", "", |raw, p| {
            let secret = if raw.is_empty() && purpose == Purpose::Dev { DEV_BETTER_AUTH_SECRET } else { raw };
            if purpose == Purpose::Serve || purpose == Purpose::Dev {
                if secret.is_empty() {
                    p.push("is required: the main app's Better Auth secret".into());
                } else if secret.len() < 16 {
                    p.push(format!(
                        "is {} characters; Better Auth secrets are at least 16 (32 recommended)",
                        secret.len()
                    ));
                }
            }
            (!secret.is_empty()).then(|| SecretString::from(secret))
        });
        let cookie_prefix = r.read("BETTER_AUTH_COOKIE_PREFIX", "better-auth", |raw, p| {
            if raw.is_empty() || !raw.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                p.push("must be letters, digits, '-', '_' or '.'".into());
            }
            raw.to_string()
        });
        AuthSettings {
            better_auth_secret,
            cookie_prefix,
            columns: r.choice(
                "BETTER_AUTH_COLUMNS",
                "snake",
                &[("snake", SessionColumns::Snake), ("camel", SessionColumns::Camel)],
                "'snake' or 'camel'",
            ),
            require_signed_bearer: r.boolean("REQUIRE_SIGNED_BEARER", "false"),
            session_refresh: r.boolean("SESSION_REFRESH", "true"),
            session_update_age: Duration::from_secs(r.parse::<u64>("SESSION_UPDATE_AGE", "86400", "seconds")),
            session_expires_in: Duration::from_secs(r.positive("SESSION_EXPIRES_IN", "604800").into()),
            admin_require_verified_email: r.boolean("ADMIN_REQUIRE_VERIFIED_EMAIL", "true"),
            admin_require_2fa: r.boolean("ADMIN_REQUIRE_2FA", "false"),
        }
    }
}
