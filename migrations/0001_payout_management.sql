-- Bring payout_management to the service's shape, keeping every row the old Node service wrote.
-- Creates the table (in the old shape first) when it does not exist, so both paths converge.

CREATE OR REPLACE FUNCTION payout_try_timestamptz(value text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN value::timestamptz;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;

DO $$
BEGIN
  IF to_regclass('payout_management') IS NULL THEN
    CREATE TABLE payout_management (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      payout_id text NOT NULL UNIQUE,
      -- No foreign keys here: a constraint would put triggers on the main app's tables.
      user_id uuid NOT NULL,
      membership_id uuid,
      queue_position integer NOT NULL,
      amount numeric(12,2) NOT NULL DEFAULT 100000.00,
      currency text DEFAULT 'USD',
      status text NOT NULL DEFAULT 'pending_approval',
      payment_method text NOT NULL DEFAULT 'ach' CHECK (payment_method IN ('ach', 'wire', 'check', 'paypal')),
      eligibility_check jsonb DEFAULT '{}',
      approval_workflow jsonb DEFAULT '[]',
      scheduled_date timestamptz,
      bank_details jsonb,
      tax_withholding jsonb,
      processing jsonb,
      receipt_url text,
      internal_notes jsonb DEFAULT '[]',
      audit_trail jsonb DEFAULT '[]',
      created_at timestamptz DEFAULT now(),
      updated_at timestamptz DEFAULT now()
    );
    CREATE INDEX payout_management_user_id_idx ON payout_management (user_id);
    CREATE INDEX payout_management_status_idx ON payout_management (status);
    CREATE INDEX payout_management_membership_id_idx ON payout_management (membership_id);
  END IF;
END $$;

-- Columns the service adds. created_by is the admin.id of the creating admin; no foreign key,
-- because a constraint would put triggers on the main app's admin table.
ALTER TABLE payout_management ADD COLUMN IF NOT EXISTS created_by integer;
ALTER TABLE payout_management ADD COLUMN IF NOT EXISTS completed_date timestamptz;

-- Replace the old status CHECK (whatever production named it) with ours.
DO $$
DECLARE c record;
BEGIN
  FOR c IN
    SELECT conname FROM pg_constraint
    WHERE conrelid = 'payout_management'::regclass AND contype = 'c'
      AND pg_get_constraintdef(oid) LIKE '%status%'
      AND pg_get_constraintdef(oid) NOT LIKE '%payment_method%'
  LOOP
    EXECUTE format('ALTER TABLE payout_management DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;

-- Legacy status mapping (SPEC §4): processing → payment_sent, failed → payment_failed,
-- scheduled → approved; cancelled and completed stay.
UPDATE payout_management SET status = CASE status
    WHEN 'processing' THEN 'payment_sent'
    WHEN 'failed' THEN 'payment_failed'
    WHEN 'scheduled' THEN 'approved'
  END
WHERE status IN ('processing', 'failed', 'scheduled');

ALTER TABLE payout_management ADD CONSTRAINT payout_management_status_chk CHECK (status IN
  ('pending_approval', 'approved', 'rejected', 'payment_sent', 'completed', 'payment_failed', 'cancelled'));

-- completed_date from the old processing.completedDate where only the latter exists.
UPDATE payout_management
SET completed_date = payout_try_timestamptz(processing ->> 'completedDate')
WHERE completed_date IS NULL
  AND processing ? 'completedDate'
  AND payout_try_timestamptz(processing ->> 'completedDate') IS NOT NULL;

-- New rows get the object-shaped approval workflow; old array-shaped rows are read as they are.
ALTER TABLE payout_management ALTER COLUMN approval_workflow
  SET DEFAULT '{"requiredApprovals": 2, "approvals": [], "rejection": null}';
ALTER TABLE payout_management ALTER COLUMN internal_notes SET DEFAULT '[]';
ALTER TABLE payout_management ALTER COLUMN audit_trail SET DEFAULT '[]';

-- One open payout per member at most, enforced by the database itself. If the old data already
-- breaks that rule, stop and name the rows: a person must decide which payout is real.
DO $$
DECLARE dupes text;
BEGIN
  SELECT string_agg(user_id::text || ': ' || ids, '; ') INTO dupes FROM (
    SELECT user_id, string_agg(payout_id, ', ' ORDER BY created_at) AS ids
    FROM payout_management
    WHERE status IN ('pending_approval', 'approved', 'payment_sent', 'payment_failed')
    GROUP BY user_id HAVING count(*) > 1) d;
  IF dupes IS NOT NULL THEN
    RAISE EXCEPTION 'payout_management holds more than one open payout for a member (%); cancel the extra ones by hand, then migrate again', dupes;
  END IF;
END $$;

CREATE UNIQUE INDEX IF NOT EXISTS payout_management_one_open_per_user
  ON payout_management (user_id)
  WHERE status IN ('pending_approval', 'approved', 'payment_sent', 'payment_failed');

CREATE INDEX IF NOT EXISTS payout_management_created_at_idx ON payout_management (created_at DESC);
CREATE INDEX IF NOT EXISTS payout_management_completed_date_idx
  ON payout_management (completed_date) WHERE status = 'completed';
