//! A real Better Auth server (npm `better-auth`, pinned in tests/interop/package.json) on the
//! machine's Node, configured like the main app, against the test database.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub struct BetterAuth {
    child: Child,
    pub base: String,
    pub client: reqwest::Client,
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Installs the pinned packages once per run (scripts/test does it too, up front).
fn ensure_installed() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = interop_dir();
        if dir.join("node_modules/better-auth/package.json").is_file() && dir.join("node_modules/pg/package.json").is_file() {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed for the Better Auth interop test: install Node.js 20+ and npm");
        assert!(status.success(), "npm ci in tests/interop failed");
    });
}

impl BetterAuth {
    pub fn start(database_url: &str, secret: &str) -> BetterAuth {
        ensure_installed();
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(interop_dir())
            .env("DATABASE_URL", database_url)
            .env("BETTER_AUTH_SECRET", secret)
            .env("PORT", super::harness::free_port().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is needed for the Better Auth interop test: install Node.js 20+");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("Better Auth did not start: {line:?}"));
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        BetterAuth { child, base: format!("http://127.0.0.1:{port}"), client }
    }

    /// Signs a user up over HTTP; returns what Better Auth issued.
    pub async fn sign_up(&self, email: &str, name: &str) -> Issued {
        let res = self
            .client
            .post(format!("{}/api/auth/sign-up/email", self.base))
            .header("origin", &self.base)
            .json(&serde_json::json!({ "email": email, "password": "correct-horse-battery", "name": name }))
            .send()
            .await
            .unwrap();
        Issued::from(res).await
    }

    pub async fn sign_in(&self, email: &str) -> Issued {
        let res = self
            .client
            .post(format!("{}/api/auth/sign-in/email", self.base))
            .header("origin", &self.base)
            .json(&serde_json::json!({ "email": email, "password": "correct-horse-battery" }))
            .send()
            .await
            .unwrap();
        Issued::from(res).await
    }

    pub async fn sign_out(&self, cookie: &str) {
        let res = self
            .client
            .post(format!("{}/api/auth/sign-out", self.base))
            .header("origin", &self.base)
            .header("cookie", cookie)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "sign-out: {}", res.text().await.unwrap_or_default());
    }

    /// Better Auth's view without its own refresh (`disableRefresh=true`).
    pub async fn get_session_no_refresh(&self, cookie: &str) -> serde_json::Value {
        let url = format!("{}/api/auth/get-session?disableRefresh=true", self.base);
        let res = self.client.get(url).header("cookie", cookie).send().await.unwrap();
        res.json().await.unwrap_or(serde_json::Value::Null)
    }

    /// Better Auth's own view of a session (null when it has none).
    pub async fn get_session(&self, cookie: &str) -> serde_json::Value {
        let res = self.client.get(format!("{}/api/auth/get-session", self.base)).header("cookie", cookie).send().await.unwrap();
        res.json().await.unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for BetterAuth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What Better Auth hands a client after sign-up or sign-in.
pub struct Issued {
    /// The exact `Cookie` header a browser would send back: `better-auth.session_token=…`.
    pub cookie: String,
    /// The `set-auth-token` header of the bearer plugin (signed `token.signature`).
    pub bearer: String,
    /// The raw session token from the JSON body.
    pub token: String,
    pub user_id: String,
}

impl Issued {
    async fn from(res: reqwest::Response) -> Issued {
        let status = res.status();
        let set_cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.contains("session_token="))
            .map(|v| v.split(';').next().unwrap().to_string());
        let bearer = res.headers().get("set-auth-token").and_then(|v| v.to_str().ok()).map(String::from);
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        assert!(status.is_success(), "Better Auth answered {status}: {body}");
        Issued {
            cookie: set_cookie.expect("a session cookie"),
            bearer: bearer.expect("a set-auth-token header"),
            token: body["token"].as_str().expect("token in body").to_string(),
            user_id: body["user"]["id"].as_str().expect("user id").to_string(),
        }
    }
}
