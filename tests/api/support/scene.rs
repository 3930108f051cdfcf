//! Eligibility scenes: the service with a stand-in subscription service and three callers (an
//! admin, a support agent, a member), and databases with a given revenue.

use chrono::Duration as Days;
use serde_json::Value;
use sqlx::PgPool;

use super::harness::*;
use super::members::*;
use super::standin::{Answer, StandIn};

/// A fresh database with succeeded payments totalling `db_total` dollars (one member).
pub async fn db_with_revenue(db_total: i64) -> PgPool {
    let db = PgPool::connect(&fresh_database(APP_TEMPLATE).await).await.unwrap();
    MemberSpec::new("payer@tenure.test", 1).paying(db_total).insert(&db).await;
    db
}

pub struct Scene {
    pub app: TestApp,
    pub admin: String,
    pub support: String,
    pub member: String,
    pub standin: StandIn,
}

/// The service with a stand-in subscription service answering `revenue`, and three callers.
pub async fn scene(revenue: Value, launch: &str) -> Scene {
    let standin = StandIn::start(Answer::Total(revenue)).await;
    let url = fresh_database(APP_TEMPLATE).await;
    let mut env = base_env(&url);
    env.insert("SUBSCRIPTION_SERVICE_URL".into(), standin.url.clone());
    env.insert("BUSINESS_LAUNCH_DATE".into(), launch.into());
    let app = spawn_app_with(env).await;
    let mut tokens = Vec::new();
    for (email, role) in [("boss@tenure.test", Some("Manager")), ("help@tenure.test", Some("Support")), ("someone@tenure.test", None)] {
        let user = app.user(email, email).await;
        if let Some(role) = role {
            app.admin(email, role).await;
        }
        tokens.push(app.session(user, Days::days(3)).await);
    }
    let member = tokens.pop().unwrap();
    let support = tokens.pop().unwrap();
    let admin = tokens.pop().unwrap();
    Scene { app, admin, support, member, standin }
}

impl Scene {
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self.app.client.get(self.app.url(path)).bearer_auth(token).send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
    pub async fn post(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self.app.client.post(self.app.url(path)).bearer_auth(token).header("user-agent", "elig-test/1.0").send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
}
