//! The ACH writer against hand-computed files, the validator against tampered ones, and a
//! property: whatever valid input is generated, the file builds and reads back the same.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::domain::money::Money;

fn money(s: &str) -> Money {
    Money::new(Decimal::from_str(s).unwrap())
}

fn origin() -> AchOrigin {
    AchOrigin {
        immediate_destination: "021000021".into(),
        immediate_destination_name: "JPMorgan Chase Bank".into(),
        immediate_origin: "1123456789".into(),
        immediate_origin_name: "Tenure Payouts Inc".into(),
        company_name: "Tenure Payouts".into(),
        company_id: "1123456789".into(),
        entry_description: "PAYOUT".into(),
        odfi_routing: "021000021".into(),
    }
}

fn entry(routing: &str, account: &str, kind: AccountKind, amount: &str, id: &str, name: &str) -> AchEntry {
    AchEntry {
        routing: routing.into(),
        account_number: account.into(),
        account_kind: kind,
        amount: money(amount),
        individual_id: id.into(),
        individual_name: name.into(),
    }
}

fn request(entries: Vec<AchEntry>, prenote: bool) -> AchRequest {
    AchRequest {
        origin: origin(),
        file_id_modifier: 'A',
        // Monday 2 March 2026, 14:05; effective Tuesday 3 March.
        created_at: NaiveDateTime::parse_from_str("2026-03-02 14:05:00", "%Y-%m-%d %H:%M:%S").unwrap(),
        effective_date: NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(),
        entries,
        prenote,
    }
}

fn two_entries() -> Vec<AchEntry> {
    vec![
        entry("011000015", "000123456789", AccountKind::Checking, "99700.00", "PAYOUT-1A2B3C4D", "José Ñúñez"),
        entry("121000358", "98765432", AccountKind::Savings, "75700", "payout-99aa00bb", "Mary-Jo O'Neil"),
    ]
}

fn lines(bytes: &[u8]) -> Vec<String> {
    std::str::from_utf8(bytes).unwrap().lines().map(str::to_string).collect()
}

fn n_entries(n: usize) -> Vec<AchEntry> {
    (0..n).map(|i| entry("011000015", "12345678", AccountKind::Checking, "1.00", &format!("P{i}"), "ANN LEE")).collect()
}

#[test]
fn hand_checked_two_entry_file() {
    let file = build(&request(two_entries(), false)).unwrap();
    let got = lines(&file.bytes);
    #[rustfmt::skip]
    let want = [
        concat!(
            "1", "01",               // 1 record type, 2-3 priority code
            " 021000021",            // 4-13 immediate destination: space + routing
            "1123456789",            // 14-23 immediate origin: 1 + EIN
            "260302", "1405", "A",   // 24-29 date, 30-33 time, 34 modifier
            "094", "10", "1",        // 35-37 record size, 38-39 blocking, 40 format
            "JPMORGAN CHASE BANK    ",   // 41-63 destination name (19 + 4)
            "TENURE PAYOUTS INC     ",   // 64-86 origin name (18 + 5)
            "        ",              // 87-94 reference code
        ),
        concat!(
            "5", "220",              // 1 type, 2-4 service class: credits only
            "TENURE PAYOUTS  ",      // 5-20 company name (14 + 2)
            "                    ",  // 21-40 discretionary data (20)
            "1123456789", "PPD",     // 41-50 company id, 51-53 SEC code
            "PAYOUT    ",            // 54-63 entry description (6 + 4)
            "      ",                // 64-69 descriptive date, blank
            "260303",                // 70-75 effective entry date
            "   ", "1",              // 76-78 settlement date (bank's), 79 originator status
            "02100002", "0000001",   // 80-87 ODFI, 88-94 batch number
        ),
        concat!(
            "6", "22",               // 1 type, 2-3 checking credit
            "01100001", "5",         // 4-11 RDFI, 12 check digit
            "000123456789     ",     // 13-29 account (12 + 5)
            "0009970000",            // 30-39 $99,700.00 in cents
            "PAYOUT-1A2B3C4D",       // 40-54 individual id (15)
            "JOSE NUNEZ            ",// 55-76 name, transliterated (10 + 12)
            "  ", "0",               // 77-78 discretionary, 79 addenda indicator
            "021000020000001",       // 80-94 trace: ODFI + 0000001
        ),
        concat!(
            "6", "32",               // savings credit
            "12100035", "8",
            "98765432         ",     // (8 + 9)
            "0007570000",            // $75,700.00
            "PAYOUT-99AA00BB",       // upper-cased
            "MARY-JO O'NEIL        ",// (14 + 8)
            "  ", "0",
            "021000020000002",
        ),
        concat!(
            "8", "220",
            "000002",                // 5-10 entry/addenda count
            "0013200036",            // 11-20 hash: 01100001 + 12100035
            "000000000000",          // 21-32 total debit
            "000017540000",          // 33-44 total credit: 9970000 + 7570000 cents
            "1123456789",            // 45-54 company id
            "                   ",   // 55-73 message authentication (19)
            "      ",                // 74-79 reserved (6)
            "02100002", "0000001",   // 80-87 ODFI, 88-94 batch number
        ),
        concat!(
            "9", "000001", "000001", // 2-7 batches, 8-13 blocks
            "00000002",              // 14-21 entry/addenda count
            "0013200036",            // 22-31 hash
            "000000000000", "000017540000", // 32-43 debit, 44-55 credit
            "                                       ", // 56-94 reserved (39)
        ),
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(w.len(), 94, "expected line {} is 94 characters", i + 1);
        assert_eq!(got[i], *w, "line {}", i + 1);
    }
    assert_eq!(&got[2][29..39], "0009970000", "the amount sits at 30-39");
    assert_eq!(&got[3][79..94], "021000020000002");
    assert_eq!(got.len(), 10, "six records + four filler lines make one block");
    for filler in &got[6..] {
        assert_eq!(*filler, "9".repeat(94));
    }
    assert!(file.bytes.ends_with(b"9\n"));
    assert_eq!(file.entry_count, 2);
    assert_eq!(file.total_credit, money("175400.00"));
    assert_eq!(file.entry_hash, 13_200_036);
    assert_eq!(file.trace_numbers, ["021000020000001", "021000020000002"]);
    let parsed = validate(&file.bytes).unwrap();
    assert_eq!(parsed.entries[0].individual_name, "JOSE NUNEZ");
    assert_eq!(parsed.effective_date, NaiveDate::from_ymd_opt(2026, 3, 3).unwrap());
    assert!(!parsed.prenote);
}

#[test]
fn entry_hash_keeps_last_ten_digits() {
    // 311 × 32227162 = 10,022,647,382 → 0022647382.
    let entries: Vec<AchEntry> =
        (0..311).map(|i| entry("322271627", "555", AccountKind::Savings, "1.00", &format!("P{i}"), "BO")).collect();
    let file = build(&request(entries, false)).unwrap();
    assert_eq!(file.entry_hash, 22_647_382);
    let got = lines(&file.bytes);
    let control = &got[311 + 2];
    assert_eq!(&control[10..20], "0022647382");
    assert_eq!(&control[32..44], "000000031100");
    let file_control = &got[311 + 3];
    assert_eq!(&file_control[21..31], "0022647382");
    assert_eq!(&file_control[7..13], "000032", "315 lines → 32 blocks");
    assert_eq!(got.len(), 320);
    assert_eq!(file.trace_numbers[310], "021000020000311");
}

#[test]
fn blocking_pads_only_to_the_next_ten() {
    // 6 entries + 4 records = 10 lines: no filler.
    let file = build(&request(n_entries(6), false)).unwrap();
    let got = lines(&file.bytes);
    assert_eq!(got.len(), 10);
    assert!(got[9].starts_with("9000001000001"), "the last line is the file control");
    // 7 entries → 11 lines → 20, block count 2.
    let file = build(&request(n_entries(7), false)).unwrap();
    let got = lines(&file.bytes);
    assert_eq!(got.len(), 20);
    assert_eq!(&got[10][7..13], "000002");
    assert_eq!(got.iter().filter(|l| **l == "9".repeat(94)).count(), 9);
}

#[test]
fn prenotes_carry_codes_23_and_33_and_no_money() {
    let mut entries = two_entries();
    for e in &mut entries {
        e.amount = Money::ZERO;
    }
    let file = build(&request(entries, true)).unwrap();
    let got = lines(&file.bytes);
    assert_eq!(&got[2][1..3], "23");
    assert_eq!(&got[3][1..3], "33");
    assert_eq!(&got[2][29..39], "0000000000");
    assert_eq!(&got[4][32..44], "000000000000");
    assert_eq!(file.total_credit, Money::ZERO);
    assert!(validate(&file.bytes).unwrap().prenote);
    // A prenote with money, or a live entry without, is refused.
    let Err(BuildError::Refused(p)) = build(&request(two_entries(), true)) else { panic!("prenote with money built") };
    assert_eq!(p.len(), 2, "{p:?}");
    let mut zero = two_entries();
    zero[1].amount = Money::ZERO;
    let Err(BuildError::Refused(p)) = build(&request(zero, false)) else { panic!("zero credit built") };
    assert!(p[0].contains("more than 0.00"), "{p:?}");
}

#[test]
fn bad_input_is_refused_with_every_problem() {
    let mut entries = two_entries();
    entries[0].individual_name = "Иван Петров".into();
    entries[0].routing = "011000016".into();
    entries[1].account_number = "123456789012345678".into();
    entries[1].amount = money("10.005");
    let mut req = request(entries, false);
    req.file_id_modifier = 'a';
    req.effective_date = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(); // a Saturday
    req.origin.company_name = "Tenure Payouts Incorporated".into();
    let Err(BuildError::Refused(p)) = build(&req) else { panic!("built") };
    for needle in ["Latin letters", "checksum", "1–17", "whole cents", "modifier", "banking day", "company name"] {
        assert!(p.iter().any(|m| m.contains(needle)), "{needle} in {p:?}");
    }
    assert_eq!(p.len(), 7, "{p:?}");
    let Err(BuildError::Refused(p)) = build(&request(vec![], false)) else { panic!("empty built") };
    assert!(p[0].contains("at least one entry"));
    let mut negative = two_entries();
    negative[0].amount = money("-1.00");
    assert!(matches!(build(&request(negative, false)), Err(BuildError::Refused(_))));
}

#[test]
fn long_names_are_cut_to_22() {
    let mut entries = two_entries();
    entries[0].individual_name = "Maximilian Alexander von Humboldt-Lindqvist".into();
    let file = build(&request(entries, false)).unwrap();
    assert_eq!(validate(&file.bytes).unwrap().entries[0].individual_name, "MAXIMILIAN ALEXANDER V");
}

#[test]
fn origin_problems_are_listed_for_start_up() {
    assert!(origin().problems().is_empty());
    let mut bad = origin();
    bad.odfi_routing = "12345".into();
    bad.immediate_origin = "123".into();
    bad.company_id = "".into();
    bad.entry_description = "MEMBER PAYOUT".into();
    assert_eq!(bad.problems().len(), 4, "{:?}", bad.problems());
}

/// The file with `with` written over line `line` (0-based) from position `at` (0-based).
fn tamper(bytes: &[u8], line: usize, at: usize, with: &str) -> Vec<u8> {
    let mut ls = lines(bytes);
    ls[line].replace_range(at..at + with.len(), with);
    (ls.join("\n") + "\n").into_bytes()
}

fn rejected(bytes: &[u8], needle: &str) {
    let errors = validate(bytes).expect_err("tampered file accepted");
    assert!(errors.iter().any(|e| e.contains(needle)), "{needle} in {errors:?}");
}

#[test]
fn validator_rejects_tampering() {
    let good = build(&request(two_entries(), false)).unwrap().bytes;
    assert!(validate(&good).is_ok());
    rejected(&tamper(&good, 5, 54, "8"), "total credit"); // file control total 17540000 → 17540008
    rejected(&tamper(&good, 4, 19, "7"), "entry hash"); // batch control hash
    rejected(&tamper(&good, 2, 38, "1"), "total credit"); // an entry's amount no longer adds up
    rejected(&tamper(&good, 2, 11, "6"), "check digit");
    rejected(&tamper(&good, 2, 93, "2"), "trace number"); // two entries traced …0000002
    rejected(&tamper(&good, 2, 58, "e"), "lower-case");
    rejected(&tamper(&good, 5, 7, "000002"), "block count");
    rejected(&tamper(&good, 1, 50, "CCD"), "standard entry class");
    rejected(&tamper(&good, 2, 1, "27"), "transaction code"); // a debit
    let mut short = lines(&good);
    short[2].pop();
    rejected((short.join("\n") + "\n").as_bytes(), "93 characters");
    rejected(&good[..good.len() - 1], "newline");
    rejected(&String::from_utf8(good.clone()).unwrap().replace('\n', "\r\n").into_bytes(), "not printable ASCII");
    rejected(b"", "empty");
    let mut extra = good.clone();
    extra.extend(format!("{}\n", "9".repeat(94)).repeat(10).bytes());
    rejected(&extra, "filler");
    let mut swapped = lines(&good);
    swapped.swap(1, 2);
    rejected((swapped.join("\n") + "\n").as_bytes(), "record order");
    let mut mixed = tamper(&good, 3, 1, "33");
    mixed = tamper(&mixed, 3, 29, "0000000000");
    let errors = validate(&mixed).unwrap_err();
    assert!(errors.iter().any(|e| e.contains("mixed")), "{errors:?}");
}

/// A valid routing number from 8 digits: the check digit makes the 3-7-1 sum a multiple of 10.
fn with_check_digit(eight: &str) -> String {
    let d: Vec<u32> = eight.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
    format!("{eight}{}", (10 - sum % 10) % 10)
}

fn arb_entry() -> impl Strategy<Value = AchEntry> {
    (
        "[1-9][0-9]{7}",
        "[0-9A-Z]{1,17}",
        any::<bool>(),
        1u64..=9_999_999_999,
        "[0-9A-Za-z-]{0,15}",
        "[A-Za-z][A-Za-z .'&,-]{0,30}",
    )
        .prop_map(|(eight, account, savings, cents, id, name)| AchEntry {
            routing: with_check_digit(&eight),
            account_number: account,
            account_kind: if savings { AccountKind::Savings } else { AccountKind::Checking },
            amount: Money::new(Decimal::new(cents as i64, 2)),
            individual_id: id,
            individual_name: name,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any valid input builds; the re-read agrees with the builder on count, total and hash.
    #[test]
    fn every_valid_input_builds_and_reads_back(entries in prop::collection::vec(arb_entry(), 1..40), prenote in any::<bool>()) {
        let mut entries = entries;
        if prenote {
            for e in &mut entries {
                e.amount = Money::ZERO;
            }
        }
        let file = build(&request(entries.clone(), prenote)).unwrap();
        let parsed = validate(&file.bytes).unwrap();
        prop_assert_eq!(parsed.entry_count, entries.len());
        prop_assert_eq!(file.entry_count, entries.len());
        let cents: i64 = entries.iter().map(|e| (e.amount.amount() * Decimal::ONE_HUNDRED).try_into().unwrap_or(0i64)).sum();
        prop_assert_eq!(parsed.total_credit, Money::new(Decimal::new(cents, 2)));
        prop_assert_eq!(parsed.total_credit, file.total_credit);
        let hash: u64 = entries.iter().map(|e| e.routing[..8].parse::<u64>().unwrap()).sum::<u64>() % 10_000_000_000;
        prop_assert_eq!(parsed.entry_hash, hash);
        prop_assert_eq!(file.entry_hash, hash);
        prop_assert_eq!(parsed.prenote, prenote);
        prop_assert_eq!(file.bytes.len() % (95 * 10), 0);
        let traces: Vec<String> = parsed.entries.iter().map(|e| e.trace_number.clone()).collect();
        prop_assert_eq!(traces, file.trace_numbers);
    }
}
