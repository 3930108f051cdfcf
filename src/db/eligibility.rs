//! Revenue (`user_payments`), committed payouts (`payout_management`) and the member queue
//! (`active_member_queue_view` with `kyc_verification`, `tax_forms`, `user_addresses`) with the
//! service's own selectability checks.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::status::PayoutStatus;

/// `queue_sql!(query_as!(QueueRow,) [parts…], args…)` expands to `sqlx::query_as!(QueueRow, sql,
/// args…)` where `sql` is the parts joined with `+`: sqlx's macros check string literals only, so
/// the shared fragments are macro rules rather than `concat!`. A part is a string literal or one
/// of these fragments, each defined once so that the whole-queue counts, the members and the page
/// query cannot disagree about who is selectable:
/// - `flags`: the flags every blocker is derived from, over `q` (the view), `kyc` and `p` (payouts);
/// - `columns`: the member's queue columns and `flags`;
/// - `facts("filter")`: the latest KYC row and the payout flags of the users `filter` keeps;
/// - `queue(cols)(filter)(facts filter)`: `queue`, the queue view's rows that `filter` keeps, one
///   per member (a member with two memberships keeps the better position), joined with what this
///   service knows itself (`facts`, read for the members `facts filter` keeps): `columns`, or with
///   `cols` = `narrow` only `user_id`, `queue_position` and `flags` (the one-per-member sort then
///   carries five narrow columns instead of the view's every column). Set-based joins, so it stays
///   fast on production-sized tables with or without indexes on the main app's tables;
/// - `selectable`: the condition over `flags` for a member who can be selected now;
/// - `row`: the `QueueRow` columns (but `has_w9`, `has_primary_address`) read back from `columns`
///   with sqlx's `"name!"` (not null) overrides, which only work in the outermost select.
///
/// A filter on the view's rows must not change which row a member keeps: filter on `user_id`, or
/// keep every row ahead of a position (that keeps a member's best row whenever it keeps any).
macro_rules! queue_sql {
    ($mac:ident!($($head:tt)*) [$($parts:tt)*] $($args:tt)*) => {
        queue_sql!(@munch [] [$($parts)*] $mac ($($head)*) ($($args)*))
    };
    (@munch [$($done:tt)*] [flags $($rest:tt)*] $($call:tt)*) => {
        queue_sql!(@munch [$($done)*
            "kyc.status AS kyc_status,
             coalesce(kyc.status = 'verified' AND (kyc.expires_at IS NULL OR kyc.expires_at > now()), false) AS kyc_ok,
             coalesce(q.is_eligible, false) AND coalesce(q.subscription_status::text IN ('active', 'trialing'), false) AS subscription_ok,
             coalesce(p.in_progress, false) AS payout_in_progress,
             coalesce(q.has_received_payout, false) OR coalesce(p.paid, false) AS already_paid"
        ] [$($rest)*] $($call)*)
    };
    (@munch [$($done:tt)*] [columns $($rest:tt)*] $($call:tt)*) => {
        queue_sql!(@munch [$($done)*
            "q.membership_id, q.user_id, q.email, q.full_name, q.subscription_status::text AS subscription_status,
             q.tenure_start_date, q.last_payment_date, q.total_successful_payments::bigint AS total_successful_payments,
             q.lifetime_payment_total::numeric AS lifetime_payment_total, q.queue_position::bigint AS queue_position,
             coalesce(q.meets_time_requirement, false) AS meets_time_requirement, "
        ] [flags $($rest)*] $($call)*)
    };
    (@munch [$($done:tt)*] [facts($($filter:tt)*) $($rest:tt)*] $($call:tt)*) => {
        queue_sql!(@munch [$($done)*
            "kyc AS (
                SELECT DISTINCT ON (user_id) user_id, status, expires_at FROM kyc_verification
                WHERE " $($filter)* "
                ORDER BY user_id, coalesce(updated_at, created_at) DESC NULLS LAST, id
             ), p AS (
                SELECT user_id,
                       bool_or(status IN ('pending_approval', 'approved', 'payment_sent', 'payment_failed')) AS in_progress,
                       bool_or(status = 'completed') AS paid
                FROM payout_management WHERE " $($filter)* " GROUP BY user_id
             )"
        ] [$($rest)*] $($call)*)
    };
    (@munch [$($done:tt)*] [queue(narrow)($($filter:tt)*)($($facts:tt)*) $($rest:tt)*] $($call:tt)*) => {
        queue_sql!(@munch [$($done)*] [
            "WITH " facts($($facts)*) ", queue AS (SELECT q.user_id, q.queue_position::bigint AS queue_position, " flags
            " FROM (SELECT DISTINCT ON (user_id) user_id, queue_position, is_eligible, subscription_status, has_received_payout
                    FROM active_member_queue_view WHERE " $($filter)* " ORDER BY user_id, queue_position) q
               LEFT JOIN kyc ON kyc.user_id = q.user_id LEFT JOIN p ON p.user_id = q.user_id) "
            $($rest)*
        ] $($call)*)
    };
    (@munch [$($done:tt)*] [queue(all)($($filter:tt)*)($($facts:tt)*) $($rest:tt)*] $($call:tt)*) => {
        queue_sql!(@munch [$($done)*] [
            "WITH " facts($($facts)*) ", queue AS (SELECT " columns
            " FROM (SELECT DISTINCT ON (user_id) * FROM active_member_queue_view WHERE " $($filter)* " ORDER BY user_id, queue_position) q
               LEFT JOIN kyc ON kyc.user_id = q.user_id LEFT JOIN p ON p.user_id = q.user_id) "
            $($rest)*
        ] $($call)*)
    };
    (@munch [$($done:tt)*] [selectable $($rest:tt)*] $($call:tt)*) => {
        queue_sql!(@munch [$($done)*
            "(kyc_ok AND subscription_ok AND NOT payout_in_progress AND NOT already_paid)"
        ] [$($rest)*] $($call)*)
    };
    (@munch [$($done:tt)*] [row $($rest:tt)*] $($call:tt)*) => {
        queue_sql!(@munch [$($done)*
            r#"membership_id, user_id AS "user_id!", email, full_name, subscription_status, tenure_start_date,
               last_payment_date, total_successful_payments, lifetime_payment_total, queue_position AS "queue_position!",
               meets_time_requirement AS "meets_time_requirement!", kyc_status, kyc_ok AS "kyc_ok!",
               subscription_ok AS "subscription_ok!", payout_in_progress AS "payout_in_progress!",
               already_paid AS "already_paid!""#
        ] [$($rest)*] $($call)*)
    };
    (@munch [$($done:tt)*] [$part:tt $($rest:tt)*] $($call:tt)*) => {
        queue_sql!(@munch [$($done)* $part] [$($rest)*] $($call)*)
    };
    (@munch [$first:tt $($part:tt)*] [] $mac:ident ($($head:tt)*) ($($args:tt)*)) => {
        sqlx::$mac!($($head)* $first $(+ $part)* $($args)*)
    };
}

/// One queue member with the flags the blockers are derived from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    pub membership_id: Option<Uuid>,
    pub user_id: Uuid,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub subscription_status: Option<String>,
    pub tenure_start_date: Option<DateTime<Utc>>,
    pub last_payment_date: Option<DateTime<Utc>>,
    pub total_successful_payments: Option<i64>,
    pub lifetime_payment_total: Option<Decimal>,
    pub queue_position: i64,
    pub meets_time_requirement: bool,
    pub kyc_status: Option<String>,
    pub kyc_ok: bool,
    pub subscription_ok: bool,
    pub payout_in_progress: bool,
    pub already_paid: bool,
    pub has_w9: bool,
    pub has_primary_address: bool,
}

/// Revenue: the sum of succeeded member payments.
pub async fn succeeded_payments_total(db: &PgPool) -> Result<Decimal, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT coalesce(sum(amount), 0) AS "total!" FROM user_payments WHERE status = 'succeeded'"#)
        .fetch_one(db)
        .await
}

/// Payouts not rejected or cancelled.
pub async fn committed_payouts<'e, E: sqlx::Executor<'e, Database = Postgres>>(db: E) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM payout_management WHERE status NOT IN ('rejected', 'cancelled')"#)
        .fetch_one(db)
        .await
}

/// (queue members, selectable members).
pub async fn queue_counts<'e, E: sqlx::Executor<'e, Database = Postgres>>(db: E) -> Result<(i64, i64), sqlx::Error> {
    // The facts of queue members only (half the KYC rows to sort at production size, where paid
    // members have left the queue): 120 → 100 ms of database CPU on bench/scale's data. A plain
    // (not materialized) view is computed once more for that filter.
    let row = queue_sql!(query!() [queue(narrow)("true")("user_id IN (SELECT user_id FROM active_member_queue_view)")
        r#"SELECT count(*) AS "total!", count(*) FILTER (WHERE "# selectable r#") AS "selectable!" FROM queue"#])
    .fetch_one(db)
    .await?;
    Ok((row.total, row.selectable))
}

impl QueueRow {
    /// Why the member cannot be selected now (empty when selectable).
    pub fn blockers(&self) -> Vec<crate::domain::selection::Blocker> {
        crate::domain::selection::blockers(&crate::domain::selection::MemberFlags {
            kyc_verified: self.kyc_ok,
            subscription_active: self.subscription_ok,
            payout_in_progress: self.payout_in_progress,
            already_paid: self.already_paid,
        })
    }
}

/// The queue rows of these users (absent when not in the queue).
pub async fn queue_members(tx: &mut Transaction<'_, Postgres>, user_ids: &[Uuid]) -> Result<Vec<QueueRow>, sqlx::Error> {
    queue_sql!(query_as!(QueueRow,) [queue(all)("user_id = ANY($1)")("user_id = ANY($1)")
        "SELECT " row r#", false AS "has_w9!", false AS "has_primary_address!" FROM queue
         ORDER BY queue.queue_position"#], user_ids)
    .fetch_all(&mut **tx)
    .await
}

/// Selectable members ranked ahead of `position` that are not among `chosen`.
pub async fn selectable_ahead(
    tx: &mut Transaction<'_, Postgres>,
    position: i64,
    chosen: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    // Only rows ahead of `position`, and those members' facts, are read: a member ahead keeps
    // their best row.
    let rows = queue_sql!(query!() [queue(narrow)("queue_position < $1::bigint")
            ("user_id IN (SELECT user_id FROM active_member_queue_view WHERE queue_position < $1::bigint)")
        r#"SELECT user_id AS "user_id!", queue_position AS "queue_position!" FROM queue
           WHERE "# selectable " AND NOT (user_id = ANY($2))
           ORDER BY queue_position LIMIT 50"], position, chosen)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.queue_position)).collect())
}

/// Why a user missing from the queue view cannot be selected.
pub async fn outside_queue_blocker(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> Result<&'static str, sqlx::Error> {
    let statuses = sqlx::query_scalar!("SELECT status FROM payout_management WHERE user_id = $1", user_id)
        .fetch_all(&mut **tx)
        .await?;
    let statuses: Vec<PayoutStatus> = statuses.iter().filter_map(|s| PayoutStatus::parse(s)).collect();
    Ok(if statuses.contains(&PayoutStatus::Completed) {
        "already_paid"
    } else if statuses.iter().any(|s| s.is_open()) {
        "payout_in_progress"
    } else {
        "not_in_queue"
    })
}

/// A page of the queue in position order. Only the page's members get their facts looked up.
pub async fn queue_page(db: &PgPool, limit: i64, offset: i64) -> Result<Vec<QueueRow>, sqlx::Error> {
    queue_sql!(query_as!(QueueRow,) [
        "WITH page AS (SELECT * FROM (SELECT DISTINCT ON (user_id) * FROM active_member_queue_view ORDER BY user_id, queue_position) one_per_user
                       ORDER BY queue_position, user_id LIMIT $1 OFFSET $2), "
        facts("user_id IN (SELECT user_id FROM page)")
        ", w9 AS (SELECT DISTINCT user_id FROM tax_forms WHERE form_type = 'W-9' AND status IS DISTINCT FROM 'pending'
                   AND user_id IN (SELECT user_id FROM page)),
         addr AS (SELECT DISTINCT user_id FROM user_addresses WHERE is_primary IS TRUE AND user_id IN (SELECT user_id FROM page)),
         page_rows AS (SELECT " columns ", w9.user_id IS NOT NULL AS has_w9, addr.user_id IS NOT NULL AS has_primary_address
         FROM page q
         LEFT JOIN kyc ON kyc.user_id = q.user_id
         LEFT JOIN p ON p.user_id = q.user_id
         LEFT JOIN w9 ON w9.user_id = q.user_id
         LEFT JOIN addr ON addr.user_id = q.user_id)
         SELECT " row r#", has_w9 AS "has_w9!", has_primary_address AS "has_primary_address!"
         FROM page_rows ORDER BY queue_position, user_id"#], limit, offset)
    .fetch_all(db)
    .await
}

/// Serializes payout creation across requests and instances, until the transaction ends.
pub async fn lock_creation(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('payout-service:create-payouts'))").execute(&mut **tx).await.map(|_| ())
}
