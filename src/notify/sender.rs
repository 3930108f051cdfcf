//! The outbox sender: claims due messages in batches with `FOR UPDATE SKIP LOCKED` and a lease,
//! sends them over SMTP (implicit TLS, STARTTLS when offered, or plain for a local relay), records
//! them sent, retries failures `EMAIL_MAX_ATTEMPTS` times `EMAIL_RETRY_INTERVAL_SECS` apart, and
//! raises an admin alert for a message that finally fails. Without SMTP_HOST (outside production)
//! messages are written to the log instead.
//!
//! Throughput (issue 15). A claim takes up to [`BATCH`] messages; up to [`LANES`] of them are in
//! flight at once, each lane on its own SMTP connection kept open for the whole batch (opened
//! with TCP_NODELAY: lettre writes a message's content and its final "." separately, and with
//! Nagle's algorithm the "." waited for the server's delayed ACK, about 40 ms a message). The
//! batch's lease is renewed in one UPDATE, and only when what is left of it could not cover one
//! more send; the sends the server accepted are recorded by one writer, everything accepted
//! since its last write in one UPDATE. A full batch is followed at once by the next claim; a
//! short one means nothing more is due, and the sender sleeps the poll interval.
//!
//! What holds (SPEC §13):
//! - A send starts only while its claim has [`send_timeout`] + [`record_margin`] of lease left,
//!   counted from before the database set the lease (so the count never overstates it), and the
//!   whole SMTP conversation, connect included, is cut at `send_timeout`: a message is never sent
//!   after its lease ran out and another instance took it. A conversation cut short takes its
//!   connection with it; a connection is reused only after a conversation that ended cleanly.
//! - Every write after the claim names the claim token, so a stale instance changes nothing.
//! - A send the server accepted is recorded within about one database round trip, with the
//!   margin still on its lease; if that write fails it is kept in `unrecorded` and written before
//!   anything new is claimed.
//! - Messages a batch never started (shutdown, a database error) are given back at once, their
//!   attempt not counted.
//!
//! A message that names a payout in `attach_receipt_of` (the "completed" email) carries the
//! payout's receipt as a PDF, rendered at send time by the [`Receipts`] the sender is given —
//! the download's renderer (`app` passes it in, so `notify` stays below `workflow`), and the
//! receipt's hash is recorded in the payout's trail like any issued receipt. A receipt that cannot
//! be rendered yet (the database is away) fails the attempt, to be retried like an SMTP error; a
//! payout that is no longer completed (a return was recorded before the message went out)
//! withdraws the message: it would tell the member something no longer true.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::Message;
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::config::Settings;
use crate::db::{self, outbox::ClaimedEmail};

/// Renders the receipt of a payout for the "completed" email: `Ok(None)` when the payout is no
/// longer completed (the message is then withdrawn, not sent), `Err` to retry the message later.
pub type Receipts = std::sync::Arc<dyn Fn(String) -> futures_util::future::BoxFuture<'static, Result<Option<Vec<u8>>, String>> + Send + Sync>;

/// The attached receipt's file name, as the download names it.
fn receipt_filename(payout_id: &str) -> String {
    format!("receipt-{payout_id}.pdf")
}

/// Why a message did not go out: try again later, or never (its news is no longer true).
enum Undeliverable {
    Retry(String),
    Withdraw(String),
}

/// How many due messages one claim takes. The lease is checked before every send, so a batch
/// that takes longer than a lease (a slow server) renews it rather than sending on a lapsed one.
pub const BATCH: i64 = 100;

/// How many messages of a batch are in flight at once, each on its own SMTP connection.
pub const LANES: usize = 4;

/// A whole SMTP conversation must end well inside the lease, so a message is never sent after
/// its lease ran out and another instance took it (SPEC §13).
fn send_timeout(lease: Duration) -> Duration {
    (lease / 2).min(Duration::from_secs(15))
}

/// The lease a send must leave when it ends, for its "sent" to be written while the claim is
/// still this instance's.
fn record_margin(lease: Duration) -> Duration {
    send_timeout(lease) / 2
}

pub enum Transport {
    Smtp(Smtp),
    /// Development without SMTP_HOST: the message goes to the log.
    Log,
}

/// Where and how the sender opens SMTP connections.
pub struct Smtp {
    host: String,
    port: u16,
    tls: Tls,
    hello: ClientId,
    credentials: Option<Credentials>,
}

pub fn transport(settings: &Settings) -> anyhow::Result<Transport> {
    let Some(host) = settings.email.smtp_host.as_deref() else { return Ok(Transport::Log) };
    let params = TlsParameters::new(host.to_string())?;
    let tls = if settings.email.smtp_secure {
        Tls::Wrapper(params)
    } else if settings.email.smtp_tls {
        Tls::Opportunistic(params)
    } else {
        Tls::None
    };
    let credentials = match (&settings.email.smtp_user, &settings.email.smtp_pass) {
        (Some(user), Some(pass)) => Some(Credentials::new(user.clone(), pass.expose_secret().to_string())),
        _ => None,
    };
    Ok(Transport::Smtp(Smtp { host: host.to_string(), port: settings.email.smtp_port, tls, hello: ClientId::default(), credentials }))
}

/// How a message failed on a connection: before any of its content went out (the server cannot
/// have taken it), or later.
enum Failure {
    BeforeContent(String),
    Other(String),
}

impl Failure {
    fn into_message(self) -> String {
        match self {
            Failure::BeforeContent(e) | Failure::Other(e) => e,
        }
    }
}

impl Smtp {
    /// A new connection: TCP with TCP_NODELAY, implicit TLS or STARTTLS when offered (as
    /// configured), EHLO, and AUTH when credentials are set.
    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let fail = |e: lettre::transport::smtp::Error| format!("SMTP connection: {e}");
        let mut conn = match &self.tls {
            // Implicit TLS goes through lettre's own connect, which has no way to set TCP_NODELAY.
            Tls::Wrapper(params) => AsyncSmtpConnection::connect_tokio1((self.host.as_str(), self.port), None, &self.hello, Some(params.clone()), None)
                .await
                .map_err(fail)?,
            _ => {
                let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                    .await
                    .map_err(|e| format!("cannot connect to the SMTP server {}:{}: {e}", self.host, self.port))?;
                tcp.set_nodelay(true).map_err(|e| format!("SMTP connection: {e}"))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await.map_err(fail)?
            }
        };
        if let Tls::Opportunistic(params) = &self.tls {
            if conn.can_starttls() {
                conn.starttls(params.clone(), &self.hello).await.map_err(fail)?;
            }
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await.map_err(fail)?;
        }
        Ok(conn)
    }
}

/// One message on an open connection: MAIL, RCPT, DATA, then the content (as lettre's own
/// `send` does, but telling whether the content went out).
async fn transmit(conn: &mut AsyncSmtpConnection, envelope: &Envelope, email: &[u8]) -> Result<(), Failure> {
    let early = |e: lettre::transport::smtp::Error| Failure::BeforeContent(e.to_string());
    let mut params = Vec::new();
    if envelope.from().into_iter().chain(envelope.to()).any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii()) {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::Other("an address is not ASCII and the SMTP server does not support SMTPUTF8".into()));
        }
        params.push(MailParameter::SmtpUtfEight);
    }
    if !email.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Failure::Other("the message is not ASCII and the SMTP server does not support 8BITMIME".into()));
        }
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), params)).await.map_err(early)?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![])).await.map_err(early)?;
    }
    conn.command(Data).await.map_err(early)?;
    conn.message(email).await.map_err(|e| Failure::Other(e.to_string()))?;
    Ok(())
}

/// A claimed batch as its lanes share it.
struct Batch {
    state: tokio::sync::Mutex<BatchState>,
    /// Every claim of the batch, as (id, claim token): what a renewal extends.
    held: Vec<(Uuid, Uuid)>,
    /// Set when a database write failed: no lane starts another send.
    stop: AtomicBool,
}

struct BatchState {
    /// Not started yet.
    waiting: VecDeque<ClaimedEmail>,
    /// A lower bound of the claims' `claimed_until`: when the statement that set it was sent,
    /// plus the lease.
    lease_until: Instant,
    /// Claims a renewal found lapsed: another instance may hold them now.
    lapsed: HashSet<Uuid>,
}

pub struct Sender {
    pub db: PgPool,
    /// Renders attached receipts; without it a message asking for one fails (and is retried).
    pub receipts: Option<Receipts>,
    pub transport: Transport,
    pub instance: String,
    pub from: Mailbox,
    pub max_attempts: i32,
    pub retry_interval: Duration,
    pub lease: Duration,
    /// Messages the SMTP server accepted whose "sent" could not be written (the database was
    /// away): written before anything new is claimed (SPEC §13).
    unrecorded: std::sync::Mutex<Vec<(Uuid, Uuid)>>,
}

impl Sender {
    pub fn new(settings: &Settings, db: PgPool, instance: String, receipts: Option<Receipts>) -> anyhow::Result<Self> {
        let from = Mailbox::new(Some(settings.email.from_name.clone()), settings.email.from.parse()?);
        Ok(Sender {
            db,
            receipts,
            transport: transport(settings)?,
            instance,
            from,
            max_attempts: settings.email.max_attempts as i32,
            retry_interval: settings.email.retry_interval,
            lease: settings.email.lease,
            unrecorded: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Claims and sends one batch; returns how many messages were claimed. Sends already
    /// accepted but not yet recorded are recorded first; until they are, nothing new is claimed.
    /// Once `shutdown` turns true no further message of the batch is started.
    pub async fn run_once(&self, shutdown: &watch::Receiver<bool>) -> Result<usize, sqlx::Error> {
        self.record_unrecorded().await?;
        let asked = Instant::now();
        let claimed = db::outbox::claim_batch(&self.db, &self.instance, self.lease.as_secs_f64(), BATCH).await?;
        let n = claimed.len();
        if n == 0 {
            return Ok(0);
        }
        let batch = Batch {
            held: claimed.iter().map(|m| (m.id, m.claim_token)).collect(),
            state: tokio::sync::Mutex::new(BatchState { waiting: claimed.into(), lease_until: asked + self.lease, lapsed: HashSet::new() }),
            stop: AtomicBool::new(false),
        };
        let (accepted, recorder_inbox) = mpsc::unbounded_channel();
        let lanes = futures_util::future::join_all((0..LANES.min(n)).map(|_| self.lane(&batch, accepted.clone(), shutdown)));
        drop(accepted);
        let (lanes, recorded) = tokio::join!(lanes, self.recorder(recorder_inbox, &batch));
        // What no lane started goes back at once, its attempt not counted.
        let unstarted: Vec<(Uuid, Uuid)> = batch.state.into_inner().waiting.iter().map(|m| (m.id, m.claim_token)).collect();
        if !unstarted.is_empty() {
            if let Err(e) = db::outbox::release(&self.db, &unstarted).await {
                tracing::warn!(error.message = %e, emails = unstarted.len(), "could not give back unsent claims; they return when their lease runs out");
            }
        }
        recorded?;
        lanes.into_iter().collect::<Result<(), _>>()?;
        Ok(n)
    }

    /// Sends the batch's messages one after another on one SMTP connection, until none is left,
    /// the batch is stopped or the service shuts down. Accepted sends go to the recorder.
    async fn lane(&self, batch: &Batch, accepted: mpsc::UnboundedSender<(Uuid, Uuid)>, shutdown: &watch::Receiver<bool>) -> Result<(), sqlx::Error> {
        let mut conn: Option<AsyncSmtpConnection> = None;
        let result = async {
            loop {
                if batch.stop.load(Ordering::SeqCst) || *shutdown.borrow() {
                    return Ok(());
                }
                let Some(m) = batch.state.lock().await.waiting.pop_front() else { return Ok(()) };
                let result = match self.prepare(&m).await {
                    Ok(message) => {
                        if !self.hold(batch, &m).await? {
                            tracing::warn!(email.template = %m.template, "email lease expired before sending; left to the next claim");
                            continue;
                        }
                        self.send(&mut conn, &m, message).await.map_err(Undeliverable::Retry)
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => {
                        let _ = accepted.send((m.id, m.claim_token));
                    }
                    Err(Undeliverable::Withdraw(reason)) => {
                        tracing::warn!(email.template = %m.template, reason = %reason, "email withdrawn, not sent: its news is no longer true");
                        db::outbox::mark_withdrawn(&self.db, m.id, m.claim_token, &reason).await?;
                    }
                    Err(Undeliverable::Retry(error)) => self.record_failure(&m, error).await?,
                }
            }
        }
        .await;
        if result.is_err() {
            batch.stop.store(true, Ordering::SeqCst);
        }
        if let Some(mut conn) = conn {
            // A courtesy: the server has every message already; a slow goodbye is cut short.
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.quit()).await;
        }
        result
    }

    /// True when `m`'s claim has lease enough for one more send. When the batch's lease is too
    /// short for that, renews every claim of the batch in one UPDATE first; a claim the renewal
    /// found lapsed (another instance may hold it) is never sent.
    async fn hold(&self, batch: &Batch, m: &ClaimedEmail) -> Result<bool, sqlx::Error> {
        let need = send_timeout(self.lease) + record_margin(self.lease);
        let mut state = batch.state.lock().await;
        if Instant::now() + need > state.lease_until {
            let asked = Instant::now();
            let renewed: HashSet<Uuid> = db::outbox::renew(&self.db, &batch.held, self.lease.as_secs_f64()).await?.into_iter().collect();
            state.lease_until = asked + self.lease;
            let lapsed: Vec<Uuid> = batch.held.iter().map(|(id, _)| *id).filter(|id| !renewed.contains(id)).collect();
            state.lapsed.extend(lapsed);
        }
        Ok(!state.lapsed.contains(&m.id) && Instant::now() + need <= state.lease_until)
    }

    /// Writes accepted sends as they come, each write taking all that arrived since the last.
    /// When a write fails, it and everything after it go to `unrecorded` and the batch stops.
    async fn recorder(&self, mut inbox: mpsc::UnboundedReceiver<(Uuid, Uuid)>, batch: &Batch) -> Result<(), sqlx::Error> {
        let mut failed = None;
        let mut arrived = Vec::new();
        while inbox.recv_many(&mut arrived, 1000).await > 0 {
            let sent = std::mem::take(&mut arrived);
            if failed.is_some() {
                self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).extend(sent);
                continue;
            }
            match db::outbox::mark_sent(&self.db, &sent).await {
                Ok(recorded) if recorded.len() < sent.len() => {
                    tracing::warn!(emails = sent.len() - recorded.len(), "email sent, but another claim holds it now");
                }
                Ok(_) => {}
                Err(e) => {
                    // Remembered and written before anything new is claimed: an outage between
                    // the send and this write must not send the message twice.
                    self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).extend(sent);
                    batch.stop.store(true, Ordering::SeqCst);
                    failed = Some(e);
                }
            }
        }
        failed.map_or(Ok(()), Err)
    }

    async fn record_unrecorded(&self) -> Result<(), sqlx::Error> {
        let pending: Vec<(Uuid, Uuid)> = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if pending.is_empty() {
            return Ok(());
        }
        db::outbox::mark_sent(&self.db, &pending).await?;
        self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).retain(|sent| !pending.contains(sent));
        Ok(())
    }

    /// Everything a send needs before the SMTP conversation: the completed email's receipt,
    /// rendered now (none means the payout is no longer completed, and the message must not say
    /// it is), and the message itself (`None` for the log).
    async fn prepare(&self, m: &ClaimedEmail) -> Result<Option<Message>, Undeliverable> {
        let receipt = match &m.attach_receipt_of {
            Some(payout_id) => match self.receipt(payout_id).await.map_err(Undeliverable::Retry)? {
                Some(pdf) => Some(pdf),
                None => return Err(Undeliverable::Withdraw(format!("payout {payout_id} is no longer completed"))),
            },
            None => None,
        };
        match &self.transport {
            Transport::Log => Ok(None),
            Transport::Smtp(_) => self.build(m, receipt).map(Some).map_err(Undeliverable::Retry),
        }
    }

    fn build(&self, m: &ClaimedEmail, receipt: Option<Vec<u8>>) -> Result<Message, String> {
        let to: Mailbox = m.recipient.parse().map_err(|e| format!("bad recipient: {e}"))?;
        // A stable Message-ID lets receiving systems drop a duplicate after a crash.
        let digest: String = Sha256::digest(m.dedupe_key.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect();
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(m.body_text.clone());
        let body = match &m.body_html {
            Some(html) => MultiPart::alternative().singlepart(text).singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
            None => MultiPart::mixed().singlepart(text),
        };
        // With an attachment: mixed(alternative(text, html), receipt.pdf).
        let body = match (&m.attach_receipt_of, receipt) {
            (Some(payout_id), Some(pdf)) => {
                let pdf_type = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
                MultiPart::mixed().multipart(body).singlepart(Attachment::new(receipt_filename(payout_id)).body(pdf, pdf_type))
            }
            _ => body,
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(format!("<{digest}@payout-service>")))
            .multipart(body)
            .map_err(|e| format!("cannot build the message: {e}"))
    }

    /// Sends on the lane's connection (opened when there is none). The whole conversation is cut
    /// at `send_timeout`: dropping it closes the connection before the message is complete, so a
    /// stalled server cannot deliver it after the lease ran out. The connection is kept for the
    /// next message only when the conversation ended cleanly.
    async fn send(&self, conn: &mut Option<AsyncSmtpConnection>, m: &ClaimedEmail, message: Option<Message>) -> Result<(), String> {
        let (smtp, message) = match (&self.transport, message) {
            (Transport::Smtp(smtp), Some(message)) => (smtp, message),
            _ => {
                let attachment = m.attach_receipt_of.as_ref().map(|id| receipt_filename(id)).unwrap_or_default();
                tracing::info!(email.template = %m.template, email.to = %m.recipient, email.subject = %m.subject, email.attachment = %attachment, body = %m.body_text, "email (no SMTP_HOST: logged, not sent)");
                return Ok(());
            }
        };
        let envelope = message.envelope().clone();
        let email = message.formatted();
        let kept = conn.take();
        let conversation = async {
            let reused = kept.is_some();
            let mut open = match kept {
                Some(open) => open,
                None => smtp.connect().await?,
            };
            match transmit(&mut open, &envelope, &email).await {
                Ok(()) => Ok(open),
                // A kept connection the server closed or refused before taking any of this
                // message (idle too long, a limit of messages per connection): once more on a
                // fresh one.
                Err(Failure::BeforeContent(_)) if reused => {
                    drop(open);
                    let mut fresh = smtp.connect().await?;
                    transmit(&mut fresh, &envelope, &email).await.map_err(Failure::into_message)?;
                    Ok(fresh)
                }
                Err(failure) => Err(failure.into_message()),
            }
        };
        let limit = send_timeout(self.lease);
        match tokio::time::timeout(limit, conversation).await {
            Ok(Ok(open)) => {
                *conn = Some(open);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("the SMTP server did not finish within {} s", limit.as_secs_f64())),
        }
    }

    /// The payout's receipt for the "completed" email, rendered now.
    async fn receipt(&self, payout_id: &str) -> Result<Option<Vec<u8>>, String> {
        match &self.receipts {
            Some(render) => render(payout_id.to_string()).await,
            None => Err("this sender cannot render receipts".into()),
        }
    }

    /// A failed attempt: released for a retry, or, at the last attempt, failed with an admin alert.
    async fn record_failure(&self, m: &ClaimedEmail, error: String) -> Result<(), sqlx::Error> {
        if m.attempts >= self.max_attempts {
            tracing::error!(email.template = %m.template, email.attempts = m.attempts, error.message = %error, "email finally failed");
            let mut tx = self.db.begin().await?;
            if !db::outbox::mark_failed(&mut tx, m.id, m.claim_token, &error).await? {
                return Ok(()); // another claim holds it now: not ours to fail
            }
            db::alerts::insert(
                &mut tx,
                db::alerts::NewAlert {
                    title: "An email could not be delivered".into(),
                    message: format!("'{}' to {} failed after {} attempts: {error}", m.subject, m.recipient, m.attempts),
                    severity: "warning",
                    category: "system",
                    related_entity: Some(json!({ "type": "payout_email_outbox", "id": m.id })),
                    trigger_info: json!({ "source": "outbox" }),
                    metadata: json!({ "kind": "email_delivery_failed", "template": m.template, "dedupeKey": m.dedupe_key, "attempts": m.attempts }),
                },
            )
            .await?;
            tx.commit().await?;
        } else {
            tracing::warn!(email.template = %m.template, email.attempts = m.attempts, error.message = %error, "email failed; will retry");
            db::outbox::schedule_retry(&self.db, m.id, m.claim_token, &error, self.retry_interval.as_secs_f64()).await?;
        }
        Ok(())
    }

    /// Polls until shutdown; the workflow never waits for this. After a full batch the next
    /// claim follows at once (more are likely due); otherwise the sender sleeps `poll`.
    pub async fn run(self, poll: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let claimed = match self.run_once(&shutdown).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error.message = %e, "outbox poll failed");
                    0
                }
            };
            if claimed as i64 >= BATCH {
                continue;
            }
            tokio::select! {
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use crate::config::{Purpose, Settings};

    #[tokio::test]
    async fn the_default_sender_address_parses_and_no_smtp_host_means_the_log() {
        let vars: HashMap<String, String> = HashMap::new();
        let settings = Settings::from_map(&vars, Purpose::Dev).unwrap();
        let db = sqlx::PgPool::connect_lazy("postgres://unused@127.0.0.1:1/x").unwrap();
        let sender = super::Sender::new(&settings, db, "test".into(), None).unwrap();
        assert_eq!(sender.from.to_string(), "Home Solutions <payouts@localhost>");
        assert!(matches!(sender.transport, super::Transport::Log));
    }

    /// For every lease the settings allow (2 s and up), a send plus the margin to record it
    /// fits in three quarters of a fresh lease: a claim or renewal taking less than the last
    /// quarter leaves room for a send, so the sender never renews in a loop.
    #[test]
    fn a_send_and_its_record_fit_well_inside_any_allowed_lease() {
        for secs in [2u64, 3, 5, 10, 30, 60, 120, 600, 3600] {
            let lease = Duration::from_secs(secs);
            let need = super::send_timeout(lease) + super::record_margin(lease);
            assert!(need * 4 <= lease * 3, "lease {secs} s: a send needs {need:?}");
            assert!(super::record_margin(lease) >= Duration::from_millis(500), "lease {secs} s leaves time to record");
        }
    }
}
