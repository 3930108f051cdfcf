//! The session extractors: the caller of a request (`CurrentUser`), and the role-checked
//! `AdminUser` and `FinanceUser`. The lookup itself is `auth::SessionValidator`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::CurrentUser;
use crate::error::{AppError, ErrorCode};
use crate::http::AppState;

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let user = state.sessions.authenticate(&state.db, &state.lane, &parts.headers).await?;
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
        require_admin(&user)?;
        Ok(AdminUser(user))
    }
}

/// A caller with `isFinanceManager` (any admin role); others get 403.
pub struct FinanceUser(pub CurrentUser);

impl FromRequestParts<AppState> for FinanceUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        require_finance(&user)?;
        Ok(FinanceUser(user))
    }
}

/// An admin (Super Admin or Manager) for the steps that move money or reveal it — approving,
/// generating instructions, downloading payment or tax files: with ADMIN_REQUIRE_2FA on, their
/// two-factor authentication must be on too (403 TWO_FACTOR_REQUIRED).
pub struct MoneyAdmin(pub CurrentUser);

impl FromRequestParts<AppState> for MoneyAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        require_money_admin(state, &user)?;
        Ok(MoneyAdmin(user))
    }
}

/// The role checks behind the extractors, for the console's handlers (which take the caller
/// once and check per action): one copy of SPEC §3.
pub fn require_admin(user: &CurrentUser) -> Result<(), AppError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden("This action needs an admin (Super Admin or Manager)".into()))
    }
}

pub fn require_finance(user: &CurrentUser) -> Result<(), AppError> {
    if user.is_finance_manager() {
        Ok(())
    } else {
        Err(AppError::Forbidden("This action needs a finance role (any admin)".into()))
    }
}

/// An admin who may move or reveal money: with ADMIN_REQUIRE_2FA on, also two-factor.
pub fn require_money_admin(state: &AppState, user: &CurrentUser) -> Result<(), AppError> {
    require_admin(user)?;
    if state.settings.auth.admin_require_2fa && !user.two_factor_enabled {
        return Err(AppError::refused(
            ErrorCode::TwoFactorRequired,
            "Turn on two-factor authentication in the main app to approve or pay out",
            None,
        ));
    }
    Ok(())
}
