-- Benchmark dataset: many users, each with a live session, and some admins, so the session
-- lookup runs against realistically sized tables. :users is set by bench/run (psql -v users=N).
INSERT INTO users (id, email, name, status, email_verified)
SELECT gen_random_uuid(), 'bench' || g || '@tenure.bench', 'Bench User ' || g, 'Active', true
FROM generate_series(1, :users) g;

INSERT INTO session (id, token, expires_at, created_at, updated_at, user_id)
SELECT gen_random_uuid()::text, substr(md5(u.id::text) || md5(u.email), 1, 32),
       (now() AT TIME ZONE 'UTC') + interval '6 days', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', u.id
FROM users u WHERE u.email LIKE 'bench%';

INSERT INTO admin (email, role, name)
SELECT 'bench' || g || '@tenure.bench', (ARRAY['Super Admin','Manager','Support'])[1 + g % 3]::enum_admin_role, 'Bench Admin ' || g
FROM generate_series(1, 50) g;

ANALYZE users; ANALYZE session; ANALYZE admin;
