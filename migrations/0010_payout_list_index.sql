-- Issue 15 (bench/scale, 50,000 payouts): GET /api/payouts pages newest first, ties broken by
-- payout_id, optionally filtered by status, member, payment method and creation date. With only
-- (created_at DESC) the order needed an incremental sort, and a deep offset read every skipped
-- row whole and joined its member: 560 ms at offset 49,950. This index holds the whole order and
-- every filtered column, so the page's ids come from an index-only scan and only the page's rows
-- are read (src/db/payouts.rs `list`). It serves every query the old created_at index served (the
-- same leading column), which is dropped: one index less to write on every change.
CREATE INDEX IF NOT EXISTS payout_management_newest_idx
  ON payout_management (created_at DESC, payout_id DESC) INCLUDE (id, status, payment_method, user_id);
DROP INDEX IF EXISTS payout_management_created_at_idx;
