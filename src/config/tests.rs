use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn valid() -> HashMap<String, String> {
    vars(&[
        ("DATABASE_URL", "postgres://u:p@localhost/db"),
        ("BETTER_AUTH_SECRET", "a-better-auth-secret-of-decent-length"),
        ("ENCRYPTION_KEY", "0123456789abcdef0123456789abcdef"),
    ])
}

#[test]
fn defaults_are_the_documented_ones() {
    let s = Settings::from_map(&valid(), Purpose::Serve).unwrap();
    assert_eq!(s.http.port, 3002);
    assert_eq!(s.payout.required_approvals, 2);
    assert_eq!(s.payout.payout_threshold, Decimal::from(100_000));
    assert_eq!(s.payout.retention_fee, Decimal::from(300));
    assert_eq!(s.payout.backup_withholding_rate, Decimal::new(24, 2));
    assert_eq!(s.payout.business_launch_date, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
    assert_eq!(s.http.rate_limit.max, 100);
    assert_eq!(s.http.rate_limit.window, Duration::from_secs(900));
    assert_eq!(s.email.from_name, "Home Solutions");
    assert!(!s.scheduler_enabled());
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut v = valid();
    v.insert("ENCRYPTION_KEY".into(), "short".into());
    v.insert("PORT".into(), "99999".into());
    v.insert("REQUIRED_APPROVALS".into(), "1".into());
    v.insert("BUSINESS_LAUNCH_DATE".into(), "soon".into());
    v.insert("BETTER_AUTH_COLUMNS".into(), "kebab".into());
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    let named: Vec<_> = err.0.iter().map(|p| p.variable).collect();
    for var in ["ENCRYPTION_KEY", "PORT", "REQUIRED_APPROVALS", "BUSINESS_LAUNCH_DATE", "BETTER_AUTH_COLUMNS"] {
        assert!(named.contains(&var), "{var} missing from {named:?}");
    }
    assert!(err.to_string().contains("ENCRYPTION_KEY: must be exactly 32"));
}

#[test]
fn secrets_are_required_to_serve_but_not_to_migrate() {
    let v = vars(&[("DATABASE_URL", "postgres://localhost/db")]);
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    let named: Vec<_> = err.0.iter().map(|p| p.variable).collect();
    assert_eq!(named, vec!["BETTER_AUTH_SECRET", "ENCRYPTION_KEY"]);
    assert!(Settings::from_map(&v, Purpose::Migrate).is_ok());
    assert!(Settings::from_map(&HashMap::new(), Purpose::Dev).is_ok());
}

#[test]
fn launch_date_accepts_dates_and_iso_datetimes() {
    for raw in ["2024-03-15", "2024-03-15T00:00:00Z", "2024-03-15T10:00:00.000+00:00", "2024-03-15T10:00:00"] {
        let mut v = valid();
        v.insert("BUSINESS_LAUNCH_DATE".into(), raw.into());
        let s = Settings::from_map(&v, Purpose::Serve).unwrap();
        assert_eq!(s.payout.business_launch_date, NaiveDate::from_ymd_opt(2024, 3, 15).unwrap(), "{raw}");
    }
}

#[test]
fn production_enables_the_scheduler_and_needs_smtp() {
    let mut v = valid();
    v.insert("NODE_ENV".into(), "production".into());
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    assert_eq!(err.0[0].variable, "SMTP_HOST");
    v.insert("SMTP_HOST".into(), "smtp.example.com".into());
    assert!(Settings::from_map(&v, Purpose::Serve).unwrap().scheduler_enabled());
}

#[test]
fn cron_expressions_are_validated() {
    let mut v = valid();
    v.insert("ELIGIBILITY_CHECK_CRON".into(), "*/3 * * * * *".into());
    assert!(Settings::from_map(&v, Purpose::Serve).is_ok());
    v.insert("MEMBERSHIP_REMOVAL_CRON".into(), "0 99 * * *".into());
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    assert_eq!(err.0[0].variable, "MEMBERSHIP_REMOVAL_CRON");
}

#[test]
fn every_variable_is_in_env_example() {
    let example = include_str!("../../.env.example");
    for (name, default) in variables() {
        let line = format!("{name}={default}");
        assert!(
            example.lines().any(|l| l.trim_start_matches("# ") == line),
            ".env.example lacks '{line}'"
        );
    }
}

#[test]
fn env_example_has_no_variable_the_settings_do_not_read() {
    let read: Vec<_> = variables().into_iter().map(|(name, _)| name).collect();
    let example = include_str!("../../.env.example");
    for line in example.lines().filter(|l| !l.starts_with('#') && l.contains('=')) {
        let name = line.split('=').next().unwrap();
        assert!(read.contains(&name), ".env.example lists {name}, which nothing reads");
    }
}

#[test]
fn every_variable_is_documented_beside_its_field_with_its_default() {
    let sources = [
        include_str!("mod.rs"),
        include_str!("http.rs"),
        include_str!("database.rs"),
        include_str!("auth.rs"),
        include_str!("payout.rs"),
        include_str!("encryption.rs"),
        include_str!("subscription.rs"),
        include_str!("email.rs"),
        include_str!("jobs.rs"),
        include_str!("bank.rs"),
    ];
    // Doc lines only, joined so that a phrase may wrap onto the next `///` line.
    let docs: String = sources
        .iter()
        .flat_map(|s| s.lines())
        .filter_map(|l| l.trim_start().strip_prefix("///"))
        .collect::<Vec<_>>()
        .join("");
    for (name, default) in variables() {
        let phrase = if default.is_empty() {
            format!("`{name}`, no default")
        } else {
            format!("`{name}`, default `{default}`")
        };
        assert!(docs.contains(&phrase), "no field documents '{phrase}'");
    }
}

#[test]
fn debug_output_never_shows_a_secret() {
    let mut v = valid();
    v.insert("ENCRYPTION_KEY_PREVIOUS".into(), "fedcba9876543210fedcba9876543210".into());
    v.insert("SMTP_USER".into(), "mailer".into());
    v.insert("SMTP_PASS".into(), "smtp-password-value".into());
    let s = Settings::from_map(&v, Purpose::Serve).unwrap();
    let shown = [
        format!("{s:?}"),
        format!("{:?}", s.database),
        format!("{:?}", s.auth),
        format!("{:?}", s.encryption),
        format!("{:?}", s.email),
    ];
    for secret in [
        "postgres://u:p@localhost/db",
        "a-better-auth-secret-of-decent-length",
        "0123456789abcdef0123456789abcdef",
        "fedcba9876543210fedcba9876543210",
        "smtp-password-value",
    ] {
        for text in &shown {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }
}

/// SPEC §14: the bank profile is optional, validated whole once any of it is set (every bad
/// value named at once), and `dev` gets a demo profile.
#[test]
fn the_bank_profile_is_all_or_nothing_and_every_bad_value_is_named() {
    let base = valid();
    let settings = Settings::from_map(&base, Purpose::Serve).unwrap();
    assert!(settings.bank.ach.is_none() && settings.bank.payer.is_none(), "unset: no files, and no error");

    let mut vars = base.clone();
    for (k, v) in [
        ("BANK_ODFI_ROUTING", "021000022"),
        ("BANK_IMMEDIATE_ORIGIN", "12345"),
        ("BANK_COMPANY_NAME", "A NAME LONGER THAN SIXTEEN"),
        ("BANK_COMPANY_ID", "1123456789"),
        ("BANK_ORIGINATING_ACCOUNT", "12ab"),
        ("PAYER_NAME", "Tenure Inc"),
        ("PAYER_STATE", "ZZ"),
    ] {
        vars.insert(k.into(), v.into());
    }
    let problems: Vec<&str> = match Settings::from_map(&vars, Purpose::Serve) {
        Ok(_) => panic!("a bad profile is refused"),
        Err(e) => e.0.iter().map(|p| p.variable).collect(),
    };
    for variable in ["BANK_ODFI_ROUTING", "BANK_IMMEDIATE_ORIGIN", "BANK_COMPANY_NAME", "BANK_ORIGINATING_ACCOUNT", "PAYER_STATE", "PAYER_TIN", "PAYER_CITY"] {
        assert!(problems.contains(&variable), "{variable} named: {problems:?}");
    }

    let dev = Settings::from_map(&HashMap::new(), Purpose::Dev).unwrap();
    assert!(dev.bank.ach.is_some() && dev.bank.payer.is_some() && dev.bank.originating_account.is_some(), "dev ships a demo profile");
}
