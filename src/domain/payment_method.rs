//! How the money travels: ACH or check for new payouts; the old service's wire and paypal are
//! still read.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How the money travels. New payouts are ACH or check; `wire` and `paypal` are the old
/// service's, still readable (and listable) but never payable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    Ach,
    Check,
    Wire,
    Paypal,
}

impl PaymentMethod {
    /// Every method the table allows, in the order error messages list them.
    pub const ALL: [PaymentMethod; 4] = [PaymentMethod::Ach, PaymentMethod::Check, PaymentMethod::Wire, PaymentMethod::Paypal];
    /// The methods a new payout may use.
    pub const PAYABLE: [PaymentMethod; 2] = [PaymentMethod::Ach, PaymentMethod::Check];

    /// As stored in `payout_management.payment_method` and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Ach => "ach",
            PaymentMethod::Check => "check",
            PaymentMethod::Wire => "wire",
            PaymentMethod::Paypal => "paypal",
        }
    }

    /// Exactly one of the stored spellings (lowercase).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the service can produce instructions for it.
    pub fn is_payable(self) -> bool {
        Self::PAYABLE.contains(&self)
    }

    /// How members and documents name it.
    pub fn describe(self) -> &'static str {
        match self {
            PaymentMethod::Ach => "ACH bank transfer",
            PaymentMethod::Check => "Paper check",
            PaymentMethod::Wire => "wire (legacy)",
            PaymentMethod::Paypal => "paypal (legacy)",
        }
    }

    /// "must be one of: ach, check" for a list of methods.
    pub fn one_of(methods: &[PaymentMethod]) -> String {
        format!("must be one of: {}", methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))
    }
}

impl fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn methods_parse_and_only_ach_and_check_are_payable() {
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
        }
        assert_eq!(PaymentMethod::parse("ACH"), None);
        assert!(PaymentMethod::Ach.is_payable() && PaymentMethod::Check.is_payable());
        assert!(!PaymentMethod::Wire.is_payable() && !PaymentMethod::Paypal.is_payable());
    }
}
