//! Where the session token comes from and how its signature is checked (BETTER_AUTH.md).
//! Pure: no I/O, so every rule is unit-tested here.

use axum::http::{header, HeaderMap};
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Why a request carries no usable token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// No bearer header and no session cookie: 401 UNAUTHORIZED.
    Missing,
    /// Something was presented but it is malformed or its signature is wrong: 401 INVALID_SESSION.
    Invalid,
}

pub struct TokenRules<'a> {
    pub secret: &'a [u8],
    pub cookie_prefix: &'a str,
    pub require_signed_bearer: bool,
}

/// `base64(HMAC-SHA256(secret, token))`, padded: 44 characters ending in '='.
pub fn sign(secret: &[u8], token: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(token.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The cookie value Better Auth sets: percent-encoded `token.signature`.
pub fn signed_cookie_value(secret: &[u8], token: &str) -> String {
    let value = format!("{token}.{}", sign(secret, token));
    percent_encoding::utf8_percent_encode(&value, COOKIE_ENCODE).to_string()
}

/// encodeURIComponent's set: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ).
const COOKIE_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Splits a percent-decoded `token.signature` at the last '.', checking the signature's shape and
/// value in constant time. `None` when the value does not verify.
pub fn verify_signed(secret: &[u8], decoded: &str) -> Option<String> {
    let (token, signature) = decoded.rsplit_once('.')?;
    if token.is_empty() || signature.len() != 44 || !signature.ends_with('=') {
        return None;
    }
    let expected = sign(secret, token);
    if bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        Some(token.to_string())
    } else {
        None
    }
}

fn looks_signed(decoded: &str) -> bool {
    decoded.rsplit_once('.').is_some_and(|(_, sig)| sig.len() == 44 && sig.ends_with('='))
}

fn decode(raw: &str) -> Option<String> {
    percent_decode_str(raw.trim()).decode_utf8().ok().map(|s| s.into_owned())
}

/// The session token of a request: bearer first, then the `__Secure-` cookie, then the plain one.
pub fn extract(headers: &HeaderMap, rules: &TokenRules<'_>) -> Result<String, TokenError> {
    if let Some(value) = bearer(headers) {
        let decoded = decode(value).ok_or(TokenError::Invalid)?;
        if decoded.is_empty() {
            return Err(TokenError::Invalid);
        }
        if looks_signed(&decoded) {
            return verify_signed(rules.secret, &decoded).ok_or(TokenError::Invalid);
        }
        if rules.require_signed_bearer || decoded.contains('.') {
            return Err(TokenError::Invalid);
        }
        return Ok(decoded);
    }
    let plain = format!("{}.session_token", rules.cookie_prefix);
    let secure = format!("__Secure-{plain}");
    let cookie = cookie_value(headers, &secure).or_else(|| cookie_value(headers, &plain));
    match cookie {
        None => Err(TokenError::Missing),
        Some(raw) => {
            let decoded = decode(raw).ok_or(TokenError::Invalid)?;
            verify_signed(rules.secret, &decoded).ok_or(TokenError::Invalid)
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The first cookie of that exact name across every `Cookie` header.
fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SECRET: &[u8] = b"harness-demo-secret-3f9a1c7e5b2d4f6081a9c3e5";
    const TOKEN: &str = "20Klup5wDMNMYdRdHeU9bAAm95LD6kvX";
    const COOKIE: &str = "20Klup5wDMNMYdRdHeU9bAAm95LD6kvX.Orx%2FZqJhVo3h7vz4OSzNDNSEl6vAB%2FhHjMIdhixYCIM%3D";

    fn rules(require_signed_bearer: bool) -> TokenRules<'static> {
        TokenRules { secret: SECRET, cookie_prefix: "better-auth", require_signed_bearer }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_documented_test_vector() {
        assert_eq!(signed_cookie_value(SECRET, TOKEN), COOKIE);
    }

    #[test]
    fn cookie_under_both_names_and_secure_wins() {
        let h = headers(&[("cookie", &format!("a=1; better-auth.session_token={COOKIE}"))]);
        assert_eq!(extract(&h, &rules(false)).unwrap(), TOKEN);
        let h = headers(&[("cookie", &format!("__Secure-better-auth.session_token={COOKIE}"))]);
        assert_eq!(extract(&h, &rules(false)).unwrap(), TOKEN);
        let other = signed_cookie_value(SECRET, "OtherTokenOtherTokenOtherToken12");
        let h = headers(&[(
            "cookie",
            &format!("better-auth.session_token={other}; __Secure-better-auth.session_token={COOKIE}"),
        )]);
        assert_eq!(extract(&h, &rules(false)).unwrap(), TOKEN);
    }

    #[test]
    fn tampered_unsigned_or_foreign_cookies_are_invalid() {
        let tampered = COOKIE.replacen("Orx", "Orz", 1);
        for value in [tampered.as_str(), TOKEN, "", "x.y"] {
            let h = headers(&[("cookie", &format!("better-auth.session_token={value}"))]);
            assert_eq!(extract(&h, &rules(false)), Err(TokenError::Invalid), "{value}");
        }
        let foreign = signed_cookie_value(b"another-secret-entirely-000000000", TOKEN);
        let h = headers(&[("cookie", &format!("better-auth.session_token={foreign}"))]);
        assert_eq!(extract(&h, &rules(false)), Err(TokenError::Invalid));
    }

    #[test]
    fn nothing_presented_is_missing() {
        assert_eq!(extract(&HeaderMap::new(), &rules(false)), Err(TokenError::Missing));
        let h = headers(&[("cookie", "better-auth.session_data=abc"), ("authorization", "Basic Zm9vOmJhcg==")]);
        assert_eq!(extract(&h, &rules(false)), Err(TokenError::Missing));
    }

    #[test]
    fn bearer_wins_raw_or_signed() {
        let h = headers(&[("authorization", &format!("Bearer {TOKEN}")), ("cookie", "better-auth.session_token=zzz")]);
        assert_eq!(extract(&h, &rules(false)).unwrap(), TOKEN);
        assert_eq!(extract(&h, &rules(true)), Err(TokenError::Invalid));
        let h = headers(&[("authorization", &format!("Bearer {COOKIE}"))]);
        assert_eq!(extract(&h, &rules(true)).unwrap(), TOKEN);
        let decoded = percent_decode_str(COOKIE).decode_utf8().unwrap().into_owned();
        let h = headers(&[("authorization", &format!("bearer {decoded}"))]);
        assert_eq!(extract(&h, &rules(true)).unwrap(), TOKEN);
        let h = headers(&[("authorization", &format!("Bearer {}", COOKIE.replacen("Orx", "Ory", 1)))]);
        assert_eq!(extract(&h, &rules(false)), Err(TokenError::Invalid));
    }

    #[test]
    fn another_prefix() {
        let r = TokenRules { secret: SECRET, cookie_prefix: "tenure", require_signed_bearer: false };
        let h = headers(&[("cookie", &format!("tenure.session_token={COOKIE}"))]);
        assert_eq!(extract(&h, &r).unwrap(), TOKEN);
        let h = headers(&[("cookie", &format!("better-auth.session_token={COOKIE}"))]);
        assert_eq!(extract(&h, &r), Err(TokenError::Missing));
    }
}
