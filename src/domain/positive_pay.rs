//! Positive Pay (SPEC §14): the list of checks issued (and voided) that the bank matches presented
//! checks against, so a forged or altered check is refused. One file covers one originating
//! account. Two layouts, as `POSITIVE_PAY_LAYOUT` picks:
//!
//! **CSV** (CRLF line ends, RFC 4180): header `account,check_number,amount,issue_date,payee,action`,
//! then one row per record: amount as a decimal (`100000.00`), date ISO (`2026-03-02`), payee
//! always quoted as given (UTF-8, quotes doubled, a leading `= + - @` defused with `'`), action
//! `ISSUE` or `VOID`.
//!
//! **Fixed** (94 characters a line, `\n` line ends, ASCII upper-case). Detail record:
//!
//! | positions | field |
//! |---|---|
//! | 1–15 | account number, right-justified, zero-filled |
//! | 16–25 | check number, zero-filled |
//! | 26–35 | amount in cents, zero-filled |
//! | 36–43 | issue date `MMDDYYYY` |
//! | 44 | `I` issue or `V` void |
//! | 45–94 | payee, transliterated to ASCII, upper-case, left-justified, space-padded, cut to 50 |
//!
//! Trailer (last line): 1–15 account; 16–25 record count; 26–37 total of all records' amounts
//! in cents (issues and voids alike); 38–43 blank; 44 `T`; 45–94 blank.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::domain::bank::bank_file_name;
use crate::domain::csv;
use crate::domain::money::Money;

/// One issued or voided check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositivePayRecord {
    /// The originating account the check is drawn on (digits, at most 15).
    pub account: String,
    pub check_number: u64,
    /// The check's amount; a void carries the amount of the check it voids.
    pub amount: Money,
    pub issue_date: NaiveDate,
    pub payee: String,
    pub void: bool,
}

/// Which layout the bank takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositivePayLayout {
    Csv,
    Fixed,
}

impl PositivePayLayout {
    /// `csv` or `fixed`, as the setting spells it.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(PositivePayLayout::Csv),
            "fixed" => Some(PositivePayLayout::Fixed),
            _ => None,
        }
    }

    /// The download's file extension.
    pub fn extension(self) -> &'static str {
        match self {
            PositivePayLayout::Csv => "csv",
            PositivePayLayout::Fixed => "txt",
        }
    }
}

/// The CSV header row.
pub const CSV_HEADER: &str = "account,check_number,amount,issue_date,payee,action";

const MAX_CHECK_NUMBER: u64 = 9_999_999_999;
const MAX_AMOUNT_CENTS: u64 = 9_999_999_999;
const MAX_TOTAL_CENTS: u64 = 999_999_999_999;

/// Whole cents of a positive amount that fits 10 digits.
fn cents(amount: Money) -> Option<u64> {
    let c = amount.amount() * Decimal::ONE_HUNDRED;
    (c.fract().is_zero()).then(|| c.to_u64()).flatten().filter(|c| (1..=MAX_AMOUNT_CENTS).contains(c))
}

/// The file in the chosen layout, or every problem with the records.
pub fn render(layout: PositivePayLayout, records: &[PositivePayRecord]) -> Result<Vec<u8>, Vec<String>> {
    let mut problems = Vec::new();
    if records.is_empty() {
        problems.push("a Positive Pay file needs at least one record".to_string());
    }
    let accounts: BTreeSet<&str> = records.iter().map(|r| r.account.as_str()).collect();
    if accounts.len() > 1 {
        problems.push("one Positive Pay file covers one account".to_string());
    }
    let mut seen = BTreeSet::new();
    let mut total: u64 = 0;
    let mut payees = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let what = |field: &str| format!("record {} (check {}): {field}", i + 1, r.check_number);
        if r.account.is_empty() || r.account.len() > 15 || !r.account.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(format!("{}: must be 1–15 digits", what("account")));
        }
        if !(1..=MAX_CHECK_NUMBER).contains(&r.check_number) {
            problems.push(format!("{}: must be 1–{MAX_CHECK_NUMBER}", what("check number")));
        }
        if !seen.insert((r.check_number, r.void)) {
            problems.push(format!("{}: listed twice", what("check number")));
        }
        match cents(r.amount) {
            Some(c) => total += c,
            None => problems.push(format!("{}: must be 0.01–99999999.99 in whole cents", what("amount"))),
        }
        let payee = r.payee.trim();
        if payee.is_empty() || payee.chars().any(char::is_control) {
            problems.push(format!("{}: must be a name without control characters", what("payee")));
        }
        payees.push(match layout {
            PositivePayLayout::Csv => payee.to_string(),
            PositivePayLayout::Fixed => match bank_file_name(payee) {
                // 50 characters hold the field; the bank matches on number and amount first.
                Ok(plain) => plain.to_ascii_uppercase().chars().take(50).collect::<String>().trim_end().to_string(),
                Err(message) => {
                    problems.push(format!("{}: {message}", what("payee")));
                    String::new()
                }
            },
        });
    }
    if total > MAX_TOTAL_CENTS {
        problems.push("the total is more than 12 digits of cents".to_string());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let text = match layout {
        PositivePayLayout::Csv => {
            let mut out = csv::row(&[CSV_HEADER.to_string()]);
            for (r, payee) in records.iter().zip(&payees) {
                out.push_str(&csv::row(&[
                    r.account.clone(),
                    r.check_number.to_string(),
                    r.amount.to_string(),
                    r.issue_date.format("%Y-%m-%d").to_string(),
                    csv::text(payee),
                    if r.void { "VOID" } else { "ISSUE" }.to_string(),
                ]));
            }
            out
        }
        PositivePayLayout::Fixed => {
            let account: u64 = records[0].account.parse().unwrap_or(0);
            let mut out = String::new();
            for (r, payee) in records.iter().zip(&payees) {
                let line = format!(
                    "{account:015}{:010}{:010}{}{}{payee:<50}\n",
                    r.check_number,
                    cents(r.amount).unwrap_or(0),
                    r.issue_date.format("%m%d%Y"),
                    if r.void { 'V' } else { 'I' },
                );
                out.push_str(&line);
            }
            out.push_str(&format!("{account:015}{:010}{total:012}{:6}T{:50}\n", records.len(), "", ""));
            out
        }
    };
    Ok(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn record(check: u64, amount: &str, payee: &str, void: bool) -> PositivePayRecord {
        PositivePayRecord {
            account: "123456789".into(),
            check_number: check,
            amount: Money::new(Decimal::from_str(amount).unwrap()),
            issue_date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            payee: payee.into(),
            void,
        }
    }

    fn two() -> Vec<PositivePayRecord> {
        vec![record(100001, "99700", "José Ñúñez", false), record(100002, "75700.00", "Mary-Jo O'Neil", true)]
    }

    #[test]
    fn csv_rows() {
        let out = String::from_utf8(render(PositivePayLayout::Csv, &two()).unwrap()).unwrap();
        assert_eq!(
            out,
            concat!(
                "account,check_number,amount,issue_date,payee,action\r\n",
                "123456789,100001,99700.00,2026-03-02,\"José Ñúñez\",ISSUE\r\n",
                "123456789,100002,75700.00,2026-03-02,\"Mary-Jo O'Neil\",VOID\r\n",
            )
        );
    }

    #[test]
    fn csv_payees_cannot_be_formulas_or_break_rows() {
        let records = vec![record(1, "1", "=cmd|' /C calc'!A0", false), record(2, "1", "Ann \"Nan\", Lee", false)];
        let out = String::from_utf8(render(PositivePayLayout::Csv, &records).unwrap()).unwrap();
        let rows: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(rows[1], "123456789,1,1.00,2026-03-02,\"'=cmd|' /C calc'!A0\",ISSUE");
        assert_eq!(rows[2], "123456789,2,1.00,2026-03-02,\"Ann \"\"Nan\"\", Lee\",ISSUE");
        let newline = vec![record(3, "1", "Ann\nLee", false)];
        assert!(render(PositivePayLayout::Csv, &newline).is_err());
    }

    #[test]
    fn fixed_lines_hand_checked() {
        let out = String::from_utf8(render(PositivePayLayout::Fixed, &two()).unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        #[rustfmt::skip]
        let want = [
            concat!(
                "000000123456789",   // 1-15 account
                "0000100001",        // 16-25 check number
                "0009970000",        // 26-35 $99,700.00 in cents
                "03022026",          // 36-43 MMDDYYYY
                "I",                 // 44 issue
                "JOSE NUNEZ                                        ", // 45-94 (10 + 40)
            ),
            concat!(
                "000000123456789", "0000100002", "0007570000", "03022026",
                "V",                 // void
                "MARY-JO O'NEIL                                    ", // (14 + 36)
            ),
            concat!(
                "000000123456789",   // 1-15 account
                "0000000002",        // 16-25 record count
                "000017540000",      // 26-37 total cents
                "      ",            // 38-43
                "T",                 // 44 trailer
                "                                                  ", // 45-94 (50)
            ),
        ];
        assert_eq!(lines.len(), 3);
        for (got, want) in lines.iter().zip(want) {
            assert_eq!(want.len(), 94);
            assert_eq!(*got, want);
        }
        assert!(out.ends_with("T                                                  \n"));
        assert_eq!(&lines[0][25..35], "0009970000");
    }

    #[test]
    fn long_payees_are_cut_and_other_scripts_refused() {
        let long = vec![record(7, "5", &"Abcdefghij ".repeat(6), false)];
        let out = String::from_utf8(render(PositivePayLayout::Fixed, &long).unwrap()).unwrap();
        assert_eq!(out.lines().next().unwrap().len(), 94);
        let cyrillic = vec![record(8, "5", "Иван Петров", false)];
        let problems = render(PositivePayLayout::Fixed, &cyrillic).unwrap_err();
        assert!(problems[0].contains("Latin letters"), "{problems:?}");
        assert!(render(PositivePayLayout::Csv, &cyrillic).is_ok(), "CSV carries UTF-8");
    }

    #[test]
    fn bad_records_are_refused_with_every_problem() {
        assert!(render(PositivePayLayout::Csv, &[]).is_err());
        let mut bad = two();
        bad[0].amount = Money::new(Decimal::from_str("0.001").unwrap());
        bad[1].account = "12345678901234567".into();
        bad.push(record(100001, "1", "", false));
        let problems = render(PositivePayLayout::Fixed, &bad).unwrap_err();
        for needle in ["whole cents", "1–15 digits", "one account", "listed twice", "payee"] {
            assert!(problems.iter().any(|p| p.contains(needle)), "{needle} in {problems:?}");
        }
        let zero = vec![record(0, "0", "A", false)];
        assert_eq!(render(PositivePayLayout::Csv, &zero).unwrap_err().len(), 2);
    }

    #[test]
    fn layouts_by_name() {
        assert_eq!(PositivePayLayout::parse("CSV"), Some(PositivePayLayout::Csv));
        assert_eq!(PositivePayLayout::parse("fixed"), Some(PositivePayLayout::Fixed));
        assert_eq!(PositivePayLayout::parse("xml"), None);
        assert_eq!(PositivePayLayout::Fixed.extension(), "txt");
    }
}
