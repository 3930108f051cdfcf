//! What the use cases and jobs need, and nothing of HTTP: the pool, the keyring, the
//! subscription client and the configured payout rules. Built once by `app`.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::PgPool;

use crate::clients::subscription::SubscriptionClient;
use crate::config::Settings;
use crate::crypto::Keyring;
use crate::domain::calculation::CalculationRules;
use crate::domain::change::ChangeRules;

/// The configured money, approval and schedule rules (SPEC §2, §4, §9).
#[derive(Debug, Clone)]
pub struct PayoutRules {
    pub payout_threshold: Decimal,
    pub reward_per_winner: Decimal,
    pub retention_fee: Decimal,
    pub backup_withholding_rate: Decimal,
    pub min_company_age_months: u32,
    pub business_launch_date: NaiveDate,
    pub membership_removal_months: u32,
    pub required_approvals: u32,
    pub allow_creator_approval: bool,
    pub company_name: String,
    /// When the daily eligibility check runs (shown as the next check).
    pub eligibility_check_cron: String,
}

impl PayoutRules {
    pub fn from_settings(s: &Settings) -> Self {
        PayoutRules {
            payout_threshold: s.payout_threshold,
            reward_per_winner: s.reward_per_winner,
            retention_fee: s.retention_fee,
            backup_withholding_rate: s.backup_withholding_rate,
            min_company_age_months: s.min_company_age_months,
            business_launch_date: s.business_launch_date,
            membership_removal_months: s.membership_removal_months,
            required_approvals: s.required_approvals,
            allow_creator_approval: s.allow_creator_approval,
            company_name: s.company_name.clone(),
            eligibility_check_cron: s.eligibility_check_cron.clone(),
        }
    }

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
}

impl Context {
    pub fn new(settings: &Settings, db: PgPool) -> Self {
        let keyring = Keyring::new(
            settings.encryption_key.as_ref().expect("ENCRYPTION_KEY is validated before the service starts"),
            &settings.encryption_key_previous,
        );
        Context {
            db,
            keyring: Arc::new(keyring),
            subscription: Arc::new(SubscriptionClient::new(&settings.subscription_service_url, settings.subscription_timeout)),
            rules: Arc::new(PayoutRules::from_settings(settings)),
        }
    }
}
