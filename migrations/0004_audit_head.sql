-- The audit trail's head outside the trail itself: the latest entry's hash and the number of
-- entries. Truncating the trail (deleting its newest entries) no longer goes unnoticed.
ALTER TABLE payout_management ADD COLUMN IF NOT EXISTS audit_head text;
ALTER TABLE payout_management ADD COLUMN IF NOT EXISTS audit_count integer;
