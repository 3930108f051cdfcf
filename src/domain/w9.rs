//! W-9 fields (SPEC §6, §12): parse, don't validate; every problem is collected so a form can
//! show them all at once. TINs must be plausible and states USPS codes.

use super::bank::text;
use super::validation::FieldError;

/// USPS codes: the states, DC, the territories, the freely associated states and the armed
/// forces' addresses.
pub const USPS_STATES: [&str; 62] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD",
    "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
    "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI", "FM", "MH", "PW", "AA", "AE", "AP",
];

/// The two-digit EIN prefixes the IRS assigns (campus and online issuance).
const EIN_PREFIXES: [u8; 83] = [
    1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 71, 72, 73,
    74, 75, 76, 77, 80, 81, 82, 83, 84, 85, 86, 87, 88, 90, 91, 92, 93, 94, 95, 98, 99,
];

/// Nine digits that could have been issued: SSNs never have area 000, 666 or 900–999, group 00
/// or serial 0000; EINs start with an assigned prefix. (Unknown types are reported elsewhere.)
pub fn plausible_tin(tin_type: &str, digits: &str) -> Result<(), &'static str> {
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<u32>().unwrap_or(0);
    match tin_type {
        "SSN" => {
            let area = n(0..3);
            if area == 0 || area == 666 || area >= 900 || n(3..5) == 0 || n(5..9) == 0 {
                return Err("is not an SSN that can have been issued (area 000, 666 or 900–999, group 00 or serial 0000)");
            }
        }
        "EIN" => {
            let prefix = n(0..2) as u8;
            if !EIN_PREFIXES.contains(&prefix) {
                return Err("is not an EIN the IRS assigns (unassigned prefix)");
            }
        }
        _ => {}
    }
    Ok(())
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
    let tin_type = text(body, "tinType").unwrap_or_default().to_string();
    if !["SSN", "EIN"].contains(&tin_type.as_str()) {
        errors.push(FieldError::new("tinType", "must be SSN or EIN"));
    }
    if !tin_raw.is_empty() && (tin.len() != 9 || !tin.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(FieldError::new("tin", "must be 9 digits (dashes allowed)"));
    } else if let Err(message) = plausible_tin(&tin_type, &tin) {
        errors.push(FieldError::new("tin", message));
    }
    if !state.is_empty() && !USPS_STATES.contains(&state.as_str()) {
        errors.push(FieldError::new("state", "must be a USPS two-letter state code such as TX"));
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

    #[test]
    fn tins_that_cannot_have_been_issued_are_refused() {
        for bad in ["000456789", "666456789", "900456789", "999456789", "123006789", "123450000"] {
            assert!(plausible_tin("SSN", bad).is_err(), "{bad}");
        }
        assert!(plausible_tin("SSN", "123456789").is_ok());
        for bad in ["071234567", "171234567", "001234567", "891234567"] {
            assert!(plausible_tin("EIN", bad).is_err(), "{bad}");
        }
        assert!(plausible_tin("EIN", "121234567").is_ok());
        assert!(plausible_tin("EIN", "991234567").is_ok());
    }

    #[test]
    fn w9_fields() {
        let ok = serde_json::json!({ "legalName": "Mary Major", "tin": "123-45-6789", "tinType": "SSN", "addressLine1": "1 Main St", "city": "Austin", "state": "TX", "postalCode": "78701-1234" });
        assert_eq!(parse_w9(ok.as_object().unwrap()).unwrap().tin, "123456789");
        let bad = serde_json::json!({ "tin": "12-345", "tinType": "ITIN", "state": "Texas", "postalCode": "7870" });
        let paths: Vec<String> = parse_w9(bad.as_object().unwrap()).unwrap_err().into_iter().map(|e| e.path).collect();
        for p in ["legalName", "addressLine1", "city", "state", "tin", "tinType", "postalCode"] {
            assert!(paths.contains(&p.to_string()), "{p} in {paths:?}");
        }
    }

    #[test]
    fn states_are_usps_codes() {
        let mut body = serde_json::Map::new();
        for (k, v) in [("legalName", "A B"), ("tin", "123-45-6789"), ("tinType", "SSN"), ("addressLine1", "1 Main"), ("city", "Austin"), ("postalCode", "78701")] {
            body.insert(k.into(), v.into());
        }
        body.insert("state".into(), "ZZ".into());
        let errors = parse_w9(&body).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["state"]);
        body.insert("state".into(), "PR".into());
        assert!(parse_w9(&body).is_ok());
    }
}
