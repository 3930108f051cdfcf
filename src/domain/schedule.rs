//! Cron expressions in UTC: standard 5 fields, or 6 with a leading seconds field.

use chrono::{DateTime, Utc};
use croner::Cron;

/// Parses `expr`; the error says what is wrong in words an operator can act on.
pub fn parse(expr: &str) -> Result<Cron, String> {
    let fields = expr.split_whitespace().count();
    if fields != 5 && fields != 6 {
        return Err(format!("'{expr}' must have 5 fields (min hour day month weekday) or 6 with seconds first"));
    }
    Cron::new(expr)
        .with_seconds_optional()
        .parse()
        .map_err(|e| format!("'{expr}' is not a valid cron expression: {e}"))
}

/// The first time strictly after `after` that `expr` matches.
pub fn next_after(expr: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    parse(expr).ok()?.find_next_occurrence(&after, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn daily_at_two_and_every_few_seconds() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 21, 0, 0).unwrap();
        assert_eq!(next_after("0 2 * * *", t), Some(Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap()));
        assert_eq!(next_after("*/5 * * * * *", t), Some(Utc.with_ymd_and_hms(2026, 11, 23, 21, 0, 5).unwrap()));
        assert!(parse("0 2 * *").is_err());
        assert!(parse("0 25 * * *").is_err());
    }
}
