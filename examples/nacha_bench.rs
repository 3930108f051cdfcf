//! Benchmark (run by `bench/nacha`, not a test): a NACHA file of N entries built, re-read by the
//! validator, hashed and stored in `payout_payment_files`, timed over several rounds.
//!   DATABASE_URL=… cargo run --release --example nacha_bench -- [entries=1000] [rounds=20]

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use payout_service::domain::money::Money;
use payout_service::domain::nacha::{self, AccountKind, AchEntry, AchOrigin, AchRequest};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

fn request(entries: usize) -> AchRequest {
    let routings = ["021000021", "011000015", "026009593", "121000358"];
    AchRequest {
        origin: AchOrigin {
            immediate_destination: "021000021".into(),
            immediate_destination_name: "FIRST BANK".into(),
            immediate_origin: "1123456789".into(),
            immediate_origin_name: "TENURE INC".into(),
            company_name: "TENURE INC".into(),
            company_id: "1123456789".into(),
            entry_description: "PAYOUT".into(),
            odfi_routing: "021000021".into(),
        },
        file_id_modifier: 'A',
        created_at: Utc::now().naive_utc(),
        effective_date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        entries: (0..entries)
            .map(|i| AchEntry {
                routing: routings[i % routings.len()].into(),
                account_number: format!("{:012}", 100_000_000 + i),
                account_kind: if i % 3 == 0 { AccountKind::Savings } else { AccountKind::Checking },
                amount: Money::new(Decimal::new(9_970_000 + i as i64, 2)),
                individual_id: format!("{:015}", i),
                individual_name: format!("Member Number {i}"),
            })
            .collect(),
        prenote: false,
    }
}

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, p90 {:.2} ms, max {:.2} ms", ms(samples[samples.len() / 2]), ms(samples[samples.len() * 9 / 10]), ms(*samples.last().unwrap()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let entries: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let db = sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
    let req = request(entries);
    let (mut build, mut store, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let file = nacha::build(&req).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let built = started.elapsed();
        let sha: String = Sha256::digest(&file.bytes).iter().map(|b| format!("{b:02x}")).collect();
        let id = uuid::Uuid::new_v4();
        let ids: Vec<String> = (0..entries).map(|i| format!("PO-BENCH-{i}")).collect();
        let mut tx = db.begin().await?;
        payout_service::db::payment_files::insert(
            &mut tx,
            payout_service::db::payment_files::NewFile {
                id,
                kind: "ach",
                file_name: "bench.ach",
                content: &file.bytes,
                sha256: &sha,
                entry_count: file.entry_count as i32,
                total_amount: file.total_credit.amount(),
                effective_date: Some(req.effective_date),
                payout_ids: &ids,
                created_by: None,
                created_by_email: None,
            },
        )
        .await?;
        tx.commit().await?;
        build.push(built);
        store.push(started.elapsed() - built);
        total.push(started.elapsed());
    }
    println!("NACHA file of {entries} entries, {rounds} rounds (release build):");
    println!("  build + validate : {}", stats(build));
    println!("  hash + store     : {}", stats(store));
    println!("  total            : {}", stats(total));
    Ok(())
}
