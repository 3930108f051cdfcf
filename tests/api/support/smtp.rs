//! A small real SMTP server over TCP for the tests: EHLO/MAIL/RCPT/DATA/QUIT, no TLS offered,
//! every accepted message kept for assertions. It can be started on a chosen port, stopped and
//! started again (to test SMTP outages). It can also stall: hold the next DATA commands silent
//! for a while before answering, as an overloaded server does. It counts the connections it
//! accepted, so a test can see messages sharing one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data.lines().find(|l| l.to_ascii_lowercase().starts_with(&prefix)).map(|l| l[prefix.len()..].trim().to_string())
    }
}

pub struct SmtpServer {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    stalls: Arc<Stalls>,
    connections: Arc<AtomicUsize>,
    task: Option<JoinHandle<()>>,
}

/// How many of the next DATA commands are held silent, and for how long.
#[derive(Default)]
struct Stalls {
    remaining: AtomicUsize,
    millis: AtomicUsize,
    /// DATA commands that were stalled (the client may have given up on them).
    stalled: AtomicUsize,
}

impl SmtpServer {
    pub async fn start(port: u16) -> SmtpServer {
        let mut s = SmtpServer { port, received: Arc::new(Mutex::new(Vec::new())), stalls: Arc::default(), connections: Arc::default(), task: None };
        s.resume().await;
        s
    }

    pub async fn resume(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.expect("bind SMTP port");
        let received = self.received.clone();
        let stalls = self.stalls.clone();
        let connections = self.connections.clone();
        self.task = Some(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { break };
                connections.fetch_add(1, Ordering::SeqCst);
                let received = received.clone();
                let stalls = stalls.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 test-smtp ready\r\n").await;
                    let mut to = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                            b"250-test-smtp\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("MAIL FROM") {
                            to.clear();
                            b"250 OK\r\n"
                        } else if upper.starts_with("RCPT TO") {
                            to.push(line[8..].trim().trim_start_matches(':').trim().trim_matches(|c| c == '<' || c == '>').to_string());
                            b"250 OK\r\n"
                        } else if upper == "DATA" {
                            let take = stalls.remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                            if take.is_ok() {
                                stalls.stalled.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(stalls.millis.load(Ordering::SeqCst) as u64)).await;
                            }
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            let mut complete = false;
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    complete = true;
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            // A conversation the client dropped before the final "." delivers nothing.
                            if !complete {
                                break;
                            }
                            received.lock().unwrap().push(Received { to: to.clone(), data });
                            b"250 queued\r\n"
                        } else if upper == "QUIT" {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 OK\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        }));
    }

    /// Holds the next `count` DATA commands silent for `pause` before answering; a client still
    /// connected afterwards delivers its message as usual.
    pub fn stall_next(&self, count: usize, pause: Duration) {
        self.stalls.millis.store(pause.as_millis() as usize, Ordering::SeqCst);
        self.stalls.remaining.store(count, Ordering::SeqCst);
    }

    /// How many DATA commands were stalled so far.
    pub fn stalled(&self) -> usize {
        self.stalls.stalled.load(Ordering::SeqCst)
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Stops listening (connections are refused until `resume`).
    pub fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
