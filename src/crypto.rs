//! AES-256-GCM for bank details and TINs, in the old Node service's JSON form
//! `{"encrypted": hex, "iv": hex, "authTag": hex}` (SPEC §6). The key is the 32 UTF-8 bytes of
//! ENCRYPTION_KEY. Reads 12- and 16-byte IVs (Node wrote 16); writes fresh random 12-byte nonces.
//! Previous keys still decrypt; `keyId` (a fingerprint, not the key) says which one encrypted a value.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// GCM with the 16-byte IVs Node's `crypto.randomBytes(16)` produced.
type Aes256Gcm16 = AesGcm<Aes256, U16>;

const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("not an encrypted value (expected encrypted, iv and authTag hex strings)")]
    Malformed,
    #[error("no configured key decrypts this value")]
    NoKey,
}

struct Key {
    bytes: [u8; 32],
    id: String,
}

/// The current key and the previous ones, in order of preference.
pub struct Keyring {
    keys: Vec<Key>,
}

/// A short, non-secret fingerprint of a key: lets rows say which key encrypted them.
pub fn key_id(key: &[u8]) -> String {
    let digest = Sha256::digest([b"payout-service key id:".as_slice(), key].concat());
    hex(&digest[..6])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl Keyring {
    /// Keys are validated at startup (exactly 32 bytes); anything else is skipped here.
    pub fn new(current: &SecretString, previous: &[SecretString]) -> Self {
        let keys = std::iter::once(current)
            .chain(previous)
            .filter_map(|k| {
                let bytes: [u8; 32] = k.expose_secret().as_bytes().try_into().ok()?;
                Some(Key { id: key_id(&bytes), bytes })
            })
            .collect();
        Keyring { keys }
    }

    /// HMAC-SHA256 of `data` under a key derived from each configured key, current first: the
    /// destination fingerprint approvals bind to (SPEC §12). Previous keys are offered too, so a
    /// key rotation does not void approvals already given.
    pub fn fingerprints(&self, data: &[u8]) -> Vec<String> {
        use hmac::{Hmac, Mac};
        self.keys
            .iter()
            .map(|key| {
                let derived = Sha256::digest([b"payout-service destination fingerprint:".as_slice(), &key.bytes].concat());
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&derived).expect("HMAC takes any key length");
                mac.update(data);
                hex(&mac.finalize().into_bytes())
            })
            .collect()
    }

    pub fn current_key_id(&self) -> &str {
        self.keys.first().map(|k| k.id.as_str()).unwrap_or("")
    }

    /// `{"encrypted", "iv", "authTag", "keyId"}` under the current key, with a fresh nonce.
    pub fn encrypt(&self, plaintext: &[u8]) -> Value {
        let key = &self.keys[0];
        let cipher = Aes256Gcm::new_from_slice(&key.bytes).expect("32-byte key");
        let mut iv = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut iv);
        let mut sealed = cipher.encrypt(Nonce::from_slice(&iv), Payload { msg: plaintext, aad: b"" }).expect("GCM encrypts");
        let tag = sealed.split_off(sealed.len() - TAG_LEN);
        json!({ "encrypted": hex(&sealed), "iv": hex(&iv), "authTag": hex(&tag), "keyId": key.id })
    }

    /// The plaintext, and whether it was under the current key.
    pub fn decrypt(&self, value: &Value) -> Result<(Vec<u8>, bool), CryptoError> {
        let field = |k: &str| value.get(k).and_then(Value::as_str).and_then(unhex).ok_or(CryptoError::Malformed);
        let (ciphertext, iv, tag) = (field("encrypted")?, field("iv")?, field("authTag")?);
        if tag.len() != TAG_LEN || !(iv.len() == 12 || iv.len() == 16) {
            return Err(CryptoError::Malformed);
        }
        let sealed = [ciphertext, tag].concat();
        let hinted = value.get("keyId").and_then(Value::as_str);
        // The key the row names first, then the others.
        let mut order: Vec<(usize, &Key)> = self.keys.iter().enumerate().collect();
        order.sort_by_key(|(_, k)| Some(k.id.as_str()) != hinted);
        for (index, key) in order {
            let plain = if iv.len() == 12 {
                Aes256Gcm::new_from_slice(&key.bytes).ok().and_then(|c| c.decrypt(Nonce::from_slice(&iv), sealed.as_slice()).ok())
            } else {
                Aes256Gcm16::new_from_slice(&key.bytes)
                    .ok()
                    .and_then(|c| c.decrypt(aes_gcm::aead::generic_array::GenericArray::from_slice(&iv), sealed.as_slice()).ok())
            };
            if let Some(p) = plain {
                return Ok((p, index == 0 && iv.len() == 12));
            }
        }
        Err(CryptoError::NoKey)
    }

    /// Whether `value` holds the encrypted form (as opposed to legacy plaintext fields).
    pub fn is_encrypted(value: &Value) -> bool {
        ["encrypted", "iv", "authTag"].iter().all(|k| value.get(k).is_some_and(Value::is_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(current: &str, previous: &[&str]) -> Keyring {
        Keyring::new(
            &SecretString::from(current.to_string()),
            &previous.iter().map(|p| SecretString::from(p.to_string())).collect::<Vec<_>>(),
        )
    }

    const K1: &str = "0123456789abcdef0123456789abcdef";
    const K2: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn round_trip_with_fresh_nonces() {
        let r = ring(K1, &[]);
        let a = r.encrypt(b"secret");
        let b = r.encrypt(b"secret");
        assert_ne!(a["iv"], b["iv"], "a fresh nonce every time");
        assert_ne!(a["encrypted"], b["encrypted"]);
        assert_eq!(r.decrypt(&a).unwrap(), (b"secret".to_vec(), true));
        assert_eq!(a["iv"].as_str().unwrap().len(), 24);
        assert_eq!(a["authTag"].as_str().unwrap().len(), 32);
        assert!(!a.to_string().contains("secret"));
    }

    #[test]
    fn previous_keys_decrypt_and_say_so() {
        let old = ring(K2, &[]).encrypt(b"old value");
        let rotated = ring(K1, &[K2]);
        assert_eq!(rotated.decrypt(&old).unwrap(), (b"old value".to_vec(), false), "not under the current key");
        assert_eq!(ring(K1, &[]).decrypt(&old), Err(CryptoError::NoKey));
    }

    #[test]
    fn tampering_is_detected() {
        let r = ring(K1, &[]);
        let mut v = r.encrypt(b"account 123456789");
        let mut tag = v["authTag"].as_str().unwrap().to_string();
        tag.replace_range(0..1, if tag.starts_with('0') { "1" } else { "0" });
        v["authTag"] = json!(tag);
        assert_eq!(r.decrypt(&v), Err(CryptoError::NoKey));
        assert_eq!(r.decrypt(&json!({"encrypted": "zz", "iv": "00", "authTag": "00"})), Err(CryptoError::Malformed));
    }
}
