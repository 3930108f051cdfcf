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
        HttpSettings { host, port, request_timeout, allowed_origins, trust_proxy, rate_limit }
    }
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
