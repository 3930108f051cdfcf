-- SPEC §13: outbox claims are fenced. Each claim gets a fresh token; every later write of the
-- row (renew, sent, retry, failed) names it, so an instance whose lease ran out and whose
-- message another instance took can neither send nor settle it.
ALTER TABLE payout_email_outbox ADD COLUMN IF NOT EXISTS claim_token uuid;
