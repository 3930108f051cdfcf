//! Benchmark driver (run by `bench/scale`, not a test): times the service's requests over HTTP on
//! the production-sized dataset (`bench/scale-dataset.sql`) while sampling the service's memory
//! from /proc/<pid>/status, and prints p50/p99 per target as a Markdown table.
//!
//!   scale_bench run [runs=200]       every target, one request at a time, after warm-up
//!   scale_bench fallback [runs=20]   eligibility status and members only (revenue from the DB)
//!   scale_bench soak [minutes=10] [rate=20]
//!                                    a steady mixed workload (reads at `rate` per second, open
//!                                    loop, plus a write cycle: create → bank details → two
//!                                    approvals → cancel, one step a second); one row a minute
//!
//! Environment: BENCH_BASE (http://127.0.0.1:<port>), BENCH_PID (the service's pid),
//! BETTER_AUTH_SECRET, DATABASE_URL (sessions and ids are read from it; creates are undone
//! through it so every create run starts from the same state).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

const AVA: &str = "ava.creator@scale.bench";
const BEN: &str = "ben.approver@scale.bench";
const CARA: &str = "cara.approver@scale.bench";

/// A signed-in person: the cookie the main app's browser would send.
#[derive(Clone)]
struct Who(String);

/// `better-auth.session_token=<percent-encoded token.signature>` (docs/spec/BETTER_AUTH.md).
fn cookie(secret: &str, token: &str) -> Who {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(token.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let signed = format!("{token}.{signature}");
    let value = percent_encoding::utf8_percent_encode(&signed, percent_encoding::NON_ALPHANUMERIC);
    Who(format!("better-auth.session_token={value}"))
}

/// The service's resident memory now and its high-water mark, in KiB.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok());
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Samples the service's RSS every 20 ms: the peak since the last `take_peak`, and the latest.
struct RssSampler {
    peak_kb: AtomicU64,
    last_kb: AtomicU64,
    hwm_kb: AtomicU64,
}

impl RssSampler {
    fn start(pid: u32) -> Arc<Self> {
        let s = Arc::new(RssSampler { peak_kb: AtomicU64::new(0), last_kb: AtomicU64::new(0), hwm_kb: AtomicU64::new(0) });
        let sampler = s.clone();
        tokio::spawn(async move {
            loop {
                if let Some((rss, hwm)) = memory(pid) {
                    sampler.last_kb.store(rss, Ordering::Relaxed);
                    sampler.hwm_kb.store(hwm, Ordering::Relaxed);
                    sampler.peak_kb.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        s
    }
    fn take_peak(&self) -> u64 {
        self.peak_kb.swap(self.last_kb.load(Ordering::Relaxed), Ordering::Relaxed)
    }
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

struct Bench {
    base: String,
    client: reqwest::Client,
    db: PgPool,
    secret: String,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
    took: Duration,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Bench {
    async fn session(&self, email: &str) -> Result<Who> {
        let token: String = sqlx::query_scalar("SELECT s.token FROM session s JOIN users u ON u.id = s.user_id WHERE u.email = $1 LIMIT 1")
            .bind(email)
            .fetch_one(&self.db)
            .await
            .with_context(|| format!("no session for {email}"))?;
        Ok(cookie(&self.secret, &token))
    }

    async fn member_session(&self, user_id: Uuid) -> Result<Who> {
        let token: String = sqlx::query_scalar("SELECT token FROM session WHERE user_id = $1 LIMIT 1").bind(user_id).fetch_one(&self.db).await?;
        Ok(cookie(&self.secret, &token))
    }

    /// One request, timed from sending to the last byte of the body.
    async fn call(&self, who: &Who, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Answer> {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).header(reqwest::header::COOKIE, &who.0);
        if let Some(b) = body {
            // A cookie-authenticated change comes from the app's own pages (SPEC §12).
            req = req.header(reqwest::header::ORIGIN, &self.base).json(b);
        }
        let started = Instant::now();
        let res = req.send().await.with_context(|| format!("{path}: no answer"))?;
        let status = res.status().as_u16();
        let body = res.bytes().await?.to_vec();
        Ok(Answer { status, body, took: started.elapsed() })
    }

    async fn get(&self, who: &Who, path: &str) -> Result<Answer> {
        self.call(who, reqwest::Method::GET, path, None).await
    }

    async fn post(&self, who: &Who, path: &str, body: Value) -> Result<Answer> {
        self.call(who, reqwest::Method::POST, path, Some(&body)).await
    }

    /// The first `n` selectable members in queue order, as the members list shows them.
    async fn head_of_queue(&self, who: &Who, n: usize) -> Result<Vec<Uuid>> {
        let mut found = Vec::new();
        let mut offset = 0;
        while found.len() < n {
            let a = self.get(who, &format!("/api/eligibility/members?limit=1000&offset={offset}")).await?;
            let v = a.json();
            let members = v["data"]["members"].as_array().cloned().unwrap_or_default();
            if a.status != 200 || members.is_empty() {
                bail!("only {} selectable members found (status {})", found.len(), a.status);
            }
            found.extend(
                members
                    .iter()
                    .filter(|m| m["selectable"] == true)
                    .filter_map(|m| m["userId"].as_str().and_then(|s| Uuid::parse_str(s).ok())),
            );
            offset += members.len();
        }
        found.truncate(n);
        Ok(found)
    }

    /// Undoes a create: its payouts, their audit rows and emails (so the next run starts equal).
    async fn undo_create(&self, payout_ids: &[String]) -> Result<()> {
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM payout_email_outbox WHERE payout_id = ANY($1)").bind(payout_ids).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM user_audit_logs WHERE entity_id IN (SELECT id FROM payout_management WHERE payout_id = ANY($1))")
            .bind(payout_ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM payout_management WHERE payout_id = ANY($1)").bind(payout_ids).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn strings(&self, sql: &str, n: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(sql).bind(n).fetch_all(&self.db).await?)
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One target's samples and its goal.
struct Row {
    label: String,
    samples: Vec<f64>,
    goal: Option<(f64, f64)>,
    peak_kb: u64,
    note: String,
}

impl Row {
    fn print(&mut self) {
        self.samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let (p50, p99, max) = (pct(&self.samples, 50.0), pct(&self.samples, 99.0), pct(&self.samples, 100.0));
        let (goal, met) = match self.goal {
            Some((g50, g99)) => (
                format!("< {g50:.0} / {g99:.0} ms"),
                match (p50 < g50, p99 < g99) {
                    (true, true) => "met",
                    (true, false) => "p50 met, **p99 not**",
                    _ => "**not met**",
                },
            ),
            None => ("—".into(), ""),
        };
        println!(
            "| {} | {} | {p50:.1} ms | {p99:.1} ms | {max:.1} ms | {goal} | {met} | {} | {} |",
            self.label,
            self.samples.len(),
            mib(self.peak_kb),
            self.note
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One GET target: its paths (used in turn), how many timed requests, and its goal.
struct Target {
    label: String,
    paths: Vec<String>,
    runs: usize,
    goal: Option<(f64, f64)>,
}

impl Target {
    fn new(label: impl Into<String>, paths: Vec<String>, runs: usize, goal: Option<(f64, f64)>) -> Self {
        Target { label: label.into(), paths, runs, goal }
    }
}

/// What an answer says, for the table's last column.
fn describe(a: &Answer) -> String {
    let v = a.json();
    let d = &v["data"];
    if let Some(list) = d["payouts"].as_array() {
        format!("{} of {} payouts", list.len(), d["total"])
    } else if let Some(list) = d["members"].as_array() {
        format!("{} of {} members, {} selectable", list.len(), d["total"], d["selectableCount"])
    } else if d.get("isEligible").is_some() {
        format!("eligible={} available={} source={}", d["isEligible"], d["availablePayouts"], d["revenueSource"].as_str().unwrap_or("?"))
    } else if a.body.starts_with(b"%PDF-") {
        format!("{} KiB PDF", a.body.len() / 1024)
    } else {
        format!("{} KiB", a.body.len() / 1024)
    }
}

/// Times the targets' GETs one request at a time, round-robin (request i of every target, then
/// request i+1…), after 5 untimed warm-up requests each: a burst of load from elsewhere on the
/// machine then falls on every target alike instead of on whichever ran at that moment.
async fn time_gets(b: &Bench, rss: &RssSampler, who: &Who, targets: &[Target]) -> Result<Vec<Row>> {
    for t in targets {
        for path in t.paths.iter().cycle().take(5) {
            b.get(who, path).await?;
        }
    }
    rss.take_peak();
    let mut rows: Vec<Row> = targets.iter().map(|t| Row { label: t.label.clone(), samples: Vec::with_capacity(t.runs), goal: t.goal, peak_kb: 0, note: String::new() }).collect();
    let rounds = targets.iter().map(|t| t.runs).max().unwrap_or(0);
    for i in 0..rounds {
        for (t, row) in targets.iter().zip(rows.iter_mut()) {
            if i >= t.runs {
                continue;
            }
            let path = &t.paths[i % t.paths.len()];
            let a = b.get(who, path).await?;
            if a.status != 200 {
                bail!("{}: GET {path} answered {}: {}", t.label, a.status, String::from_utf8_lossy(&a.body));
            }
            row.samples.push(ms(a.took));
            if row.note.is_empty() {
                row.note = describe(&a);
            }
        }
    }
    let peak = rss.take_peak();
    for row in &mut rows {
        row.peak_kb = peak;
    }
    Ok(rows)
}

fn header(title: &str) {
    println!("{title}");
    println!();
    println!("| request | n | p50 | p99 | max | target p50 / p99 | | service RSS peak | answer |");
    println!("|---|---|---|---|---|---|---|---|---|");
}

async fn run(b: &Bench, pid: u32, runs: usize) -> Result<()> {
    let rss = RssSampler::start(pid);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start_mem = memory(pid).context("no /proc/<pid>/status for the service")?;
    let (ava, ben, cara) = (b.session(AVA).await?, b.session(BEN).await?, b.session(CARA).await?);
    let heavy = (runs / 10).max(20);
    let mut rows = Vec::new();

    // ---- GET /api/payouts: each filter, and deep offsets
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_management").fetch_one(&b.db).await?;
    let completed: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_management WHERE status = 'completed'").fetch_one(&b.db).await?;
    let users = b.strings("SELECT user_id::text FROM payout_management ORDER BY random() LIMIT $1", 500).await?;
    let mut rng = rand::thread_rng();
    let windows: Vec<String> = (0..200)
        .map(|_| {
            let from = chrono::NaiveDate::from_ymd_opt(2022, 1, 1).unwrap() + chrono::Days::new(rng.gen_range(0..1700));
            format!("/api/payouts?createdFrom={from}&createdTo={}", from + chrono::Days::new(30))
        })
        .collect();
    let lists: Vec<(&str, Vec<String>)> = vec![
        ("GET /api/payouts (no filter, first page of 50)", vec!["/api/payouts".into()]),
        ("GET /api/payouts?status=completed", vec!["/api/payouts?status=completed".into()]),
        ("GET /api/payouts?status=pending_approval", vec!["/api/payouts?status=pending_approval".into()]),
        ("GET /api/payouts?status=payment_failed", vec!["/api/payouts?status=payment_failed".into()]),
        ("GET /api/payouts?userId=… (a random member each time)", users.iter().map(|u| format!("/api/payouts?userId={u}")).collect()),
        ("GET /api/payouts?paymentMethod=check", vec!["/api/payouts?paymentMethod=check".into()]),
        ("GET /api/payouts?createdFrom=…&createdTo=… (a random 30-day window)", windows),
        ("GET /api/payouts?createdFrom=2026-09-01 (the last months)", vec!["/api/payouts?createdFrom=2026-09-01".into()]),
        ("GET /api/payouts?status=completed&paymentMethod=ach&createdFrom=2024-01-01", vec!["/api/payouts?status=completed&paymentMethod=ach&createdFrom=2024-01-01".into()]),
        ("GET /api/payouts?offset=<total−50> (deep offset, no filter)", vec![format!("/api/payouts?offset={}", total - 50)]),
        ("GET /api/payouts?status=completed&offset=<completed−50> (deep offset)", vec![format!("/api/payouts?status=completed&offset={}", completed - 50)]),
        ("GET /api/payouts?limit=100&offset=25000 (the middle)", vec!["/api/payouts?limit=100&offset=25000".into()]),
    ];
    let mut targets: Vec<Target> = lists.into_iter().map(|(label, paths)| Target::new(label, paths, runs, Some((20.0, 50.0)))).collect();
    let ids = b.strings("SELECT payout_id FROM payout_management ORDER BY random() LIMIT $1", runs as i64).await?;
    let paths: Vec<String> = ids.iter().map(|id| format!("/api/payouts/{id}")).collect();
    targets.push(Target::new("GET /api/payouts/:id (a random payout each time)", paths, runs, Some((5.0, 15.0))));
    rows.extend(time_gets(b, &rss, &ava, &targets).await?);

    // ---- approve: payouts awaiting approval get the member's bank details, then two approvals
    let pool_size = (runs / 2).max(20) as i64;
    let pool: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT payout_id, user_id FROM payout_management
         WHERE status = 'pending_approval' AND payment_method = 'ach' AND jsonb_array_length(approval_workflow -> 'approvals') = 0
         ORDER BY created_at LIMIT $1",
    )
    .bind(pool_size)
    .fetch_all(&b.db)
    .await?;
    if (pool.len() as i64) < pool_size {
        bail!("only {} ACH payouts awaiting approval (need {pool_size})", pool.len());
    }
    let mut bank = Row { label: "POST /api/members/:userId/bank-info (the member, before approvals)".into(), samples: vec![], goal: None, peak_kb: 0, note: String::new() };
    for (_, user) in &pool {
        let member = b.member_session(*user).await?;
        let body = json!({ "accountHolderName": "Scale Member", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "checking", "bankName": "First Bank" });
        let a = b.post(&member, &format!("/api/members/{user}/bank-info"), body).await?;
        if a.status >= 300 {
            bail!("bank-info for {user}: {} {}", a.status, String::from_utf8_lossy(&a.body));
        }
        bank.samples.push(ms(a.took));
    }
    bank.peak_kb = rss.take_peak();
    bank.note = "encrypts, trail entry, audit row, email".into();
    let mut approve = Row { label: "POST /api/payouts/:id/approve (1st and 2nd approval)".into(), samples: vec![], goal: Some((20.0, 50.0)), peak_kb: 0, note: String::new() };
    let mut approved = 0;
    for (id, _) in &pool {
        for who in [&ben, &cara] {
            let a = b.post(who, &format!("/api/payouts/{id}/approve"), json!({ "comment": "bench" })).await?;
            if a.status != 200 {
                bail!("approve {id}: {} {}", a.status, String::from_utf8_lossy(&a.body));
            }
            approved += usize::from(a.json()["data"]["fullyApproved"] == true);
            approve.samples.push(ms(a.took));
        }
    }
    approve.peak_kb = rss.take_peak();
    approve.note = format!("{approved} payouts fully approved");
    rows.push(bank);
    rows.push(approve);

    // ---- create 100 payouts in one request, undone after each run
    let head = b.head_of_queue(&ava, 100).await?;
    let mut create = Row { label: "POST /api/payouts (100 members in one request)".into(), samples: vec![], goal: Some((1000.0, 1000.0)), peak_kb: 0, note: String::new() };
    rss.take_peak();
    for _ in 0..(runs / 20).max(10) {
        let a = b.post(&ava, "/api/payouts", json!({ "userIds": head, "notes": "bench", "paymentMethod": "ach" })).await?;
        let v = a.json();
        if a.status != 201 || v["data"]["createdCount"] != 100 {
            bail!("create 100: {} {}", a.status, String::from_utf8_lossy(&a.body));
        }
        create.samples.push(ms(a.took));
        let created: Vec<String> = v["data"]["payoutIds"].as_array().unwrap().iter().filter_map(|x| x.as_str().map(String::from)).collect();
        b.undo_create(&created).await?;
    }
    create.peak_kb = rss.take_peak();
    create.note = "201, createdCount 100 (each run undone)".into();
    rows.push(create);

    // ---- receipts: first download of a past payout's receipt (renders and records its hash),
    // then repeated downloads (renders; the hash is already recorded)
    let receipts = b.strings("SELECT payout_id FROM payout_management WHERE status = 'completed' ORDER BY random() LIMIT $1", (heavy * 2) as i64).await?;
    let mut first = Row { label: "GET /api/payouts/:id/receipt (first download: renders, records the hash)".into(), samples: vec![], goal: None, peak_kb: 0, note: String::new() };
    rss.take_peak();
    for id in &receipts {
        let a = b.get(&ava, &format!("/api/payouts/{id}/receipt")).await?;
        if a.status != 200 || !a.body.starts_with(b"%PDF-") {
            bail!("receipt {id}: {}", a.status);
        }
        first.samples.push(ms(a.took));
        first.note = format!("{} KiB PDF", a.body.len() / 1024);
    }
    first.peak_kb = rss.take_peak();
    let paths: Vec<String> = receipts.iter().map(|id| format!("/api/payouts/{id}/receipt")).collect();
    let warm = Target::new("GET /api/payouts/:id/receipt (warm: downloaded before)", paths, runs, Some((50.0, 50.0)));
    rows.push(first);
    rows.extend(time_gets(b, &rss, &ava, &[warm]).await?);

    // ---- eligibility
    rows.extend(eligibility(b, &rss, &ava, heavy, "").await?);

    // ---- the audit trails the dataset wrote verify as the service's own
    let sample = b.strings("SELECT payout_id FROM payout_management ORDER BY random() LIMIT $1", 50).await?;
    let mut valid = 0;
    let mut audit = Row { label: "GET /api/payouts/:id/audit (chain verified)".into(), samples: vec![], goal: None, peak_kb: 0, note: String::new() };
    for id in &sample {
        let a = b.get(&ava, &format!("/api/payouts/{id}/audit")).await?;
        valid += usize::from(a.json()["data"]["chainValid"] == true);
        audit.samples.push(ms(a.took));
    }
    audit.peak_kb = rss.take_peak();
    audit.note = format!("chainValid on {valid} of {}", sample.len());
    rows.push(audit);

    let end = memory(pid).unwrap_or_default();
    let peak = rss.peak_kb.load(Ordering::Relaxed).max(rows.iter().map(|r| r.peak_kb).max().unwrap_or(0));
    header(&format!("{runs} runs per light request, {heavy} per heavy one, one request at a time (keep-alive), round-robin across the targets of a group, after 5 warm-up requests each"));
    for row in &mut rows {
        row.print();
    }
    println!();
    println!(
        "Service memory: RSS {} before, {} after; peak sampled every 20 ms {}; VmHWM {} (target: < 80 MiB throughout: {}).",
        mib(start_mem.0),
        mib(end.0),
        mib(peak),
        mib(end.1),
        if end.1 < 80 * 1024 { "met" } else { "**not met**" }
    );
    Ok(())
}

async fn eligibility(b: &Bench, rss: &RssSampler, who: &Who, runs: usize, suffix: &str) -> Result<Vec<Row>> {
    let queue: i64 = sqlx::query_scalar("SELECT count(*) FROM active_member_queue_view").fetch_one(&b.db).await?;
    let goal = Some((300.0, 300.0));
    let targets = [
        Target::new(format!("GET /api/eligibility/status{suffix}"), vec!["/api/eligibility/status".into()], runs, goal),
        Target::new(format!("GET /api/eligibility/members (first 500){suffix}"), vec!["/api/eligibility/members".into()], runs, goal),
        Target::new(
            format!("GET /api/eligibility/members?limit=100&offset=<queue−100>{suffix}"),
            vec![format!("/api/eligibility/members?limit=100&offset={}", (queue - 100).max(0))],
            runs,
            goal,
        ),
    ];
    time_gets(b, rss, who, &targets).await
}

async fn fallback(b: &Bench, pid: u32, runs: usize) -> Result<()> {
    let rss = RssSampler::start(pid);
    let ava = b.session(AVA).await?;
    let mut rows = eligibility(b, &rss, &ava, runs, " — revenue from the DB").await?;
    header(&format!("{runs} runs each; the subscription service unreachable (revenue = SUM over the payments)"));
    for row in &mut rows {
        row.print();
    }
    println!();
    Ok(())
}

/// Latencies of one minute of the soak.
#[derive(Default)]
struct Minute {
    samples: Vec<f64>,
    errors: usize,
    by_kind: BTreeMap<&'static str, Vec<f64>>,
}

async fn soak(b: Arc<Bench>, pid: u32, minutes: u64, rate: f64) -> Result<()> {
    let rss = RssSampler::start(pid);
    let (ava, ben, cara) = (b.session(AVA).await?, b.session(BEN).await?, b.session(CARA).await?);
    let ids = Arc::new(b.strings("SELECT payout_id FROM payout_management ORDER BY random() LIMIT $1", 2000).await?);
    let users = Arc::new(b.strings("SELECT user_id::text FROM payout_management ORDER BY random() LIMIT $1", 1000).await?);
    // Receipts: mostly first downloads (each renders a new document and records its hash), as
    // members fetching their own would; a memory leak per document shows here.
    let receipts = Arc::new(b.strings("SELECT payout_id FROM payout_management WHERE status = 'completed' ORDER BY random() LIMIT $1", 5000).await?);
    let members: Vec<(Uuid, Who)> = {
        let mut v = Vec::new();
        for u in users.iter().take(50) {
            let id = Uuid::parse_str(u)?;
            v.push((id, b.member_session(id).await?));
        }
        v
    };
    let members = Arc::new(members);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_management").fetch_one(&b.db).await?;
    let head = b.head_of_queue(&ava, 1).await?[0];
    let head_session = b.member_session(head).await?;

    let current: Arc<Mutex<Minute>> = Arc::new(Mutex::new(Minute::default()));
    let record = {
        let current = current.clone();
        move |kind: &'static str, a: &Result<Answer>| {
            let mut m = current.lock().unwrap();
            match a {
                Ok(a) if a.status < 400 => {
                    m.samples.push(ms(a.took));
                    m.by_kind.entry(kind).or_default().push(ms(a.took));
                }
                _ => m.errors += 1,
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(minutes * 60);

    // The write cycle, one step a second: the head of the queue is created, gets bank details,
    // two approvals and is cancelled (so it is the head again and nothing accumulates but the
    // history: trails, audit rows, emails).
    let writer = {
        let (b, ava, ben, cara, record) = (b.clone(), ava.clone(), ben.clone(), cara.clone(), record.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut failures = 0usize;
            while Instant::now() < deadline {
                tick.tick().await;
                let a = b.post(&ava, "/api/payouts", json!({ "userIds": [head], "paymentMethod": "ach" })).await;
                record("create 1", &a);
                let Some(id) = a.ok().filter(|a| a.status == 201).and_then(|a| a.json()["data"]["payoutIds"][0].as_str().map(String::from)) else {
                    failures += 1;
                    if failures > 5 {
                        eprintln!("soak: creates keep failing; the write cycle stops");
                        return;
                    }
                    continue;
                };
                tick.tick().await;
                let body = json!({ "accountHolderName": "Scale Member", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "checking" });
                record("bank-info", &b.post(&head_session, &format!("/api/members/{head}/bank-info"), body).await);
                for who in [&ben, &cara] {
                    tick.tick().await;
                    record("approve", &b.post(who, &format!("/api/payouts/{id}/approve"), json!({})).await);
                }
                tick.tick().await;
                record("cancel", &b.post(&ava, &format!("/api/payouts/{id}/cancel"), json!({ "reason": "soak cycle" })).await);
            }
        })
    };

    // Reads, open loop at `rate` per second.
    let reader = {
        let (b, ava, record) = (b.clone(), ava.clone(), record.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while Instant::now() < deadline {
                tick.tick().await;
                let (b, ava, record, ids, users, receipts, members) = (b.clone(), ava.clone(), record.clone(), ids.clone(), users.clone(), receipts.clone(), members.clone());
                tokio::spawn(async move {
                    let (kind, who, path) = {
                        let mut rng = rand::thread_rng();
                        let roll = rng.gen_range(0..100);
                        let id = ids.choose(&mut rng).unwrap();
                        let user = users.choose(&mut rng).unwrap();
                        let member = members.choose(&mut rng).unwrap();
                        match roll {
                            0..=9 => ("list", &ava, "/api/payouts".to_string()),
                            10..=17 => ("list", &ava, format!("/api/payouts?status={}", ["completed", "pending_approval", "cancelled", "payment_sent"][rng.gen_range(0..4)])),
                            18..=22 => ("list", &ava, format!("/api/payouts?userId={user}")),
                            23..=26 => ("list", &ava, "/api/payouts?paymentMethod=check&offset=1000".to_string()),
                            27..=30 => ("list", &ava, format!("/api/payouts?createdFrom=2024-0{}-01&createdTo=2024-0{}-28", rng.gen_range(1..9), rng.gen_range(1..9))),
                            31..=34 => ("list", &ava, format!("/api/payouts?offset={}", rng.gen_range(0..total - 50))),
                            35..=64 => ("detail", &ava, format!("/api/payouts/{id}")),
                            65..=69 => ("member status", &ava, format!("/api/members/{user}/payout")),
                            70..=74 => ("audit", &ava, format!("/api/payouts/{id}/audit")),
                            75..=82 => ("receipt", &ava, format!("/api/payouts/{}/receipt", receipts.choose(&mut rng).unwrap())),
                            83..=87 => ("eligibility status", &ava, "/api/eligibility/status".to_string()),
                            88..=89 => ("eligibility members", &ava, "/api/eligibility/members?limit=100".to_string()),
                            _ => ("member's own list", &member.1, "/api/payouts".to_string()),
                        }
                    };
                    let who = who.clone();
                    record(kind, &b.get(&who, &path).await);
                });
            }
        })
    };

    println!("Soak: {minutes} min, reads at {rate}/s (open loop) + one write step a second (create 1 → bank details → approve → approve → cancel)");
    println!();
    println!("| minute | requests | errors | p50 | p99 | max | p99 lists, details, audit | p99 eligibility | p99 receipts | p99 writes | RSS at end | RSS peak in minute | VmHWM | load (1 min) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut rows = Vec::new();
    for minute in 1..=minutes {
        tokio::time::sleep_until((started + Duration::from_secs(minute * 60)).into()).await;
        let m = std::mem::take(&mut *current.lock().unwrap());
        let mut s = m.samples;
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let class = |kinds: &[&str]| {
            let mut v: Vec<f64> = kinds.iter().flat_map(|k| m.by_kind.get(k).cloned().unwrap_or_default()).collect();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            pct(&v, 99.0)
        };
        let reads = class(&["list", "detail", "member status", "audit", "member's own list"]);
        let eligibility = class(&["eligibility status", "eligibility members"]);
        let receipts = class(&["receipt"]);
        let writes = class(&["create 1", "bank-info", "approve", "cancel"]);
        let (rss_now, hwm) = memory(pid).unwrap_or_default();
        let peak = rss.take_peak();
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().next().unwrap_or("?").to_string();
        println!(
            "| {minute} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {reads:.1} ms | {eligibility:.1} ms | {receipts:.1} ms | {writes:.1} ms | {} | {} | {} | {load} |",
            s.len(),
            m.errors,
            pct(&s, 50.0),
            pct(&s, 99.0),
            pct(&s, 100.0),
            mib(rss_now),
            mib(peak),
            mib(hwm)
        );
        rows.push((pct(&s, 99.0), rss_now));
    }
    let _ = tokio::join!(writer, reader);
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        println!();
        println!(
            "First minute → last: p99 {:.1} → {:.1} ms, RSS {} → {}.",
            first.0,
            last.0,
            mib(first.1),
            mib(last.1)
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("run");
    let num = |i: usize, default: f64| args.get(i).and_then(|a| a.parse::<f64>().ok()).unwrap_or(default);
    let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let pid: u32 = var("BENCH_PID")?.parse()?;
    let db = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&var("DATABASE_URL")?).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).timeout(Duration::from_secs(60)).build()?;
    let b = Bench { base: var("BENCH_BASE")?, client, db, secret: var("BETTER_AUTH_SECRET")? };
    match mode {
        "run" => run(&b, pid, num(1, 200.0) as usize).await,
        "fallback" => fallback(&b, pid, num(1, 20.0) as usize).await,
        "soak" => soak(Arc::new(b), pid, num(1, 10.0) as u64, num(2, 20.0)).await,
        other => bail!("unknown mode {other}: run | fallback | soak"),
    }
}
