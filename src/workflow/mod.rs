//! The use cases: each runs the rules of `domain` against the data of `db` in one transaction
//! with its audit rows and emails.

pub mod documents;
pub mod eligibility;
pub mod payments;
pub mod payouts;
pub mod reencrypt;
pub mod view;
