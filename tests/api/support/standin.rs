//! A real HTTP server standing in for the subscription service, whose answers tests control.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

#[derive(Clone)]
pub enum Answer {
    Total(Value),
    Status(u16),
    Slow(Duration, Value),
    Malformed,
}

#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    answer: Arc<Mutex<Answer>>,
    hits: Arc<AtomicUsize>,
    pub cancels: Arc<Mutex<Vec<String>>>,
    /// The HTTP status cancels answer (200 unless set).
    cancel_status: Arc<std::sync::atomic::AtomicU16>,
}

impl StandIn {
    pub async fn start(answer: Answer) -> StandIn {
        let answer = Arc::new(Mutex::new(answer));
        let hits = Arc::new(AtomicUsize::new(0));
        let cancels = Arc::new(Mutex::new(Vec::new()));
        let cancel_status = Arc::new(std::sync::atomic::AtomicU16::new(200));
        let (a, h, c, cs) = (answer.clone(), hits.clone(), cancels.clone(), cancel_status.clone());
        let app = axum::Router::new()
            .route(
                "/api/revenue/total",
                get(move || {
                    let (a, h) = (a.clone(), h.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        let answer = a.lock().unwrap().clone();
                        respond(answer).await
                    }
                }),
            )
            .route(
                "/api/subscriptions/{user_id}/cancel",
                axum::routing::post(move |axum::extract::Path(user_id): axum::extract::Path<String>| {
                    let (c, cs) = (c.clone(), cs.clone());
                    async move {
                        c.lock().unwrap().push(user_id);
                        let status = axum::http::StatusCode::from_u16(cs.load(Ordering::SeqCst)).unwrap();
                        (status, axum::Json(json!({ "data": { "cancelled": status.is_success() } })))
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StandIn { url, answer, hits, cancels, cancel_status }
    }

    /// What subscription cancels answer from now on.
    pub fn set_cancel_status(&self, status: u16) {
        self.cancel_status.store(status, Ordering::SeqCst);
    }

    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn respond(answer: Answer) -> Response {
    match answer {
        Answer::Total(v) => axum::Json(json!({ "data": { "totalRevenue": v } })).into_response(),
        Answer::Status(code) => (StatusCode::from_u16(code).unwrap(), "boom").into_response(),
        Answer::Slow(d, v) => {
            tokio::time::sleep(d).await;
            axum::Json(json!({ "data": { "totalRevenue": v } })).into_response()
        }
        Answer::Malformed => ([("content-type", "application/json")], "{\"data\": {\"totalRevenue\": ").into_response(),
    }
}
