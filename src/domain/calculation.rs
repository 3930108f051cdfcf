//! What a winner receives (SPEC §2): gross − retention fee − backup withholding (no W-9) = net.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::money::Money;

/// The configured fee and backup-withholding rate.
#[derive(Debug, Clone, Copy)]
pub struct CalculationRules {
    pub retention_fee: Decimal,
    pub backup_withholding_rate: Decimal,
}

/// One line of the calculation as documents show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub label: String,
    /// Negative for deductions.
    pub amount: Money,
}

/// What a winner receives, line by line, in exact decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Calculation {
    pub gross_amount: Money,
    pub retention_fee: Money,
    pub withholding_amount: Money,
    pub withholding_rate: String,
    /// Why tax was withheld (none when a W-9 is on file).
    pub withholding_reason: Option<String>,
    pub net_amount: Money,
    pub has_w9: bool,
    pub line_items: Vec<LineItem>,
}

/// Exact decimals; the rate applies with banker's rounding to cents. Never a negative net.
pub fn calculate(gross: Decimal, has_w9: bool, rules: &CalculationRules) -> Calculation {
    let fee = rules.retention_fee.min(gross).max(Decimal::ZERO);
    let (rate, withholding, reason) = if has_w9 {
        (Decimal::ZERO, Money::ZERO, None)
    } else {
        let w = Money::from_rate(gross * rules.backup_withholding_rate);
        let percent = (rules.backup_withholding_rate * Decimal::from(100)).normalize();
        (rules.backup_withholding_rate, w, Some(format!("No W-9 on file: {percent}% federal backup withholding")))
    };
    let withholding = Money::new(withholding.amount().min(gross - fee));
    let net = Money::new((gross - fee - withholding.amount()).max(Decimal::ZERO));
    let mut line_items = vec![
        LineItem { label: "Reward".into(), amount: Money::new(gross) },
        LineItem { label: "Retention fee (12 months of membership, prepaid)".into(), amount: Money::new(-fee) },
    ];
    if !has_w9 {
        line_items.push(LineItem { label: "Federal backup withholding".into(), amount: Money::new(-withholding.amount()) });
    }
    line_items.push(LineItem { label: "Net payment".into(), amount: net });
    Calculation {
        gross_amount: Money::new(gross),
        retention_fee: Money::new(fee),
        withholding_amount: withholding,
        withholding_rate: rate.normalize().to_string(),
        withholding_reason: reason,
        net_amount: net,
        has_w9,
        line_items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn rules() -> CalculationRules {
        CalculationRules { retention_fee: Decimal::from(300), backup_withholding_rate: Decimal::from_str("0.24").unwrap() }
    }

    #[test]
    fn the_spec_figures() {
        let with = calculate(Decimal::from(100_000), true, &rules());
        assert_eq!(with.net_amount.to_string(), "99700.00");
        assert_eq!(with.withholding_amount.to_string(), "0.00");
        assert!(with.withholding_reason.is_none());
        let without = calculate(Decimal::from(100_000), false, &rules());
        assert_eq!(without.withholding_amount.to_string(), "24000.00");
        assert_eq!(without.net_amount.to_string(), "75700.00");
        assert_eq!(without.withholding_reason.as_deref(), Some("No W-9 on file: 24% federal backup withholding"));
        assert_eq!(without.line_items.len(), 4);
    }

    #[test]
    fn the_rate_rounds_half_to_even_at_cents() {
        // 0.24 × 100000.0625 = 24000.015 → 24000.02 (half to even: ...01|5 → 02)
        let c = calculate(Decimal::from_str("100000.0625").unwrap(), false, &rules());
        assert_eq!(c.withholding_amount.to_string(), "24000.02");
    }

    proptest! {
        #[test]
        fn net_is_gross_minus_fee_minus_withholding_and_never_negative(
            cents in 0i64..100_000_000_00, has_w9 in any::<bool>(), fee_cents in 0i64..1_000_000, rate_bp in 0i64..=10_000,
        ) {
            let r = CalculationRules { retention_fee: Decimal::new(fee_cents, 2), backup_withholding_rate: Decimal::new(rate_bp, 4) };
            let gross = Decimal::new(cents, 2);
            let c = calculate(gross, has_w9, &r);
            prop_assert!(c.net_amount.amount() >= Decimal::ZERO);
            prop_assert_eq!(c.net_amount.amount(), gross - c.retention_fee.amount() - c.withholding_amount.amount());
            prop_assert_eq!(c.net_amount.amount().scale() <= 2, true);
            let items: Decimal = c.line_items[..c.line_items.len() - 1].iter().map(|i| i.amount.amount()).sum();
            prop_assert_eq!(items, c.net_amount.amount(), "the line items add up to the net");
            if has_w9 { prop_assert_eq!(c.withholding_amount, Money::ZERO); }
        }
    }
}
