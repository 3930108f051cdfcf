-- Production-sized queue: :members members (default 100,000) with :payments_each monthly
-- payments (default 20 → 2,000,000 rows), subscriptions, memberships, KYC, addresses, W-9s,
-- and a few hundred payouts. Run by bench/eligibility.
\set ON_ERROR_STOP 1
INSERT INTO users (id, email, name, status)
SELECT gen_random_uuid(), 'm' || g || '@queue.bench', 'Member ' || g, 'Active' FROM generate_series(1, :members) g;

CREATE TEMP TABLE m AS
SELECT u.id AS user_id, gen_random_uuid() AS subscription_id, gen_random_uuid() AS membership_id,
       row_number() OVER (ORDER BY u.email) AS n
FROM users u WHERE u.email LIKE '%@queue.bench';

INSERT INTO user_profiles (id, user_id, first_name, last_name)
SELECT gen_random_uuid(), user_id, 'First' || n, 'Last' || n FROM m;

INSERT INTO user_subscriptions (id, user_id, provider_subscription_id, provider_customer_id, status, current_period_start, current_period_end)
SELECT subscription_id, user_id, 'sub_' || n, 'cus_' || n,
       (CASE WHEN n % 50 = 0 THEN 'past_due' ELSE 'active' END)::enum_user_subscriptions_status,
       now() - interval '10 days', now() + interval '20 days'
FROM m;

INSERT INTO user_memberships (id, user_id, subscription_id, join_date)
SELECT membership_id, user_id, subscription_id, current_date - (n % 600)::int FROM m;

INSERT INTO user_payments (id, user_id, subscription_id, amount, payment_type, payment_date, status)
SELECT gen_random_uuid(), m.user_id, m.subscription_id, 49.00,
       CASE WHEN g = 0 THEN 'initial' ELSE 'recurring' END,
       now() - make_interval(days => (m.n % 600)::int) + make_interval(months => g) - interval '2 years',
       (CASE WHEN (m.n + g) % 37 = 0 THEN 'failed' ELSE 'succeeded' END)::enum_user_payments_status
FROM m, generate_series(0, :payments_each - 1) g;

INSERT INTO kyc_verification (id, user_id, status, created_at, updated_at)
SELECT gen_random_uuid(), user_id, CASE WHEN n % 7 = 0 THEN 'pending' ELSE 'verified' END, now(), now() FROM m;

INSERT INTO user_addresses (id, user_id, street_address, city, state, postal_code, is_primary)
SELECT gen_random_uuid(), user_id, n || ' Main St', 'Austin', 'TX', '78701', true FROM m WHERE n % 9 <> 0;

INSERT INTO tax_forms (id, user_id, form_type, tax_year, status)
SELECT gen_random_uuid(), user_id, 'W-9', 2026, 'generated' FROM m WHERE n % 3 = 0;

INSERT INTO payout_management (payout_id, user_id, membership_id, queue_position, status, created_by)
SELECT 'PO-BENCH-' || n, user_id, membership_id, n, CASE WHEN n % 2 = 0 THEN 'completed' ELSE 'cancelled' END, 1
FROM m WHERE n % 400 = 0;

INSERT INTO admin (email, role, name) VALUES ('bench.admin@queue.bench', 'Super Admin', 'Bench Admin');
INSERT INTO users (id, email, name, status) VALUES (gen_random_uuid(), 'bench.admin@queue.bench', 'Bench Admin', 'Active');
INSERT INTO session (id, token, expires_at, updated_at, user_id)
SELECT 'bench-admin', 'BenchAdminTokenBenchAdminToken01', (now() AT TIME ZONE 'UTC') + interval '6 days', now() AT TIME ZONE 'UTC', id
FROM users WHERE email = 'bench.admin@queue.bench';
ANALYZE;
