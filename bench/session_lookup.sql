-- The service's session lookup (src/db/sessions.rs, BETTER_AUTH_COLUMNS=snake), exactly as it
-- runs on every request, for pgbench: bench/run measures PostgreSQL's own ceiling with it.
-- A unit test keeps this file and the service's statement the same.
SELECT s.id AS session_id, u.id AS user_id, u.email, u.name, (EXTRACT(EPOCH FROM s.expires_at) * 1000)::bigint AS expires_at_ms, (EXTRACT(EPOCH FROM now()) * 1000)::bigint AS now_ms, a.id AS admin_id, a.role::text AS admin_role, u.email_verified, u.status::text AS user_status, u.two_factor_enabled FROM session s JOIN users u ON u.id = s.user_id LEFT JOIN LATERAL ( SELECT id, role FROM admin WHERE lower(email) = lower(u.email) AND lower(coalesce(status, 'active')) = 'active' ORDER BY role, id LIMIT 1 ) a ON true WHERE s.token = :token;
