//! Pure business rules and types: no I/O, unit- and property-tested.

pub mod eligibility;
pub mod money;
pub mod selection;
