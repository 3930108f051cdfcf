//! The use cases: each runs the rules of `domain` against the data of `db` in one transaction
//! with its audit rows and emails. Every payout change goes through `change::apply`. Use cases
//! take a `Context` (pool, keyring, clients, rules), never the HTTP state.

pub mod change;
pub mod context;
pub mod documents;
pub mod eligibility;
pub mod member_details;
pub mod member_view;
pub mod notices;
pub mod payment_files;
pub mod payments;
pub mod payouts;
pub mod reencrypt;
pub mod reports;
pub mod tax_file;
pub mod view;

pub use context::Context;
