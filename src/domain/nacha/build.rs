//! Writing the file: every input checked (all problems listed), then the five record kinds laid
//! out field by field, then the bytes re-read by `validate` and compared with what was meant.

use chrono::NaiveDate;

use super::{
    from_cents, to_cents, validate, AchEntry, AchFile, AchOrigin, AchRequest, BuildError, BLOCKING_FACTOR, RECORD_LEN,
};
use crate::domain::bank::{bank_file_name, RoutingNumber};
use crate::domain::banking_days::is_banking_day;

/// The largest amount one entry carries: 10 digits of cents.
const MAX_ENTRY_CENTS: u64 = 9_999_999_999;
/// The largest total a control record carries: 12 digits of cents.
const MAX_TOTAL_CENTS: u64 = 999_999_999_999;
/// Entries one batch control can count (6 digits).
const MAX_ENTRIES: usize = 999_999;
/// Entry hashes keep their last 10 digits.
const HASH_MODULUS: u64 = 10_000_000_000;

/// Printable ASCII (space to `~`), upper-cased; `None` when another character is in it.
fn ascii_upper(s: &str) -> Option<String> {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b)).then(|| s.to_ascii_uppercase())
}

/// A text field of at most `max` characters (exactly `max` when `exact`), upper-cased.
fn text_field(problems: &mut Vec<String>, what: &str, value: &str, max: usize, exact: bool, required: bool) -> String {
    // Fixed-width codes keep their spaces (" " + routing is a valid origin); names are trimmed.
    let value = if exact { value } else { value.trim() };
    let Some(upper) = ascii_upper(value) else {
        problems.push(format!("{what}: must be printable ASCII (letters, digits, punctuation)"));
        return String::new();
    };
    if exact && upper.len() != max {
        problems.push(format!("{what}: must be exactly {max} characters"));
    } else if upper.len() > max {
        problems.push(format!("{what}: must be at most {max} characters"));
    } else if required && upper.trim().is_empty() {
        problems.push(format!("{what}: is required"));
    }
    upper
}

fn routing(problems: &mut Vec<String>, what: &str, value: &str) -> String {
    match RoutingNumber::parse(value) {
        Ok(r) if r.as_str() == value => r.as_str().to_string(),
        Ok(_) => {
            problems.push(format!("{what}: must be 9 digits without spaces"));
            String::new()
        }
        Err(message) => {
            problems.push(format!("{what}: {message}"));
            String::new()
        }
    }
}

impl AchOrigin {
    /// Every problem with the bank profile, for checking it at start; empty when it is usable.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.checked(&mut problems);
        problems
    }

    /// The profile as it goes into the file (upper-cased), with problems appended.
    fn checked(&self, p: &mut Vec<String>) -> AchOrigin {
        AchOrigin {
            immediate_destination: routing(p, "immediate destination", &self.immediate_destination),
            immediate_destination_name: text_field(p, "immediate destination name", &self.immediate_destination_name, 23, false, false),
            immediate_origin: text_field(p, "immediate origin", &self.immediate_origin, 10, true, true),
            immediate_origin_name: text_field(p, "immediate origin name", &self.immediate_origin_name, 23, false, false),
            company_name: text_field(p, "company name", &self.company_name, 16, false, true),
            company_id: text_field(p, "company id", &self.company_id, 10, true, true),
            entry_description: text_field(p, "entry description", &self.entry_description, 10, false, true),
            odfi_routing: routing(p, "ODFI routing", &self.odfi_routing),
        }
    }
}

/// An entry as it goes into the file.
struct Line6 {
    code: u8,
    routing: String,
    account: String,
    cents: u64,
    id: String,
    name: String,
}

fn checked_entry(p: &mut Vec<String>, n: usize, e: &AchEntry, prenote: bool) -> Line6 {
    let what = |field: &str| format!("entry {n} ({}): {field}", e.individual_id);
    let routing = routing(p, &what("routing"), &e.routing);
    let account = e.account_number.to_ascii_uppercase();
    if account.is_empty() || account.len() > 17 || !account.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        p.push(format!("{}: must be 1–17 letters, digits or hyphens", what("account number")));
    }
    let cents = match to_cents(e.amount) {
        None => {
            p.push(format!("{}: must be a non-negative amount in whole cents", what("amount")));
            0
        }
        Some(c) if prenote && c != 0 => {
            p.push(format!("{}: a prenote carries no money (must be 0.00)", what("amount")));
            0
        }
        Some(0) if !prenote => {
            p.push(format!("{}: a live entry must be more than 0.00", what("amount")));
            0
        }
        Some(c) if c > MAX_ENTRY_CENTS => {
            p.push(format!("{}: at most 99999999.99 fits in an entry", what("amount")));
            0
        }
        Some(c) => c,
    };
    let id = text_field(p, &what("individual id"), &e.individual_id, 15, false, false);
    let name = match bank_file_name(e.individual_name.trim()) {
        Ok(plain) => {
            // The field holds 22 characters; banks match on the account, so a longer name is cut.
            let cut: String = plain.to_ascii_uppercase().chars().take(22).collect();
            let cut = cut.trim_end().to_string();
            if cut.is_empty() {
                p.push(format!("{}: is required", what("individual name")));
            }
            cut
        }
        Err(message) => {
            p.push(format!("{}: {message}", what("individual name")));
            String::new()
        }
    };
    Line6 { code: e.account_kind.transaction_code(prenote), routing, account, cents, id, name }
}

/// Left-justified, space-padded; inputs are checked to fit before this is called.
fn alpha(s: &str, width: usize) -> String {
    debug_assert!(s.len() <= width, "{s:?} wider than {width}");
    format!("{s:<width$}")
}

/// Right-justified, zero-filled.
fn num(v: u64, width: usize) -> String {
    format!("{v:0width$}")
}

fn yymmdd(d: NaiveDate) -> String {
    d.format("%y%m%d").to_string()
}

/// Builds the file, or says why not. The bytes are handed out only after `validate` re-read
/// them and found exactly the entries, totals, hash and trace numbers meant.
pub fn build(request: &AchRequest) -> Result<AchFile, BuildError> {
    let mut p = Vec::new();
    let origin = request.origin.checked(&mut p);
    let modifier = request.file_id_modifier;
    if !(modifier.is_ascii_uppercase() || modifier.is_ascii_digit()) {
        p.push("file id modifier: must be A–Z or 0–9".to_string());
    }
    let created = request.created_at;
    let effective = request.effective_date;
    for (what, date) in [("creation date", created.date()), ("effective date", effective)] {
        if !(2000..=2099).contains(&chrono::Datelike::year(&date)) {
            p.push(format!("{what}: must be in 2000–2099 (the file writes YYMMDD)"));
        }
    }
    if !is_banking_day(effective) {
        p.push(format!("effective date: {effective} is not a Federal Reserve banking day"));
    }
    if effective < created.date() {
        p.push(format!("effective date: {effective} is before the file's creation date"));
    }
    if request.entries.is_empty() {
        p.push("entries: a file needs at least one entry".to_string());
    }
    if request.entries.len() > MAX_ENTRIES {
        p.push(format!("entries: at most {MAX_ENTRIES} fit in one batch"));
    }
    let lines6: Vec<Line6> =
        request.entries.iter().enumerate().map(|(i, e)| checked_entry(&mut p, i + 1, e, request.prenote)).collect();
    let total: u64 = lines6.iter().map(|l| l.cents).sum();
    if total > MAX_TOTAL_CENTS {
        p.push("entries: the total is more than 12 digits of cents".to_string());
    }
    if !p.is_empty() {
        return Err(BuildError::Refused(p));
    }

    let odfi8 = &origin.odfi_routing[..8];
    let hash = lines6.iter().map(|l| l.routing[..8].parse::<u64>().unwrap_or(0)).sum::<u64>() % HASH_MODULUS;
    let mut lines = Vec::with_capacity(lines6.len() + 4 + BLOCKING_FACTOR);
    // 1: file header.
    lines.push(
        [
            "1",
            "01",
            &format!(" {}", origin.immediate_destination),
            &origin.immediate_origin,
            &yymmdd(created.date()),
            &created.format("%H%M").to_string(),
            &modifier.to_string(),
            "094",
            "10",
            "1",
            &alpha(&origin.immediate_destination_name, 23),
            &alpha(&origin.immediate_origin_name, 23),
            &alpha("", 8),
        ]
        .concat(),
    );
    // 5: batch header. Descriptive date and settlement date blank (the bank fills settlement).
    lines.push(
        [
            "5",
            "220",
            &alpha(&origin.company_name, 16),
            &alpha("", 20),
            &origin.company_id,
            "PPD",
            &alpha(&origin.entry_description, 10),
            &alpha("", 6),
            &yymmdd(effective),
            &alpha("", 3),
            "1",
            odfi8,
            &num(1, 7),
        ]
        .concat(),
    );
    // 6: entries, traced ODFI + 1, 2, 3, … in the order given.
    let mut trace_numbers = Vec::with_capacity(lines6.len());
    for (i, l) in lines6.iter().enumerate() {
        let trace = format!("{odfi8}{}", num(i as u64 + 1, 7));
        lines.push(
            [
                "6",
                &num(u64::from(l.code), 2),
                &l.routing,
                &alpha(&l.account, 17),
                &num(l.cents, 10),
                &alpha(&l.id, 15),
                &alpha(&l.name, 22),
                &alpha("", 2),
                "0",
                &trace,
            ]
            .concat(),
        );
        trace_numbers.push(trace);
    }
    // 8: batch control.
    lines.push(
        [
            "8",
            "220",
            &num(lines6.len() as u64, 6),
            &num(hash, 10),
            &num(0, 12),
            &num(total, 12),
            &origin.company_id,
            &alpha("", 19),
            &alpha("", 6),
            odfi8,
            &num(1, 7),
        ]
        .concat(),
    );
    // 9: file control, counting the blocks the padding below makes.
    let blocks = (lines.len() + 1).div_ceil(BLOCKING_FACTOR);
    lines.push(
        [
            "9",
            &num(1, 6),
            &num(blocks as u64, 6),
            &num(lines6.len() as u64, 8),
            &num(hash, 10),
            &num(0, 12),
            &num(total, 12),
            &alpha("", 39),
        ]
        .concat(),
    );
    while lines.len() % BLOCKING_FACTOR != 0 {
        lines.push("9".repeat(RECORD_LEN));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    let bytes = text.into_bytes();

    let parsed = validate(&bytes).map_err(BuildError::Invalid)?;
    let mut mismatches = Vec::new();
    if parsed.entry_count != lines6.len() || parsed.entries.len() != lines6.len() {
        mismatches.push(format!("re-read {} entries, wrote {}", parsed.entry_count, lines6.len()));
    }
    if parsed.total_credit != from_cents(total) {
        mismatches.push(format!("re-read total {}, wrote {}", parsed.total_credit, from_cents(total)));
    }
    if parsed.entry_hash != hash {
        mismatches.push(format!("re-read entry hash {}, wrote {hash}", parsed.entry_hash));
    }
    if parsed.prenote != request.prenote {
        mismatches.push("re-read the wrong kind of file (prenote or live)".to_string());
    }
    for (i, (got, meant)) in parsed.entries.iter().zip(&lines6).enumerate() {
        if got.routing != meant.routing
            || got.account_number != meant.account
            || got.amount != from_cents(meant.cents)
            || got.transaction_code != meant.code
            || got.trace_number != trace_numbers[i]
        {
            mismatches.push(format!("entry {} re-read differently from what was written", i + 1));
        }
    }
    if !mismatches.is_empty() {
        return Err(BuildError::Invalid(mismatches));
    }
    Ok(AchFile { bytes, entry_count: lines6.len(), total_credit: from_cents(total), entry_hash: hash, trace_numbers })
}
