//! What the use cases and jobs need, and nothing of HTTP: the pool, the keyring, the
//! subscription client and the configured payout rules. Built once by `app`.

use std::sync::Arc;

use sqlx::PgPool;

use crate::clients::subscription::SubscriptionClient;
use crate::config::{BankSettings, PayoutRules, Settings};
use crate::crypto::Keyring;
use crate::domain::calculation::CalculationRules;
use crate::domain::change::ChangeRules;

/// How the configured rules feed the domain's calculation and change rules.
impl PayoutRules {
    /// The fee and withholding rate the calculation applies.
    pub fn calculation(&self) -> CalculationRules {
        CalculationRules { retention_fee: self.retention_fee, backup_withholding_rate: self.backup_withholding_rate }
    }

    /// The part of the rules the payout actions apply.
    pub fn change(&self) -> ChangeRules {
        ChangeRules {
            required_approvals: self.required_approvals,
            allow_creator_approval: self.allow_creator_approval,
            calculation: self.calculation(),
            company_name: self.company_name.clone(),
        }
    }
}

/// Shared by every use case and job; cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub db: PgPool,
    pub keyring: Arc<Keyring>,
    pub subscription: Arc<SubscriptionClient>,
    pub rules: Arc<PayoutRules>,
    /// When the daily eligibility check runs (shown as the next check).
    pub eligibility_check_cron: Arc<str>,
    /// The bank profile and payer the payment and tax files use (SPEC §14).
    pub bank: Arc<BankSettings>,
    /// Where people reach the service (`PUBLIC_BASE_URL`, no trailing slash): emails link from it.
    pub public_base_url: Arc<str>,
}

impl Context {
    /// The context the settings describe, on `db`.
    pub fn new(settings: &Settings, db: PgPool) -> Self {
        let keyring = Keyring::new(
            settings.encryption.key.as_ref().expect("ENCRYPTION_KEY is validated before the service starts"),
            &settings.encryption.previous_keys,
        );
        Context {
            db,
            keyring: Arc::new(keyring),
            subscription: Arc::new(SubscriptionClient::new(&settings.subscription.url, settings.subscription.timeout)),
            rules: Arc::new(settings.payout.clone()),
            eligibility_check_cron: settings.jobs.eligibility_check_cron.as_str().into(),
            bank: Arc::new(settings.bank.clone()),
            public_base_url: settings.http.public_base_url.as_str().into(),
        }
    }
}
