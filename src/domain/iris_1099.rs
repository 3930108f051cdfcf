//! The year-end 1099-MISC file for the IRS IRIS Taxpayer Portal's CSV upload (SPEC §14): one row
//! per recipient, payer from settings, box 3 other income and box 4 federal tax withheld.
//!
//! Honest note on the layout: the official IRIS "CSV template for Form 1099-MISC" could not be
//! read from here (the IRS publishes it inside the portal, per tax year). The columns below
//! follow its known groups — form and year, payer, recipient TIN type/TIN/name/address, account
//! number, the numbered boxes — in `COLUMNS`' order. Before the first real filing, download the
//! year's template from the portal and align the header text and order with it; the row data
//! need not change.
//!
//! Format: UTF-8 without BOM, CRLF line ends (RFC 4180, as Excel saves the template), one header
//! row. Text cells are quoted with quotes doubled and leading `= + - @` defused (`domain::csv`);
//! letters outside ASCII are spelled plainly (`José` → `Jose`) as the IRS name control needs.
//! Money is a plain decimal with two places and no `$` or commas (`99700.00`). TINs are 9 digits
//! without dashes. Boxes this service never pays are left empty, not `0.00`.

use rust_decimal::Decimal;

use crate::domain::bank::bank_file_name;
use crate::domain::csv;
use crate::domain::money::Money;
use crate::domain::w9::USPS_STATES;

/// The header row, in order.
pub const COLUMNS: [&str; 40] = [
    "Form Type",
    "Tax Year",
    "Payer Name",
    "Payer TIN Type",
    "Payer TIN",
    "Payer Address Line 1",
    "Payer City",
    "Payer State",
    "Payer ZIP Code",
    "Payer Country",
    "Payer Phone",
    "Recipient TIN Type",
    "Recipient TIN",
    "Recipient Name",
    "Recipient Address Line 1",
    "Recipient Address Line 2",
    "Recipient City",
    "Recipient State",
    "Recipient ZIP Code",
    "Recipient Country",
    "Account Number",
    "Second TIN Notice",
    "Box 1 Rents",
    "Box 2 Royalties",
    "Box 3 Other Income",
    "Box 4 Federal Income Tax Withheld",
    "Box 5 Fishing Boat Proceeds",
    "Box 6 Medical and Health Care Payments",
    "Box 7 Direct Sales of $5000 or More",
    "Box 8 Substitute Payments in Lieu of Dividends or Interest",
    "Box 9 Crop Insurance Proceeds",
    "Box 10 Gross Proceeds Paid to an Attorney",
    "Box 11 Fish Purchased for Resale",
    "Box 12 Section 409A Deferrals",
    "Box 13 FATCA Filing Requirement",
    "Box 14 Excess Golden Parachute Payments",
    "Box 15 Nonqualified Deferred Compensation",
    "Box 16 State Tax Withheld",
    "Box 17 State/Payer's State No",
    "Box 18 State Income",
];

/// The payer, from the `PAYER_*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    pub name: String,
    /// The payer's EIN, 9 digits (dashes allowed; written without).
    pub tin: String,
    pub address_line1: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    /// 10 digits; punctuation allowed, written as digits only.
    pub phone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TinKind {
    Ssn,
    Ein,
}

/// One recipient's 1099-MISC, from the W-9 and the year's payouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient1099 {
    pub name: String,
    /// Plain digits, decrypted by the caller for this file only; empty when the recipient
    /// never furnished one (no W-9 on file).
    pub tin: String,
    pub tin_kind: TinKind,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub box3_other_income: Money,
    pub box4_federal_withheld: Money,
    /// Our payout or tax-form id, so a notice from the IRS finds the record.
    pub account_number: String,
}

/// The totals finance checks the upload against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary1099 {
    pub count: usize,
    pub total_box3: Money,
    pub total_box4: Money,
}

/// Count and totals of the forms.
pub fn summarize(recipients: &[Recipient1099]) -> Summary1099 {
    Summary1099 {
        count: recipients.len(),
        total_box3: Money::new(recipients.iter().map(|r| r.box3_other_income.amount()).sum()),
        total_box4: Money::new(recipients.iter().map(|r| r.box4_federal_withheld.amount()).sum()),
    }
}

/// Printable text with accented letters spelled plainly; another script or a control character
/// is a problem (the IRS cannot match the name).
fn plain(problems: &mut Vec<String>, what: &str, s: &str, required: bool, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else if let Ok(spelled) = bank_file_name(&c.to_string()) {
            out.push_str(&spelled);
        } else {
            problems.push(format!("{what}: {c:?} cannot be written in an IRIS file (Latin letters only)"));
            return String::new();
        }
    }
    if required && out.is_empty() {
        problems.push(format!("{what}: is required"));
    } else if out.chars().count() > max {
        problems.push(format!("{what}: must be at most {max} characters"));
    }
    out
}

fn nine_digits(problems: &mut Vec<String>, what: &str, s: &str) -> String {
    let digits: String = s.trim().chars().filter(|c| *c != '-').collect();
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        problems.push(format!("{what}: must be 9 digits"));
    }
    digits
}

fn state(problems: &mut Vec<String>, what: &str, s: &str) -> String {
    let s = s.trim().to_ascii_uppercase();
    if !USPS_STATES.contains(&s.as_str()) {
        problems.push(format!("{what}: must be a USPS state code"));
    }
    s
}

fn zip(problems: &mut Vec<String>, what: &str, s: &str) -> String {
    let s = s.trim();
    let ok = s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit())
        || s.len() == 10 && s.as_bytes()[5] == b'-' && s.bytes().enumerate().all(|(i, b)| i == 5 || b.is_ascii_digit());
    if !ok {
        problems.push(format!("{what}: must be a ZIP code: 12345 or 12345-6789"));
    }
    s.to_string()
}

/// Non-negative whole cents, written with two decimals.
fn amount(problems: &mut Vec<String>, what: &str, m: Money) -> String {
    let cents = m.amount() * Decimal::ONE_HUNDRED;
    if m.amount() < Decimal::ZERO || !cents.fract().is_zero() {
        problems.push(format!("{what}: must be a non-negative amount in whole cents"));
    }
    m.to_string()
}

/// The IRIS CSV for `tax_year`, or every problem found (all rows checked).
pub fn render_iris_csv(tax_year: i32, payer: &Payer, recipients: &[Recipient1099]) -> Result<Vec<u8>, Vec<String>> {
    let mut p = Vec::new();
    if !(2000..=2099).contains(&tax_year) {
        p.push(format!("tax year: {tax_year} is not a year this file can be for"));
    }
    let payer_cells = [
        plain(&mut p, "payer name", &payer.name, true, 75),
        "EIN".to_string(),
        nine_digits(&mut p, "payer TIN", &payer.tin),
        plain(&mut p, "payer address", &payer.address_line1, true, 100),
        plain(&mut p, "payer city", &payer.city, true, 40),
        state(&mut p, "payer state", &payer.state),
        zip(&mut p, "payer ZIP code", &payer.postal_code),
        "US".to_string(),
    ];
    let phone: String = payer.phone.chars().filter(char::is_ascii_digit).collect();
    if phone.len() != 10 || payer.phone.chars().any(|c| c.is_alphabetic()) {
        p.push("payer phone: must be 10 digits".to_string());
    }
    let mut out = csv::row(&COLUMNS.map(csv::text));
    for (i, r) in recipients.iter().enumerate() {
        let what = |field: &str| format!("recipient {} ({}): {field}", i + 1, r.account_number);
        let mut cells: Vec<String> = vec![csv::text("1099-MISC"), tax_year.to_string()];
        cells.extend(payer_cells.iter().map(|c| csv::text(c)));
        cells.push(csv::text(&phone));
        if r.tin.trim().is_empty() {
            // No W-9 (so backup withholding applied): TIN type and TIN blank, as the IRS
            // layouts take "TIN not provided".
            cells.extend([String::new(), String::new()]);
        } else {
            cells.push(csv::text(match r.tin_kind {
                TinKind::Ssn => "SSN",
                TinKind::Ein => "EIN",
            }));
            cells.push(csv::text(&nine_digits(&mut p, &what("TIN"), &r.tin)));
        }
        cells.push(csv::text(&plain(&mut p, &what("name"), &r.name, true, 75)));
        cells.push(csv::text(&plain(&mut p, &what("address line 1"), &r.address_line1, true, 100)));
        let line2 = r.address_line2.as_deref().unwrap_or_default();
        cells.push(csv::text(&plain(&mut p, &what("address line 2"), line2, false, 100)));
        cells.push(csv::text(&plain(&mut p, &what("city"), &r.city, true, 40)));
        cells.push(csv::text(&state(&mut p, &what("state"), &r.state)));
        cells.push(csv::text(&zip(&mut p, &what("ZIP code"), &r.postal_code)));
        cells.push(csv::text("US"));
        cells.push(csv::text(&plain(&mut p, &what("account number"), &r.account_number, true, 30)));
        cells.push(String::new()); // second TIN notice: not given
        cells.extend([String::new(), String::new()]); // boxes 1, 2
        cells.push(amount(&mut p, &what("box 3"), r.box3_other_income));
        cells.push(amount(&mut p, &what("box 4"), r.box4_federal_withheld));
        cells.extend(std::iter::repeat_n(String::new(), 14)); // boxes 5–18: never paid here
        debug_assert_eq!(cells.len(), COLUMNS.len());
        out.push_str(&csv::row(&cells));
    }
    if p.is_empty() {
        Ok(out.into_bytes())
    } else {
        Err(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn money(s: &str) -> Money {
        Money::new(Decimal::from_str(s).unwrap())
    }

    fn payer() -> Payer {
        Payer {
            name: "Tenure Payouts Inc".into(),
            tin: "12-3456789".into(),
            address_line1: "100 Congress Ave, Suite 200".into(),
            city: "Austin".into(),
            state: "TX".into(),
            postal_code: "78701".into(),
            phone: "(512) 555-0100".into(),
        }
    }

    fn recipient(name: &str, tin: &str, box3: &str, box4: &str) -> Recipient1099 {
        Recipient1099 {
            name: name.into(),
            tin: tin.into(),
            tin_kind: TinKind::Ssn,
            address_line1: "1 Main St".into(),
            address_line2: Some("Apt #4".into()),
            city: "Austin".into(),
            state: "tx".into(),
            postal_code: "78701-1234".into(),
            box3_other_income: money(box3),
            box4_federal_withheld: money(box4),
            account_number: "TF-2026-0001".into(),
        }
    }

    #[test]
    fn one_row_per_recipient_hand_checked() {
        let rows = [recipient("José Ñúñez", "123456789", "100000", "24000.00")];
        let out = String::from_utf8(render_iris_csv(2026, &payer(), &rows).unwrap()).unwrap();
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "header, one row, and the empty tail after the last CRLF");
        assert_eq!(lines[2], "");
        assert!(lines[0].starts_with("\"Form Type\",\"Tax Year\",\"Payer Name\","));
        assert!(lines[0].ends_with(",\"Box 18 State Income\""));
        let want = concat!(
            "\"1099-MISC\",2026,",
            "\"Tenure Payouts Inc\",\"EIN\",\"123456789\",\"100 Congress Ave, Suite 200\",\"Austin\",\"TX\",\"78701\",\"US\",\"5125550100\",",
            "\"SSN\",\"123456789\",\"Jose Nunez\",\"1 Main St\",\"Apt #4\",\"Austin\",\"TX\",\"78701-1234\",\"US\",",
            "\"TF-2026-0001\",",
            ",",              // second TIN notice
            ",,",             // boxes 1, 2
            "100000.00,24000.00", // boxes 3, 4
            ",,,,,,,,,,,,,,", // boxes 5–18
        );
        assert_eq!(lines[1], want);
        assert_eq!(lines[1].matches(',').count(), 39 + 1, "40 columns (one comma sits inside the quoted payer address)");
    }

    #[test]
    fn formulas_and_quotes_are_defused() {
        let mut r = recipient("=HYPERLINK(\"http://x\")", "123456789", "1", "0");
        r.address_line1 = "@SUM(1+1)".into();
        let out = String::from_utf8(render_iris_csv(2026, &payer(), &[r]).unwrap()).unwrap();
        assert!(out.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","), "{out}");
        assert!(out.contains(",\"'@SUM(1+1)\","), "{out}");
    }

    #[test]
    fn a_recipient_without_a_tin_is_written_with_the_tin_blank() {
        let r = recipient("A B", "", "100000.00", "24000.00");
        let out = String::from_utf8(render_iris_csv(2026, &payer(), &[r]).unwrap()).unwrap();
        assert!(out.contains(",\"5125550100\",,,\"A B\","), "{out}");
    }

    #[test]
    fn every_problem_is_listed() {
        let mut bad = payer();
        bad.tin = "12345".into();
        bad.phone = "555-0100".into();
        let mut r = recipient("Иван Петров", "12345678X", "-1", "0.001");
        r.state = "Texas".into();
        r.postal_code = "7870".into();
        let problems = render_iris_csv(1999, &bad, &[r]).unwrap_err();
        for needle in ["tax year", "payer TIN", "payer phone", "Latin letters", "recipient 1 (TF-2026-0001): TIN", "state", "ZIP", "box 3", "box 4"] {
            assert!(problems.iter().any(|p| p.contains(needle)), "{needle} in {problems:?}");
        }
        assert_eq!(problems.len(), 9, "{problems:?}");
    }

    #[test]
    fn summary_counts_and_totals() {
        let rows = [recipient("A B", "123456789", "100000.00", "24000.00"), recipient("C D", "987654321", "100000.00", "0.00")];
        assert_eq!(summarize(&rows), Summary1099 { count: 2, total_box3: money("200000.00"), total_box4: money("24000.00") });
        assert_eq!(summarize(&[]), Summary1099 { count: 0, total_box3: Money::ZERO, total_box4: Money::ZERO });
        let out = render_iris_csv(2026, &payer(), &[]).unwrap();
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1, "an empty year is the header alone");
    }
}
