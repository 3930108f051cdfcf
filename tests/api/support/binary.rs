//! The built binary as a process: a clean environment in a scratch folder, signals, waiting for
//! readiness or exit, and running the curl commands dev mode prints.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::harness::binary;

/// The binary with a clean environment (only what we give it) in an empty folder (no `.env`).
pub fn command(args: &[&str], env: &HashMap<String, String>, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(dir);
    cmd.envs(env);
    cmd
}

/// A scratch folder removed when the test ends.
pub struct TempDir(std::path::PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("payout-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

pub fn sigterm(child: &Child) {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success();
    assert!(ok);
}

pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(res) = client.get(format!("{base}/ready")).send().await {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} never became ready");
}

/// Reads the dev block from stdout until the service is listening; returns the block.
pub fn read_dev_block(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut block = String::new();
    let started = Instant::now();
    let mut line = String::new();
    while started.elapsed() < Duration::from_secs(120) {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        block.push_str(&line);
        if line.starts_with("=====") && block.matches("=====").count() >= 2 && block.contains("demo sessions") {
            break;
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    block
}

/// Splits a command line the way a shell would for our printed commands (single quotes only).
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            _ => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

/// Runs every runnable `curl` line of the block (method, headers, body); returns (line, status, body).
pub async fn run_curls(block: &str) -> Vec<(String, u16, Value)> {
    let client = reqwest::Client::new();
    let mut results = Vec::new();
    for line in block.lines().filter(|l| l.starts_with("curl ")) {
        let words = shell_words(line);
        let (mut method, mut url, mut headers, mut data) = ("GET".to_string(), String::new(), Vec::new(), None);
        let mut i = 1;
        while i < words.len() {
            match words[i].as_str() {
                "-s" => {}
                "-X" => {
                    i += 1;
                    method = words[i].clone();
                }
                "-H" => {
                    i += 1;
                    headers.push(words[i].clone());
                }
                "-d" => {
                    i += 1;
                    data = Some(words[i].clone());
                }
                other => url = other.to_string(),
            }
            i += 1;
        }
        let mut req = client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), &url);
        for h in headers {
            let (name, value) = h.split_once(": ").unwrap();
            req = req.header(name, value);
        }
        if let Some(d) = data {
            req = req.body(d);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        results.push((line.to_string(), status, res.json().await.unwrap_or(Value::Null)));
    }
    results
}
