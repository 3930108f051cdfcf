//! Dev mode's subscription service: a real HTTP server on 127.0.0.1 answering the two calls the
//! payout service makes (SPEC §6/§9), from the demo data — so dev mode runs with the same code
//! path as production and without warnings. Started unless SUBSCRIPTION_SERVICE_URL is set.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use sqlx::PgPool;

/// Starts the stand-in; returns its base URL.
pub async fn start(db: PgPool) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/api/revenue/total", get(revenue))
        .route("/api/subscriptions/{userId}/cancel", post(cancel))
        .with_state(db);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error.message = %e, "dev subscription stand-in stopped");
        }
    });
    Ok(url)
}

/// `{"data":{"totalRevenue": …}}`: the succeeded demo payments, in dollars.
async fn revenue(State(db): State<PgPool>) -> Result<Json<Value>, axum::http::StatusCode> {
    let total: rust_decimal::Decimal = sqlx::query_scalar("SELECT coalesce(sum(amount), 0) FROM user_payments WHERE status = 'succeeded'")
        .fetch_one(&db)
        .await
        .map_err(|_| axum::http::StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(Json(json!({ "data": { "totalRevenue": total.to_string() } })))
}

/// Cancels the member's demo subscription, as the real service would.
async fn cancel(State(db): State<PgPool>, Path(user_id): Path<uuid::Uuid>) -> axum::http::StatusCode {
    let done = sqlx::query("UPDATE user_subscriptions SET status = 'canceled', updated_at = now() WHERE user_id = $1").bind(user_id).execute(&db).await;
    match done {
        Ok(r) if r.rows_affected() > 0 => axum::http::StatusCode::OK,
        Ok(_) => axum::http::StatusCode::NOT_FOUND,
        Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
    }
}
