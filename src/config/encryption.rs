//! Encryption of bank details and TINs (AES-256-GCM, SPEC §6).

use secrecy::SecretString;

use super::{list, Purpose, Reader};

/// Development-only default, used by `payout-service dev` when no key is configured.
pub const DEV_ENCRYPTION_KEY: &str = "dev-only-encryption-key-32chars!";

#[derive(Debug, Clone)]
pub struct EncryptionSettings {
    /// The current key: exactly 32 ASCII characters (256 bits). Required to serve; `dev` falls
    /// back to [`DEV_ENCRYPTION_KEY`]. `ENCRYPTION_KEY`, no default.
    pub key: Option<SecretString>,
    /// Older 32-character keys that still decrypt, comma-separated; `payout-service reencrypt`
    /// moves rows to the current key. `ENCRYPTION_KEY_PREVIOUS`, no default.
    pub previous_keys: Vec<SecretString>,
}

impl EncryptionSettings {
    pub(super) fn read(r: &mut Reader, purpose: Purpose) -> Self {
        let key = r.read("ENCRYPTION_KEY", "", |raw, p| {
            let key = if raw.is_empty() && purpose == Purpose::Dev { DEV_ENCRYPTION_KEY } else { raw };
            if purpose == Purpose::Serve || purpose == Purpose::Dev {
                if key.is_empty() {
                    p.push("is required: 32 ASCII characters (32 bytes, 256 bits), e.g. from `openssl rand -base64 24`".into());
                } else if let Some(problem) = key_length_problem(key) {
                    p.push(problem);
                }
            }
            (!key.is_empty()).then(|| SecretString::from(key))
        });
        let previous_keys = r.read("ENCRYPTION_KEY_PREVIOUS", "", |raw, p| {
            let mut keys = Vec::new();
            for (i, k) in list(raw).into_iter().enumerate() {
                if let Some(problem) = key_length_problem(&k) {
                    p.push(format!("key #{}: {problem}", i + 1));
                } else {
                    keys.push(SecretString::from(k));
                }
            }
            keys
        });
        EncryptionSettings { key, previous_keys }
    }
}

/// The key is used as its bytes (no base64 or hex decoding), and AES-256 needs exactly 32 of them;
/// only ASCII is accepted, as the old service counted characters. Counting characters misleads
/// for non-ASCII text ("é" is 2 bytes), so the message speaks of bytes and says what to use.
fn key_length_problem(key: &str) -> Option<String> {
    let (bytes, chars) = (key.len(), key.chars().count());
    if !key.is_ascii() {
        Some(format!(
            "must be exactly 32 ASCII characters (32 bytes, 256 bits); this value has non-ASCII characters, \
             so its {chars} characters take {bytes} bytes. Use 32 ASCII characters, e.g. from `openssl rand -base64 24`"
        ))
    } else if bytes != 32 {
        Some(format!("must be exactly 32 ASCII characters (32 bytes, 256 bits), e.g. from `openssl rand -base64 24`; this value has {bytes}"))
    } else {
        None
    }
}
