//! `AppError`: every failure a request or a job can meet, each with a stable `ErrorCode`. The
//! codes live in one enum with their HTTP status and meaning; `docs/errors.md` lists the same
//! (a test keeps them in step). Turning an error into a response is the transport's job
//! (`http::error`): this module knows nothing of HTTP beyond the status number of each code.

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::domain::change::Refusal;
pub use crate::domain::validation::FieldError;

macro_rules! error_codes {
    ($($variant:ident $name:literal = $status:literal, $meaning:literal;)+) => {
        /// The stable, machine-readable code of every error response (SPEC §10).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order `docs/errors.md` lists them.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The HTTP status every response with this code has.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)+ }
            }

            /// `INVALID_STATUS`.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)+ }
            }

            /// What the code means, in one line.
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning,)+ }
            }
        }
    };
}

error_codes! {
    ValidationError "VALIDATION_ERROR" = 400, "One or more fields of the request are invalid; `details` lists every one.";
    Unauthorized "UNAUTHORIZED" = 401, "No session cookie or bearer token was sent.";
    InvalidSession "INVALID_SESSION" = 401, "The session is unknown or expired, or its signature does not match.";
    Forbidden "FORBIDDEN" = 403, "The caller's role may not do this.";
    SelfApprovalForbidden "SELF_APPROVAL_FORBIDDEN" = 403, "An admin may not approve a payout they created or one that pays them.";
    DestinationMakerCannotApprove "DESTINATION_MAKER_CANNOT_APPROVE" = 403, "The admin who last set a payout's bank details may not approve it.";
    CsrfRejected "CSRF_REJECTED" = 403, "A cookie-authenticated change came without an allowed Origin or Referer.";
    TwoFactorRequired "TWO_FACTOR_REQUIRED" = 403, "ADMIN_REQUIRE_2FA is on and the caller's two-factor authentication is off.";
    NotFound "NOT_FOUND" = 404, "No such resource, or one the caller may not see.";
    PayoutNotFound "PAYOUT_NOT_FOUND" = 404, "No such payout, or another member's.";
    MethodNotAllowed "METHOD_NOT_ALLOWED" = 405, "The path exists but not with this HTTP method.";
    Conflict "CONFLICT" = 409, "A concurrent request collided with this one; retry.";
    InvalidStatus "INVALID_STATUS" = 409, "The action is not allowed from the payout's current status.";
    AlreadyApproved "ALREADY_APPROVED" = 409, "This admin (or the same person under another admin row) already approved the payout.";
    DestinationChanged "DESTINATION_CHANGED" = 409, "The destination changed since it was approved: approvals and instructions were cleared.";
    InstructionsNotGenerated "INSTRUCTIONS_NOT_GENERATED" = 409, "Payment instructions must be generated first.";
    ReceiptNotAvailable "RECEIPT_NOT_AVAILABLE" = 409, "A receipt exists once the payout is completed.";
    AlreadyInFile "ALREADY_IN_FILE" = 409, "A payout is already in a live ACH or Positive Pay file; void that file first.";
    FileAlreadySent "FILE_ALREADY_SENT" = 409, "A payment file whose payouts are marked sent cannot be voided.";
    IdempotencyKeyInProgress "IDEMPOTENCY_KEY_IN_PROGRESS" = 409, "A request with this Idempotency-Key is still being processed; retry shortly.";
    PayloadTooLarge "PAYLOAD_TOO_LARGE" = 413, "The request body is larger than 1 MiB.";
    UnsupportedMediaType "UNSUPPORTED_MEDIA_TYPE" = 415, "The body must be JSON (Content-Type: application/json).";
    IdempotencyKeyReused "IDEMPOTENCY_KEY_REUSED" = 422, "This Idempotency-Key was used with a different request.";
    NotEligible "NOT_ELIGIBLE" = 422, "Revenue, company age or the queue do not allow a payout now.";
    ExceedsAvailablePayouts "EXCEEDS_AVAILABLE_PAYOUTS" = 422, "More payouts were requested than revenue covers.";
    MemberNotSelectable "MEMBER_NOT_SELECTABLE" = 422, "A requested member is blocked (KYC, subscription, an open payout) or not in the queue.";
    QueueOrderViolation "QUEUE_ORDER_VIOLATION" = 422, "Selectable members ahead in the queue would be skipped.";
    NoOpenPayout "NO_OPEN_PAYOUT" = 422, "The member has no open payout to attach bank details to.";
    UnsupportedPaymentMethod "UNSUPPORTED_PAYMENT_METHOD" = 422, "A legacy payout uses a method the service cannot pay (wire, paypal).";
    AddressMissing "ADDRESS_MISSING" = 422, "A check needs the member's primary mailing address.";
    BankDetailsMissing "BANK_DETAILS_MISSING" = 422, "An ACH transfer needs the member's bank details.";
    BankDetailsNotEncrypted "BANK_DETAILS_NOT_ENCRYPTED" = 422, "The old service stored these bank details in plain text; run `payout-service reencrypt` before paying.";
    BankDetailsUnreadable "BANK_DETAILS_UNREADABLE" = 422, "The stored bank details cannot be decrypted or are incomplete.";
    BankProfileMissing "BANK_PROFILE_MISSING" = 422, "The bank profile (or the payer for tax files) is not configured: set the BANK_* / PAYER_* settings.";
    NotABankingDay "NOT_A_BANKING_DAY" = 422, "The requested effective date is a weekend, a Federal Reserve holiday or not after today.";
    WrongPaymentMethod "WRONG_PAYMENT_METHOD" = 422, "A payout of the other payment method was named for this file.";
    TaxFileInvalid "TAX_FILE_INVALID" = 422, "The year's 1099-MISC data cannot make a valid IRIS file; `details.problems` lists every one.";
    RateLimited "RATE_LIMITED" = 429, "Too many requests from this client; wait for Retry-After seconds.";
    InternalError "INTERNAL_ERROR" = 500, "An unexpected failure; it is logged with the request id.";
    ServiceUnavailable "SERVICE_UNAVAILABLE" = 503, "The database (or the request's time budget) is not available; retry shortly.";
}

/// Every failure a request or job can meet; `code()` gives its stable code and status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Sign in first: send the main app's session cookie, or its session token as `Authorization: Bearer <token>`")]
    Unauthorized,
    #[error("This session is unknown, expired or signed with another secret: sign in to the main app again")]
    InvalidSession,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("No payout has this id (or it is another member's): check the id, or list payouts with GET /api/payouts")]
    PayoutNotFound,
    #[error("{message}")]
    Validation { message: String, details: Vec<FieldError> },
    /// A business rule said no; the code carries the status.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String, details: Option<Value> },
    #[error("Request body is larger than the 1 MiB limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("This path does not take that HTTP method: see /docs for what it takes")]
    MethodNotAllowed,
    #[error("Too many requests; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Anything unexpected. The cause is logged; the caller sees a generic message.
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

/// "Cannot … a payout that is …", and what to do next.
fn invalid_transition_message(t: crate::domain::status::InvalidTransition) -> String {
    use crate::domain::status::{Action as A, PayoutStatus as S};
    let verb = match t.action {
        A::Approve { .. } => "approve",
        A::Reject => "reject",
        A::Cancel => "cancel",
        A::GenerateInstructions => "generate instructions for",
        A::MarkSent => "mark as sent",
        A::Confirm => "confirm",
        A::MarkFailed => "mark as failed",
        A::Reissue => "reissue",
        A::ChangeDestination => "change the bank details of",
        A::IssueReceipt => "issue a receipt for",
        A::RemoveMembership => "retire the membership of",
        A::File => "put in a payment file",
        A::Prenote => "send a prenote for",
        A::Reveal => "reveal the bank details of",
    };
    let next = match (t.from, t.action) {
        (S::Completed, A::Cancel | A::Reject) => "it is paid; a payment returned by the bank is recorded with mark-failed",
        (S::Rejected | S::Cancelled, _) => "it is closed for good; create a new payout if the member should still be paid",
        (S::Completed, _) => "it is completed; nothing is left to do",
        (S::PendingApproval, A::GenerateInstructions | A::MarkSent | A::File | A::Confirm) => {
            "it needs its approvals first (two admins other than its creator)"
        }
        (S::Approved, A::Approve { .. }) => "it is already fully approved; generate its instructions next",
        (S::Approved, A::Confirm) => "mark it as sent first",
        (S::Approved, A::Reject) => "an approved payout can be cancelled instead",
        (S::PaymentSent, A::MarkSent) => "it is already marked as sent; confirm it once the money arrived, or mark it as failed",
        (S::PaymentSent, A::Cancel | A::Reject) => "the money is on its way; mark it as failed if the bank returns it",
        (S::PaymentSent, _) => "confirm it once the money arrived, or mark it as failed",
        (S::PaymentFailed, A::Reissue) => "",
        (S::PaymentFailed, _) => "reissue it first (it then needs fresh approvals)",
        (_, A::Reissue) => "only a failed payment can be reissued",
        (_, A::MarkFailed) => "only a payment that was sent can fail",
        _ => "",
    };
    if next.is_empty() {
        format!("Cannot {verb} a payout that is {}", t.from)
    } else {
        format!("Cannot {verb} a payout that is {}: {next}", t.from)
    }
}

impl AppError {
    /// 400 with every bad field; the message names the field when there is one.
    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.path, one.message),
            _ => format!("{} fields are invalid", details.len()),
        };
        AppError::Validation { message, details }
    }

    /// A refusal with its code and message.
    pub fn refused(code: ErrorCode, message: impl Into<String>, details: Option<Value>) -> Self {
        AppError::Refused { code, message: message.into(), details }
    }

    /// An unexpected failure: logged once, opaque to the caller.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthorized => ErrorCode::Unauthorized,
            AppError::InvalidSession => ErrorCode::InvalidSession,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::PayoutNotFound => ErrorCode::PayoutNotFound,
            AppError::Validation { .. } => ErrorCode::ValidationError,
            AppError::Refused { code, .. } => *code,
            AppError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            AppError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            AppError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::ServiceUnavailable(_) => ErrorCode::ServiceUnavailable,
            AppError::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The `details` of the envelope, when the error has any.
    pub fn details(&self) -> Option<Value> {
        match self {
            AppError::Validation { details, .. } => Some(json!(details)),
            AppError::Refused { details, .. } => details.clone(),
            _ => None,
        }
    }

    /// A domain refusal of an action on payout `payout_id`.
    pub fn from_refusal(refusal: Refusal, payout_id: &str) -> Self {
        use crate::domain::approvals::{ApprovalRefusal, SelfApproval};
        let payout = || Some(json!({ "payoutId": payout_id }));
        match refusal {
            Refusal::InvalidStatus(t) => AppError::refused(
                ErrorCode::InvalidStatus,
                invalid_transition_message(t),
                Some(json!({ "payoutId": payout_id, "currentStatus": t.from, "action": t.action.name() })),
            ),
            Refusal::NotAnAdmin => AppError::Forbidden("Only an admin (Super Admin or Manager) may do this: ask one of them".into()),
            Refusal::Approval(r @ ApprovalRefusal::AlreadyApproved) => AppError::refused(ErrorCode::AlreadyApproved, r.message(), payout()),
            Refusal::Approval(r @ ApprovalRefusal::SelfApproval(SelfApproval::Creator | SelfApproval::Payee)) => {
                AppError::refused(ErrorCode::SelfApprovalForbidden, r.message(), None)
            }
            Refusal::Approval(r @ ApprovalRefusal::SelfApproval(SelfApproval::DestinationMaker)) => {
                AppError::refused(ErrorCode::DestinationMakerCannotApprove, r.message(), None)
            }
            Refusal::DestinationChanged => AppError::refused(
                ErrorCode::DestinationChanged,
                "Where this payout would be paid changed since it was approved: its approvals and instructions were cleared; two admins approve it again, then generate its instructions",
                payout(),
            ),
            Refusal::InstructionsNotGenerated => AppError::refused(
                ErrorCode::InstructionsNotGenerated,
                "This payout has no payment instructions yet: generate them (generate-instructions), then mark the payment sent",
                payout(),
            ),
            Refusal::UnsupportedPaymentMethod(method) => AppError::refused(
                ErrorCode::UnsupportedPaymentMethod,
                format!("Payouts are paid by ACH or check; this legacy payout says '{method}': cancel it and create a new one"),
                None,
            ),
            Refusal::AddressMissing => AppError::refused(
                ErrorCode::AddressMissing,
                "A check needs the member's primary mailing address and there is none: the member adds one in the main app, then generate the instructions again",
                None,
            ),
            Refusal::BankDetailsMissing => {
                AppError::refused(
                    ErrorCode::BankDetailsMissing,
                    "An ACH transfer needs the member's bank details and there are none: the member submits them on /console/me (or an admin through POST /api/members/{userId}/bank-info), then try again",
                    None,
                )
            }
            Refusal::BankDetailsNotEncrypted => AppError::refused(
                ErrorCode::BankDetailsNotEncrypted,
                "These bank details were stored in plain text by the old service and are never used to pay: run `payout-service reencrypt` (or ask the member to submit them again) first",
                None,
            ),
            Refusal::BankDetailsUnreadable => AppError::refused(
                ErrorCode::BankDetailsUnreadable,
                "The stored bank details cannot be read (unknown key or incomplete): ask the member to submit them again, or configure ENCRYPTION_KEY_PREVIOUS",
                None,
            ),
            Refusal::WrongPaymentMethod { expected } => AppError::refused(
                ErrorCode::WrongPaymentMethod,
                format!("Payout {payout_id} is not paid by {expected}: this file takes {expected} payouts only"),
                payout(),
            ),
            Refusal::AlreadyInFile(file_id) => AppError::refused(
                ErrorCode::AlreadyInFile,
                format!("Payout {payout_id} is in the live payment file {file_id}: void that file first"),
                Some(json!({ "payoutId": payout_id, "fileId": file_id })),
            ),
            Refusal::Invalid(errors) => AppError::validation(errors),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        let away = || AppError::ServiceUnavailable("The database is not answering; try again shortly".into());
        match &err {
            // The database is away, restarting, or broke a pooled connection (SPEC §13: 503,
            // never 500; the pool replaces the connection and recovers by itself).
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => away(),
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) => away(),
            // Text PostgreSQL cannot store (e.g. a NUL byte) is the caller's input, not our fault.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
                AppError::validation(vec![FieldError::new("body", "contains characters that cannot be stored (e.g. NUL)")])
            }
            _ => AppError::Internal(err.into()),
        }
    }
}

/// The result of every use case and handler.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/errors.md and the enum list the same codes, statuses and meanings, in one order.
    #[test]
    fn the_error_catalogue_matches_the_enum() {
        let doc = include_str!("../docs/errors.md");
        let rows: Vec<Vec<String>> = doc
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().trim_matches('`').to_string()).collect())
            .collect();
        let expected: Vec<Vec<String>> =
            ErrorCode::ALL.iter().map(|c| vec![c.as_str().to_string(), c.status().to_string(), c.meaning().to_string()]).collect();
        assert_eq!(rows, expected, "regenerate the table in docs/errors.md from ErrorCode");
    }

    #[test]
    fn a_database_that_went_away_is_a_503() {
        let broken = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "broken pipe"));
        assert_eq!(AppError::from(broken).code(), ErrorCode::ServiceUnavailable);
        assert_eq!(AppError::from(sqlx::Error::PoolClosed).code(), ErrorCode::ServiceUnavailable);
        assert_eq!(AppError::from(sqlx::Error::RowNotFound).code(), ErrorCode::InternalError);
    }

    #[test]
    fn a_refused_transition_says_what_to_do_next() {
        use crate::domain::status::{Action, InvalidTransition, PayoutStatus};
        let message = |from, action| AppError::from_refusal(Refusal::InvalidStatus(InvalidTransition { from, action }), "PO-1").to_string();
        assert_eq!(
            message(PayoutStatus::PendingApproval, Action::GenerateInstructions),
            "Cannot generate instructions for a payout that is pending_approval: it needs its approvals first (two admins other than its creator)"
        );
        assert!(message(PayoutStatus::Approved, Action::Confirm).ends_with("mark it as sent first"));
        assert!(message(PayoutStatus::Cancelled, Action::Approve { completes: false }).contains("closed for good"));
        assert_eq!(message(PayoutStatus::PaymentFailed, Action::Cancel), "Cannot cancel a payout that is payment_failed: reissue it first (it then needs fresh approvals)");
    }

    /// Every refused (status, action) pair a person can ask for says what to do next, and
    /// every other refusal names its cause and its remedy.
    #[test]
    fn every_refusal_says_what_to_do_next() {
        use crate::domain::approvals::{ApprovalRefusal, SelfApproval};
        use crate::domain::payment_method::PaymentMethod;
        use crate::domain::status::{transition, Action as A, ALL_STATUSES};
        let actions = [
            A::Approve { completes: false },
            A::Reject,
            A::Cancel,
            A::GenerateInstructions,
            A::MarkSent,
            A::Confirm,
            A::MarkFailed,
            A::Reissue,
            A::ChangeDestination,
            A::File,
            A::Prenote,
            A::Reveal,
        ];
        let mut bare = Vec::new();
        for from in ALL_STATUSES {
            for action in actions {
                if let Err(t) = transition(from, action) {
                    let m = AppError::from_refusal(Refusal::InvalidStatus(t), "PO-1").to_string();
                    if !m.contains(": ") {
                        bare.push(m);
                    }
                }
            }
        }
        assert!(bare.is_empty(), "refusals without a next step:\n{}", bare.join("\n"));
        let others = [
            Refusal::NotAnAdmin,
            Refusal::DestinationChanged,
            Refusal::Approval(ApprovalRefusal::AlreadyApproved),
            Refusal::Approval(ApprovalRefusal::SelfApproval(SelfApproval::Creator)),
            Refusal::Approval(ApprovalRefusal::SelfApproval(SelfApproval::Payee)),
            Refusal::Approval(ApprovalRefusal::SelfApproval(SelfApproval::DestinationMaker)),
            Refusal::InstructionsNotGenerated,
            Refusal::UnsupportedPaymentMethod(PaymentMethod::Wire),
            Refusal::AddressMissing,
            Refusal::BankDetailsMissing,
            Refusal::BankDetailsNotEncrypted,
            Refusal::BankDetailsUnreadable,
            Refusal::WrongPaymentMethod { expected: PaymentMethod::Ach },
            Refusal::AlreadyInFile("f-1".into()),
        ];
        for r in others {
            let m = AppError::from_refusal(r.clone(), "PO-1").to_string();
            assert!(m.contains(": ") || m.contains("; "), "{r:?} gives no remedy: {m}");
        }
        for e in [AppError::Unauthorized, AppError::InvalidSession, AppError::PayoutNotFound, AppError::MethodNotAllowed] {
            assert!(e.to_string().contains(": "), "{e:?} gives no remedy: {e}");
        }
    }

    #[test]
    fn codes_serialize_as_their_names() {
        assert_eq!(ErrorCode::InvalidStatus.as_str(), "INVALID_STATUS");
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()), "serde and as_str agree");
        }
        assert_eq!(serde_json::to_value(ErrorCode::SelfApprovalForbidden).unwrap(), json!("SELF_APPROVAL_FORBIDDEN"));
        assert_eq!(AppError::PayoutNotFound.code().status(), 404);
    }
}
