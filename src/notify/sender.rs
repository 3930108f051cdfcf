//! The outbox sender: claims due messages with `FOR UPDATE SKIP LOCKED` and a lease, sends them
//! over SMTP (implicit TLS, STARTTLS when offered, or plain for a local relay), marks them sent,
//! retries failures `EMAIL_MAX_ATTEMPTS` times `EMAIL_RETRY_INTERVAL_SECS` apart, and raises an
//! admin alert for a message that finally fails. Without SMTP_HOST (outside production) messages
//! are written to the log instead.
//!
//! A message that names a payout in `attach_receipt_of` (the "completed" email) carries the
//! payout's receipt as a PDF, rendered at send time by the [`Receipts`] the sender is given —
//! the download's renderer (`app` passes it in, so `notify` stays below `workflow`), and the
//! receipt's hash is recorded in the payout's trail like any issued receipt. A receipt that cannot
//! be rendered yet (the database is away) fails the attempt, to be retried like an SMTP error; a
//! payout that is no longer completed (a return was recorded before the message went out)
//! withdraws the message: it would tell the member something no longer true.

use std::time::Duration;

use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::watch;

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

/// How many due messages one claim takes.
const BATCH: i64 = 20;

/// A whole SMTP conversation must end well inside the lease, so a message is never sent after
/// its lease ran out and another instance took it (SPEC §13).
fn send_timeout(lease: Duration) -> Duration {
    (lease / 2).min(Duration::from_secs(15))
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without SMTP_HOST: the message goes to the log.
    Log,
}

pub fn transport(settings: &Settings) -> anyhow::Result<Transport> {
    let Some(host) = settings.email.smtp_host.as_deref() else { return Ok(Transport::Log) };
    let tls = TlsParameters::new(host.to_string())?;
    let mut builder = if settings.email.smtp_secure {
        AsyncSmtpTransport::<Tokio1Executor>::relay(host)?.tls(Tls::Wrapper(tls))
    } else if settings.email.smtp_tls {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(Tls::Opportunistic(tls))
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(Tls::None)
    };
    // lettre bounds only the connect with this; `deliver` bounds the whole conversation.
    builder = builder.port(settings.email.smtp_port).timeout(Some(send_timeout(settings.email.lease)));
    if let (Some(user), Some(pass)) = (&settings.email.smtp_user, &settings.email.smtp_pass) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.expose_secret().to_string()));
    }
    Ok(Transport::Smtp(builder.build()))
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
    unrecorded: std::sync::Mutex<Vec<(uuid::Uuid, uuid::Uuid)>>,
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

    /// Claims and sends one batch; returns how many messages were attempted. Sends already
    /// accepted but not yet recorded are recorded first; until they are, nothing new is claimed.
    pub async fn run_once(&self) -> Result<usize, sqlx::Error> {
        self.record_unrecorded().await?;
        let lease = self.lease.as_secs_f64();
        let claimed = db::outbox::claim_batch(&self.db, &self.instance, lease, BATCH).await?;
        let n = claimed.len();
        for m in claimed {
            // The lease is renewed per message: one that ran out (a slow batch) is not sent.
            if !db::outbox::renew(&self.db, m.id, m.claim_token, lease).await? {
                tracing::warn!(email.template = %m.template, "email lease expired before sending; left to the next claim");
                continue;
            }
            let result = self.deliver(&m).await;
            if let Err(Undeliverable::Withdraw(reason)) = &result {
                tracing::warn!(email.template = %m.template, reason = %reason, "email withdrawn, not sent: its news is no longer true");
                db::outbox::mark_withdrawn(&self.db, m.id, m.claim_token, reason).await?;
                continue;
            }
            self.record(&m, result.map_err(|e| match e {
                Undeliverable::Retry(e) | Undeliverable::Withdraw(e) => e,
            }))
            .await?;
        }
        Ok(n)
    }

    async fn record_unrecorded(&self) -> Result<(), sqlx::Error> {
        let pending: Vec<(uuid::Uuid, uuid::Uuid)> = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (id, token) in pending {
            db::outbox::mark_sent(&self.db, id, token).await?;
            self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).retain(|(i, _)| *i != id);
        }
        Ok(())
    }

    async fn deliver(&self, m: &ClaimedEmail) -> Result<(), Undeliverable> {
        // The completed email's receipt, rendered now; none means the payout is no longer
        // completed, and the message must not say it is.
        let receipt = match &m.attach_receipt_of {
            Some(payout_id) => match self.receipt(payout_id).await.map_err(Undeliverable::Retry)? {
                Some(pdf) => Some(pdf),
                None => return Err(Undeliverable::Withdraw(format!("payout {payout_id} is no longer completed"))),
            },
            None => None,
        };
        self.send(m, receipt).await.map_err(Undeliverable::Retry)
    }

    async fn send(&self, m: &ClaimedEmail, receipt: Option<Vec<u8>>) -> Result<(), String> {
        match &self.transport {
            Transport::Log => {
                let attachment = m.attach_receipt_of.as_ref().map(|id| receipt_filename(id)).unwrap_or_default();
                tracing::info!(email.template = %m.template, email.to = %m.recipient, email.subject = %m.subject, email.attachment = %attachment, body = %m.body_text, "email (no SMTP_HOST: logged, not sent)");
                Ok(())
            }
            Transport::Smtp(smtp) => {
                let to: Mailbox = m.recipient.parse().map_err(|e| format!("bad recipient: {e}"))?;
                // A stable Message-ID lets receiving systems drop a duplicate after a crash.
                let digest: String = Sha256::digest(m.dedupe_key.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect();
                let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(m.body_text.clone());
                let body = match &m.body_html {
                    Some(html) => MultiPart::alternative()
                        .singlepart(text)
                        .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
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
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(to)
                    .subject(m.subject.clone())
                    .message_id(Some(format!("<{digest}@payout-service>")))
                    .multipart(body)
                    .map_err(|e| format!("cannot build the message: {e}"))?;
                // Dropping the conversation on timeout closes the connection before the message
                // is complete, so a stalled server cannot deliver it after the lease ran out.
                let limit = send_timeout(self.lease);
                match tokio::time::timeout(limit, smtp.send(message)).await {
                    Ok(sent) => sent.map(|_| ()).map_err(|e| e.to_string()),
                    Err(_) => Err(format!("the SMTP server did not finish within {} s", limit.as_secs_f64())),
                }
            }
        }
    }

    /// The payout's receipt for the "completed" email, rendered now.
    async fn receipt(&self, payout_id: &str) -> Result<Option<Vec<u8>>, String> {
        match &self.receipts {
            Some(render) => render(payout_id.to_string()).await,
            None => Err("this sender cannot render receipts".into()),
        }
    }

    async fn record(&self, m: &ClaimedEmail, result: Result<(), String>) -> Result<(), sqlx::Error> {
        match result {
            Ok(()) => match db::outbox::mark_sent(&self.db, m.id, m.claim_token).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(email.template = %m.template, "email sent, but another claim holds it now"),
                Err(e) => {
                    // Remembered and written before anything new is claimed: an outage between
                    // the send and this write must not send the message twice.
                    self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).push((m.id, m.claim_token));
                    return Err(e);
                }
            },
            Err(error) if m.attempts >= self.max_attempts => {
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
            }
            Err(error) => {
                tracing::warn!(email.template = %m.template, email.attempts = m.attempts, error.message = %error, "email failed; will retry");
                db::outbox::schedule_retry(&self.db, m.id, m.claim_token, &error, self.retry_interval.as_secs_f64()).await?;
            }
        }
        Ok(())
    }

    /// Polls until shutdown; the workflow never waits for this.
    pub async fn run(self, poll: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let sent = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error.message = %e, "outbox poll failed");
                    0
                }
            };
            if sent > 0 {
                continue; // more may be due
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
}
