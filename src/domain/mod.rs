//! Pure business rules and types: no I/O, unit- and property-tested. Imports nothing else of
//! the crate.

pub mod approvals;
pub mod audit_chain;
pub mod bank;
pub mod banking_days;
pub mod calculation;
pub mod change;
pub mod csv;
pub mod eligibility;
pub mod iris_1099;
pub mod money;
pub mod nacha;
pub mod payment_method;
pub mod payout;
pub mod positive_pay;
pub mod processing;
pub mod schedule;
pub mod selection;
pub mod status;
pub mod validation;
pub mod w9;
