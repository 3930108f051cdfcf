//! Believable demo data for `payout-service dev`: four admins, about forty members with eighteen
//! months of payments, mixed KYC, addresses, some W-9s and a few payout rows in the old shape.
//! Deterministic (index-based) so every newcomer sees the same queue.

use chrono::{DateTime, Duration, Months, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub struct DemoAdmin {
    pub email: &'static str,
    pub name: &'static str,
    pub role: &'static str,
}

pub const ADMINS: [DemoAdmin; 4] = [
    DemoAdmin { email: "ava.sterling@tenure.dev", name: "Ava Sterling", role: "Super Admin" },
    DemoAdmin { email: "noah.reyes@tenure.dev", name: "Noah Reyes", role: "Super Admin" },
    DemoAdmin { email: "mia.chen@tenure.dev", name: "Mia Chen", role: "Manager" },
    DemoAdmin { email: "liam.patel@tenure.dev", name: "Liam Patel", role: "Support" },
];

const FIRST: [&str; 20] = [
    "Olivia", "James", "Emma", "Lucas", "Sophia", "Ethan", "Isabella", "Mason", "Amelia", "Logan", "Harper", "Elijah",
    "Evelyn", "Aiden", "Abigail", "Carter", "Emily", "Jackson", "Ella", "Owen",
];
const LAST: [&str; 20] = [
    "Garcia", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Martinez", "Lopez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris",
];
const CITIES: [(&str, &str, &str); 6] = [
    ("Austin", "TX", "78701"),
    ("Denver", "CO", "80202"),
    ("Columbus", "OH", "43215"),
    ("Raleigh", "NC", "27601"),
    ("Portland", "OR", "97204"),
    ("Madison", "WI", "53703"),
];

pub const MEMBER_COUNT: usize = 40;
const JOINING_FEE: i64 = 1_500;
const MONTHLY: i64 = 349;

pub struct DemoMember {
    pub email: String,
    pub name: String,
}

pub fn members() -> Vec<DemoMember> {
    (0..MEMBER_COUNT)
        .map(|i| {
            let (first, last) = (FIRST[i % 20], LAST[(i * 7 + 3) % 20]);
            DemoMember {
                email: format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), i + 1),
                name: format!("{first} {last}"),
            }
        })
        .collect()
}

/// True when the demo data is already there.
pub async fn is_seeded(db: &PgPool) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM admin WHERE email = $1")
        .bind(ADMINS[0].email)
        .fetch_one(db)
        .await?;
    Ok(n > 0)
}

/// Whether the database holds users that are not ours (then we never seed into it).
pub async fn has_foreign_users(db: &PgPool) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE email NOT LIKE '%@tenure.dev' AND email NOT LIKE '%@example.com'",
    )
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

pub async fn seed(db: &PgPool) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let now = Utc::now();
    for (i, a) in ADMINS.iter().enumerate() {
        let user_id = insert_user(&mut tx, a.email, a.name, now - Duration::days(600 - i as i64)).await?;
        let _ = user_id;
        sqlx::query("INSERT INTO admin (email, role, name, status, created_at, updated_at) VALUES ($1, $2::enum_admin_role, $3, 'active', now(), now())")
            .bind(a.email)
            .bind(a.role)
            .bind(a.name)
            .execute(&mut *tx)
            .await?;
    }

    let mut member_ids = Vec::new();
    for (i, m) in members().iter().enumerate() {
        // Tenure starts between 18 and 13 months ago; a few members joined recently.
        let months_ago = if i < 34 { 18 - (i as u32 * 5 / 34) } else { 4 + (i as u32 % 3) };
        let start = (now - Months::new(months_ago)) + Duration::hours(i as i64 * 7);
        let user_id = insert_user(&mut tx, &m.email, &m.name, start - Duration::days(2)).await?;
        member_ids.push(user_id);
        let (first, last) = m.name.split_once(' ').unwrap_or((&m.name, ""));
        sqlx::query("INSERT INTO user_profiles (id, user_id, first_name, last_name, phone, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $5)")
            .bind(user_id).bind(first).bind(last).bind(format!("+1555010{:04}", i)).bind(start)
            .execute(&mut *tx).await?;

        // A few subscriptions lapsed: past_due, canceled; one trialing.
        let sub_status = match i {
            7 | 23 => "past_due",
            15 => "canceled",
            38 => "trialing",
            _ => "active",
        };
        let subscription_id = Uuid::new_v4();
        sqlx::query("INSERT INTO user_subscriptions (id, user_id, provider, provider_subscription_id, provider_customer_id, status, current_period_start, current_period_end, cancel_at_period_end, created_at, updated_at)
                     VALUES ($1, $2, 'stripe', $3, $4, $5::enum_user_subscriptions_status, $6, $6 + interval '1 month', false, $7, $7)")
            .bind(subscription_id).bind(user_id)
            .bind(format!("sub_demo_{:04}", i + 1)).bind(format!("cus_demo_{:04}", i + 1))
            .bind(sub_status).bind(now - Duration::days(10)).bind(start)
            .execute(&mut *tx).await?;
        sqlx::query("INSERT INTO user_memberships (id, user_id, subscription_id, join_date, tenure, verification_status, created_at, updated_at)
                     VALUES (gen_random_uuid(), $1, $2, $3, $4, 'VERIFIED', $5, $5)")
            .bind(user_id).bind(subscription_id).bind(start.date_naive()).bind(Decimal::from(months_ago)).bind(start)
            .execute(&mut *tx).await?;

        insert_payments(&mut tx, i, user_id, subscription_id, start, now, sub_status).await?;

        // KYC: most verified; some pending, in review, rejected or expired.
        let kyc = match i % 10 {
            3 => "pending",
            6 => "in_review",
            9 if i > 20 => "rejected",
            _ if i == 12 => "expired",
            _ => "verified",
        };
        sqlx::query("INSERT INTO kyc_verification (id, user_id, status, verification_method, verified_at, created_at, updated_at)
                     VALUES (gen_random_uuid(), $1, $2, 'document', CASE WHEN $2 = 'verified' THEN $3 END, $3, $3)")
            .bind(user_id).bind(kyc).bind(start + Duration::days(3))
            .execute(&mut *tx).await?;

        // Everyone but every eleventh member has a primary address.
        if i % 11 != 5 {
            let (city, state, zip) = CITIES[i % CITIES.len()];
            sqlx::query("INSERT INTO user_addresses (id, user_id, address_type, street_address, city, state, postal_code, country_code, is_primary, created_at, updated_at)
                         VALUES (gen_random_uuid(), $1, 'primary', $2, $3, $4, $5, 'US', true, $6, $6)")
                .bind(user_id).bind(format!("{} {} Street", 100 + i * 17, LAST[i % 20])).bind(city).bind(state).bind(zip).bind(start)
                .execute(&mut *tx).await?;
        }

        // W-9s: on file for every third member; one more still pending (does not count).
        if i % 3 == 0 || i == 4 {
            let status = if i == 4 { "pending" } else { "generated" };
            sqlx::query("INSERT INTO tax_forms (id, form_id, user_id, form_type, tax_year, status, recipient_info, w9_data, created_at, updated_at)
                         VALUES (gen_random_uuid(), gen_random_uuid()::text, $1, 'W-9', $2, $3, $4, $5, $6, $6)")
                .bind(user_id).bind(start.format("%Y").to_string().parse::<i32>().unwrap_or(2025)).bind(status)
                .bind(json!({ "name": m.name, "email": m.email }))
                .bind(json!({ "legalName": m.name, "tinType": "SSN", "tinLast4": format!("{:04}", 1000 + i) }))
                .bind(start + Duration::days(5))
                .execute(&mut *tx).await?;
        }
    }

    insert_legacy_payouts(&mut tx, &member_ids, now).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_user(tx: &mut Transaction<'_, Postgres>, email: &str, name: &str, at: DateTime<Utc>) -> sqlx::Result<Uuid> {
    sqlx::query_scalar("INSERT INTO users (id, email, email_verified, name, status, created_at, updated_at) VALUES (gen_random_uuid(), $1, true, $2, 'Active', $3, $3) RETURNING id")
        .bind(email)
        .bind(name)
        .bind(at)
        .fetch_one(&mut **tx)
        .await
}

/// A joining fee, then one payment a month until now; the odd failure and refund.
async fn insert_payments(
    tx: &mut Transaction<'_, Postgres>,
    i: usize,
    user_id: Uuid,
    subscription_id: Uuid,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    sub_status: &str,
) -> sqlx::Result<()> {
    let (mut dates, mut amounts, mut types, mut statuses) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut month = 0u32;
    loop {
        let at = start + Months::new(month);
        if at > now || (sub_status == "canceled" && month > 8) {
            break;
        }
        let first = month == 0;
        dates.push(at);
        amounts.push(Decimal::from(if first { JOINING_FEE + MONTHLY } else { MONTHLY }));
        types.push(if first { "initial" } else { "recurring" });
        statuses.push(match (i + month as usize) % 29 {
            0 if !first => "failed",
            13 if !first => "refunded",
            _ if sub_status == "past_due" && at > now - Duration::days(40) => "failed",
            _ => "succeeded",
        });
        month += 1;
    }
    sqlx::query(
        "INSERT INTO user_payments (id, user_id, subscription_id, provider, provider_payment_id, amount, currency, payment_type, payment_date, status, is_first_payment, created_at, updated_at)
         SELECT gen_random_uuid(), $1, $2, 'stripe', 'pi_demo_' || substr(md5(random()::text), 1, 16), a, 'USD', t, d, s::enum_user_payments_status, t = 'initial', d, d
         FROM unnest($3::timestamptz[], $4::numeric[], $5::text[], $6::text[]) AS x(d, a, t, s)",
    )
    .bind(user_id)
    .bind(subscription_id)
    .bind(&dates)
    .bind(&amounts)
    .bind(&types)
    .bind(&statuses)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Two rows as the old Node service wrote them (array-shaped approval workflow, camelCase
/// processing): one completed five months ago, one cancelled.
async fn insert_legacy_payouts(tx: &mut Transaction<'_, Postgres>, member_ids: &[Uuid], now: DateTime<Utc>) -> sqlx::Result<()> {
    let completed_at = now - Months::new(5);
    let legacy = [
        (member_ids[1], "PAY-LEGACY-0001", 2, "completed", completed_at),
        (member_ids[19], "PAY-LEGACY-0002", 20, "cancelled", now - Months::new(3)),
    ];
    for (user_id, payout_id, position, status, at) in legacy {
        let workflow = json!([{
            "step": "admin_approval", "status": if status == "completed" { "approved" } else { "cancelled" },
            "requiredApprovals": 2, "currentApprovals": if status == "completed" { 2 } else { 0 },
            "approvers": if status == "completed" { json!([{"adminId": 1, "email": ADMINS[0].email}, {"adminId": 3, "email": ADMINS[2].email}]) } else { json!([]) },
            "createdAt": (at - Duration::days(20)).to_rfc3339()
        }]);
        let processing = if status == "completed" {
            json!({ "sentDate": (at - Duration::days(3)).to_rfc3339(), "completedDate": at.to_rfc3339(), "calculation": { "grossAmount": 100000, "retentionFee": 300, "netAmount": 99700 } })
        } else {
            json!({})
        };
        sqlx::query(
            "INSERT INTO payout_management (id, payout_id, user_id, membership_id, queue_position, amount, currency, status, payment_method, eligibility_check, approval_workflow, processing, completed_date, receipt_url, internal_notes, audit_trail, created_at, updated_at)
             SELECT gen_random_uuid(), $1, $2, m.id, $3, 100000.00, 'USD', $4, 'ach', '{}', $5, $6, $7, NULL, '[]', '[]', $8, $8
             FROM user_memberships m WHERE m.user_id = $2",
        )
        .bind(payout_id)
        .bind(user_id)
        .bind(position)
        .bind(status)
        .bind(workflow)
        .bind(processing)
        .bind(if status == "completed" { Some(at) } else { None })
        .bind(at - Duration::days(25))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
