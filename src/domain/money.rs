//! Money: exact decimals, carried in JSON as strings with two decimals ("99700.00").

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// US dollars, exact: never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(Decimal);

impl Money {
    /// $0.00.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Exact: refuses nothing, rounds nothing. Amounts from the database are already cents.
    pub fn new(amount: Decimal) -> Self {
        Money(amount)
    }

    /// Rounded to cents with banker's rounding (only where a rate applies, SPEC §2).
    pub fn from_rate(amount: Decimal) -> Self {
        Money(amount.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
    }

    /// The exact decimal.
    pub fn amount(&self) -> Decimal {
        self.0
    }

    /// For people: `$100,000.00`, `−$300.00`.
    pub fn display_usd(&self) -> String {
        let plain = self.to_string();
        let (sign, digits) = match plain.strip_prefix('-') {
            Some(rest) => ("−", rest),
            None => ("", plain.as_str()),
        };
        let (whole, cents) = digits.split_once('.').unwrap_or((digits, "00"));
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{sign}${grouped}.{cents}")
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = self.0.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
        d.rescale(2);
        write!(f, "{d}")
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads `"99700.00"` (how we store it) or a JSON number (how an old row may hold it).
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <Decimal as Deserialize>::deserialize(d).map(Money)
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .examples([serde_json::json!("99700.00")])
            .description(Some("US dollars, exact, two decimals"))
            .into()
    }
}

impl utoipa::ToSchema for Money {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn two_decimals_always() {
        assert_eq!(Money::new(Decimal::from(99700)).to_string(), "99700.00");
        assert_eq!(Money::new(Decimal::from_str("0.5").unwrap()).to_string(), "0.50");
        assert_eq!(serde_json::to_string(&Money::new(Decimal::from_str("123.456").unwrap())).unwrap(), "\"123.46\"");
    }

    #[test]
    fn displayed_for_people() {
        assert_eq!(Money::new(Decimal::from(100_000)).display_usd(), "$100,000.00");
        assert_eq!(Money::new(Decimal::from(-300)).display_usd(), "−$300.00");
        assert_eq!(Money::new(Decimal::from_str("999.5").unwrap()).display_usd(), "$999.50");
        assert_eq!(Money::new(Decimal::from(1_234_567)).display_usd(), "$1,234,567.00");
    }

    #[test]
    fn bankers_rounding_where_a_rate_applies() {
        assert_eq!(Money::from_rate(Decimal::from_str("0.125").unwrap()).to_string(), "0.12");
        assert_eq!(Money::from_rate(Decimal::from_str("0.135").unwrap()).to_string(), "0.14");
    }
}
