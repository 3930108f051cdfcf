//! The session extractors: the caller of a request (`CurrentUser`), and the role-checked
//! `AdminUser` and `FinanceUser`. The lookup itself is `auth::SessionValidator`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::http::AppState;

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
