//! One bad field of a request, as validation errors list them (every one at once).

use serde::Serialize;

/// One bad field: where, and what is wrong with it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// Where the field is: `userIds[2]`, `routingNumber`, `body`.
    pub path: String,
    pub message: String,
}

impl FieldError {
    /// The field at `path` and the sentence that says what is wrong.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}
