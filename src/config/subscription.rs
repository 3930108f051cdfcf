//! The subscription service, asked for total revenue (the database answers when it cannot).

use std::time::Duration;

use super::{Purpose, Reader};

#[derive(Debug, Clone)]
pub struct SubscriptionSettings {
    /// Base URL, `http://` or `https://` (a trailing `/` is dropped).
    /// `SUBSCRIPTION_SERVICE_URL`, default `http://localhost:3001`.
    pub url: String,
    /// How long one call may take before the database is asked instead.
    /// In milliseconds: `SUBSCRIPTION_TIMEOUT_MS`, default `2000`.
    pub timeout: Duration,
}

impl SubscriptionSettings {
    pub(super) fn read(r: &mut Reader, _purpose: Purpose) -> Self {
        let url = r.read("SUBSCRIPTION_SERVICE_URL", "http://localhost:3001", |raw, p| {
            let url = raw.trim_end_matches('/').to_string();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                p.push("must be an http:// or https:// URL".into());
            }
            url
        });
        let timeout = Duration::from_millis(r.positive("SUBSCRIPTION_TIMEOUT_MS", "2000").into());
        SubscriptionSettings { url, timeout }
    }
}
