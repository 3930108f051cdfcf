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

/// Accented Latin letters and their plain spellings, for names a bank file must carry in ASCII.
const TRANSLITERATIONS: &[(char, &str)] = &[
    ('À', "A"), ('Á', "A"), ('Â', "A"), ('Ã', "A"), ('Ä', "A"), ('Å', "A"), ('Æ', "AE"), ('Ç', "C"), ('È', "E"), ('É', "E"),
    ('Ê', "E"), ('Ë', "E"), ('Ì', "I"), ('Í', "I"), ('Î', "I"), ('Ï', "I"), ('Ð', "D"), ('Ñ', "N"), ('Ò', "O"), ('Ó', "O"),
    ('Ô', "O"), ('Õ', "O"), ('Ö', "O"), ('Ø', "O"), ('Ù', "U"), ('Ú', "U"), ('Û', "U"), ('Ü', "U"), ('Ý', "Y"), ('Þ', "TH"),
    ('ß', "ss"), ('à', "a"), ('á', "a"), ('â', "a"), ('ã', "a"), ('ä', "a"), ('å', "a"), ('æ', "ae"), ('ç', "c"), ('è', "e"),
    ('é', "e"), ('ê', "e"), ('ë', "e"), ('ì', "i"), ('í', "i"), ('î', "i"), ('ï', "i"), ('ð', "d"), ('ñ', "n"), ('ò', "o"),
    ('ó', "o"), ('ô', "o"), ('õ', "o"), ('ö', "o"), ('ø', "o"), ('ù', "u"), ('ú', "u"), ('û', "u"), ('ü', "u"), ('ý', "y"),
    ('þ', "th"), ('ÿ', "y"), ('Ā', "A"), ('ā', "a"), ('Ă', "A"), ('ă', "a"), ('Ą', "A"), ('ą', "a"), ('Ć', "C"), ('ć', "c"),
    ('Č', "C"), ('č', "c"), ('Ď', "D"), ('ď', "d"), ('Đ', "D"), ('đ', "d"), ('Ē', "E"), ('ē', "e"), ('Ę', "E"), ('ę', "e"),
    ('Ě', "E"), ('ě', "e"), ('Ğ', "G"), ('ğ', "g"), ('Ī', "I"), ('ī', "i"), ('İ', "I"), ('ı', "i"), ('Ł', "L"), ('ł', "l"),
    ('Ń', "N"), ('ń', "n"), ('Ň', "N"), ('ň', "n"), ('Ō', "O"), ('ō', "o"), ('Ő', "O"), ('ő', "o"), ('Œ', "OE"), ('œ', "oe"),
    ('Ř', "R"), ('ř', "r"), ('Ś', "S"), ('ś', "s"), ('Ş', "S"), ('ş', "s"), ('Š', "S"), ('š', "s"), ('Ţ', "T"), ('ţ', "t"),
    ('Ť', "T"), ('ť', "t"), ('Ū', "U"), ('ū', "u"), ('Ů', "U"), ('ů', "u"), ('Ű', "U"), ('ű', "u"), ('Ÿ', "Y"), ('Ź', "Z"),
    ('ź', "z"), ('Ż', "Z"), ('ż', "z"), ('Ž', "Z"), ('ž', "z"), ('’', "'"),
];

/// The name as a NACHA file can carry it (SPEC §12): letters, digits, space and `-'.&,`, with
/// accented Latin letters spelled plainly; another script, or any other character, is an error
/// that says so.
pub fn bank_file_name(name: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || " -'.&,".contains(c) {
            out.push(c);
        } else if let Some((_, plain)) = TRANSLITERATIONS.iter().find(|(accented, _)| *accented == c) {
            out.push_str(plain);
        } else if c.is_alphabetic() {
            return Err("must be written in Latin letters: a bank file cannot carry this script");
        } else {
            return Err("must be letters, digits, spaces or - ' . & , only");
        }
    }
    Ok(out)
}

/// A string field, trimmed; control characters (NUL among them) make it unreadable.
pub(crate) fn text<'a>(body: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.chars().any(char::is_control))
}

/// Every field checked; all errors returned together.
pub fn parse_bank_details(body: &serde_json::Map<String, serde_json::Value>) -> Result<BankDetails, Vec<FieldError>> {
    let mut errors = Vec::new();
    let given = text(body, "accountHolderName").unwrap_or_default();
    let holder = match bank_file_name(given) {
        Ok(name) if (2..=100).contains(&name.chars().count()) && name.chars().any(|c| c.is_ascii_alphabetic()) => name,
        Ok(_) => {
            errors.push(FieldError::new("accountHolderName", "must be 2–100 letters, digits, spaces or - ' . & ,"));
            String::new()
        }
        Err(message) => {
            errors.push(FieldError::new("accountHolderName", message));
            String::new()
        }
    };
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
    } else if account.bytes().all(|b| b == b'0') {
        errors.push(FieldError::new("accountNumber", "must not be all zeros"));
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
            account_holder_name: holder,
            routing_number: routing.as_str().to_string(),
            account_number: account.to_string(),
            account_type: account_type.to_string(),
            bank_name,
        }),
        _ => Err(errors),
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
    fn names_a_bank_file_can_carry() {
        assert_eq!(bank_file_name("José Ñúñez-O’Brien & Co."), Ok("Jose Nunez-O'Brien & Co.".to_string()));
        assert_eq!(bank_file_name("Łukasz Żółw"), Ok("Lukasz Zolw".to_string()));
        assert!(bank_file_name("Иван Петров").unwrap_err().contains("Latin letters"), "another script says so");
        assert!(bank_file_name("Ann 😀").is_err());
        let cyrillic = json!({ "accountHolderName": "Иван Петров", "routingNumber": "011000015", "accountNumber": "000000000", "accountType": "savings" });
        let errors = parse_bank_details(cyrillic.as_object().unwrap()).unwrap_err();
        let messages: Vec<(&str, &str)> = errors.iter().map(|e| (e.path.as_str(), e.message.as_str())).collect();
        assert_eq!(messages[0].0, "accountHolderName");
        assert_eq!(messages[1], ("accountNumber", "must not be all zeros"));
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
