-- Shared rate-limit counters for RATE_LIMIT_STORE=postgres: one row per client IP and window.
-- UNLOGGED: counts need not survive a crash, and skipping the WAL keeps the per-request upsert cheap.
CREATE UNLOGGED TABLE payout_rate_limits (
  key text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  count integer NOT NULL
);
CREATE INDEX payout_rate_limits_window_idx ON payout_rate_limits (window_start);
