//! CSV cells for files people open in a spreadsheet (Positive Pay, IRIS): RFC 4180 quoting, and
//! no cell that a spreadsheet would run as a formula.

/// A text cell, always quoted: quotes doubled, and a leading `=`, `+`, `-`, `@`, tab or CR
/// (which Excel and friends treat as a formula) neutralised with a leading `'`.
pub fn text(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

/// One row: cells joined by commas, ended by CRLF (RFC 4180).
pub fn row(cells: &[String]) -> String {
    let mut line = cells.join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_and_formulas_defused() {
        assert_eq!(text("Ann \"Nan\" Lee, Jr."), "\"Ann \"\"Nan\"\" Lee, Jr.\"");
        assert_eq!(text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for risky in ["+1", "-2", "@SUM(A1)", "\tx"] {
            assert!(text(risky).starts_with("\"'"), "{risky}");
        }
        assert_eq!(text("O'Neil"), "\"O'Neil\"");
        assert_eq!(row(&["1".into(), text("a")]), "1,\"a\"\r\n");
    }
}
