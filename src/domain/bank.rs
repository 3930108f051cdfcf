//! Bank details and W-9 fields (SPEC §6): parse, don't validate. Every problem is collected so a
//! form can show them all at once.

use serde::Serialize;

use super::validation::FieldError;

/// An ABA routing number: 9 digits whose weighted sum (3, 7, 1, …) is a multiple of 10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingNumber(String);

impl RoutingNumber {
    /// Nine digits with a valid checksum, not all zero; the error says which rule failed.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim();
        if s.len() != 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be exactly 9 digits");
        }
        let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
        if sum % 10 != 0 || d.iter().all(|x| *x == 0) {
            return Err("is not a valid ABA routing number (checksum failed)");
        }
        Ok(RoutingNumber(s.to_string()))
    }

    /// The nine digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the member submits; held only in memory and in encrypted form.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BankDetails {
    pub account_holder_name: String,
    pub routing_number: String,
    pub account_number: String,
    pub account_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
}

impl BankDetails {
    /// The last four digits of the account number (the only part ever shown).
    pub fn last4(&self) -> String {
        self.account_number[self.account_number.len() - 4..].to_string()
    }
}

/// A string field, trimmed; control characters (NUL among them) make it unreadable.
fn text<'a>(body: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.chars().any(char::is_control))
}

/// Every field checked; all errors returned together.
pub fn parse_bank_details(body: &serde_json::Map<String, serde_json::Value>) -> Result<BankDetails, Vec<FieldError>> {
    let mut errors = Vec::new();
    let holder = text(body, "accountHolderName").unwrap_or_default();
    let holder_ok = (2..=100).contains(&holder.chars().count())
        && holder.chars().all(|c| c.is_alphabetic() || c == ' ' || "-'.".contains(c))
        && holder.chars().any(char::is_alphabetic);
    if !holder_ok {
        errors.push(FieldError::new("accountHolderName", "must be 2–100 letters, spaces, hyphens, apostrophes or periods"));
    }
    let routing = match text(body, "routingNumber") {
        Some(r) => RoutingNumber::parse(r).map_err(|m| errors.push(FieldError::new("routingNumber", m))).ok(),
        None => {
            errors.push(FieldError::new("routingNumber", "is required"));
            None
        }
    };
    let account = text(body, "accountNumber").unwrap_or_default();
    if !(4..=17).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new("accountNumber", "must be 4–17 digits"));
    }
    let account_type = text(body, "accountType").unwrap_or_default();
    if !["checking", "savings"].contains(&account_type) {
        errors.push(FieldError::new("accountType", "must be checking or savings"));
    }
    let bank_name = match body.get("bankName") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.trim().chars().count() <= 100 && !s.chars().any(char::is_control) => {
            Some(s.trim().to_string()).filter(|s| !s.is_empty())
        }
        Some(_) => {
            errors.push(FieldError::new("bankName", "must be a string of at most 100 characters"));
            None
        }
    };
    match (errors.is_empty(), routing) {
        (true, Some(routing)) => Ok(BankDetails {
            account_holder_name: holder.to_string(),
            routing_number: routing.as_str().to_string(),
            account_number: account.to_string(),
            account_type: account_type.to_string(),
            bank_name,
        }),
        _ => Err(errors),
    }
}

/// A W-9 as submitted (SPEC §6). The TIN is kept as 9 digits and stored encrypted.
#[derive(Debug, Clone)]
pub struct W9 {
    pub legal_name: String,
    pub tin: String,
    pub tin_type: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
}

/// Every W-9 field checked; all errors returned together.
pub fn parse_w9(body: &serde_json::Map<String, serde_json::Value>) -> Result<W9, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut required = |key: &str, max: usize| -> String {
        match text(body, key) {
            Some(v) if !v.is_empty() && v.chars().count() <= max => v.to_string(),
            Some(v) if !v.is_empty() => {
                errors.push(FieldError::new(key, format!("must be at most {max} characters")));
                String::new()
            }
            _ => {
                errors.push(FieldError::new(key, "is required"));
                String::new()
            }
        }
    };
    let legal_name = required("legalName", 200);
    let tin_raw = required("tin", 11);
    let address_line1 = required("addressLine1", 200);
    let city = required("city", 100);
    let state = required("state", 2);
    let postal_code = required("postalCode", 10);
    let tin: String = tin_raw.chars().filter(|c| *c != '-').collect();
    if !tin_raw.is_empty() && (tin.len() != 9 || !tin.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(FieldError::new("tin", "must be 9 digits (dashes allowed)"));
    }
    let tin_type = text(body, "tinType").unwrap_or_default().to_string();
    if !["SSN", "EIN"].contains(&tin_type.as_str()) {
        errors.push(FieldError::new("tinType", "must be SSN or EIN"));
    }
    if !state.is_empty() && !(state.len() == 2 && state.bytes().all(|b| b.is_ascii_uppercase())) {
        errors.push(FieldError::new("state", "must be a two-letter state code such as TX"));
    }
    let zip_ok = postal_code.is_ascii() && {
        let (five, rest) = postal_code.split_at(postal_code.len().min(5));
        five.len() == 5 && five.bytes().all(|b| b.is_ascii_digit()) && (rest.is_empty() || (rest.len() == 5 && rest.starts_with('-') && rest[1..].bytes().all(|b| b.is_ascii_digit())))
    };
    if !postal_code.is_empty() && !zip_ok {
        errors.push(FieldError::new("postalCode", "must be a ZIP code: 12345 or 12345-6789"));
    }
    let address_line2 = match body.get("addressLine2") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.chars().count() <= 200 && !s.chars().any(char::is_control) => {
            Some(s.trim().to_string()).filter(|s| !s.is_empty())
        }
        Some(_) => {
            errors.push(FieldError::new("addressLine2", "must be a string of at most 200 characters"));
            None
        }
    };
    if errors.is_empty() {
        Ok(W9 { legal_name, tin, tin_type, address_line1, address_line2, city, state, postal_code })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn routing_checksum() {
        for good in ["011000015", "021000021", "121000358", "026009593"] {
            assert!(RoutingNumber::parse(good).is_ok(), "{good}");
        }
        for bad in ["011000016", "12345678", "0110000150", "01100001a", "000000000"] {
            assert!(RoutingNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_bad_bank_field_is_listed() {
        let body = json!({ "accountHolderName": "X", "routingNumber": "011000016", "accountNumber": "12", "accountType": "brokerage", "bankName": 7 });
        let errors = parse_bank_details(body.as_object().unwrap()).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["accountHolderName", "routingNumber", "accountNumber", "accountType", "bankName"]);
        let ok = json!({ "accountHolderName": "Mary-Jo O'Neil Jr.", "routingNumber": "011000015", "accountNumber": "000123456789", "accountType": "savings" });
        let b = parse_bank_details(ok.as_object().unwrap()).unwrap();
        assert_eq!(b.last4(), "6789");
    }

    #[test]
    fn w9_fields() {
        let ok = json!({ "legalName": "Mary Major", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701-1234" });
        assert_eq!(parse_w9(ok.as_object().unwrap()).unwrap().tin, "123456789");
        let bad = json!({ "tin": "12-345", "tinType": "ITIN", "state": "Texas", "postalCode": "7870" });
        let paths: Vec<String> = parse_w9(bad.as_object().unwrap()).unwrap_err().into_iter().map(|e| e.path).collect();
        for p in ["legalName", "addressLine1", "city", "state", "tin", "tinType", "postalCode"] {
            assert!(paths.contains(&p.to_string()), "{p} in {paths:?}");
        }
    }

    proptest! {
        /// Changing any one digit of a valid routing number breaks the checksum.
        #[test]
        fn one_wrong_digit_is_caught(pos in 0usize..9, delta in 1u8..10) {
            let good = b"021000021";
            let mut s = good.to_vec();
            s[pos] = b'0' + (s[pos] - b'0' + delta) % 10;
            prop_assert!(RoutingNumber::parse(std::str::from_utf8(&s).unwrap()).is_err());
        }
    }
}
