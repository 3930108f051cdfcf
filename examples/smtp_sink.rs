//! A local SMTP server for `bench/outbox` (not a test): speaks SMTP over TCP on 127.0.0.1
//! (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no AUTH), accepts every message and
//! counts connections, messages and bytes. Prints `port=N` once listening; on SIGTERM or SIGINT
//! prints `connections=… messages=… bytes=… first_ms=… last_ms=…` (Unix milliseconds of the
//! first and last accepted message) and exits.
//!   cargo run --release --example smtp_sink -- [port=0] [data_latency_ms=0]
//! `data_latency_ms` holds each accepted message that long before the final 250, as a relay
//! writing its queue file to disk does (0: answer at once).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    messages: AtomicU64,
    bytes: AtomicU64,
    first_ms: AtomicU64,
    last_ms: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

async fn serve(stream: TcpStream, stats: Arc<Stats>, latency: Duration) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::with_capacity(64 * 1024, r);
    w.write_all(b"220 smtp-sink ready\r\n").await?;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb: String = line.iter().take(4).map(|b| b.to_ascii_uppercase() as char).collect();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-smtp-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            "DATA" => {
                w.write_all(b"354 go ahead\r\n").await?;
                let mut size = 0u64;
                loop {
                    line.clear();
                    if r.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(()); // dropped before the final ".": nothing delivered
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    size += line.len() as u64;
                }
                if !latency.is_zero() {
                    tokio::time::sleep(latency).await;
                }
                let at = now_ms();
                let _ = stats.first_ms.compare_exchange(0, at, Ordering::SeqCst, Ordering::SeqCst);
                stats.last_ms.fetch_max(at, Ordering::SeqCst);
                stats.messages.fetch_add(1, Ordering::SeqCst);
                stats.bytes.fetch_add(size, Ordering::SeqCst);
                b"250 queued\r\n"
            }
            _ => b"502 command not implemented\r\n",
        };
        w.write_all(reply).await?;
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).map(|p| p.parse().expect("port")).unwrap_or(0);
    let latency = Duration::from_millis(args.get(2).map(|l| l.parse().expect("data_latency_ms")).unwrap_or(0));
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("port={}", listener.local_addr()?.port());
    let stats = Arc::new(Stats::default());
    let accept = {
        let stats = stats.clone();
        async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                stats.connections.fetch_add(1, Ordering::SeqCst);
                let stats = stats.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, stats, latency).await;
                });
            }
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = accept => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    println!(
        "connections={} messages={} bytes={} first_ms={} last_ms={}",
        stats.connections.load(Ordering::SeqCst),
        stats.messages.load(Ordering::SeqCst),
        stats.bytes.load(Ordering::SeqCst),
        stats.first_ms.load(Ordering::SeqCst),
        stats.last_ms.load(Ordering::SeqCst),
    );
    Ok(())
}
