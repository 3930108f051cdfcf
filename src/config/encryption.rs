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
                    p.push("is required: exactly 32 characters".into());
                } else if key.chars().count() != 32 || key.len() != 32 {
                    p.push(format!("must be exactly 32 ASCII characters (256 bits); got {}", key.chars().count()));
                }
            }
            (!key.is_empty()).then(|| SecretString::from(key))
        });
        let previous_keys = r.read("ENCRYPTION_KEY_PREVIOUS", "", |raw, p| {
            let mut keys = Vec::new();
            for (i, k) in list(raw).into_iter().enumerate() {
                if k.len() != 32 || k.chars().count() != 32 {
                    p.push(format!("key #{} must be exactly 32 ASCII characters; got {}", i + 1, k.chars().count()));
                } else {
                    keys.push(SecretString::from(k));
                }
            }
            keys
        });
        EncryptionSettings { key, previous_keys }
    }
}
