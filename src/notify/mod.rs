//! Emails: rendered from templates kept as files (templates/email), written to the outbox in the
//! same transaction as the change that causes them; `sender` delivers them over SMTP.

pub mod sender;
pub mod templates;

use sqlx::{Postgres, Transaction};

/// A rendered message ready for the outbox.
#[derive(Debug, Clone)]
pub struct Email {
    /// Unique per event and recipient: the outbox never holds two messages with one key.
    pub dedupe_key: String,
    pub template: &'static str,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub payout_id: Option<String>,
    /// The payout whose receipt goes with the message as a PDF, rendered when it is sent.
    pub attach_receipt_of: Option<String>,
}

/// Adds the message to the outbox unless one with its dedupe key exists. Returns whether it was added.
pub async fn enqueue(tx: &mut Transaction<'_, Postgres>, email: &Email) -> Result<bool, sqlx::Error> {
    crate::db::outbox::insert(
        tx,
        crate::db::outbox::NewEmail {
            dedupe_key: &email.dedupe_key,
            template: email.template,
            recipient: &email.recipient,
            subject: &email.subject,
            body_text: &email.body_text,
            body_html: &email.body_html,
            payout_id: email.payout_id.as_deref(),
            attach_receipt_of: email.attach_receipt_of.as_deref(),
        },
    )
    .await
}
