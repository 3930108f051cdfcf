-- Issue 14: a message can be withdrawn instead of sent. The "payout completed" email is rendered
-- with its receipt when it goes out; if the payout is no longer completed by then (a return was
-- recorded first), telling the member it is complete would be wrong: the message is withdrawn,
-- with the reason in last_error, and the payment-failed email tells the truth instead.
ALTER TABLE payout_email_outbox DROP CONSTRAINT IF EXISTS payout_email_outbox_status_check;
ALTER TABLE payout_email_outbox ADD CONSTRAINT payout_email_outbox_status_check
  CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn'));
