-- SPEC §13: job slots run to completion. A claim holds a lease (renewed while the job runs)
-- and a token that fences its writes; a slot whose run failed or whose lease ran out (its
-- instance died) is claimed again until it succeeds.
ALTER TABLE payout_job_slots ADD COLUMN IF NOT EXISTS lease_until timestamptz;
ALTER TABLE payout_job_slots ADD COLUMN IF NOT EXISTS claim_token uuid;
ALTER TABLE payout_job_slots ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 1;
