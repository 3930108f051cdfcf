//! A payout desk: the service against a fresh database with a stand-in subscription service,
//! four admins with sessions, and `n` selectable members in queue order.

use chrono::Duration;
use serde_json::{json, Value};

use super::harness::*;
use super::members::*;
use super::standin::{Answer, StandIn};

pub struct Desk {
    pub app: TestApp,
    /// Super Admin who creates payouts.
    pub creator: String,
    pub creator_id: i32,
    /// Two more admins who can approve.
    pub manager: String,
    pub second: String,
    pub support: String,
    pub standin: StandIn,
    pub members: Vec<(Member, String)>,
}

/// Revenue `revenue`, `n` selectable members (queue order = index), four admins.
pub async fn desk(revenue: i64, n: usize, extra_env: &[(&str, &str)]) -> Desk {
    let standin = StandIn::start(Answer::Total(json!(revenue))).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    env.insert("SUBSCRIPTION_SERVICE_URL".into(), standin.url.clone());
    env.insert("RATE_LIMIT_MAX".into(), "100000".into());
    for (k, v) in extra_env {
        env.insert(k.to_string(), v.to_string());
    }
    let app = spawn_app_with(env).await;
    let mut tokens = Vec::new();
    let mut creator_id = 0;
    for (email, role) in [("ava@tenure.test", "Super Admin"), ("mia@tenure.test", "Manager"), ("noah@tenure.test", "Super Admin"), ("liam@tenure.test", "Support")] {
        let user = app.user(email, email.split('@').next().unwrap()).await;
        let id = app.admin(email, role).await;
        if email.starts_with("ava") {
            creator_id = id;
        }
        tokens.push(app.session(user, Duration::days(3)).await);
    }
    let mut members = Vec::new();
    for i in 0..n {
        let email = format!("member{i}@tenure.test");
        let m = MemberSpec::new(&email, 20 - i as u32).insert(&app.db).await;
        let token = app.session(m.user_id, Duration::days(3)).await;
        members.push((m, token));
    }
    let support = tokens.pop().unwrap();
    let second = tokens.pop().unwrap();
    let manager = tokens.pop().unwrap();
    let creator = tokens.pop().unwrap();
    Desk { app, creator, creator_id, manager, second, support, standin, members }
}

impl Desk {
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let res = self.app.client.post(self.app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self.app.client.get(self.app.url(path)).bearer_auth(token).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }
    pub fn uid(&self, i: usize) -> String {
        self.members[i].0.user_id.to_string()
    }
    /// Creates payouts for members `idx` as the creator; returns their payout ids.
    pub async fn create(&self, idx: &[usize]) -> Vec<String> {
        let ids: Vec<String> = idx.iter().map(|i| self.uid(*i)).collect();
        let (status, body) = self.post(&self.creator, "/api/payouts", json!({ "userIds": ids })).await;
        assert_eq!(status, 201, "{body}");
        body["data"]["payoutIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
    }
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.app.db).await.unwrap()
    }

    /// The use cases' context on this desk's database and stand-in, for tests below HTTP.
    pub fn context(&self) -> payout_service::workflow::Context {
        let mut env = base_env(&self.app.database_url);
        env.insert("SUBSCRIPTION_SERVICE_URL".into(), self.standin.url.clone());
        let settings = payout_service::config::Settings::from_map(&env, payout_service::config::Purpose::Serve).unwrap();
        payout_service::workflow::Context::new(&settings, self.app.db.clone())
    }

    /// The person behind `email` as the use cases know them (an admin when an admin row has it).
    pub async fn actor(&self, email: &str) -> payout_service::domain::change::Actor {
        let (user_id, name): (uuid::Uuid, Option<String>) =
            sqlx::query_as("SELECT id, name FROM users WHERE email = $1").bind(email).fetch_one(&self.app.db).await.unwrap();
        let admin: Option<(i32, String)> = sqlx::query_as("SELECT id, role::text FROM admin WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(&self.app.db)
            .await
            .unwrap();
        payout_service::domain::change::Actor {
            user_id: Some(user_id),
            admin_id: admin.as_ref().map(|a| a.0),
            email: Some(email.to_string()),
            name,
            role: admin.map(|a| a.1),
        }
    }
}
