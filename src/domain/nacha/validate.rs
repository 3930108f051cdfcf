//! Reading a file back, independently of how it was written: each record is cut at the NACHA
//! positions (1-based in the comments, 0-based in the code) and every rule is checked again.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::{from_cents, ParsedAch, ParsedEntry, BLOCKING_FACTOR, RECORD_LEN};
use crate::domain::bank::RoutingNumber;

/// One record, with where it is for the messages.
struct Rec<'a> {
    line: &'a str,
    number: usize,
    errors: &'a mut Vec<String>,
}

impl Rec<'_> {
    fn fail(&mut self, what: &str, from: usize, to: usize, message: &str) {
        self.errors.push(format!("line {}: {what} (positions {}–{to}) {message}", self.number, from + 1));
    }

    fn field(&self, from: usize, to: usize) -> &str {
        &self.line[from..to]
    }

    /// A numeric field: digits only.
    fn digits(&mut self, what: &str, from: usize, to: usize) -> Option<u64> {
        let s = &self.line[from..to];
        if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok()
        } else {
            self.fail(what, from, to, &format!("must be digits, found {s:?}"));
            None
        }
    }

    fn exact(&mut self, what: &str, from: usize, to: usize, want: &str) {
        let got = &self.line[from..to];
        if got != want {
            self.fail(what, from, to, &format!("must be {want:?}, found {got:?}"));
        }
    }

    fn blank(&mut self, what: &str, from: usize, to: usize) {
        let want = " ".repeat(to - from);
        self.exact(what, from, to, &want);
    }

    /// An alphanumeric field that must hold something and start at its left edge.
    fn text(&mut self, what: &str, from: usize, to: usize, required: bool) -> String {
        let s = &self.line[from..to];
        if required && s.trim().is_empty() {
            self.fail(what, from, to, "is blank");
        } else if s.starts_with(' ') && !s.trim().is_empty() {
            self.fail(what, from, to, "must be left-justified");
        }
        s.trim_end().to_string()
    }

    fn date(&mut self, what: &str, from: usize, to: usize) -> Option<NaiveDate> {
        let s = &self.line[from..to];
        let d = NaiveDate::parse_from_str(&format!("20{s}"), "%Y%m%d").ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()));
        if d.is_none() {
            self.fail(what, from, to, &format!("must be a date YYMMDD, found {s:?}"));
        }
        d
    }
}

/// Checks every rule of an ACH file this service writes (one PPD credit batch, 94-character
/// upper-case ASCII lines ending in `\n`, blocked by 10) and reads it; all problems are listed.
pub fn validate(bytes: &[u8]) -> Result<ParsedAch, Vec<String>> {
    if bytes.is_empty() {
        return Err(vec!["the file is empty".to_string()]);
    }
    let mut errors = Vec::new();
    if let Some(at) = bytes.iter().position(|b| *b != b'\n' && !(0x20..=0x7e).contains(b)) {
        errors.push(format!("byte {}: 0x{:02x} is not printable ASCII (a CR, a tab or another script?)", at + 1, bytes[at]));
        return Err(errors);
    }
    let text = std::str::from_utf8(bytes).expect("checked ASCII");
    let Some(body) = text.strip_suffix('\n') else {
        return Err(vec!["the last line must end with a newline".to_string()]);
    };
    let lines: Vec<&str> = body.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if line.len() != RECORD_LEN {
            errors.push(format!("line {}: {} characters, every record is {RECORD_LEN}", i + 1, line.len()));
        }
        if line.bytes().any(|b| b.is_ascii_lowercase()) {
            errors.push(format!("line {}: lower-case letters; NACHA files are upper-case", i + 1));
        }
    }
    if lines.len() % BLOCKING_FACTOR != 0 {
        errors.push(format!("{} lines: not a multiple of the blocking factor {BLOCKING_FACTOR}", lines.len()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Record order: 1, 5, 6…, 8, 9, then only filler lines of `9`, fewer than a block.
    let kinds: String = lines.iter().map(|l| &l[..1]).collect();
    let filler = "9".repeat(RECORD_LEN);
    let fillers = lines.iter().rev().take_while(|l| **l == filler).count();
    let records = &lines[..lines.len() - fillers];
    let order = &kinds[..records.len()];
    let shape_ok = order.len() >= 5
        && order.starts_with("15")
        && order.ends_with("89")
        && order[2..order.len() - 2].bytes().all(|b| b == b'6');
    if !shape_ok {
        return Err(vec![format!("record order {order:?}: must be 1, 5, one or more 6, 8, 9 (one PPD batch)")]);
    }
    if fillers >= BLOCKING_FACTOR {
        errors.push(format!("{fillers} filler lines: padding must stop at the first whole block"));
    }
    let (header, batch_header) = (records[0], records[1]);
    let (entry_lines, batch_control, file_control) =
        (&records[2..records.len() - 2], records[records.len() - 2], records[records.len() - 1]);

    // 1: file header.
    let mut r = Rec { line: header, number: 1, errors: &mut errors };
    r.exact("priority code", 1, 3, "01");
    r.exact("immediate destination lead", 3, 4, " ");
    let destination = r.field(4, 13).to_string();
    if !RoutingNumber::parse(&destination).is_ok_and(|x| x.as_str() == destination) {
        r.fail("immediate destination", 4, 13, "must be a routing number with a valid check digit");
    }
    let immediate_origin = r.field(13, 23).to_string();
    if immediate_origin.trim().is_empty() {
        r.fail("immediate origin", 13, 23, "is blank");
    }
    let created_date = r.date("file creation date", 23, 29);
    let hhmm = r.field(29, 33).to_string();
    let created_time = NaiveTime::parse_from_str(&hhmm, "%H%M").ok().filter(|_| hhmm.bytes().all(|b| b.is_ascii_digit()));
    if created_time.is_none() {
        r.fail("file creation time", 29, 33, "must be HHMM");
    }
    let modifier = r.field(33, 34).chars().next().unwrap_or(' ');
    if !(modifier.is_ascii_uppercase() || modifier.is_ascii_digit()) {
        r.fail("file id modifier", 33, 34, "must be A–Z or 0–9");
    }
    r.exact("record size", 34, 37, "094");
    r.exact("blocking factor", 37, 39, "10");
    r.exact("format code", 39, 40, "1");
    r.text("immediate destination name", 40, 63, false);
    r.text("immediate origin name", 63, 86, false);
    r.blank("reference code", 86, 94);

    // 5: batch header.
    let mut r = Rec { line: batch_header, number: 2, errors: &mut errors };
    r.exact("service class code", 1, 4, "220");
    let company_name = r.text("company name", 4, 20, true);
    r.blank("company discretionary data", 20, 40);
    let company_id = r.field(40, 50).to_string();
    if company_id.trim().is_empty() {
        r.fail("company identification", 40, 50, "is blank");
    }
    r.exact("standard entry class", 50, 53, "PPD");
    let entry_description = r.text("company entry description", 53, 63, true);
    let descriptive = r.field(63, 69).to_string();
    if descriptive.trim() != "" {
        r.date("company descriptive date", 63, 69);
    }
    let effective_date = r.date("effective entry date", 69, 75);
    r.blank("settlement date", 75, 78);
    r.exact("originator status code", 78, 79, "1");
    let odfi = r.field(79, 87).to_string();
    r.digits("originating DFI", 79, 87);
    r.exact("batch number", 87, 94, "0000001");

    // 6: entries.
    let mut entries = Vec::with_capacity(entry_lines.len());
    let mut hash: u64 = 0;
    let mut total: u64 = 0;
    let mut kinds_seen = (false, false);
    for (i, line) in entry_lines.iter().enumerate() {
        let mut r = Rec { line, number: i + 3, errors: &mut errors };
        let code = r.digits("transaction code", 1, 3).unwrap_or(0) as u8;
        let prenote = match code {
            22 | 32 => false,
            23 | 33 => true,
            _ => {
                r.fail("transaction code", 1, 3, "must be 22 or 32 (credits), or 23 or 33 (prenotes)");
                false
            }
        };
        if prenote {
            kinds_seen.1 = true;
        } else {
            kinds_seen.0 = true;
        }
        let routing = r.field(3, 12).to_string();
        if let Some(rdfi) = r.digits("receiving DFI and check digit", 3, 12) {
            hash += rdfi / 10;
            if RoutingNumber::parse(&routing).is_err() {
                r.fail("check digit", 11, 12, "does not match the receiving DFI identification (ABA checksum)");
            }
        }
        let account_number = r.text("DFI account number", 12, 29, true);
        let cents = r.digits("amount", 29, 39).unwrap_or(0);
        if prenote && cents != 0 {
            r.fail("amount", 29, 39, "must be zero in a prenote");
        } else if !prenote && cents == 0 {
            r.fail("amount", 29, 39, "must be more than zero in a live credit");
        }
        total += cents;
        let individual_id = r.text("individual identification number", 39, 54, false);
        let individual_name = r.text("individual name", 54, 76, true);
        r.blank("discretionary data", 76, 78);
        r.exact("addenda record indicator", 78, 79, "0");
        let trace_number = r.field(79, 94).to_string();
        let want_trace = format!("{odfi}{:07}", i + 1);
        if trace_number != want_trace {
            r.fail("trace number", 79, 94, &format!("must be {want_trace} (ODFI + ascending sequence from 1)"));
        }
        entries.push(ParsedEntry {
            transaction_code: code,
            routing,
            account_number,
            amount: from_cents(cents),
            individual_id,
            individual_name,
            trace_number,
        });
    }
    if kinds_seen == (true, true) {
        errors.push("entries: live credits and prenotes are mixed in one file".to_string());
    }
    let hash = hash % 10_000_000_000;
    let count = entry_lines.len() as u64;

    // 8: batch control.
    let n8 = records.len() - 1;
    let mut r = Rec { line: batch_control, number: n8, errors: &mut errors };
    r.exact("service class code", 1, 4, "220");
    r.exact("entry/addenda count", 4, 10, &format!("{count:06}"));
    r.exact("entry hash", 10, 20, &format!("{hash:010}"));
    r.exact("total debit", 20, 32, &"0".repeat(12));
    r.exact("total credit", 32, 44, &format!("{total:012}"));
    r.exact("company identification", 44, 54, &company_id);
    r.blank("message authentication code", 54, 73);
    r.blank("reserved", 73, 79);
    r.exact("originating DFI", 79, 87, &odfi);
    r.exact("batch number", 87, 94, "0000001");

    // 9: file control.
    let blocks = (lines.len() / BLOCKING_FACTOR) as u32;
    let mut r = Rec { line: file_control, number: n8 + 1, errors: &mut errors };
    r.exact("batch count", 1, 7, "000001");
    r.exact("block count", 7, 13, &format!("{blocks:06}"));
    r.exact("entry/addenda count", 13, 21, &format!("{count:08}"));
    r.exact("entry hash", 21, 31, &format!("{hash:010}"));
    r.exact("total debit", 31, 43, &"0".repeat(12));
    r.exact("total credit", 43, 55, &format!("{total:012}"));
    r.blank("reserved", 55, 94);

    match (errors.is_empty(), created_date, created_time, effective_date) {
        (true, Some(date), Some(time), Some(effective_date)) => Ok(ParsedAch {
            immediate_destination: destination,
            immediate_origin,
            created_at: NaiveDateTime::new(date, time),
            file_id_modifier: modifier,
            company_name,
            company_id,
            entry_description,
            effective_date,
            odfi,
            prenote: kinds_seen.1,
            entry_count: entries.len(),
            entries,
            total_credit: from_cents(total),
            entry_hash: hash,
            batch_count: 1,
            block_count: blocks,
        }),
        _ => Err(errors),
    }
}
