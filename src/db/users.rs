//! The main app's `users`, `admin` and `user_addresses`: what payouts read of them, and the one
//! write (a removed member becomes Inactive).

use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// An admin's email, lowercase.
pub async fn admin_email(tx: &mut Transaction<'_, Postgres>, admin_id: i32) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT lower(email) AS "email!" FROM admin WHERE id = $1"#, admin_id)
        .fetch_optional(&mut **tx)
        .await
}

/// A member's email, if the member exists.
pub async fn email(db: &PgPool, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT email::text AS "email!" FROM users WHERE id = $1"#, user_id).fetch_optional(db).await
}

/// The member's primary mailing address as `{line1, line2, city, state, postalCode, country}`.
pub async fn primary_address(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT jsonb_build_object('line1', street_address, 'line2', address_line_2, 'city', city, 'state', state,
                  'postalCode', postal_code, 'country', country_code) AS "address!"
           FROM user_addresses WHERE user_id = $1 AND is_primary IS TRUE ORDER BY updated_at DESC NULLS LAST LIMIT 1"#,
        user_id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The member's `users.status`.
pub async fn status(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT status::text AS "status!" FROM users WHERE id = $1"#, user_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Membership removal (SPEC §9): the member's account becomes Inactive.
pub async fn deactivate(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE users SET status = 'Inactive', updated_at = now() WHERE id = $1", user_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The member's name as a payee (Positive Pay): the W-9's legal name is not read here.
pub async fn display_name(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let name = sqlx::query_scalar!("SELECT name FROM users WHERE id = $1", user_id).fetch_optional(&mut **tx).await?;
    Ok(name.flatten())
}

/// Names for audit-trail actors: `admin:<id>` and `user:<uuid>` → the person's name (else email).
pub async fn actor_names(db: &PgPool, admins: &[i32], users: &[Uuid]) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT 'admin:' || a.id AS "label!", coalesce(nullif(a.name, ''), a.email::text) AS "name!"
             FROM admin a WHERE a.id = ANY($1)
           UNION ALL
           SELECT 'user:' || u.id AS "label!", coalesce(nullif(u.name, ''), u.email::text) AS "name!"
             FROM users u WHERE u.id = ANY($2)"#,
        admins,
        users
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.label, r.name)).collect())
}
