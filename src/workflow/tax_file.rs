//! The year-end 1099-MISC file (SPEC §14): the IRS IRIS CSV, or its summary for finance to check
//! the upload against. Recipients come from the members' latest W-9s; the TIN is decrypted here
//! and nowhere else, only for the CSV, and every download is an audit row in the read's
//! transaction (never with a TIN in it).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{self, audit};
use crate::domain::iris_1099::{render_iris_csv, summarize, Payer, Recipient1099, TinKind};
use crate::domain::money::Money;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::workflow::Context;

/// What the download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TaxFileFormat {
    /// The IRIS CSV upload: one row per 1099-MISC, TINs in clear.
    IrisCsv,
    /// Count, totals, backup withholding by month and members missing a W-9 (JSON, no TINs).
    Summary,
}

impl TaxFileFormat {
    pub const ALL: [TaxFileFormat; 2] = [TaxFileFormat::IrisCsv, TaxFileFormat::Summary];

    pub fn as_str(self) -> &'static str {
        match self {
            TaxFileFormat::IrisCsv => "iris-csv",
            TaxFileFormat::Summary => "summary",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Box 4 withheld in one month (by the payout's completion date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthAmount {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub amount: Money,
}

/// A 1099-MISC whose member has no W-9 with data on file: its row has no TIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MissingW9 {
    pub user_id: Uuid,
    pub email: Option<String>,
    pub payout_id: Option<String>,
}

/// `format=summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaxFileSummary {
    pub year: i32,
    /// 1099-MISC forms (rows of the IRIS file).
    pub count: usize,
    /// Box 3, other income.
    pub total_box3: Money,
    /// Box 4, federal income tax withheld.
    pub total_box4: Money,
    /// Months with withholding, oldest first; they add up to `totalBox4`.
    pub backup_withholding_by_month: Vec<MonthAmount>,
    pub members_missing_w9: Vec<MissingW9>,
}

/// A download.
pub enum TaxFile {
    IrisCsv(Vec<u8>),
    Summary(TaxFileSummary),
}

/// One form, read and checked; `recipient.tin` is filled only for the CSV.
struct Form {
    recipient: Recipient1099,
    month: String,
    missing: Option<MissingW9>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_string()
}

fn money(problems: &mut Vec<String>, what: &str, income: Option<&Value>, key: &str) -> Money {
    match income.and_then(|i| i.get(key)).map(|v| serde_json::from_value::<Money>(v.clone())) {
        Some(Ok(m)) => m,
        _ => {
            problems.push(format!("{what}: {key} is missing or not an amount"));
            Money::ZERO
        }
    }
}

/// Reads the year's forms with their recipients. `decrypt`: fill in the TINs (CSV only).
async fn read_forms(ctx: &Context, tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, year: i32, decrypt: bool) -> AppResult<(Vec<Form>, Vec<String>)> {
    let rows = db::tax_forms::forms_1099_of_year(tx, year).await?;
    let mut problems = Vec::new();
    let mut forms = Vec::with_capacity(rows.len());
    for row in rows {
        let income = row.income_details.as_ref();
        let payout_id = income.and_then(|i| i.get("payoutId")).and_then(Value::as_str).map(String::from);
        let account_number = payout_id.clone().unwrap_or_else(|| row.form_id.clone());
        let what = format!("form {account_number}");
        let box3 = money(&mut problems, &what, income, "box3OtherIncome");
        let box4 = money(&mut problems, &what, income, "federalIncomeTaxWithheld");
        let month = row.completed_date.or(row.form_created_at).map(|t| t.format("%Y-%m").to_string()).unwrap_or_else(|| "unknown".into());
        let w9 = db::tax_forms::latest_w9(tx, row.user_id).await?;
        let (name, tin, tin_kind, address, missing) = match w9 {
            Some(w9) => {
                let d = &w9.w9_data;
                let tin = if decrypt {
                    match ctx.keyring.decrypt(&d["tin"]).ok().and_then(|(plain, _)| String::from_utf8(plain).ok()) {
                        Some(tin) => tin,
                        None => {
                            problems.push(format!("{what}: the W-9's TIN cannot be decrypted"));
                            String::new()
                        }
                    }
                } else {
                    String::new()
                };
                let kind = if text(d, "tinType") == "EIN" { TinKind::Ein } else { TinKind::Ssn };
                let address = json!({ "line1": d["addressLine1"], "line2": d["addressLine2"], "city": d["city"], "state": d["state"], "postalCode": d["postalCode"] });
                (text(d, "legalName"), tin, kind, address, None)
            }
            None => {
                // No W-9: the form is still filed (TIN blank, backup withholding in box 4), to
                // the name the form recorded and the member's primary mailing address.
                let name = Some(text(&row.recipient_info, "name")).filter(|n| !n.is_empty()).or(row.member_name.clone()).unwrap_or_default();
                let address = db::users::primary_address(tx, row.user_id).await?.unwrap_or(Value::Null);
                let missing = MissingW9 { user_id: row.user_id, email: row.member_email.clone(), payout_id: payout_id.clone() };
                (name, String::new(), TinKind::Ssn, address, Some(missing))
            }
        };
        let line2 = Some(text(&address, "line2")).filter(|l| !l.is_empty());
        let recipient = Recipient1099 {
            name,
            tin,
            tin_kind,
            address_line1: text(&address, "line1"),
            address_line2: line2,
            city: text(&address, "city"),
            state: text(&address, "state"),
            postal_code: text(&address, "postalCode"),
            box3_other_income: box3,
            box4_federal_withheld: box4,
            account_number,
        };
        forms.push(Form { recipient, month, missing });
    }
    Ok((forms, problems))
}

/// Box 4 by month, months without withholding left out.
fn withholding_by_month(forms: &[Form]) -> Vec<MonthAmount> {
    let mut months: BTreeMap<&str, Decimal> = BTreeMap::new();
    for f in forms {
        *months.entry(&f.month).or_default() += f.recipient.box4_federal_withheld.amount();
    }
    months.into_iter().filter(|(_, a)| !a.is_zero()).map(|(m, a)| MonthAmount { month: m.to_string(), amount: Money::new(a) }).collect()
}

fn invalid(problems: Vec<String>) -> AppError {
    let message = format!("The year's 1099-MISC data cannot make a valid IRIS file ({} problem(s), listed in details)", problems.len());
    AppError::refused(ErrorCode::TaxFileInvalid, message, Some(json!({ "problems": problems })))
}

/// The file for `year` in `format`, audited in the transaction that read it. 422
/// BANK_PROFILE_MISSING for the CSV without a payer; 422 TAX_FILE_INVALID with every problem
/// when a form cannot be written.
pub async fn download(ctx: &Context, payer: Option<&Payer>, origin: &audit::Origin, year: i32, format: TaxFileFormat) -> AppResult<TaxFile> {
    let csv = format == TaxFileFormat::IrisCsv;
    if csv && payer.is_none() {
        return Err(AppError::refused(ErrorCode::BankProfileMissing, "Set the PAYER_* settings before writing the 1099-MISC file", None));
    }
    let mut tx = ctx.db.begin().await?;
    let (forms, mut problems) = read_forms(ctx, &mut tx, year, csv).await?;
    let file = match payer {
        Some(payer) if csv => {
            let recipients: Vec<Recipient1099> = forms.iter().map(|f| f.recipient.clone()).collect();
            match render_iris_csv(year, payer, &recipients) {
                Ok(bytes) if problems.is_empty() => TaxFile::IrisCsv(bytes),
                Ok(_) => return Err(invalid(problems)),
                Err(more) => {
                    problems.extend(more);
                    return Err(invalid(problems));
                }
            }
        }
        _ => {
            let recipients: Vec<Recipient1099> = forms.iter().map(|f| f.recipient.clone()).collect();
            let totals = summarize(&recipients);
            TaxFile::Summary(TaxFileSummary {
                year,
                count: totals.count,
                total_box3: totals.total_box3,
                total_box4: totals.total_box4,
                backup_withholding_by_month: withholding_by_month(&forms),
                members_missing_w9: forms.iter().filter_map(|f| f.missing.clone()).collect(),
            })
        }
    };
    let log = audit::AuditLog {
        entity_type: "tax_file",
        entity_id: None,
        action: "tax_file_downloaded",
        old_values: None,
        new_values: None,
        success: true,
        error_message: None,
        metadata: json!({ "year": year, "format": format.as_str(), "count": forms.len() }),
    };
    audit::insert(&mut tx, origin, log).await?;
    tx.commit().await?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(month: &str, box4: i64) -> Form {
        let recipient = Recipient1099 {
            name: "A".into(),
            tin: String::new(),
            tin_kind: TinKind::Ssn,
            address_line1: String::new(),
            address_line2: None,
            city: String::new(),
            state: String::new(),
            postal_code: String::new(),
            box3_other_income: Money::new(Decimal::from(100_000)),
            box4_federal_withheld: Money::new(Decimal::from(box4)),
            account_number: "PO-1".into(),
        };
        Form { recipient, month: month.into(), missing: None }
    }

    #[test]
    fn withholding_is_grouped_by_month_and_empty_months_are_left_out() {
        let forms = [form("2026-03", 24_000), form("2026-01", 0), form("2026-03", 1), form("2026-02", 24_000)];
        let by_month = withholding_by_month(&forms);
        let got: Vec<(String, String)> = by_month.into_iter().map(|m| (m.month, m.amount.to_string())).collect();
        assert_eq!(got, [("2026-02".to_string(), "24000.00".to_string()), ("2026-03".to_string(), "24001.00".to_string())]);
    }

    #[test]
    fn formats_read_as_the_query_spells_them() {
        assert_eq!(TaxFileFormat::parse("iris-csv"), Some(TaxFileFormat::IrisCsv));
        assert_eq!(TaxFileFormat::parse("summary"), Some(TaxFileFormat::Summary));
        assert_eq!(TaxFileFormat::parse("IRIS-CSV"), None);
        assert_eq!(serde_json::to_value(TaxFileFormat::IrisCsv).unwrap(), "iris-csv");
    }
}
