//! Rate limiting on `/api/*` (health exempt): `RATE_LIMIT_MAX` requests per client IP per fixed
//! window of `RATE_LIMIT_WINDOW_SECS`, in memory or shared through PostgreSQL.
//!
//! Windows are aligned to the epoch (e.g. every 900 s on the clock), so every instance agrees on
//! where a window starts without talking to the others.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use crate::http::AppState;
use crate::config::RateLimitStore;
use crate::error::AppError;

/// Paths under `/api/` that are never limited.
const EXEMPT: &[&str] = &["/api/health"];

/// One client's standing after counting this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub limit: u32,
    pub count: u32,
    /// Seconds until the window resets.
    pub reset_secs: u64,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.count <= self.limit
    }
    pub fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.count)
    }
}

pub struct RateLimiter {
    max: u32,
    window_secs: u64,
    trust_proxy: u32,
    store: Store,
}

enum Store {
    /// Counts of the current window only; the map is cleared when a new window starts.
    Memory(Mutex<MemoryCounts>),
    Postgres,
}

#[derive(Default)]
struct MemoryCounts {
    window_start: u64,
    counts: HashMap<IpAddr, u32>,
}

impl RateLimiter {
    pub fn new(max: u32, window_secs: u64, trust_proxy: u32, store: RateLimitStore) -> Self {
        let store = match store {
            RateLimitStore::Memory => Store::Memory(Mutex::new(MemoryCounts::default())),
            RateLimitStore::Postgres => Store::Postgres,
        };
        RateLimiter { max, window_secs: window_secs.max(1), trust_proxy, store }
    }

    /// Counts one request of `ip` in the window starting at `window_start` (memory store).
    fn count_in_memory(map: &Mutex<MemoryCounts>, ip: IpAddr, window_start: u64) -> u32 {
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        if m.window_start != window_start {
            m.window_start = window_start;
            m.counts.clear();
        }
        let count = m.counts.entry(ip).or_insert(0);
        *count += 1;
        *count
    }

    /// Counts the request; `Ok(None)` when the shared store could not be reached (fail open).
    pub async fn check(&self, db: &PgPool, ip: IpAddr) -> Option<Decision> {
        let ip = bucket(ip);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        match &self.store {
            Store::Memory(map) => {
                let window_start = now - now % self.window_secs;
                let count = Self::count_in_memory(map, ip, window_start);
                Some(Decision { limit: self.max, count, reset_secs: window_start + self.window_secs - now })
            }
            Store::Postgres => {
                // One upsert; the database's clock decides the window so instances agree.
                let row = crate::db::rate_limits::hit(db, &ip.to_string(), self.window_secs as i64).await;
                match row {
                    Ok((count, reset)) => Some(Decision {
                        limit: self.max,
                        count: count.max(0) as u32,
                        reset_secs: reset.clamp(1, self.window_secs as i64) as u64,
                    }),
                    Err(e) => {
                        // Limiting must not turn a database hiccup into an outage.
                        tracing::warn!(error.message = %e, "rate limit store unavailable; request allowed");
                        None
                    }
                }
            }
        }
    }

    /// Removes counters of finished windows (shared store); run now and then.
    pub async fn prune(&self, db: &PgPool) {
        if let Store::Postgres = self.store {
            let _ = crate::db::rate_limits::prune(db, self.window_secs as f64).await;
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.store, Store::Postgres)
    }

    pub fn window_secs(&self) -> u64 {
        self.window_secs
    }

    /// The client's address: the peer, unless `TRUST_PROXY` hops of `X-Forwarded-For` are trusted.
    /// Like Express's `trust proxy = n`: walking from the peer towards the client, trust n hops.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_ip(peer, headers, self.trust_proxy)
    }
}

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trust_proxy: u32) -> IpAddr {
    // Walk from the right (the entry our own proxy appended) only as far as we trust; stop at the
    // first entry that is not an address. What a client wrote further left is never read.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev().take(trust_proxy as usize) {
        match parse_forwarded(entry.trim()) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The counter key: IPv4 as is; IPv6 by its /64, since one client usually holds a whole /64.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

fn set_headers(headers: &mut HeaderMap, d: &Decision) {
    headers.insert("ratelimit-limit", HeaderValue::from(d.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(d.remaining()));
    headers.insert("ratelimit-reset", HeaderValue::from(d.reset_secs));
}

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/api/") || EXEMPT.contains(&path) {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let ip = state.rate_limiter.client_ip(peer, req.headers());
    let Some(decision) = state.rate_limiter.check(&state.db, ip).await else {
        return next.run(req).await;
    };
    let mut response = if decision.allowed() {
        next.run(req).await
    } else {
        AppError::RateLimited { retry_after_secs: decision.reset_secs }.into_response()
    };
    set_headers(response.headers_mut(), &decision);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn client_ip_trusts_only_the_configured_hops() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let h = xff("1.1.1.1, 2.2.2.2, 3.3.3.3");
        assert_eq!(client_ip(peer, &h, 0), peer, "no proxy trusted: the peer");
        assert_eq!(client_ip(peer, &h, 1), "3.3.3.3".parse::<IpAddr>().unwrap(), "the address our proxy saw");
        assert_eq!(client_ip(peer, &h, 2), "2.2.2.2".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &h, 9), "1.1.1.1".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &HeaderMap::new(), 1), peer);
        assert_eq!(client_ip(peer, &xff("junk, 3.3.3.3"), 1), "3.3.3.3".parse::<IpAddr>().unwrap(), "junk left of the trusted hop is never read");
        assert_eq!(client_ip(peer, &xff("1.1.1.1, junk, 3.3.3.3"), 3), "3.3.3.3".parse::<IpAddr>().unwrap(), "stops at the first bad entry");
        assert_eq!(client_ip(peer, &xff("3.3.3.3:4567"), 1), "3.3.3.3".parse::<IpAddr>().unwrap(), "a port is dropped");
    }

    #[tokio::test]
    async fn memory_store_counts_per_ip_within_a_window() {
        let limiter = RateLimiter::new(2, 900, 0, RateLimitStore::Memory);
        let db = sqlx::PgPool::connect_lazy("postgres://unused@127.0.0.1:1/x").unwrap();
        let a: IpAddr = "1.2.3.4".parse().unwrap();
        let b: IpAddr = "5.6.7.8".parse().unwrap();
        let first = limiter.check(&db, a).await.unwrap();
        assert!(first.allowed() && first.remaining() == 1 && first.reset_secs <= 900);
        assert!(limiter.check(&db, a).await.unwrap().allowed());
        let third = limiter.check(&db, a).await.unwrap();
        assert!(!third.allowed() && third.remaining() == 0);
        assert!(limiter.check(&db, b).await.unwrap().allowed(), "another client has its own count");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket(a), bucket(b));
        assert_ne!(bucket(a), bucket(c));
        assert_eq!(bucket("::ffff:1.2.3.4".parse().unwrap()), "1.2.3.4".parse::<IpAddr>().unwrap());
    }
}
