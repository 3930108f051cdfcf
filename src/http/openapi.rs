//! The OpenAPI 3.1 document at `/api/openapi.json` and a self-contained Swagger UI at `/docs`.
//! Every endpoint is listed in `ApiDoc`; a test checks the document against the router.

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::http::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tenure payout service", description = "Eligibility, queue-ordered winner selection, two-admin approval and manual payments of the $100,000 rewards."),
    paths(
        crate::http::health::health,
        crate::http::health::ready,
        crate::http::health::metrics,
        crate::http::me::me,
        crate::http::eligibility::status,
        crate::http::eligibility::members,
        crate::http::eligibility::check,
        crate::http::payouts::create,
        crate::http::payouts::list,
        crate::http::payouts::read,
        crate::http::payouts::approve,
        crate::http::payouts::reject,
        crate::http::payouts::cancel,
        crate::http::payouts::audit,
        crate::http::members::payout_status,
        crate::http::members::bank_info,
        crate::http::members::tax_info,
        crate::http::payments::generate_instructions,
        crate::http::payments::mark_sent,
        crate::http::payments::confirm,
        crate::http::payments::mark_failed,
        crate::http::payments::reissue,
        crate::http::payments::receipt,
        crate::http::payments::instructions_pdf,
    ),
    components(schemas(crate::error::ErrorCode)),
    modifiers(&SecuritySchemes),
    tags((name = "health"), (name = "session"), (name = "eligibility"), (name = "payouts"), (name = "payments"), (name = "members"))
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("better-auth.session_token"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/api/openapi.json", ApiDoc::openapi()))
}
