//! The finance console (issue 13) in a real browser: the dev-mode binary as an operator starts
//! it, and tests/browser/walk.mjs driving Debian's Chromium through playwright-core, one
//! signed-in person per browser context. The screenshots land in tests/browser/screenshots.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::support::binary::*;
use crate::support::harness::*;

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Installs the pinned playwright-core and htmx.org when missing or older than the lock file
/// (scripts/test does it too, up front). Never downloads a browser: Debian's Chromium is used.
fn ensure_installed(dir: &Path) {
    let installed = ["playwright-core", "htmx.org"].iter().all(|p| dir.join("node_modules").join(p).join("package.json").is_file());
    let current = match (modified(&dir.join("package-lock.json")), modified(&dir.join("node_modules/.package-lock.json"))) {
        (Some(lock), Some(done)) => lock <= done,
        _ => false,
    };
    if installed && current {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .current_dir(dir)
        .status()
        .expect("npm is needed for the console's browser test: install Node.js 20+ and npm");
    assert!(status.success(), "npm ci in tests/browser failed");
}

/// The service, stopped however the test ends (SIGTERM on the happy path, below).
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test]
async fn the_console_walks_through_a_payout_in_chromium() {
    let url = empty_database().await;
    let dev_dir = temp_dir("browser");
    let port = free_port();
    let env: HashMap<String, String> = [("DATABASE_URL", url.as_str()), ("PORT", &port.to_string()), ("PAYOUT_DEV_DIR", dev_dir.to_str().unwrap())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut service = Service(command(&["dev"], &env, &dev_dir).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let block = read_dev_block(&mut service.0);

    // The first line after the banner is where a developer starts: the console's sign-in page.
    let mut lines = block.lines().skip_while(|l| !l.starts_with("====="));
    lines.next();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("Console  ") && first.contains("/console/dev-login"), "the dev block opens with the console's sign-in link: {block}");
    // The walk uses the printed link's origin, so the link a developer clicks is the one tested.
    let dev_login = first.split_whitespace().find(|w| w.contains("/console/dev-login")).unwrap();
    let console_url = dev_login.split("/console/dev-login").next().unwrap().to_string();
    assert!(console_url.ends_with(&format!(":{port}")), "{console_url} is the service on port {port}");
    wait_ready(&format!("http://127.0.0.1:{port}")).await;

    let dir = browser_dir();
    ensure_installed(&dir);
    let chromium = std::env::var("PAYOUT_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).is_file(), "no Chromium at {chromium}: install Debian's chromium package (scripts/test does) or set PAYOUT_TEST_CHROMIUM");
    let mut walk = Command::new("node")
        .arg("walk.mjs")
        .current_dir(&dir)
        .env("CONSOLE_URL", &console_url)
        .env("CHROMIUM", &chromium)
        .env("SHOTS", dir.join("screenshots"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is needed for the console's browser test: install Node.js 20+");
    // One line per step, as it happens (shown with --nocapture, and on failure).
    let mut steps = Vec::new();
    for line in BufReader::new(walk.stdout.take().unwrap()).lines() {
        let line = line.unwrap_or_default();
        println!("{line}");
        steps.push(line);
    }
    let status = walk.wait().unwrap();
    assert!(
        status.success(),
        "walk.mjs failed ({status}; its reason is on stderr above, screenshots in tests/browser/screenshots); its last steps:\n{}",
        steps[steps.len().saturating_sub(8)..].join("\n")
    );

    sigterm(&service.0);
    assert!(wait_exit(&mut service.0, Duration::from_secs(15)).success());
}
