//! The lane: a few pooled connections kept checked out for the statements every request runs
//! (the session lookup, health's ping), handed from one request to the next.
//!
//! sqlx pings a connection whenever it goes back to the pool (a `Sync` round trip, in a task of
//! its own) — on the hot path that is a second round trip per request, doubling the database's
//! work and the service's wake-ups (issue 15, bench/run). A connection in the lane skips that:
//! after a statement that finished, it goes back to the lane, not the pool. One whose statement
//! failed, or whose request was abandoned mid-statement (its state unknown), is dropped into the
//! pool the usual way, where sqlx checks it. One idle in the lane for [`super::IDLE_PING_AFTER`]
//! is pinged before use, as the pool does. The lane holds at most half the pool, so the rest of
//! the service always has the other half; [`Lane::release_all`] hands them back before the pool
//! closes.

use std::sync::Mutex;
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgPool, Postgres};

pub struct Lane {
    idle: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
    max: usize,
    /// Health's pings: concurrent calls share one (see `db::coalesce`).
    pub(crate) pings: super::coalesce::Coalescer<(), ()>,
}

impl Lane {
    /// A lane holding at most half of a pool of `pool_max` connections (at least one).
    pub fn new(pool_max: u32) -> Self {
        Lane {
            idle: Mutex::new(Vec::new()),
            max: (pool_max as usize / 2).max(1),
            // One ping at a time: the calls arriving meanwhile share the next one.
            pings: super::coalesce::Coalescer::new(1, usize::MAX),
        }
    }

    /// A connection: the lane's most recently used one, else one from the pool.
    pub async fn take(&self, db: &PgPool) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        loop {
            let held = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match held {
                Some((conn, used)) if used.elapsed() < super::IDLE_PING_AFTER => return Ok(conn),
                Some((mut conn, _)) => {
                    if conn.ping().await.is_ok() {
                        return Ok(conn);
                    }
                    // Dead (the database restarted, or a firewall cut it): dropped, try the next.
                }
                None => return db.acquire().await,
            }
        }
    }

    /// A connection whose statement finished, for the next request (into the pool when the
    /// lane is full).
    pub fn give_back(&self, conn: PoolConnection<Postgres>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max {
            idle.push((conn, Instant::now()));
        }
    }

    /// After a statement on a lane connection failed: when the connection itself broke (the
    /// database restarted), the others are likely broken too — they go back to the pool, whose
    /// check on return closes the dead ones, so one failed request is the only one.
    pub fn after_error(&self, error: &sqlx::Error) {
        if matches!(error, sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed)
            || super::database_gone(error)
        {
            self.release_all();
        }
    }

    /// Hands every held connection back to the pool (before it closes, which waits for them).
    pub fn release_all(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
