//! Builders for the main app's data: members with payments, subscriptions, KYC, addresses, W-9s.

use chrono::{DateTime, Duration, Months, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone)]
pub struct MemberSpec {
    pub email: String,
    /// First successful payment, which orders the queue.
    pub tenure_start: DateTime<Utc>,
    pub monthly_payments: u32,
    pub monthly_amount: Decimal,
    pub subscription: &'static str,
    pub kyc: Option<&'static str>,
    pub kyc_expires_at: Option<DateTime<Utc>>,
    pub w9: Option<&'static str>,
    pub primary_address: bool,
}

impl MemberSpec {
    /// A selectable member whose tenure began `months_ago` months ago, paying monthly since.
    pub fn new(email: &str, months_ago: u32) -> Self {
        MemberSpec {
            email: email.to_string(),
            tenure_start: Utc::now() - Months::new(months_ago) - Duration::minutes(months_ago as i64),
            monthly_payments: months_ago.max(1),
            monthly_amount: Decimal::from(500),
            subscription: "active",
            kyc: Some("verified"),
            kyc_expires_at: None,
            w9: Some("generated"),
            primary_address: true,
        }
    }

    pub fn paying(mut self, amount: i64) -> Self {
        self.monthly_amount = Decimal::from(amount);
        self
    }
    pub fn kyc(mut self, status: Option<&'static str>) -> Self {
        self.kyc = status;
        self
    }
    pub fn subscription(mut self, status: &'static str) -> Self {
        self.subscription = status;
        self
    }
    pub fn w9(mut self, status: Option<&'static str>) -> Self {
        self.w9 = status;
        self
    }
    pub fn no_address(mut self) -> Self {
        self.primary_address = false;
        self
    }

    pub async fn insert(&self, db: &PgPool) -> Member {
        let user_id: Uuid = sqlx::query_scalar(
            "INSERT INTO users (id, email, name, status) VALUES (gen_random_uuid(), $1, $1, 'Active') RETURNING id",
        )
        .bind(&self.email)
        .fetch_one(db)
        .await
        .unwrap();
        let (first, last) = self.email.split_once('@').unwrap();
        sqlx::query("INSERT INTO user_profiles (id, user_id, first_name, last_name) VALUES (gen_random_uuid(), $1, $2, $3)")
            .bind(user_id)
            .bind(first)
            .bind(last)
            .execute(db)
            .await
            .unwrap();
        let subscription_id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO user_subscriptions (id, user_id, provider_subscription_id, provider_customer_id, status, current_period_start, current_period_end)
             VALUES ($1, $2, $3, $3, $4::enum_user_subscriptions_status, now(), now() + interval '1 month')",
        )
        .bind(subscription_id)
        .bind(user_id)
        .bind(format!("sub_{}", subscription_id.simple()))
        .bind(self.subscription)
        .execute(db)
        .await
        .unwrap();
        let membership_id: Uuid = sqlx::query_scalar(
            "INSERT INTO user_memberships (id, user_id, subscription_id) VALUES (gen_random_uuid(), $1, $2) RETURNING id",
        )
        .bind(user_id)
        .bind(subscription_id)
        .fetch_one(db)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO user_payments (id, user_id, subscription_id, amount, payment_type, payment_date, status)
             SELECT gen_random_uuid(), $1, $2, $3, CASE WHEN g = 0 THEN 'initial' ELSE 'recurring' END,
                    $4 + make_interval(months => g), 'succeeded'
             FROM generate_series(0, $5 - 1) g",
        )
        .bind(user_id)
        .bind(subscription_id)
        .bind(self.monthly_amount)
        .bind(self.tenure_start)
        .bind(self.monthly_payments as i32)
        .execute(db)
        .await
        .unwrap();
        if let Some(kyc) = self.kyc {
            sqlx::query("INSERT INTO kyc_verification (id, user_id, status, expires_at, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, now(), now())")
                .bind(user_id)
                .bind(kyc)
                .bind(self.kyc_expires_at)
                .execute(db)
                .await
                .unwrap();
        }
        if let Some(status) = self.w9 {
            sqlx::query("INSERT INTO tax_forms (id, user_id, form_type, tax_year, status) VALUES (gen_random_uuid(), $1, 'W-9', 2026, $2)")
                .bind(user_id)
                .bind(status)
                .execute(db)
                .await
                .unwrap();
        }
        if self.primary_address {
            sqlx::query("INSERT INTO user_addresses (id, user_id, street_address, city, state, postal_code, is_primary) VALUES (gen_random_uuid(), $1, '1 Main St', 'Austin', 'TX', '78701', true)")
                .bind(user_id)
                .execute(db)
                .await
                .unwrap();
        }
        Member { user_id, membership_id }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub user_id: Uuid,
    pub membership_id: Uuid,
}

/// A payout row in `status` for `member` (as the lifecycle will create them).
pub async fn payout(db: &PgPool, member: Member, status: &str) -> String {
    let payout_id = format!("PO-TEST-{}", &Uuid::new_v4().simple().to_string()[..10]);
    sqlx::query(
        "INSERT INTO payout_management (payout_id, user_id, membership_id, queue_position, status, created_by)
         VALUES ($1, $2, $3, 1, $4, 1)",
    )
    .bind(&payout_id)
    .bind(member.user_id)
    .bind(member.membership_id)
    .bind(status)
    .execute(db)
    .await
    .unwrap();
    payout_id
}

/// Makes the queue view lag like production's materialized view can: members with a completed
/// payout stay in it.
pub async fn lagging_queue_view(db: &PgPool) {
    let fixture = payout_service::dev::MAIN_APP_FIXTURE;
    let start = fixture.find("CREATE VIEW active_member_queue_view").unwrap();
    let view = fixture[start..].replace("CREATE VIEW", "CREATE OR REPLACE VIEW").replace("WHERE NOT has_received_payout;", ";");
    sqlx::raw_sql(&view).execute(db).await.unwrap();
}
