//! Coalescing: statements that every request runs (the session lookup, health's ping) are
//! shared by the requests waiting for them at the same moment (issue 15).
//!
//! A caller queues its request and then either receives its answer or, when one of the
//! coalescer's few *slots* is free, takes every request waiting (its own among them, up to the
//! batch limit) and runs one statement for all of them. So an idle service runs one statement
//! per request, and a busy one runs fewer, larger statements instead of queueing for
//! connections: fewer round trips, fewer wake-ups of the database and of the service.
//!
//! The guarantee each caller keeps: its answer comes from a statement that **started after the
//! caller queued** (a batch is taken from the queue before its statement is sent), so nothing is
//! cached and a session revoked before the request fails it. A caller whose request was taken by
//! another that was then abandoned (its client went away mid-statement) queues again.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::{oneshot, Semaphore};

/// A request waiting for a statement, and where its answer goes.
pub struct Waiter<Req, Resp> {
    pub request: Req,
    reply: oneshot::Sender<Result<Resp, sqlx::Error>>,
}

impl<Req, Resp> Waiter<Req, Resp> {
    /// Gives this request its answer (a caller that has gone away is not an error).
    pub fn answer(self, result: Result<Resp, sqlx::Error>) {
        let _ = self.reply.send(result);
    }
}

pub struct Coalescer<Req, Resp> {
    waiting: Mutex<Vec<Waiter<Req, Resp>>>,
    slots: Semaphore,
    max_batch: usize,
}

impl<Req: Clone, Resp> Coalescer<Req, Resp> {
    /// At most `slots` statements at a time, each for at most `max_batch` requests.
    pub fn new(slots: usize, max_batch: usize) -> Self {
        Coalescer { waiting: Mutex::new(Vec::new()), slots: Semaphore::new(slots.max(1)), max_batch: max_batch.max(1) }
    }

    /// The answer to `request`, from a statement `run` sends for a batch holding it. `run` must
    /// answer every waiter of the batch it is given.
    pub async fn call<F, Fut>(&self, request: Req, run: F) -> Result<Resp, sqlx::Error>
    where
        F: Fn(Vec<Waiter<Req, Resp>>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut answer = self.queue(request.clone());
        loop {
            tokio::select! {
                biased;
                got = &mut answer => match got {
                    Ok(result) => return result,
                    Err(_) => answer = self.queue(request.clone()),
                },
                slot = self.slots.acquire() => {
                    let slot = slot.expect("the coalescer's semaphore is never closed");
                    let batch: Vec<_> = {
                        let mut waiting = self.lock();
                        let n = waiting.len().min(self.max_batch);
                        waiting.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        // Ours is in a statement already running: its answer comes on `answer`.
                        drop(slot);
                        match (&mut answer).await {
                            Ok(result) => return result,
                            Err(_) => answer = self.queue(request.clone()),
                        }
                    } else {
                        run(batch).await;
                    }
                }
            }
        }
    }

    fn queue(&self, request: Req) -> oneshot::Receiver<Result<Resp, sqlx::Error>> {
        let (reply, answer) = oneshot::channel();
        self.lock().push(Waiter { request, reply });
        answer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waiter<Req, Resp>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Every waiter of a failed statement gets the error: the first the error itself, the others a
/// copy that maps to the same answer (`AppError::from`), as sqlx errors cannot be cloned.
pub fn fail_all<Req, Resp>(batch: Vec<Waiter<Req, Resp>>, error: sqlx::Error) {
    let mut batch = batch.into_iter();
    let first = batch.next();
    for waiter in batch {
        waiter.answer(Err(copy(&error)));
    }
    if let Some(waiter) = first {
        waiter.answer(Err(error));
    }
}

fn copy(error: &sqlx::Error) -> sqlx::Error {
    match error {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::WorkerCrashed => sqlx::Error::WorkerCrashed,
        sqlx::Error::Io(io) => sqlx::Error::Io(std::io::Error::new(io.kind(), io.to_string())),
        // The database going away (08…, 57P…) reads as a broken connection: 503 either way.
        gone if super::database_gone(gone) => sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, gone.to_string())),
        other => sqlx::Error::Protocol(format!("a shared statement failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Many callers at once: each gets its own answer, fewer statements run than callers, and
    /// never more at a time than the slots.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_statements_and_each_gets_its_own_answer() {
        let coalescer = Arc::new(Coalescer::<u32, u32>::new(2, 64));
        let statements = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most_in_flight = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let (c, s, f, m) = (coalescer.clone(), statements.clone(), in_flight.clone(), most_in_flight.clone());
            tasks.push(tokio::spawn(async move {
                c.call(i, |batch| {
                    let (s, f, m) = (s.clone(), f.clone(), m.clone());
                    async move {
                        s.fetch_add(1, Ordering::SeqCst);
                        let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                        m.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                        f.fetch_sub(1, Ordering::SeqCst);
                        for w in batch {
                            let r = w.request * 10;
                            w.answer(Ok(r));
                        }
                    }
                })
                .await
                .map(|r| (i, r))
            }));
        }
        for t in tasks {
            let (i, r) = t.await.unwrap().unwrap();
            assert_eq!(r, i * 10, "caller {i} got someone else's answer");
        }
        let n = statements.load(Ordering::SeqCst);
        assert!(n < 200, "{n} statements for 200 concurrent callers: nothing was shared");
        assert!(most_in_flight.load(Ordering::SeqCst) <= 2, "more statements at once than slots");
    }

    /// A caller whose request was taken into a batch that was then abandoned queues again and
    /// is answered by a later statement; a failed statement fails every caller in it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_batch_is_retried_and_a_failed_one_fails_everyone_in_it() {
        let coalescer = Arc::new(Coalescer::<u32, u32>::new(1, 64));
        let answer_plus_100 = |batch: Vec<Waiter<u32, u32>>| async move {
            for w in batch {
                let r = w.request + 100;
                w.answer(Ok(r));
            }
        };
        // A statement holds the only slot for 200 ms...
        let c = coalescer.clone();
        let first = tokio::spawn(async move {
            c.call(0, |batch| async move {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                for w in batch {
                    w.answer(Ok(0));
                }
            })
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // ...while a leader queues (it will take the slot next and run a statement that hangs)...
        let c = coalescer.clone();
        let leader = tokio::spawn(async move {
            c.call(1, |batch| async move {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                drop(batch);
            })
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // ...and a follower, whose request the leader takes into its hanging statement.
        let c = coalescer.clone();
        let follower = tokio::spawn(async move { c.call(2, answer_plus_100).await });
        assert_eq!(first.await.unwrap().unwrap(), 0);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!follower.is_finished(), "the follower's request is in the leader's statement");
        leader.abort();
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), follower).await;
        assert_eq!(answer.expect("the follower queued again").unwrap().unwrap(), 102);

        let failed = coalescer
            .call(3, |batch| async move { fail_all(batch, sqlx::Error::PoolTimedOut) })
            .await;
        assert!(matches!(failed, Err(sqlx::Error::PoolTimedOut)));
        let io = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone"));
        assert!(matches!(copy(&io), sqlx::Error::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe));
    }
}
