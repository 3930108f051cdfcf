//! NACHA ACH files (SPEC §14): one PPD batch of credits (service class 220) that pays approved
//! payouts, or zero-dollar prenotes that test the accounts first. `build` writes the file and
//! hands out only bytes that the independent re-reader `validate` accepts, so a file that breaks
//! a rule (length, order, counts, hash, totals, trace numbers, blocking) is never produced.

mod build;
mod validate;

#[cfg(test)]
mod tests;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::domain::money::Money;

pub use build::build;
pub use validate::validate;

/// Every NACHA record is 94 characters.
pub const RECORD_LEN: usize = 94;
/// Records per block; the file is padded to whole blocks with lines of `9`.
pub const BLOCKING_FACTOR: usize = 10;
/// The entry description when the bank profile names none.
pub const DEFAULT_ENTRY_DESCRIPTION: &str = "PAYOUT";

/// Who sends the file, as the bank profile (SPEC §14) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchOrigin {
    /// The routing number the file goes to (9 digits; written as a space and the digits).
    pub immediate_destination: String,
    /// Up to 23 characters.
    pub immediate_destination_name: String,
    /// Exactly 10 characters, e.g. `1` + EIN.
    pub immediate_origin: String,
    /// Up to 23 characters.
    pub immediate_origin_name: String,
    /// Up to 16 characters; the member's bank statement shows it.
    pub company_name: String,
    /// Exactly 10 characters, as the bank assigns.
    pub company_id: String,
    /// Up to 10 characters, `PAYOUT` by default.
    pub entry_description: String,
    /// The originating bank's routing number (9 digits); its first 8 start every trace number.
    pub odfi_routing: String,
}

/// Which kind of account an entry credits; it picks the transaction code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    Checking,
    Savings,
}

impl AccountKind {
    /// 22 checking credit, 32 savings credit; their prenotes 23 and 33.
    pub fn transaction_code(self, prenote: bool) -> u8 {
        match (self, prenote) {
            (AccountKind::Checking, false) => 22,
            (AccountKind::Checking, true) => 23,
            (AccountKind::Savings, false) => 32,
            (AccountKind::Savings, true) => 33,
        }
    }
}

/// One credit: a payout's net amount to the member's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchEntry {
    /// The receiving bank's routing number (9 digits, ABA checksum).
    pub routing: String,
    /// Up to 17 letters or digits.
    pub account_number: String,
    pub account_kind: AccountKind,
    /// Positive and in whole cents in a live file; zero in a prenote file.
    pub amount: Money,
    /// Up to 15 characters, e.g. a payout id prefix.
    pub individual_id: String,
    /// Transliterated to ASCII and upper-cased here (`bank::bank_file_name`); cut to 22.
    pub individual_name: String,
}

/// Everything one file is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchRequest {
    pub origin: AchOrigin,
    /// `A`–`Z` or `0`–`9`: tells apart files sent the same day.
    pub file_id_modifier: char,
    /// File creation date (YYMMDD) and time (HHMM), in the caller's local time.
    pub created_at: NaiveDateTime,
    /// Must be a Fed banking day, not before the creation date.
    pub effective_date: NaiveDate,
    pub entries: Vec<AchEntry>,
    /// Zero-dollar entries (codes 23/33) that test the accounts.
    pub prenote: bool,
}

/// A built, validated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AchFile {
    pub bytes: Vec<u8>,
    pub entry_count: usize,
    pub total_credit: Money,
    /// The sum of the receiving banks' 8-digit routing numbers, its last 10 digits.
    pub entry_hash: u64,
    /// One per entry, in the entries' order: ODFI's first 8 digits + 7-digit sequence.
    pub trace_numbers: Vec<String>,
}

/// Why no file was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The input breaks a rule (the caller's data: a 422); every problem is listed.
    Refused(Vec<String>),
    /// The written bytes failed the re-read (a bug here: a 500); nothing may be sent.
    Invalid(Vec<String>),
}

/// One entry as read back from the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEntry {
    pub transaction_code: u8,
    /// 9 digits: the 8-digit RDFI identification and its check digit.
    pub routing: String,
    pub account_number: String,
    pub amount: Money,
    pub individual_id: String,
    pub individual_name: String,
    pub trace_number: String,
}

/// What `validate` read from a file that keeps every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAch {
    pub immediate_destination: String,
    pub immediate_origin: String,
    pub created_at: NaiveDateTime,
    pub file_id_modifier: char,
    pub company_name: String,
    pub company_id: String,
    pub entry_description: String,
    pub effective_date: NaiveDate,
    /// The ODFI's first 8 digits, as in the batch header.
    pub odfi: String,
    /// Every entry a prenote (23/33, zero); a file never mixes the two.
    pub prenote: bool,
    pub entries: Vec<ParsedEntry>,
    pub entry_count: usize,
    pub total_credit: Money,
    pub entry_hash: u64,
    pub batch_count: u32,
    pub block_count: u32,
}

/// Whole, non-negative cents, or `None` for a fraction of a cent or a negative amount.
pub(super) fn to_cents(amount: Money) -> Option<u64> {
    let hundredfold = amount.amount() * Decimal::ONE_HUNDRED;
    if hundredfold.fract() != Decimal::ZERO {
        return None;
    }
    hundredfold.to_u64()
}

/// Cents back to money with two decimals.
pub(super) fn from_cents(cents: u64) -> Money {
    Money::new(Decimal::new(i64::try_from(cents).unwrap_or(i64::MAX), 2))
}
