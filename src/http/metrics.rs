//! Prometheus metrics: request count and latency by method, route and status, plus pool gauges.
//! A small registry of our own: the set of series is tiny and fixed by the routes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// By route, then by method and status (so a request's series is found without allocating).
type ByRoute = BTreeMap<String, BTreeMap<(&'static str, u16), Series>>;

#[derive(Default)]
pub struct Metrics {
    series: Mutex<ByRoute>,
}

/// Pool numbers read at scrape time.
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolStats {
    pub fn of(pool: &sqlx::PgPool, max: u32) -> Self {
        PoolStats { size: pool.size(), idle: pool.num_idle() as u32, max }
    }
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        // Clients choose the method; only the standard ones become label values.
        let method = match method {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            "HEAD" => "HEAD",
            "OPTIONS" => "OPTIONS",
            _ => "OTHER",
        };
        let seconds = elapsed.as_secs_f64();
        let mut map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let by_status = match map.get_mut(route) {
            Some(by_status) => by_status,
            None => map.entry(route.to_string()).or_default(),
        };
        let s = by_status.entry((method, status)).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// The text exposition format, version 0.0.4.
    pub fn render(&self, pool: &PoolStats) -> String {
        let mut out = String::with_capacity(4096);
        let map = self.series.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP http_requests_total HTTP requests answered, by method, route and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (route, method, status, s) in flat(&map) {
            let _ = writeln!(out, "http_requests_total{{{}}} {}", labels(method, route, status), s.count);
        }
        out.push_str("# HELP http_request_duration_seconds Time to answer an HTTP request.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (route, method, status, s) in flat(&map) {
            let l = labels(method, route, status);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "http_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {}", s.buckets[i]);
            }
            let _ = writeln!(out, "http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{l}}} {}", s.sum_seconds);
            let _ = writeln!(out, "http_request_duration_seconds_count{{{l}}} {}", s.count);
        }
        drop(map);
        for (name, help, value) in [
            ("db_pool_connections", "Open database connections.", pool.size),
            ("db_pool_idle_connections", "Idle database connections.", pool.idle),
            ("db_pool_max_connections", "Configured pool maximum.", pool.max),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}

fn flat(map: &ByRoute) -> impl Iterator<Item = (&str, &str, u16, &Series)> {
    map.iter().flat_map(|(route, by)| by.iter().map(move |((method, status), s)| (route.as_str(), *method, *status, s)))
}

fn labels(method: &str, route: &str, status: u16) -> String {
    format!("method=\"{}\",route=\"{}\",status=\"{status}\"", escape(method), escape(route))
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets() {
        let m = Metrics::default();
        m.record("GET", "/api/health", 200, Duration::from_millis(3));
        m.record("GET", "/api/health", 200, Duration::from_millis(30));
        let text = m.render(&PoolStats { size: 2, idle: 1, max: 10 });
        assert!(text.contains(r#"http_requests_total{method="GET",route="/api/health",status="200"} 2"#));
        assert!(text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/api/health",status="200",le="0.005"} 1"#));
        assert!(text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/api/health",status="200",le="0.05"} 2"#));
        assert!(text.contains("db_pool_max_connections 10"));
    }
}
