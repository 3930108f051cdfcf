//! Email (SPEC §8): the SMTP relay and the outbox sender.

use std::time::Duration;

use secrecy::SecretString;

use super::{optional, Purpose, Reader};

#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// The SMTP relay. Unset: messages are written to the log instead of sent (required in
    /// production). `SMTP_HOST`, no default.
    pub smtp_host: Option<String>,
    /// `SMTP_PORT`, default `587`.
    pub smtp_port: u16,
    /// Login, together with `smtp_pass` or not at all. `SMTP_USER`, no default.
    pub smtp_user: Option<String>,
    /// `SMTP_PASS`, no default.
    pub smtp_pass: Option<SecretString>,
    /// Implicit TLS (port 465); otherwise STARTTLS when offered. `SMTP_SECURE`, default `false`.
    pub smtp_secure: bool,
    /// False means plain SMTP, for a local relay only. `SMTP_TLS`, default `true`.
    pub smtp_tls: bool,
    /// Sender address. `EMAIL_FROM`, default `payouts@localhost`.
    pub from: String,
    /// Sender display name. `EMAIL_FROM_NAME`, default `Home Solutions`.
    pub from_name: String,
    /// How long the sender waits after a claim that found less than a full batch (after a full
    /// one it claims again at once). In milliseconds: `OUTBOX_POLL_INTERVAL_MS`, default `1000`.
    pub outbox_poll_interval: Duration,
    /// Attempts before a message is given up (and an admin alert raised).
    /// `EMAIL_MAX_ATTEMPTS`, default `3`.
    pub max_attempts: u32,
    /// Wait between attempts. In seconds: `EMAIL_RETRY_INTERVAL_SECS`, default `300`.
    pub retry_interval: Duration,
    /// How long a claimed message is this instance's to send; a batch's claims are renewed
    /// together, before a message when less than a send's time (and a margin to record it) is
    /// left; the SMTP timeout is half of it (at most 15 s). In seconds: `EMAIL_LEASE_SECS`,
    /// default `120`.
    pub lease: Duration,
}

impl EmailSettings {
    /// SMTP_HOST being required in production is checked in `Settings::read` (it needs NODE_ENV).
    pub(super) fn read(r: &mut Reader, _purpose: Purpose) -> Self {
        let smtp_host = r.optional("SMTP_HOST");
        let smtp_port = r.parse::<u16>("SMTP_PORT", "587", "a TCP port");
        let smtp_user = r.optional("SMTP_USER");
        let smtp_pass = r.read("SMTP_PASS", "", |raw, p| {
            let pass = optional(raw).map(SecretString::from);
            if smtp_user.is_some() != pass.is_some() {
                p.push("SMTP_USER and SMTP_PASS go together: set both or neither".into());
            }
            pass
        });
        EmailSettings {
            smtp_host,
            smtp_port,
            smtp_user,
            smtp_pass,
            smtp_secure: r.boolean("SMTP_SECURE", "false"),
            smtp_tls: r.boolean("SMTP_TLS", "true"),
            from: r.read("EMAIL_FROM", "payouts@localhost", |raw, p| {
                if !raw.contains('@') || raw.contains(char::is_whitespace) {
                    p.push(format!("'{raw}' is not an email address"));
                }
                raw.to_string()
            }),
            from_name: r.text("EMAIL_FROM_NAME", "Home Solutions"),
            outbox_poll_interval: Duration::from_millis(r.positive("OUTBOX_POLL_INTERVAL_MS", "1000").into()),
            max_attempts: r.positive("EMAIL_MAX_ATTEMPTS", "3"),
            retry_interval: Duration::from_secs(r.parse::<u64>("EMAIL_RETRY_INTERVAL_SECS", "300", "seconds")),
            lease: Duration::from_secs(r.read("EMAIL_LEASE_SECS", "120", |raw, p| {
                let secs = super::parse::<u64>(raw, "seconds", p);
                if secs < 2 {
                    p.push("must be at least 2 seconds (the SMTP timeout is half of it, at most 15)".into());
                }
                secs
            })),
        }
    }
}
