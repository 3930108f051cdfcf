//! Reports finance opens in a spreadsheet (SPEC §14): the payouts as CSV, with the list's
//! filters. Money as plain decimals; no bank details, TINs or admins' emails.

use chrono::{DateTime, Utc};

use crate::db::payouts::ListFilter;
use crate::domain::csv;
use crate::domain::money::Money;
use crate::domain::payout::Payout;
use crate::domain::processing::iso;
use crate::error::AppResult;
use crate::workflow::{payouts, Context};

/// The header row, in order.
pub const PAYOUT_COLUMNS: [&str; 15] = [
    "payout_id",
    "user_id",
    "member_email",
    "member_name",
    "status",
    "payment_method",
    "amount",
    "net_amount",
    "withholding",
    "created_at",
    "approved_at",
    "sent_date",
    "completed_date",
    "tracking_number",
    "confirmation_number",
];

/// When the approval that made it fully approved was given; `None` while it is not (or the
/// approvals carry no times, as some old rows do).
fn approved_at(p: &Payout) -> Option<DateTime<Utc>> {
    let w = &p.approval_workflow;
    if !w.fully_approved() || w.approvals.is_empty() {
        return None;
    }
    w.approvals.iter().filter_map(|a| DateTime::parse_from_rfc3339(a.at.as_deref()?).ok()).map(|t| t.with_timezone(&Utc)).max()
}

fn when(t: Option<DateTime<Utc>>) -> String {
    csv::text(&t.map(iso).unwrap_or_default())
}

/// Money as a plain decimal cell ("100000.00"); nothing a spreadsheet could run.
fn amount(m: Option<Money>) -> String {
    m.map(|m| m.to_string()).unwrap_or_default()
}

/// One payout's row: text cells through the formula guard, money unquoted.
pub fn payout_row(p: &Payout) -> String {
    let calc = p.processing.calculation.as_ref();
    let opt = |s: Option<&Option<String>>| csv::text(s.and_then(Option::as_deref).unwrap_or_default());
    csv::row(&[
        csv::text(&p.payout_id),
        csv::text(&p.user_id.to_string()),
        csv::text(p.member.email.as_deref().unwrap_or_default()),
        csv::text(p.member.name.as_deref().unwrap_or_default()),
        csv::text(p.status.as_str()),
        csv::text(p.payment_method.as_str()),
        amount(Some(p.amount)),
        amount(calc.map(|c| c.net_amount)),
        amount(calc.map(|c| c.withholding_amount)),
        when(p.created_at),
        when(approved_at(p)),
        when(p.processing.sent_date.as_ref().map(|s| s.at)),
        when(p.completed_date.or(p.processing.completed_date.as_ref().map(|s| s.at))),
        opt(p.processing.tracking_number.as_ref()),
        opt(p.processing.confirmation_number.as_ref()),
    ])
}

/// The CSV: header, then every payout matching `filter` (paging ignored), oldest first.
pub fn render_payouts(payouts: &[Payout]) -> Vec<u8> {
    let mut out = csv::row(&PAYOUT_COLUMNS.map(csv::text));
    for p in payouts {
        out.push_str(&payout_row(p));
    }
    out.into_bytes()
}

/// Every payout the filters match, oldest first, as CSV bytes.
pub async fn payouts_csv(ctx: &Context, filter: ListFilter) -> AppResult<Vec<u8>> {
    // The list query pages newest first; all rows reversed are oldest first, ties by payout id.
    let all = ListFilter { limit: i64::MAX, offset: 0, ..filter };
    let (mut rows, _) = payouts::list(ctx, &all).await?;
    rows.reverse();
    Ok(render_payouts(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calculation::{calculate, CalculationRules};
    use rust_decimal::Decimal;

    #[test]
    fn a_row_has_every_column_money_as_decimals_and_names_defused() {
        let mut p = crate::domain::payout::tests_support::payout();
        p.member.name = Some("=HYPERLINK(\"http://x\")".into());
        let rules = CalculationRules { retention_fee: Decimal::from(300), backup_withholding_rate: Decimal::new(24, 2) };
        p.processing.calculation = Some(calculate(p.amount.amount(), false, &rules));
        let out = String::from_utf8(render_payouts(&[p.clone()])).unwrap();
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines[0].split(',').count(), PAYOUT_COLUMNS.len());
        assert!(lines[1].contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{}", lines[1]);
        assert!(lines[1].contains(&format!(",{},", p.amount)), "{}", lines[1]);
        let net = p.processing.calculation.as_ref().unwrap().net_amount;
        assert!(lines[1].contains(&format!(",{net},")), "{}", lines[1]);
        assert_eq!(lines[2], "", "CRLF after the last row");
    }
}
