-- SPEC §14: payment files the bank takes (NACHA ACH, prenotes, Positive Pay), stored once with
-- their bytes and SHA-256 and never regenerated; the payouts each file holds; and the check
-- register that hands out Positive Pay check numbers.
CREATE TABLE IF NOT EXISTS payout_payment_files (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('ach', 'ach_prenote', 'positive_pay')),
  status text NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'void')),
  file_name text NOT NULL,
  content bytea NOT NULL,
  sha256 text NOT NULL,
  entry_count integer NOT NULL,
  total_amount numeric(14, 2) NOT NULL,
  effective_date date,
  payout_ids text[] NOT NULL,
  created_by integer,
  created_by_email text,
  created_at timestamptz NOT NULL DEFAULT now(),
  void_reason text,
  voided_by integer,
  voided_at timestamptz
);
CREATE INDEX IF NOT EXISTS payout_payment_files_created ON payout_payment_files (created_at DESC);

-- One row per payout in a file. `live` is true while the file is ready and the payout has not
-- been released (file voided, payout cancelled or reissued); a payout is in at most one live
-- ACH or Positive Pay file at a time (a prenote does not count).
CREATE TABLE IF NOT EXISTS payout_payment_file_items (
  file_id uuid NOT NULL REFERENCES payout_payment_files (id),
  payout_id text NOT NULL,
  kind text NOT NULL,
  live boolean NOT NULL DEFAULT true,
  amount numeric(14, 2) NOT NULL,
  trace_number text,
  check_number bigint,
  PRIMARY KEY (file_id, payout_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS payout_payment_file_items_one_live
  ON payout_payment_file_items (payout_id) WHERE live AND kind IN ('ach', 'positive_pay');

-- The check register (its file references are checked at commit: a file's checks are numbered
-- before its bytes exist): every number handed out, per originating account, never reused. A check
-- voided (payout cancelled or reissued, or its file voided) waits for the next Positive Pay file
-- to carry its void record.
CREATE TABLE IF NOT EXISTS payout_check_register (
  account text NOT NULL,
  check_number bigint NOT NULL,
  payout_id text NOT NULL,
  amount numeric(14, 2) NOT NULL,
  payee text NOT NULL,
  issue_date date NOT NULL,
  issued_in uuid NOT NULL REFERENCES payout_payment_files (id) DEFERRABLE INITIALLY DEFERRED,
  status text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'void')),
  voided_at timestamptz,
  void_reported_in uuid REFERENCES payout_payment_files (id) DEFERRABLE INITIALLY DEFERRED,
  PRIMARY KEY (account, check_number)
);
CREATE INDEX IF NOT EXISTS payout_check_register_payout ON payout_check_register (payout_id);

-- The next number per account; the row is locked while a file takes its numbers, so two files
-- made at once cannot take the same one.
CREATE TABLE IF NOT EXISTS payout_check_sequences (
  account text PRIMARY KEY,
  next_number bigint NOT NULL
);
