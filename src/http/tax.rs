//! `/api/tax/…`: the year-end 1099-MISC file (SPEC §14).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::AppResult;
use crate::http::body::Fields;
use crate::http::extract::{RequestContext, TextQuery};
use crate::http::reports::attachment;
use crate::http::session::MoneyAdmin;
use crate::http::{AppState, Envelope};
use crate::workflow::tax_file::{self as workflow, TaxFile, TaxFileFormat, TaxFileSummary};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/tax/1099-misc", get(form_1099_misc))
}

/// `GET /api/tax/1099-misc`. Read as text so each bad value is reported by name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaxFileQuery {
    /// The tax year (the year the money arrived): 2000 to next year.
    #[param(value_type = i32, required = true, minimum = 2000, maximum = 2100)]
    pub year: Option<String>,
    /// `iris-csv` (the IRS upload) or `summary` (JSON).
    #[param(inline, value_type = TaxFileFormat, required = true)]
    pub format: Option<String>,
}

impl TaxFileQuery {
    pub fn validate(self) -> AppResult<(i32, TaxFileFormat)> {
        let mut f = Fields::default();
        let last = Utc::now().year() + 1;
        let year = match self.year.as_deref() {
            Some(y) if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => y.parse::<i32>().ok().filter(|y| (2000..=last).contains(y)),
            _ => None,
        };
        if year.is_none() {
            f.error("year", format!("must be a 4-digit year from 2000 to {last}"));
        }
        let format = self.format.as_deref().and_then(TaxFileFormat::parse);
        if format.is_none() {
            f.error("format", "must be one of: iris-csv, summary");
        }
        f.finish()?;
        Ok((year.unwrap_or_default(), format.unwrap_or(TaxFileFormat::Summary)))
    }
}

/// The year's 1099-MISC forms (admins; with ADMIN_REQUIRE_2FA, two-factor on): `iris-csv` is the
/// IRS IRIS upload with recipients' TINs decrypted for it, `summary` the figures to check it
/// against. Audited (`tax_file_downloaded`), `Cache-Control: no-store`.
#[utoipa::path(get, path = "/api/tax/1099-misc", tag = "tax", params(TaxFileQuery),
    security(("cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "format=iris-csv: text/csv, attachment 1099-misc-YYYY-iris.csv; format=summary: JSON",
                content((TaxFileSummary = "application/json"), (String = "text/csv"))),
              (status = 403, description = "FORBIDDEN (admins only) or TWO_FACTOR_REQUIRED"),
              (status = 422, description = "BANK_PROFILE_MISSING (no PAYER_* settings, iris-csv) or TAX_FILE_INVALID (details.problems)")))]
pub async fn form_1099_misc(
    MoneyAdmin(admin): MoneyAdmin,
    ctx: RequestContext,
    State(state): State<AppState>,
    TextQuery(q): TextQuery<TaxFileQuery>,
) -> AppResult<Response> {
    let (year, format) = q.validate()?;
    let payer = state.settings.bank.payer.as_ref();
    Ok(match workflow::download(&state.ctx, payer, &ctx.origin(&admin), year, format).await? {
        TaxFile::IrisCsv(bytes) => attachment(bytes, "text/csv", &format!("1099-misc-{year}-iris.csv")),
        TaxFile::Summary(summary) => {
            let mut res = Envelope::ok(summary).into_response();
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(year: &str, format: &str) -> TaxFileQuery {
        TaxFileQuery { year: Some(year.into()), format: Some(format.into()) }
    }

    #[test]
    fn year_and_format_are_checked_and_named() {
        let next = (Utc::now().year() + 1).to_string();
        assert_eq!(query("2026", "iris-csv").validate().unwrap(), (2026, TaxFileFormat::IrisCsv));
        assert_eq!(query(&next, "summary").validate().unwrap().1, TaxFileFormat::Summary);
        let next_after = (Utc::now().year() + 2).to_string();
        for (year, format, fields) in [("1999", "summary", vec!["year"]), (next_after.as_str(), "summary", vec!["year"]), ("02026", "x", vec!["year", "format"]), ("+202", "summary", vec!["year"]), ("2026", "IRIS-CSV", vec!["format"])] {
            let err = query(year, format).validate().unwrap_err();
            let details = err.details().unwrap();
            let paths: Vec<&str> = details.as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
            assert_eq!(paths, fields, "{year} {format}");
        }
        let err = TaxFileQuery::default().validate().unwrap_err();
        assert_eq!(err.details().unwrap().as_array().unwrap().len(), 2, "both are required");
    }

    /// The downloads are documented with their real content types, the format's values inline.
    #[test]
    fn the_document_describes_the_downloads() {
        let doc = crate::http::openapi::document();
        let tax = &doc["paths"]["/api/tax/1099-misc"]["get"];
        assert!(tax["responses"]["200"]["content"]["text/csv"].is_object());
        assert_eq!(tax["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]["$ref"], "#/components/schemas/TaxFileSummary");
        let format = tax["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "format").unwrap();
        assert_eq!(format["schema"]["enum"], json!(["iris-csv", "summary"]));
        let report = &doc["paths"]["/api/reports/payouts.csv"]["get"];
        assert!(report["responses"]["200"]["content"]["text/csv; charset=utf-8"].is_object());
        assert!(report["responses"]["403"].is_object() && tax["responses"]["422"].is_object());
    }
}
