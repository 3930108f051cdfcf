-- Production-sized data for bench/scale: :members members (default 100,000) with :payments_each
-- payments each (default 20 → 2,000,000), and :payouts past payouts (default 50,000) with their
-- hash-chained audit trails, user_audit_logs rows, sent emails and 1099-MISC rows, as the
-- service writes them. Set-based (generate_series), no per-row round trips. Run by bench/scale
-- after the fixture and the migrations; the queue view is materialized by the script afterwards.
--
-- Shapes follow the service's own writes (src/domain/change/rules.rs):
--  * members are numbered n = 1..members by tenure (n = 1 joined first, 2020-01-15; the last
--    joined 21 months ago); every 7th member's KYC is pending, every 50th is past_due, every 9th
--    has no primary address, every 3rd has a W-9;
--  * payouts went, in order, to the members who could be selected (KYC verified, subscription
--    active): payout g belongs to the k-th such member, k = g - (g + 38) / 40, so every 40th
--    payout (g % 40 = 1) was rejected or cancelled and its member paid by the next one;
--  * statuses by age: the newest 400 pending_approval (no approvals, no bank details yet: the
--    bench's approvals start from them), the 200 before approved / payment_sent, every 1000th
--    payment_failed (open), every 1000th (offset 250) completed after a failure and a reissue,
--    the rest completed; a completed payout at least 12 months old had its membership removed
--    (users.status Inactive, subscription canceled);
--  * every 10th payout is a check, the rest ACH; ACH bank details are the service's envelope
--    shape with random bytes (not decryptable: no measured request decrypts a past payout's);
--  * trails: created, bank_details_updated (by the member), approval_added, approved,
--    bank_details_decrypted, instructions_generated, payment_sent, [payment_failed, reissued,
--    … again], completed, receipt_issued, membership_removed — each entry hashed exactly as
--    src/domain/audit_chain.rs does (SHA-256 over the previous hash and the entry's canonical
--    JSON: keys sorted, no spaces), so GET …/audit answers chainValid: true. The receipt's
--    recorded sha256 is of no real PDF: the first download of a past receipt records one entry.
--  * payments are sized so the database's revenue funds every committed payout and :spare more
--    (the per-payment amount changes no timing).
\set ON_ERROR_STOP 1
\if :{?members} \else \set members 100000 \endif
\if :{?payments_each} \else \set payments_each 20 \endif
\if :{?payouts} \else \set payouts 50000 \endif
\if :{?spare} \else \set spare 1000 \endif
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';
SET synchronous_commit = off;

-- ---------------------------------------------------------------- admins (with users and sessions)
INSERT INTO admin (email, role, name, status, created_at, updated_at) VALUES
  ('ava.creator@scale.bench', 'Super Admin', 'Ava Creator', 'active', '2020-01-02', '2020-01-02'),
  ('ben.approver@scale.bench', 'Manager', 'Ben Approver', 'active', '2020-01-02', '2020-01-02'),
  ('cara.approver@scale.bench', 'Super Admin', 'Cara Approver', 'active', '2020-01-02', '2020-01-02'),
  ('dan.finance@scale.bench', 'Support', 'Dan Finance', 'active', '2020-01-02', '2020-01-02'),
  ('eve.manager@scale.bench', 'Manager', 'Eve Manager', 'active', '2021-03-01', '2021-03-01'),
  ('finn.former@scale.bench', 'Manager', 'Finn Former', 'disabled', '2020-06-01', '2023-01-01');
INSERT INTO users (id, email, email_verified, name, status, created_at, updated_at)
SELECT gen_random_uuid(), email, true, name, 'Active', created_at, created_at FROM admin WHERE email LIKE '%@scale.bench';
INSERT INTO session (id, token, expires_at, created_at, updated_at, ip_address, user_agent, user_id)
SELECT 'bench-' || u.id, encode(sha256(convert_to('scale-bench-session:' || u.email, 'UTF8')), 'hex'),
       (now() AT TIME ZONE 'UTC') + interval '6 days', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC',
       '10.1.0.1', 'Mozilla/5.0 (bench)', u.id
FROM users u WHERE u.email LIKE '%@scale.bench';
SELECT max(id) FILTER (WHERE email = 'ava.creator@scale.bench') AS a_ava,
       max(id) FILTER (WHERE email = 'ben.approver@scale.bench') AS a_ben,
       max(id) FILTER (WHERE email = 'cara.approver@scale.bench') AS a_cara,
       max(id) FILTER (WHERE email = 'dan.finance@scale.bench') AS a_dan
FROM admin \gset

-- ---------------------------------------------------------------- members
CREATE TEMP TABLE m AS
SELECT g AS n, gen_random_uuid() AS user_id, gen_random_uuid() AS subscription_id, gen_random_uuid() AS membership_id,
       timestamptz '2020-01-15 12:00:00+00'
         + ((g - 1)::float8 / :members) * ((now() - interval '21 months') - timestamptz '2020-01-15 12:00:00+00') AS tenure_start
FROM generate_series(1, :members) g;
CREATE UNIQUE INDEX ON m (n);
ANALYZE m;

INSERT INTO users (id, email, email_verified, name, status, created_at, updated_at)
SELECT user_id, 'member' || n || '@scale.bench', true, 'Member ' || n, 'Active', tenure_start - interval '1 day', tenure_start FROM m;

INSERT INTO user_profiles (id, user_id, first_name, last_name, phone, created_at, updated_at)
SELECT gen_random_uuid(), user_id, 'First' || n, 'Last' || n, '+1512555' || lpad((n % 10000)::text, 4, '0'), tenure_start, tenure_start FROM m;

INSERT INTO user_subscriptions (id, user_id, provider, provider_subscription_id, provider_customer_id, status,
                                current_period_start, current_period_end, created_at, updated_at)
SELECT subscription_id, user_id, 'stripe', 'sub_' || n, 'cus_' || n,
       (CASE WHEN n % 50 = 0 THEN 'past_due' ELSE 'active' END)::enum_user_subscriptions_status,
       now() - interval '10 days', now() + interval '20 days', tenure_start, now() - interval '10 days'
FROM m;

INSERT INTO user_memberships (id, user_id, subscription_id, join_date, verification_status, created_at, updated_at)
SELECT membership_id, user_id, subscription_id, tenure_start::date, 'VERIFIED', tenure_start, tenure_start FROM m;

INSERT INTO kyc_verification (id, user_id, status, verification_method, verified_at, created_at, updated_at)
SELECT gen_random_uuid(), user_id, CASE WHEN n % 7 = 0 THEN 'pending' ELSE 'verified' END, 'document',
       CASE WHEN n % 7 = 0 THEN NULL ELSE tenure_start + interval '2 days' END, tenure_start, tenure_start + interval '2 days'
FROM m;

INSERT INTO user_addresses (id, user_id, street_address, city, state, postal_code, is_primary, created_at, updated_at)
SELECT gen_random_uuid(), user_id, n || ' Main St', 'Austin', 'TX', '78701', true, tenure_start, tenure_start FROM m WHERE n % 9 <> 0;

INSERT INTO tax_forms (id, form_id, user_id, form_type, tax_year, status, recipient_info, created_at, updated_at)
SELECT gen_random_uuid(), gen_random_uuid()::text, user_id, 'W-9', extract(year FROM tenure_start)::int, 'generated',
       jsonb_build_object('name', 'Member ' || n), tenure_start + interval '3 days', tenure_start + interval '3 days'
FROM m WHERE n % 3 = 0;

INSERT INTO session (id, token, expires_at, created_at, updated_at, ip_address, user_agent, user_id)
SELECT 'bench-m' || n, encode(sha256(convert_to('scale-bench-session:member' || n, 'UTF8')), 'hex'),
       (now() AT TIME ZONE 'UTC') + interval '6 days', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC',
       '10.2.0.1', 'Mozilla/5.0 (bench)', user_id
FROM m;

-- ---------------------------------------------------------------- payouts: who, what, when
-- e: the members who could be selected, in queue order (KYC verified, subscription active).
CREATE TEMP TABLE e AS
SELECT row_number() OVER (ORDER BY n) AS k, n, user_id, membership_id, tenure_start FROM m WHERE n % 7 <> 0 AND n % 50 <> 0;
CREATE UNIQUE INDEX ON e (k);
ANALYZE e;

CREATE TEMP TABLE po AS
WITH base AS (
  SELECT g, e.n, e.user_id, e.membership_id, e.tenure_start,
         CASE
           WHEN g % 40 = 1 AND g < :payouts THEN CASE WHEN (g / 40) % 2 = 0 THEN 'rejected' ELSE 'cancelled' END
           WHEN g > :payouts - 400 THEN 'pending_approval'
           WHEN g > :payouts - 600 THEN CASE WHEN g % 2 = 0 THEN 'approved' ELSE 'payment_sent' END
           WHEN g % 1000 = 500 THEN 'payment_failed'
           ELSE 'completed'
         END AS status,
         CASE WHEN g % 10 = 0 THEN 'check' ELSE 'ach' END AS method,
         (e.n % 3 = 0) AS has_w9,
         timestamptz '2021-12-01 15:00:00+00'
           + ((g - 1)::float8 / :payouts) * ((now() - interval '2 days') - timestamptz '2021-12-01 15:00:00+00')
           + make_interval(secs => (g * 7919) % 3600) AS created_at
  FROM generate_series(1, :payouts) g
  JOIN e ON e.k = g - (g + 38) / 40
)
SELECT b.*, gen_random_uuid() AS id,
       'PO-' || to_char(created_at AT TIME ZONE 'UTC', 'YYYYMMDD') || '-'
         || translate(upper(substr(md5('scale-payout-' || g), 1, 8)), '01', 'QR') AS payout_id,
       (g % 97) + 1 AS queue_position,
       (status = 'completed' AND g % 1000 = 250) AS reissued,
       created_at + interval '3 days' AS sent_at,
       created_at + interval '5 days' AS arrival_at,
       created_at + interval '8 days' AS completed_at,
       (status = 'completed' AND created_at + interval '8 days' <= now() - interval '12 months') AS removed
FROM base b;
CREATE UNIQUE INDEX ON po (g);
ANALYZE po;

-- Enough revenue for every committed payout and :spare more, spread over the succeeded payments.
SELECT count(*) AS committed FROM po WHERE status NOT IN ('rejected', 'cancelled') \gset
SELECT count(*) AS succeeded FROM m, generate_series(0, :payments_each - 1) g WHERE (m.n + g) % 37 <> 0 \gset
SELECT ceil((:committed + :spare) * 100000.0 / :succeeded * 100) / 100 AS payment_amount \gset

INSERT INTO user_payments (id, user_id, subscription_id, provider, provider_payment_id, amount, payment_type, payment_date,
                           status, is_first_payment, created_at, updated_at)
SELECT gen_random_uuid(), m.user_id, m.subscription_id, 'stripe', 'pi_' || m.n || '_' || g, :payment_amount,
       CASE WHEN g = 0 THEN 'initial' ELSE 'recurring' END,
       m.tenure_start + (g::float8 / (:payments_each - 1)) * ((now() - interval '1 day') - m.tenure_start),
       (CASE WHEN (m.n + g) % 37 = 0 THEN 'failed' ELSE 'succeeded' END)::enum_user_payments_status,
       g = 0, m.tenure_start, m.tenure_start
FROM m, generate_series(0, :payments_each - 1) g;

-- ---------------------------------------------------------------- each payout's trail entries
-- One row per entry, in order (i), with the actor, the time, the details as canonical JSON text
-- (keys sorted, as serde_json writes them) and the user_audit_logs action and statuses.
CREATE TEMP TABLE ent_raw AS
SELECT p.id AS pid, x.ord, x.action, x.actor, x.at, x.details, x.audit_action, x.from_status, x.to_status, x.admin_id
FROM po p
CROSS JOIN LATERAL (
    SELECT p.created_at AS c, p.created_at + interval '4 hours' AS bank_at, p.created_at + interval '1 day' AS a1,
           p.created_at + interval '1 day 3 hours' AS a2, p.created_at + interval '2 days' AS ins,
           CASE WHEN p.has_w9 THEN '"99700.00"' ELSE '"75700.00"' END AS net,
           CASE WHEN p.has_w9 THEN '"0.00"' ELSE '"24000.00"' END AS wh,
           p.status IN ('approved', 'payment_sent', 'payment_failed', 'completed') AS approved,
           p.status IN ('payment_sent', 'payment_failed', 'completed') AS sent
) t
CROSS JOIN LATERAL (VALUES
    (1, true, 'created', 'admin:' || :a_ava, t.c,
        '{"amount":"100000.00","paymentMethod":"' || p.method || '","queuePosition":' || p.queue_position || '}',
        'payout_created', NULL, 'pending_approval', :a_ava),
    (2, p.method = 'ach' AND p.status <> 'pending_approval', 'bank_details_updated', 'user:' || p.user_id, t.bank_at,
        '{"accountType":"checking","approvalsCleared":false,"bankName":"First Bank","last4":"' || lpad((p.n % 10000)::text, 4, '0') || '"}',
        'payout_bank_details_updated', 'pending_approval', 'pending_approval', NULL),
    (3, t.approved OR p.status = 'cancelled', 'approval_added', 'admin:' || :a_ben, t.a1,
        '{"approvals":1,"fullyApproved":false,"requiredApprovals":2}', 'payout_approval_added', 'pending_approval', 'pending_approval', :a_ben),
    (4, p.status = 'rejected', 'rejected', 'admin:' || :a_cara, t.a1,
        '{"reason":"Queue position disputed: membership under review"}', 'payout_rejected', 'pending_approval', 'rejected', :a_cara),
    (5, p.status = 'cancelled', 'cancelled', 'admin:' || :a_ava, t.a2,
        '{"previousStatus":"pending_approval","reason":"Member asked to defer the payout"}', 'payout_cancelled', 'pending_approval', 'cancelled', :a_ava),
    (6, t.approved, 'approved', 'admin:' || :a_cara, t.a2,
        '{"approvals":2,"fullyApproved":true,"requiredApprovals":2}', 'payout_approved', 'pending_approval', 'approved', :a_cara),
    (7, t.sent AND p.method = 'ach', 'bank_details_decrypted', 'admin:' || :a_ben, t.ins,
        '{"purpose":"payment instructions"}', NULL, NULL, NULL, :a_ben),
    (8, t.sent, 'instructions_generated', 'admin:' || :a_ben, t.ins,
        '{"method":"' || p.method || '","netAmount":' || t.net || ',"withholding":' || t.wh || '}', 'payout_instructions_generated', 'approved', 'approved', :a_ben),
    (9, t.sent, 'payment_sent', 'admin:' || :a_dan, p.sent_at,
        '{"expectedArrivalDate":"' || to_char(p.arrival_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","sentDate":"'
          || to_char(p.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","trackingNumber":'
          || CASE WHEN p.method = 'check' THEN '"1Z' || lpad(p.g::text, 10, '0') || '"' ELSE 'null' END || '}',
        'payout_payment_sent', 'approved', 'payment_sent', :a_dan),
    (10, p.status = 'payment_failed' OR p.reissued, 'payment_failed', 'admin:' || :a_dan, p.sent_at + interval '2 days',
        '{"at":"' || to_char((p.sent_at + interval '2 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","by":"admin:' || :a_dan
          || '","previousStatus":"payment_sent","reason":"Account closed","returnCode":"R02"}',
        'payout_payment_failed', 'payment_sent', 'payment_failed', :a_dan),
    (11, p.reissued, 'reissued', 'admin:' || :a_ava, p.sent_at + interval '3 days',
        '{"approvalsCleared":2,"reissue":1}', 'payout_reissued', 'payment_failed', 'pending_approval', :a_ava),
    (12, p.reissued, 'approval_added', 'admin:' || :a_ben, p.sent_at + interval '3 days 2 hours',
        '{"approvals":1,"fullyApproved":false,"requiredApprovals":2}', 'payout_approval_added', 'pending_approval', 'pending_approval', :a_ben),
    (13, p.reissued, 'approved', 'admin:' || :a_cara, p.sent_at + interval '3 days 4 hours',
        '{"approvals":2,"fullyApproved":true,"requiredApprovals":2}', 'payout_approved', 'pending_approval', 'approved', :a_cara),
    (14, p.reissued AND p.method = 'ach', 'bank_details_decrypted', 'admin:' || :a_ben, p.sent_at + interval '3 days 5 hours',
        '{"purpose":"payment instructions"}', NULL, NULL, NULL, :a_ben),
    (15, p.reissued, 'instructions_generated', 'admin:' || :a_ben, p.sent_at + interval '3 days 5 hours',
        '{"method":"' || p.method || '","netAmount":' || t.net || ',"withholding":' || t.wh || '}', 'payout_instructions_generated', 'approved', 'approved', :a_ben),
    (16, p.reissued, 'payment_sent', 'admin:' || :a_dan, p.sent_at + interval '4 days',
        '{"expectedArrivalDate":"' || to_char((p.sent_at + interval '5 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","sentDate":"'
          || to_char((p.sent_at + interval '4 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","trackingNumber":null}',
        'payout_payment_sent', 'approved', 'payment_sent', :a_dan),
    (17, p.status = 'completed', 'completed', 'admin:' || :a_dan, p.completed_at,
        '{"completedDate":"' || to_char(p.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","confirmationNumber":"FED-'
          || lpad(p.g::text, 8, '0') || '"}',
        'payout_completed', 'payment_sent', 'completed', :a_dan),
    (18, p.status = 'completed', 'receipt_issued', 'system', p.completed_at + interval '1 minute',
        '{"bytes":' || (41000 + p.g % 900) || ',"sha256":"' || encode(sha256(convert_to('receipt ' || p.id, 'UTF8')), 'hex') || '"}',
        NULL, NULL, NULL, NULL),
    (19, p.removed, 'membership_removed', 'system', p.completed_at + interval '12 months 1 day',
        '{"months":12,"previousUserStatus":"Active"}', 'membership_removed', 'completed', 'completed', NULL)
  ) AS x(ord, keep, action, actor, at, details, audit_action, from_status, to_status, admin_id)
WHERE x.keep;

CREATE TEMP TABLE ent AS
SELECT pid, row_number() OVER (PARTITION BY pid ORDER BY ord)::int AS i, action, actor,
       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at_text, at, details, audit_action, from_status, to_status, admin_id
FROM ent_raw;
DROP TABLE ent_raw;
CREATE UNIQUE INDEX ON ent (pid, i);
ANALYZE ent;

-- The chain: hash_i = SHA-256(hash_{i-1} || canonical entry i without its hash), prevHash null first.
CREATE TEMP TABLE chained AS
WITH RECURSIVE c AS (
  SELECT e.pid, e.i, x.canon, encode(sha256(convert_to(x.canon, 'UTF8')), 'hex') AS hash
  FROM ent e,
       LATERAL (SELECT '{"action":' || to_json(e.action)::text || ',"actor":' || to_json(e.actor)::text || ',"at":"' || e.at_text
                       || '","details":' || e.details || ',"prevHash":null}' AS canon) x
  WHERE e.i = 1
  UNION ALL
  SELECT e.pid, e.i, x.canon, encode(sha256(convert_to(c.hash || x.canon, 'UTF8')), 'hex')
  FROM c JOIN ent e ON e.pid = c.pid AND e.i = c.i + 1,
       LATERAL (SELECT '{"action":' || to_json(e.action)::text || ',"actor":' || to_json(e.actor)::text || ',"at":"' || e.at_text
                       || '","details":' || e.details || ',"prevHash":"' || c.hash || '"}' AS canon) x
)
SELECT pid, i, (left(canon, -1) || ',"hash":"' || hash || '"}')::jsonb AS entry, hash FROM c;

CREATE TEMP TABLE trails AS
SELECT pid, jsonb_agg(entry ORDER BY i) AS trail, (array_agg(hash ORDER BY i DESC))[1] AS head, count(*)::int AS n
FROM chained GROUP BY pid;
CREATE UNIQUE INDEX ON trails (pid);
ANALYZE trails;

-- ---------------------------------------------------------------- the payouts themselves
CREATE OR REPLACE FUNCTION pg_temp.iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

INSERT INTO payout_management (id, payout_id, user_id, membership_id, queue_position, amount, currency, status, payment_method,
     eligibility_check, approval_workflow, scheduled_date, completed_date, bank_details, tax_withholding, processing, receipt_url,
     internal_notes, audit_trail, audit_head, audit_count, created_by, created_at, updated_at)
SELECT p.id, p.payout_id, p.user_id, p.membership_id, p.queue_position, 100000.00, 'USD', p.status, p.method,
  jsonb_build_object('revenue', ((:committed + :spare) * 100000::bigint)::text || '.00', 'revenueSource', 'subscription_service',
                     'queuePosition', p.queue_position, 'tenureStartDate', p.tenure_start, 'lifetimePaymentTotal', '980.00',
                     'totalSuccessfulPayments', 20, 'kycStatus', 'verified', 'availablePayouts', 3, 'committedPayouts', p.g,
                     'checkedAt', pg_temp.iso(p.created_at)),
  jsonb_build_object('requiredApprovals', 2, 'rejection',
      CASE WHEN p.status = 'rejected' THEN jsonb_build_object('adminId', :a_cara, 'email', 'cara.approver@scale.bench',
          'at', pg_temp.iso(p.created_at + interval '1 day'), 'reason', 'Queue position disputed: membership under review') END,
    'approvals', CASE
      WHEN p.status IN ('approved', 'payment_sent', 'payment_failed', 'completed') THEN jsonb_build_array(
        jsonb_build_object('adminId', :a_ben, 'email', 'ben.approver@scale.bench', 'role', 'Manager', 'comment', NULL,
                           'at', pg_temp.iso(p.created_at + CASE WHEN p.reissued THEN interval '6 days 2 hours' ELSE interval '1 day' END),
                           'fingerprint', encode(sha256(convert_to('fp ' || p.id, 'UTF8')), 'hex')),
        jsonb_build_object('adminId', :a_cara, 'email', 'cara.approver@scale.bench', 'role', 'Super Admin', 'comment', 'Checked queue and KYC',
                           'at', pg_temp.iso(p.created_at + CASE WHEN p.reissued THEN interval '6 days 4 hours' ELSE interval '1 day 3 hours' END),
                           'fingerprint', encode(sha256(convert_to('fp ' || p.id, 'UTF8')), 'hex')))
      WHEN p.status = 'cancelled' THEN jsonb_build_array(
        jsonb_build_object('adminId', :a_ben, 'email', 'ben.approver@scale.bench', 'role', 'Manager', 'comment', NULL,
                           'at', pg_temp.iso(p.created_at + interval '1 day'), 'fingerprint', encode(sha256(convert_to('fp ' || p.id, 'UTF8')), 'hex')))
      ELSE '[]'::jsonb END),
  CASE WHEN p.status IN ('payment_sent', 'payment_failed', 'completed') THEN p.arrival_at END,
  CASE WHEN p.status = 'completed' THEN p.completed_at END,
  CASE WHEN p.method = 'ach' AND p.status <> 'pending_approval' THEN jsonb_build_object(
      'encrypted', encode(sha256(convert_to('bank ' || p.id, 'UTF8')), 'hex') || encode(sha256(convert_to('bank2 ' || p.id, 'UTF8')), 'hex'),
      'iv', substr(md5('iv ' || p.id), 1, 24), 'authTag', md5('tag ' || p.id),
      'last4', lpad((p.n % 10000)::text, 4, '0'), 'accountType', 'checking', 'bankName', 'First Bank', 'keyId', 'k1',
      'updatedAt', pg_temp.iso(p.created_at + interval '4 hours'), 'setBy', 'user:' || p.user_id) END,
  CASE WHEN p.status IN ('payment_sent', 'payment_failed', 'completed') THEN jsonb_build_object(
      'hasW9', p.has_w9, 'rate', CASE WHEN p.has_w9 THEN '0' ELSE '0.24' END, 'amount', CASE WHEN p.has_w9 THEN '0.00' ELSE '24000.00' END,
      'reason', CASE WHEN p.has_w9 THEN NULL ELSE 'No W-9 on file: 24% federal backup withholding' END) END,
  CASE WHEN p.status IN ('payment_sent', 'payment_failed', 'completed') THEN jsonb_strip_nulls(jsonb_build_object(
      'calculation', jsonb_build_object('grossAmount', '100000.00', 'retentionFee', '300.00',
          'withholdingAmount', CASE WHEN p.has_w9 THEN '0.00' ELSE '24000.00' END, 'withholdingRate', CASE WHEN p.has_w9 THEN '0' ELSE '0.24' END,
          'withholdingReason', CASE WHEN p.has_w9 THEN NULL ELSE 'No W-9 on file: 24% federal backup withholding' END,
          'netAmount', CASE WHEN p.has_w9 THEN '99700.00' ELSE '75700.00' END, 'hasW9', p.has_w9,
          'lineItems', CASE WHEN p.has_w9 THEN jsonb_build_array(
              jsonb_build_object('label', 'Reward', 'amount', '100000.00'),
              jsonb_build_object('label', 'Retention fee (12 months of membership, prepaid)', 'amount', '-300.00'),
              jsonb_build_object('label', 'Net payment', 'amount', '99700.00'))
            ELSE jsonb_build_array(
              jsonb_build_object('label', 'Reward', 'amount', '100000.00'),
              jsonb_build_object('label', 'Retention fee (12 months of membership, prepaid)', 'amount', '-300.00'),
              jsonb_build_object('label', 'Federal backup withholding', 'amount', '-24000.00'),
              jsonb_build_object('label', 'Net payment', 'amount', '75700.00')) END),
      'instructions', CASE WHEN p.method = 'ach'
          THEN jsonb_build_object('method', 'ach', 'last4', lpad((p.n % 10000)::text, 4, '0'), 'accountType', 'checking', 'bankName', 'First Bank')
          ELSE jsonb_build_object('method', 'check', 'mailingAddress', jsonb_build_object('line1', p.n || ' Main St', 'line2', NULL,
                 'city', 'Austin', 'state', 'TX', 'postalCode', '78701', 'country', 'US')) END
        || jsonb_build_object('netAmount', CASE WHEN p.has_w9 THEN '99700.00' ELSE '75700.00' END, 'reference', p.payout_id,
                              'generatedAt', pg_temp.iso(p.created_at + interval '2 days'), 'generatedBy', 'admin:' || :a_ben),
      'instructionsGeneratedAt', pg_temp.iso(p.created_at + interval '2 days'),
      'sentDate', pg_temp.iso(p.sent_at), 'expectedArrivalDate', pg_temp.iso(p.arrival_at), 'sentBy', 'admin:' || :a_dan,
      'completedDate', CASE WHEN p.status = 'completed' THEN pg_temp.iso(p.completed_at) END,
      'confirmationNumber', CASE WHEN p.status = 'completed' THEN 'FED-' || lpad(p.g::text, 8, '0') END,
      'confirmedBy', CASE WHEN p.status = 'completed' THEN 'admin:' || :a_dan END,
      'failure', CASE WHEN p.status = 'payment_failed' THEN jsonb_build_object('reason', 'Account closed', 'returnCode', 'R02',
          'at', pg_temp.iso(p.sent_at + interval '2 days'), 'by', 'admin:' || :a_dan, 'previousStatus', 'payment_sent') END,
      'reissues', CASE WHEN p.reissued THEN 1 END,
      'membershipRemoved', CASE WHEN p.removed THEN true END,
      'membershipRemovedAt', CASE WHEN p.removed THEN pg_temp.iso(p.completed_at + interval '12 months 1 day') END,
      'subscriptionCancellation', CASE WHEN p.removed THEN jsonb_build_object('ok', true, 'state', 'done', 'attempts', 1,
          'requestedAt', pg_temp.iso(p.completed_at + interval '12 months 1 day')) END)) END,
  CASE WHEN p.status = 'completed' THEN '/api/payouts/' || p.payout_id || '/receipt' END,
  CASE WHEN p.status = 'cancelled' THEN jsonb_build_array(jsonb_build_object('at', pg_temp.iso(p.created_at + interval '1 day 3 hours'),
      'by', 'admin:' || :a_ava, 'note', 'Cancelled: Member asked to defer the payout'))
    WHEN p.g % 5 = 0 THEN jsonb_build_array(jsonb_build_object('at', pg_temp.iso(p.created_at), 'by', 'admin:' || :a_ava,
      'note', 'Round ' || (p.g / 25 + 1) || ' of the monthly payouts'))
    ELSE '[]'::jsonb END,
  t.trail, t.head, t.n, :a_ava, p.created_at,
  greatest(p.created_at, (SELECT max(at) FROM ent WHERE ent.pid = p.id))
FROM po p JOIN trails t ON t.pid = p.id;

-- ---------------------------------------------------------------- the rows beside the payouts
-- user_audit_logs: one per status change (what workflow::change writes), and the daily checks.
INSERT INTO user_audit_logs (id, user_id, admin_id, entity_type, entity_id, action, old_values, new_values, success,
                             ip_address, user_agent, metadata, created_at)
SELECT gen_random_uuid(), p.user_id, e.admin_id, 'payout', p.id, e.audit_action,
       CASE WHEN e.from_status IS NULL THEN NULL ELSE jsonb_build_object('status', e.from_status) END,
       CASE WHEN e.action = 'created'
            THEN jsonb_build_object('payoutId', p.payout_id, 'status', 'pending_approval', 'amount', '100000.00', 'paymentMethod', p.method)
            WHEN e.action = 'membership_removed' THEN jsonb_build_object('userStatus', 'Inactive')
            ELSE jsonb_build_object('status', e.to_status, 'details', e.details::jsonb) END,
       true, CASE WHEN e.admin_id IS NULL THEN NULL ELSE '10.1.0.' || e.admin_id END::inet,
       CASE WHEN e.admin_id IS NULL THEN NULL ELSE 'Mozilla/5.0 (X11; Linux x86_64)' END,
       jsonb_build_object('payoutId', p.payout_id, 'requestId', md5(p.id::text || e.i)),
       e.at
FROM ent e JOIN po p ON p.id = e.pid
WHERE e.audit_action IS NOT NULL;

INSERT INTO user_audit_logs (id, entity_type, action, new_values, success, metadata, created_at)
SELECT gen_random_uuid(), 'payout_eligibility', 'eligibility_check',
       jsonb_build_object('isEligible', true, 'availablePayouts', 20 + d % 40), true, jsonb_build_object('job', 'eligibility-check'),
       timestamptz '2021-12-01 02:00:00+00' + make_interval(days => d)
FROM generate_series(0, (now()::date - date '2021-12-01') - 1) d;

-- The emails those changes sent (all sent long ago): approved, payment sent, completed, rejected.
INSERT INTO payout_email_outbox (id, dedupe_key, template, recipient, subject, body_text, body_html, payout_id, status, attempts,
                                 next_attempt_at, created_at, sent_at, attach_receipt_of)
SELECT gen_random_uuid(), x.template || ':' || p.payout_id || ':' || substr(c.hash, 1, 16), x.template, 'member' || p.n || '@scale.bench',
       x.subject, 'Hello Member ' || p.n || E',\n\n' || x.subject || ' (payout ' || p.payout_id || E').\n\nTenure',
       '<p>Hello Member ' || p.n || ',</p><p>' || x.subject || ' (payout ' || p.payout_id || ').</p><p>Tenure</p>',
       p.payout_id, 'sent', 1, e.at, e.at, e.at + interval '2 seconds', CASE WHEN x.template = 'payout_completed' THEN p.payout_id END
FROM ent e JOIN po p ON p.id = e.pid JOIN chained c ON c.pid = e.pid AND c.i = e.i
JOIN (VALUES ('approved', 'payout_approved', 'Your payout was approved'), ('payment_sent', 'payment_sent', 'Your payment is on its way'),
             ('completed', 'payout_completed', 'Your payout is complete'), ('rejected', 'payout_rejected', 'Your payout was not approved'),
             ('membership_removed', 'membership_removed', 'Your membership has ended'))
  AS x(action, template, subject) ON x.action = e.action;

-- The 1099-MISC each confirmation filed; members retired 12 months after their payout.
INSERT INTO tax_forms (id, form_id, user_id, form_type, tax_year, status, recipient_info, payer_info, income_details, notes, created_at, updated_at)
SELECT gen_random_uuid(), gen_random_uuid()::text, p.user_id, '1099-MISC', extract(year FROM p.completed_at)::int,
       CASE WHEN extract(year FROM p.completed_at) < extract(year FROM now()) THEN 'filed_with_irs' ELSE 'pending' END,
       jsonb_build_object('name', 'Member ' || p.n, 'email', 'member' || p.n || '@scale.bench', 'userId', p.user_id),
       jsonb_build_object('name', 'Tenure'),
       jsonb_build_object('box3OtherIncome', '100000.00', 'federalIncomeTaxWithheld', CASE WHEN p.has_w9 THEN '0.00' ELSE '24000.00' END,
                          'payoutId', p.payout_id),
       'Payout ' || p.payout_id, p.completed_at, p.completed_at
FROM po p WHERE p.status = 'completed';

UPDATE users u SET status = 'Inactive', updated_at = p.completed_at + interval '12 months 1 day' FROM po p WHERE p.removed AND u.id = p.user_id;
UPDATE user_subscriptions s SET status = 'canceled', canceled_at = p.completed_at + interval '12 months 1 day'
FROM po p WHERE p.removed AND s.user_id = p.user_id;

-- Statistics before the queue view is materialized (its plan needs them) and the bench starts.
ANALYZE;
