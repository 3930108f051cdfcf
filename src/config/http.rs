//! Listening: address, timeouts, CORS, and the rate limit on `/api/*`.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use super::{list, parse, Purpose, Reader};

#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Address to listen on (an IP; `localhost` means 127.0.0.1). `HOST`, default `0.0.0.0`.
    pub host: IpAddr,
    /// TCP port to listen on (0 picks a free one). `PORT`, default `3002`.
    pub port: u16,
    /// Requests running longer are abandoned (their transaction rolls back) with a 503.
    /// In seconds: `REQUEST_TIMEOUT_SECS`, default `30`.
    pub request_timeout: Duration,
    /// Origins allowed to call with credentials (cookies), comma-separated.
    /// `ALLOWED_ORIGINS`, default `http://localhost:3000`.
    pub allowed_origins: Vec<String>,
    /// How many `X-Forwarded-For` hops to trust (0 = use the peer address; `true` = 1, `false` = 0).
    /// `TRUST_PROXY`, default `0`.
    pub trust_proxy: u32,
    /// Where people reach the service from outside, without a trailing slash: emails build their
    /// links (receipt, console) from it, e.g. `https://payouts.tenure.example`. Required in
    /// production (the default only suits development). `PUBLIC_BASE_URL`, default `http://localhost:3002`.
    pub public_base_url: String,
    pub rate_limit: RateLimitSettings,
}

#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// Requests one client may make per window. `RATE_LIMIT_MAX`, default `100`.
    pub max: u32,
    /// In seconds: `RATE_LIMIT_WINDOW_SECS`, default `900`.
    pub window: Duration,
    /// Where counts are kept: `memory` (per instance) or `postgres` (shared by every instance).
    /// `RATE_LIMIT_STORE`, default `memory`.
    pub store: RateLimitStore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitStore {
    Memory,
    Postgres,
}

impl HttpSettings {
    pub(super) fn read(r: &mut Reader, _purpose: Purpose) -> Self {
        let host = r.parse::<HostAddr>("HOST", "0.0.0.0", "an IP address such as 0.0.0.0 or 127.0.0.1").0;
        let port = r.parse::<u16>("PORT", "3002", "a TCP port (0-65535)");
        let request_timeout = Duration::from_secs(r.positive("REQUEST_TIMEOUT_SECS", "30").into());
        let allowed_origins = r.read("ALLOWED_ORIGINS", "http://localhost:3000", |raw, p| {
            let origins = list(raw);
            for origin in &origins {
                let ok = (origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.ends_with('/')
                    && axum::http::HeaderValue::from_str(origin).is_ok();
                if !ok {
                    p.push(format!("'{origin}' is not an origin like https://app.example.com"));
                }
            }
            origins
        });
        let trust_proxy = r.read("TRUST_PROXY", "0", |raw, p| match raw {
            // Express-style booleans: true trusts one hop (the usual single load balancer).
            "true" => 1,
            "false" => 0,
            _ => parse::<u32>(raw, "the number of proxy hops to trust (0 = none)", p),
        });
        let public_base_url = r.read("PUBLIC_BASE_URL", "http://localhost:3002", public_base_url);
        let rate_limit = RateLimitSettings {
            max: r.positive("RATE_LIMIT_MAX", "100"),
            window: Duration::from_secs(r.positive("RATE_LIMIT_WINDOW_SECS", "900").into()),
            store: r.choice(
                "RATE_LIMIT_STORE",
                "memory",
                &[("memory", RateLimitStore::Memory), ("postgres", RateLimitStore::Postgres)],
                "'memory' or 'postgres'",
            ),
        };
        HttpSettings { host, port, request_timeout, allowed_origins, trust_proxy, public_base_url, rate_limit }
    }
}

/// An absolute http(s) URL with a host and no query or fragment; a trailing slash is dropped so
/// that `{base}/api/...` never doubles it. A path prefix (behind a proxy) is kept.
fn public_base_url(raw: &str, p: &mut Vec<String>) -> String {
    let base = raw.trim_end_matches('/');
    let rest = base.strip_prefix("https://").or_else(|| base.strip_prefix("http://"));
    let host = rest.map(|r| r.split('/').next().unwrap_or_default()).unwrap_or_default();
    let ok = rest.is_some()
        && !host.is_empty()
        && !base.contains(['?', '#', ' ', '\\'])
        && !host.contains('@')
        && axum::http::HeaderValue::from_str(base).is_ok();
    if !ok {
        p.push(format!("'{raw}' is not an absolute http(s) URL like https://payouts.example.com (emails link to it)"));
    }
    base.to_string()
}

/// Whether a public base URL points at this machine (fine in development, never in production).
pub(super) fn is_local(base: &str) -> bool {
    let rest = base.split_once("://").map(|(_, r)| r).unwrap_or(base);
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "0.0.0.0")
}

/// `IpAddr` with a default, so a bad value can be reported alongside the others.
struct HostAddr(IpAddr);

impl Default for HostAddr {
    fn default() -> Self {
        HostAddr(IpAddr::from([0, 0, 0, 0]))
    }
}

impl FromStr for HostAddr {
    type Err = std::net::AddrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "localhost" => Ok(HostAddr(IpAddr::from([127, 0, 0, 1]))),
            _ => s.parse().map(HostAddr),
        }
    }
}
