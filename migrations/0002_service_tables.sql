-- The service's own tables. Everything here is prefixed payout_ so nothing collides with the main app.

-- Emails written in the same transaction as the change that causes them; a worker sends them.
CREATE TABLE payout_email_outbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dedupe_key text NOT NULL UNIQUE,          -- one message per event and recipient, ever
  template text NOT NULL,                   -- e.g. payout_approved
  recipient text NOT NULL,
  subject text NOT NULL,
  body_text text NOT NULL,
  body_html text,
  payout_id text,                           -- payout_management.payout_id when about one
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  claimed_by text,
  claimed_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX payout_email_outbox_due_idx ON payout_email_outbox (next_attempt_at) WHERE status = 'pending';

-- One row per scheduled job slot: the primary key makes each slot run once across instances.
CREATE TABLE payout_job_slots (
  job_name text NOT NULL,
  slot timestamptz NOT NULL,                -- the scheduled time this run stands for
  trigger text NOT NULL DEFAULT 'schedule' CHECK (trigger IN ('schedule', 'manual', 'catch_up')),
  claimed_by text NOT NULL,                 -- instance id
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  outcome text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'succeeded', 'failed')),
  duration_ms bigint,
  summary jsonb,
  error text,
  PRIMARY KEY (job_name, slot)
);
CREATE INDEX payout_job_slots_recent_idx ON payout_job_slots (job_name, started_at DESC);

-- Idempotency-Key handling for POST endpoints; keys are scoped to the caller and live 24 h.
CREATE TABLE payout_idempotency_keys (
  actor text NOT NULL,                      -- "admin:<id>" or "user:<uuid>"
  key text NOT NULL,
  method text NOT NULL,
  path text NOT NULL,
  request_hash text NOT NULL,               -- SHA-256 of method, path and body
  state text NOT NULL DEFAULT 'in_progress' CHECK (state IN ('in_progress', 'completed')),
  response_status integer,
  response_body bytea,
  response_content_type text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL DEFAULT now() + interval '24 hours',
  PRIMARY KEY (actor, key)
);
CREATE INDEX payout_idempotency_keys_expiry_idx ON payout_idempotency_keys (expires_at);
