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
        crate::http::payment_files::list,
        crate::http::payment_files::create_ach,
        crate::http::payment_files::create_prenote,
        crate::http::payment_files::create_positive_pay,
        crate::http::payment_files::read,
        crate::http::payment_files::download,
        crate::http::payment_files::void,
        crate::http::tax::form_1099_misc,
        crate::http::reports::payouts_csv,
    ),
    components(schemas(crate::error::ErrorCode)),
    modifiers(&SecuritySchemes, &OptionalBodies),
    tags((name = "health"), (name = "session"), (name = "eligibility"), (name = "payouts"), (name = "payments"), (name = "members"), (name = "payment-files"), (name = "tax"), (name = "reports"))
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "better-auth.session_token",
                "The main app's signed session cookie. Browsers do not let a page set a Cookie header, so \
                 this docs page cannot send one you paste here: it works only when your browser already \
                 holds the cookie for this host (signed in through the app or /console/dev-login in dev \
                 mode). To try requests here, use bearer.",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The session token itself (no `Bearer ` prefix needed here). In dev mode every demo \
                         person's token is printed at start and listed in .dev/sessions.json.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Bodies every field of which is optional: the endpoint takes an empty body too.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        const OPTIONAL: [&str; 4] = [
            "/api/eligibility/check",
            "/api/payouts/{payoutId}/approve",
            "/api/payouts/{payoutId}/generate-instructions",
            "/api/payouts/{payoutId}/reissue",
        ];
        for path in OPTIONAL {
            let body = openapi.paths.paths.get_mut(path).and_then(|item| item.post.as_mut()).and_then(|op| op.request_body.as_mut());
            if let Some(body) = body {
                body.required = Some(utoipa::openapi::Required::False);
            }
        }
    }
}

/// The published document: `ApiDoc` with the envelopes and the error statuses every answer
/// really has (`openapi_answers`). Served as JSON: utoipa cannot read its own output back.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the generated document is JSON");
    crate::http::openapi_answers::complete(&mut doc);
    doc
}

pub fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").external_url_unchecked("/api/openapi.json", document()))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        super::document()
    }

    /// Resolves `{"$ref": "#/components/schemas/X"}` to X.
    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => doc.pointer(&r.replacen('#', "", 1)).unwrap_or_else(|| panic!("dangling {r}")),
            None => schema,
        }
    }

    /// Every POST describes its body (typed, with properties, or an explicit empty object), every
    /// operation its responses, and every path parameter is declared.
    #[test]
    fn every_endpoint_describes_its_request_and_responses() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 23, "{} paths", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let at = format!("{method} {path}");
                assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{at}: no responses");
                for param in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
                    let declared = op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == param && p["in"] == "path");
                    assert!(declared, "{at}: path parameter {param} not declared");
                }
                for param in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path") {
                    let name = param["name"].as_str().unwrap();
                    assert!(path.contains(&format!("{{{name}}}")), "{at}: {name} is documented in the path but is not in it");
                }
                if method == "post" {
                    assert!(op.pointer("/requestBody/required").is_some(), "{at}: say whether the body is required");
                    let schema = op.pointer("/requestBody/content/application~1json/schema").unwrap_or_else(|| panic!("{at}: no request body schema"));
                    let schema = resolve(&doc, schema);
                    assert_eq!(schema["type"], "object", "{at}: body is not an object schema");
                    // Swagger UI's "Try it out" starts from the example: every body has one.
                    assert!(schema.get("example").is_some(), "{at}: the body has no example");
                }
            }
        }
    }

    /// Authorize explains which scheme works from the docs page, and success answers show the envelope.
    #[test]
    fn the_docs_say_how_to_authorize_and_show_the_envelope() {
        let doc = document();
        let cookie = doc["components"]["securitySchemes"]["cookie"]["description"].as_str().unwrap_or_default();
        assert!(cookie.contains("use bearer"), "{cookie}");
        assert!(doc["components"]["securitySchemes"]["bearer"]["description"].as_str().unwrap_or_default().contains("sessions.json"));
        let ok = &doc["paths"]["/api/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(ok.to_string().contains("timestamp") && ok.to_string().contains("data"), "{ok}");
    }

    /// Endpoints that take an empty body say so.
    #[test]
    fn bodies_of_optional_fields_are_not_required() {
        let doc = document();
        let required = |path: &str| doc["paths"][path]["post"]["requestBody"]["required"].clone();
        assert_eq!(required("/api/payouts/{payoutId}/approve"), Value::Bool(false));
        assert_eq!(required("/api/payouts/{payoutId}/reissue"), Value::Bool(false));
        assert_eq!(required("/api/payouts/{payoutId}/mark-sent"), Value::Bool(true));
    }

    /// Bodies name their fields in camelCase, as the handlers read them.
    #[test]
    fn request_bodies_list_their_fields() {
        let doc = document();
        let body = |name: &str| doc.pointer(&format!("/components/schemas/{name}/properties")).and_then(Value::as_object).cloned().unwrap_or_default();
        assert!(body("CreatePayoutsBody").contains_key("userIds"));
        assert!(body("MarkSentBody").contains_key("expectedArrivalDate"));
        assert!(body("TaxInfoBody").contains_key("tin"), "the W-9 body is documented");
        assert!(body("BankInfoBody").contains_key("routingNumber"));
        let list = doc.pointer("/paths/~1api~1payouts/get/parameters").and_then(Value::as_array).unwrap();
        for name in ["status", "userId", "paymentMethod", "createdFrom", "createdTo", "limit", "offset"] {
            assert!(list.iter().any(|p| p["name"] == name && p["in"] == "query"), "query {name}");
        }
    }

    /// Success answers are documented inside the envelope, and every error status an operation
    /// can give is listed with the error envelope.
    #[test]
    fn answers_are_documented_as_they_are_sent() {
        let doc = document();
        let ok = doc.pointer("/paths/~1api~1payouts~1{payoutId}/get/responses/200/content/application~1json/schema").unwrap();
        assert_eq!(ok["required"], serde_json::json!(["data", "timestamp"]));
        assert_eq!(ok["properties"]["data"]["$ref"], "#/components/schemas/PayoutRead");
        let approve = doc.pointer("/paths/~1api~1payouts~1{payoutId}~1approve/post/responses").and_then(Value::as_object).unwrap();
        for code in ["400", "401", "403", "404", "409", "413", "415", "429", "503"] {
            let schema = approve[code].pointer("/content/application~1json/schema/$ref");
            assert_eq!(schema, Some(&Value::from("#/components/schemas/ErrorEnvelope")), "approve {code}");
        }
        assert!(doc.pointer("/paths/~1api~1health/get/responses/401").is_none(), "health takes no session");
        assert!(doc.pointer("/components/schemas/ErrorEnvelope/properties/error/properties/code").is_some());
        assert_eq!(doc.pointer("/components/schemas/MemberPayoutView/additionalProperties"), Some(&Value::Bool(false)), "the member's view is closed");
    }

    /// The error codes are published with the document.
    #[test]
    fn the_error_codes_are_in_the_document() {
        let doc = document();
        let codes = doc.pointer("/components/schemas/ErrorCode").unwrap().to_string();
        for code in crate::error::ErrorCode::ALL {
            assert!(codes.contains(code.as_str()), "{} missing", code.as_str());
        }
    }
}
