//! The bank profile and the payer for tax files (SPEC §14). Both are optional: without them the
//! files are refused with 422 `BANK_PROFILE_MISSING`. Once any of a group is set, the group is
//! validated whole at start, every bad value named. `dev` ships a demo profile when none is set.

use crate::domain::iris_1099::Payer;
use crate::domain::nacha::{AchOrigin, DEFAULT_ENTRY_DESCRIPTION};
use crate::domain::positive_pay::PositivePayLayout;

use super::{Purpose, Reader};

#[derive(Debug, Clone)]
pub struct BankSettings {
    /// Who sends ACH files; `None` until the profile is set:
    /// the originating bank's routing number (9 digits, ABA checksum), `BANK_ODFI_ROUTING`, no default;
    /// where the file goes (unset: the ODFI), `BANK_IMMEDIATE_DESTINATION`, no default;
    /// its name (≤ 23), `BANK_IMMEDIATE_DESTINATION_NAME`, no default;
    /// the origin (10 characters, e.g. `1` + EIN), `BANK_IMMEDIATE_ORIGIN`, no default;
    /// its name (≤ 23), `BANK_IMMEDIATE_ORIGIN_NAME`, no default;
    /// the company name members' statements show (≤ 16), `BANK_COMPANY_NAME`, no default;
    /// the company id the bank assigned (10 characters), `BANK_COMPANY_ID`, no default;
    /// the entry description (≤ 10; unset: `PAYOUT`), `BANK_ENTRY_DESCRIPTION`, no default.
    pub ach: Option<AchOrigin>,
    /// The account checks are drawn on, for Positive Pay (4–17 digits).
    /// `BANK_ORIGINATING_ACCOUNT`, no default.
    pub originating_account: Option<String>,
    /// `csv` or `fixed`. `POSITIVE_PAY_LAYOUT`, default `csv`.
    pub positive_pay_layout: PositivePayLayout,
    /// The first check number the register hands out. `CHECK_NUMBER_START`, default `100001`.
    pub check_number_start: u64,
    /// The payer on 1099-MISC files, all or none: `PAYER_NAME`, no default; the EIN,
    /// `PAYER_TIN`, no default; `PAYER_ADDRESS_LINE1`, no default; `PAYER_CITY`, no default;
    /// a USPS code, `PAYER_STATE`, no default; `PAYER_POSTAL_CODE`, no default; 10 digits,
    /// `PAYER_PHONE`, no default.
    pub payer: Option<Payer>,
}

/// The demo profile `payout-service dev` uses when none is configured: a real-format routing
/// number of a test bank, nothing that pays anyone.
const DEMO: [(&str, &str); 15] = [
    ("BANK_ODFI_ROUTING", "021000021"),
    ("BANK_IMMEDIATE_DESTINATION_NAME", "DEMO BANK"),
    ("BANK_IMMEDIATE_ORIGIN", "1123456789"),
    ("BANK_IMMEDIATE_ORIGIN_NAME", "TENURE DEMO"),
    ("BANK_COMPANY_NAME", "TENURE DEMO"),
    ("BANK_COMPANY_ID", "1123456789"),
    ("BANK_ORIGINATING_ACCOUNT", "000111222333"),
    ("PAYER_NAME", "Tenure Demo Inc"),
    ("PAYER_TIN", "12-3456789"),
    ("PAYER_ADDRESS_LINE1", "1 Demo Plaza"),
    ("PAYER_CITY", "Austin"),
    ("PAYER_STATE", "TX"),
    ("PAYER_POSTAL_CODE", "78701"),
    ("PAYER_PHONE", "512-555-0100"),
    ("BANK_IMMEDIATE_DESTINATION", ""),
];

/// Which variable a problem the NACHA profile check reports belongs to (longest names first).
const ACH_FIELDS: [(&str, &str); 8] = [
    ("immediate destination name", "BANK_IMMEDIATE_DESTINATION_NAME"),
    ("immediate destination", "BANK_IMMEDIATE_DESTINATION"),
    ("immediate origin name", "BANK_IMMEDIATE_ORIGIN_NAME"),
    ("immediate origin", "BANK_IMMEDIATE_ORIGIN"),
    ("company name", "BANK_COMPANY_NAME"),
    ("company id", "BANK_COMPANY_ID"),
    ("entry description", "BANK_ENTRY_DESCRIPTION"),
    ("ODFI routing", "BANK_ODFI_ROUTING"),
];

impl BankSettings {
    pub(super) fn read(r: &mut Reader, purpose: Purpose) -> Self {
        let demo = purpose == Purpose::Dev && r.vars.get("BANK_ODFI_ROUTING").is_none_or(|v| v.trim().is_empty());
        let mut get = |r: &mut Reader, name: &'static str| {
            let value = r.optional(name);
            match value {
                None if demo => DEMO.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()).filter(|v| !v.is_empty()),
                v => v,
            }
        };
        let odfi = get(r, "BANK_ODFI_ROUTING");
        let destination = get(r, "BANK_IMMEDIATE_DESTINATION");
        let destination_name = get(r, "BANK_IMMEDIATE_DESTINATION_NAME");
        let origin = get(r, "BANK_IMMEDIATE_ORIGIN");
        let origin_name = get(r, "BANK_IMMEDIATE_ORIGIN_NAME");
        let company_name = get(r, "BANK_COMPANY_NAME");
        let company_id = get(r, "BANK_COMPANY_ID");
        let description = get(r, "BANK_ENTRY_DESCRIPTION");
        let originating_account = get(r, "BANK_ORIGINATING_ACCOUNT");
        let positive_pay_layout = r.choice("POSITIVE_PAY_LAYOUT", "csv", &[("csv", PositivePayLayout::Csv), ("fixed", PositivePayLayout::Fixed)], "csv or fixed");
        let check_number_start = r.read("CHECK_NUMBER_START", "100001", |raw, p| match raw.parse::<u64>() {
            Ok(n) if (1..=9_999_999_999).contains(&n) => n,
            _ => {
                p.push(format!("must be a check number from 1 to 9999999999, not '{raw}'"));
                100_001
            }
        });
        if let Some(account) = &originating_account {
            if !(4..=17).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
                r.problem("BANK_ORIGINATING_ACCOUNT", "must be 4 to 17 digits".into());
            }
        }

        let any_ach = [&destination, &destination_name, &origin, &origin_name, &company_name, &company_id, &description].iter().any(|v| v.is_some());
        let ach = match odfi {
            None => {
                if any_ach {
                    r.problem("BANK_ODFI_ROUTING", "is required once any BANK_* profile setting is set".into());
                }
                None
            }
            Some(odfi) => {
                let origin = AchOrigin {
                    immediate_destination: destination.unwrap_or_else(|| odfi.clone()),
                    immediate_destination_name: destination_name.unwrap_or_default(),
                    immediate_origin: origin.unwrap_or_default(),
                    immediate_origin_name: origin_name.unwrap_or_default(),
                    company_name: company_name.unwrap_or_default(),
                    company_id: company_id.unwrap_or_default(),
                    entry_description: description.unwrap_or_else(|| DEFAULT_ENTRY_DESCRIPTION.to_string()),
                    odfi_routing: odfi,
                };
                let problems = origin.problems();
                for problem in &problems {
                    let variable = ACH_FIELDS.iter().find(|(field, _)| problem.starts_with(field)).map_or("BANK_ODFI_ROUTING", |(_, v)| *v);
                    r.problem(variable, problem.clone());
                }
                problems.is_empty().then_some(origin)
            }
        };
        let payer = read_payer(r, &mut get);
        BankSettings { ach, originating_account, positive_pay_layout, check_number_start, payer }
    }
}

fn read_payer(r: &mut Reader, get: &mut impl FnMut(&mut Reader, &'static str) -> Option<String>) -> Option<Payer> {
    const NAMES: [&str; 7] = ["PAYER_NAME", "PAYER_TIN", "PAYER_ADDRESS_LINE1", "PAYER_CITY", "PAYER_STATE", "PAYER_POSTAL_CODE", "PAYER_PHONE"];
    let values: Vec<Option<String>> = NAMES.iter().map(|n| get(r, n)).collect();
    if values.iter().all(Option::is_none) {
        return None;
    }
    let mut ok = true;
    for (name, value) in NAMES.iter().zip(&values) {
        if value.is_none() {
            r.problem(name, "is required once any PAYER_* setting is set".into());
            ok = false;
        }
    }
    let digits = |v: &Option<String>| v.as_deref().unwrap_or("").chars().filter(char::is_ascii_digit).collect::<String>();
    let mut check = |r: &mut Reader, name: &'static str, good: bool, message: &str| {
        if !good {
            r.problem(name, message.into());
            ok = false;
        }
    };
    let tin = digits(&values[1]);
    check(r, "PAYER_TIN", values[1].is_none() || tin.len() == 9, "must be the payer's EIN: 9 digits");
    let state = values[4].clone().unwrap_or_default().to_ascii_uppercase();
    check(r, "PAYER_STATE", values[4].is_none() || crate::domain::w9::USPS_STATES.contains(&state.as_str()), "must be a USPS state code");
    let zip = digits(&values[5]);
    check(r, "PAYER_POSTAL_CODE", values[5].is_none() || zip.len() == 5 || zip.len() == 9, "must be a 5- or 9-digit ZIP code");
    check(r, "PAYER_PHONE", values[6].is_none() || digits(&values[6]).len() == 10, "must be a 10-digit phone number");
    if !ok {
        return None;
    }
    let v = |i: usize| values[i].clone().unwrap_or_default();
    Some(Payer { name: v(0), tin, address_line1: v(2), city: v(3), state, postal_code: zip, phone: digits(&values[6]) })
}
