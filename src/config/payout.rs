//! The money rules of SPEC §2 and the approval rules of §4: dollars, exact decimals.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{date, money, parse, Purpose, Reader};

#[derive(Debug, Clone)]
pub struct PayoutRules {
    /// Total revenue the company must reach before any payout. `PAYOUT_THRESHOLD`, default `100000`.
    pub payout_threshold: Decimal,
    /// Gross reward paid to each winner. `REWARD_PER_WINNER`, default `100000`.
    pub reward_per_winner: Decimal,
    /// Kept from each reward (with the withholding, never more than the reward).
    /// `RETENTION_FEE`, default `300`.
    pub retention_fee: Decimal,
    /// Share withheld when a winner has no W-9, between 0 and 1.
    /// `BACKUP_WITHHOLDING_RATE`, default `0.24`.
    pub backup_withholding_rate: Decimal,
    /// The company must be this old before anyone is paid. `MIN_COMPANY_AGE_MONTHS`, default `12`.
    pub min_company_age_months: u32,
    /// When the company launched: a date or a full ISO datetime (its UTC date counts).
    /// `BUSINESS_LAUNCH_DATE`, default `2024-01-01`.
    pub business_launch_date: NaiveDate,
    /// Months after a completed payout before the membership is retired.
    /// `MEMBERSHIP_REMOVAL_MONTHS`, default `12`.
    pub membership_removal_months: u32,
    /// Distinct admins who must approve a payout, never below 2. `REQUIRED_APPROVALS`, default `2`.
    pub required_approvals: u32,
    /// Whether the admin who created a payout may approve it. `ALLOW_CREATOR_APPROVAL`,
    /// default `false`.
    pub allow_creator_approval: bool,
    /// Printed on receipts and instructions. `COMPANY_NAME`, default `Tenure`.
    pub company_name: String,
    /// The company's postal address on receipts, lines separated by `;` or a newline.
    /// `COMPANY_ADDRESS`, default `100 Main Street; Springfield, IL 62701`.
    pub company_address: Vec<String>,
    /// Where members write with questions: on receipts and in emails.
    /// `SUPPORT_EMAIL`, default `support@localhost`.
    pub support_email: String,
}

impl PayoutRules {
    pub(super) fn read(r: &mut Reader, _purpose: Purpose) -> Self {
        let payout_threshold = r.read("PAYOUT_THRESHOLD", "100000", |raw, p| money(raw, true, p));
        let reward_per_winner = r.read("REWARD_PER_WINNER", "100000", |raw, p| money(raw, true, p));
        let retention_fee = r.read("RETENTION_FEE", "300", |raw, p| money(raw, false, p));
        let backup_withholding_rate = r.read("BACKUP_WITHHOLDING_RATE", "0.24", |raw, p| {
            let rate = parse::<Decimal>(raw, "a decimal rate such as 0.24", p);
            if rate < Decimal::ZERO || rate > Decimal::ONE {
                p.push(format!("must be a share between 0 and 1 (0.24 is 24%), not {rate}"));
            }
            rate
        });
        // Needs the rate, which is read after the fee (`.env.example` order). Only a rate in range
        // is combined: a bad rate is BACKUP_WITHHOLDING_RATE's problem alone, not the fee's.
        let rate_in_range = backup_withholding_rate >= Decimal::ZERO && backup_withholding_rate <= Decimal::ONE;
        if rate_in_range
            && reward_per_winner > Decimal::ZERO
            && retention_fee + reward_per_winner * backup_withholding_rate > reward_per_winner
        {
            r.problem(
                "RETENTION_FEE",
                format!(
                    "{retention_fee} plus the backup withholding ({backup_withholding_rate} of {reward_per_winner}) is more than REWARD_PER_WINNER, \
                     so a member without a W-9 would be paid a negative amount: lower RETENTION_FEE or BACKUP_WITHHOLDING_RATE"
                ),
            );
        }
        PayoutRules {
            payout_threshold,
            reward_per_winner,
            retention_fee,
            backup_withholding_rate,
            min_company_age_months: r.parse::<u32>("MIN_COMPANY_AGE_MONTHS", "12", "a whole number of months"),
            business_launch_date: r.read("BUSINESS_LAUNCH_DATE", "2024-01-01", date),
            membership_removal_months: r.positive("MEMBERSHIP_REMOVAL_MONTHS", "12"),
            required_approvals: r.read("REQUIRED_APPROVALS", "2", |raw, p| {
                let n = parse::<u32>(raw, "a whole number, at least 2", p);
                if n < 2 {
                    p.push(format!("must be at least 2 (two distinct admins), got {n}"));
                }
                n
            }),
            allow_creator_approval: r.boolean("ALLOW_CREATOR_APPROVAL", "false"),
            company_name: r.text("COMPANY_NAME", "Tenure"),
            company_address: r.read("COMPANY_ADDRESS", "100 Main Street; Springfield, IL 62701", |raw, _| {
                raw.split([';', '\n']).map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()
            }),
            support_email: r.read("SUPPORT_EMAIL", "support@localhost", |raw, p| {
                if !raw.contains('@') || raw.contains(char::is_whitespace) {
                    p.push(format!("'{raw}' is not an email address"));
                }
                raw.to_string()
            }),
        }
    }
}
