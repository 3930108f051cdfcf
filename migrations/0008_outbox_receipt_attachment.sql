-- Issue 14: the "payout completed" email carries the receipt as a PDF. The row names the payout
-- (payout_management.payout_id); the sender renders the receipt when it sends the message, with
-- the same renderer as the download, so the outbox stays small and the receipt's hash is recorded
-- in the payout's trail like any issued receipt. NULL: no attachment.
ALTER TABLE payout_email_outbox ADD COLUMN IF NOT EXISTS attach_receipt_of text;
