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
    v.insert("PUBLIC_BASE_URL".into(), "https://payouts.tenure.example".into());
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

/// Issue 14: a non-ASCII key of 32 characters is more than 32 bytes; the message says bytes and
/// what to use, never "not 32 characters … got 32".
#[test]
fn a_non_ascii_encryption_key_is_measured_in_bytes() {
    let mut v = valid();
    let key = "ééééééééééééééééabcdefghijklmnop"; // 32 characters, 48 bytes
    assert_eq!(key.chars().count(), 32);
    v.insert("ENCRYPTION_KEY".into(), key.into());
    v.insert("ENCRYPTION_KEY_PREVIOUS".into(), format!("fedcba9876543210fedcba9876543210,{key}"));
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    let current = err.0.iter().find(|p| p.variable == "ENCRYPTION_KEY").expect("the key is named");
    assert!(current.message.contains("32 bytes") && current.message.contains("non-ASCII"), "{}", current.message);
    assert!(current.message.contains("48 bytes") && current.message.contains("32 characters"), "{}", current.message);
    assert!(current.message.contains("openssl rand -base64 24"), "says what to do: {}", current.message);
    assert!(!current.message.contains(key), "never echoes the secret");
    let previous = err.0.iter().find(|p| p.variable == "ENCRYPTION_KEY_PREVIOUS").expect("the old key is named");
    assert!(previous.message.starts_with("key #2: ") && previous.message.contains("non-ASCII"), "{}", previous.message);

    v.insert("ENCRYPTION_KEY".into(), "too-short".into());
    v.remove("ENCRYPTION_KEY_PREVIOUS");
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert!(err.0[0].message.contains("this value has 9"), "{}", err.0[0].message);
    // `openssl rand -base64 24` gives 32 ASCII characters: accepted.
    v.insert("ENCRYPTION_KEY".into(), "q1Zb3Jk0Xv+9mN2pL7sT4wYc8dHfA6eR".into());
    assert!(Settings::from_map(&v, Purpose::Serve).is_ok());
}

/// Issue 14: a withholding rate out of range is BACKUP_WITHHOLDING_RATE's problem, not the
/// retention fee's; a fee that with a valid rate leaves a negative net names both.
#[test]
fn a_bad_withholding_rate_is_reported_against_its_own_variable() {
    let mut v = valid();
    v.insert("BACKUP_WITHHOLDING_RATE".into(), "1.5".into());
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    let named: Vec<_> = err.0.iter().map(|p| p.variable).collect();
    assert_eq!(named, ["BACKUP_WITHHOLDING_RATE"], "{err}");
    assert!(err.0[0].message.contains("between 0 and 1") && err.0[0].message.contains("1.5"), "{}", err.0[0].message);

    v.insert("BACKUP_WITHHOLDING_RATE".into(), "0.5".into());
    v.insert("RETENTION_FEE".into(), "60000".into());
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    assert_eq!(err.0.iter().map(|p| p.variable).collect::<Vec<_>>(), ["RETENTION_FEE"]);
    assert!(err.0[0].message.contains("BACKUP_WITHHOLDING_RATE") && err.0[0].message.contains("negative"), "{}", err.0[0].message);
}

/// Issue 14: emails link from PUBLIC_BASE_URL; a trailing slash is dropped, anything but an
/// absolute http(s) URL is refused, and production refuses the development default.
#[test]
fn the_public_base_url_is_an_absolute_http_url() {
    let s = Settings::from_map(&valid(), Purpose::Serve).unwrap();
    assert_eq!(s.http.public_base_url, "http://localhost:3002");
    for (raw, expected) in [
        ("https://payouts.tenure.example", "https://payouts.tenure.example"),
        ("https://payouts.tenure.example/", "https://payouts.tenure.example"),
        ("https://tenure.example/payouts/", "https://tenure.example/payouts"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ] {
        let mut v = valid();
        v.insert("PUBLIC_BASE_URL".into(), raw.into());
        assert_eq!(Settings::from_map(&v, Purpose::Serve).unwrap().http.public_base_url, expected, "{raw}");
    }
    for raw in ["payouts.tenure.example", "ftp://tenure.example", "https://", "https://tenure.example/?x=1", "https://a b.example", "https://user@tenure.example"] {
        let mut v = valid();
        v.insert("PUBLIC_BASE_URL".into(), raw.into());
        let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
        assert_eq!(err.0[0].variable, "PUBLIC_BASE_URL", "{raw}");
        assert!(err.0[0].message.contains("absolute http(s) URL"), "{}", err.0[0].message);
    }
    let mut v = valid();
    v.insert("NODE_ENV".into(), "production".into());
    v.insert("SMTP_HOST".into(), "smtp.example.com".into());
    let err = Settings::from_map(&v, Purpose::Serve).unwrap_err();
    assert_eq!(err.0.iter().map(|p| p.variable).collect::<Vec<_>>(), ["PUBLIC_BASE_URL"]);
    v.insert("PUBLIC_BASE_URL".into(), "https://payouts.tenure.example".into());
    assert!(Settings::from_map(&v, Purpose::Serve).is_ok());
}

#[test]
fn the_company_address_is_split_into_lines() {
    let mut v = valid();
    v.insert("COMPANY_ADDRESS".into(), "Tenure Inc.; 1 Market St, Suite 5 ;San Francisco, CA 94105".into());
    v.insert("SUPPORT_EMAIL".into(), "help@tenure.example".into());
    let s = Settings::from_map(&v, Purpose::Serve).unwrap();
    assert_eq!(s.payout.company_address, ["Tenure Inc.", "1 Market St, Suite 5", "San Francisco, CA 94105"]);
    assert_eq!(s.payout.support_email, "help@tenure.example");
    v.insert("SUPPORT_EMAIL".into(), "nobody".into());
    assert_eq!(Settings::from_map(&v, Purpose::Serve).unwrap_err().0[0].variable, "SUPPORT_EMAIL");
}
