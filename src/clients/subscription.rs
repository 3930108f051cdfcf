//! The subscription service: total revenue (with a timeout, a circuit breaker and the database
//! fallback of SPEC §2) and, later, subscription cancellation.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgPool;

use crate::domain::eligibility::RevenueSource;

/// Consecutive failures that open the breaker, and how long it stays open.
pub const BREAKER_THRESHOLD: u32 = 5;
pub const BREAKER_OPEN_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// The open period ended: the next call is a trial.
    HalfOpen,
}

#[derive(Debug)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    /// Half-open: one trial call is out; the others use the database meanwhile.
    trial_in_flight: bool,
}

pub struct SubscriptionClient {
    http: reqwest::Client,
    base_url: String,
    breaker: Mutex<Breaker>,
    open_for: Duration,
}

/// Revenue and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revenue {
    pub total: Decimal,
    pub source: RevenueSource,
}

impl SubscriptionClient {
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        Self::with_open_period(base_url, timeout, BREAKER_OPEN_FOR)
    }

    /// As `new`, with another open period (tests).
    pub fn with_open_period(base_url: &str, timeout: Duration, open_for: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("payout-service/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client builds");
        SubscriptionClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            breaker: Mutex::new(Breaker { failures: 0, open_until: None, trial_in_flight: false }),
            open_for,
        }
    }

    /// `POST /api/subscriptions/{userId}/cancel` with `{reason}`: the HTTP status, or why no
    /// answer came. Not behind the breaker: each cancel is tried on its own.
    pub async fn cancel(&self, user_id: uuid::Uuid, reason: &str) -> Result<u16, String> {
        let url = format!("{}/api/subscriptions/{user_id}/cancel", self.base_url);
        match self.http.post(&url).json(&serde_json::json!({ "reason": reason })).send().await {
            Ok(res) => Ok(res.status().as_u16()),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn breaker_state(&self) -> BreakerState {
        let b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        match b.open_until {
            Some(until) if Instant::now() < until => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
            None => BreakerState::Closed,
        }
    }

    fn record(&self, ok: bool) {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        b.trial_in_flight = false;
        if ok {
            b.failures = 0;
            b.open_until = None;
        } else {
            b.failures += 1;
            // A failed trial reopens at once; otherwise open after the threshold.
            if b.open_until.is_some() || b.failures >= BREAKER_THRESHOLD {
                b.open_until = Some(Instant::now() + self.open_for);
                tracing::warn!(failures = b.failures, open_secs = self.open_for.as_secs(), "subscription service circuit open");
            }
        }
    }

    /// `GET /api/revenue/total` → `{"data":{"totalRevenue": <dollars>}}`. `None` on any failure
    /// (which counts against the breaker) or while the breaker is open.
    pub async fn fetch_total_revenue(&self) -> Option<Decimal> {
        let trial = {
            let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
            match b.open_until {
                Some(until) if Instant::now() < until => return None,
                Some(_) if b.trial_in_flight => return None,
                Some(_) => {
                    b.trial_in_flight = true;
                    true
                }
                None => false,
            }
        };
        // SPEC §13: a trial abandoned mid-flight (the request dropped, a sibling query failed)
        // releases the half-open state instead of leaving it taken for good.
        let _release = TrialRelease { client: self, armed: trial };
        let url = format!("{}/api/revenue/total", self.base_url);
        let result = async {
            let res = self.http.get(&url).send().await.map_err(|e| e.to_string())?;
            if !res.status().is_success() {
                return Err(format!("status {}", res.status()));
            }
            let body: Value = res.json().await.map_err(|e| format!("malformed JSON: {e}"))?;
            parse_total(&body["data"]["totalRevenue"]).ok_or_else(|| "totalRevenue missing or not a number".to_string())
        }
        .await;
        match result {
            Ok(total) => {
                self.record(true);
                Some(total)
            }
            Err(e) => {
                tracing::warn!(error.message = %e, "subscription service revenue unavailable; using the database");
                self.record(false);
                None
            }
        }
    }

    /// Revenue from the subscription service, or from succeeded payments when it fails or says ≤ 0.
    pub async fn total_revenue(&self, db: &PgPool) -> Result<Revenue, sqlx::Error> {
        if let Some(total) = self.fetch_total_revenue().await {
            if total > Decimal::ZERO {
                return Ok(Revenue { total, source: RevenueSource::SubscriptionService });
            }
        }
        let total = crate::db::eligibility::succeeded_payments_total(db).await?;
        Ok(Revenue { total, source: RevenueSource::Database })
    }
}

/// Frees the half-open trial when the call is dropped before it records its outcome (`record`
/// frees it too, so a finished call leaves nothing to do).
struct TrialRelease<'a> {
    client: &'a SubscriptionClient,
    armed: bool,
}

impl Drop for TrialRelease<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.client.breaker.lock().unwrap_or_else(|p| p.into_inner()).trial_in_flight = false;
        }
    }
}

/// A number or a numeric string, kept exact and rounded to cents.
fn parse_total(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok().map(|d| d.round_dp(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A half-open trial whose caller gives up mid-flight frees the trial for the next caller.
    #[tokio::test]
    async fn an_abandoned_trial_releases_the_breaker() {
        // A server that accepts and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let client = SubscriptionClient::with_open_period(&format!("http://{addr}"), Duration::from_secs(30), Duration::from_millis(1));
        client.breaker.lock().unwrap().open_until = Some(Instant::now() - Duration::from_millis(1));
        assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
        let abandoned = tokio::time::timeout(Duration::from_millis(100), client.fetch_total_revenue()).await;
        assert!(abandoned.is_err(), "the trial was dropped mid-flight");
        assert!(!client.breaker.lock().unwrap().trial_in_flight, "and released");
    }

    #[test]
    fn totals_are_read_exactly() {
        assert_eq!(parse_total(&json!(123456.78)), Some(Decimal::from_str("123456.78").unwrap()));
        assert_eq!(parse_total(&json!("250000.5")), Some(Decimal::from_str("250000.50").unwrap()));
        assert_eq!(parse_total(&json!(1e6)), Some(Decimal::from(1_000_000)));
        assert_eq!(parse_total(&json!(null)), None);
        assert_eq!(parse_total(&json!("lots")), None);
    }
}
