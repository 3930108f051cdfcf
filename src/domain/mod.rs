//! Pure business rules and types: no I/O, unit- and property-tested.

pub mod approvals;
pub mod audit_chain;
pub mod bank;
pub mod calculation;
pub mod eligibility;
pub mod money;
pub mod selection;
pub mod status;
