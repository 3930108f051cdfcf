//! The PostgreSQL database shared with the main app.

use secrecy::SecretString;

use super::{parse, Purpose, Reader};

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `postgres://` or `postgresql://` URL; TLS follows its `sslmode`. Required except in dev
    /// mode, which can start a private PostgreSQL. `DATABASE_URL`, no default.
    pub url: Option<SecretString>,
    /// Most connections in the pool. `DB_POOL_MAX`, default `10`.
    pub pool_max: u32,
    /// Connections kept open (at most `pool_max`). `DB_POOL_MIN`, default `2`.
    pub pool_min: u32,
    /// `serve` applies pending migrations first unless false. `RUN_MIGRATIONS`, default `true`.
    pub run_migrations: bool,
}

impl DatabaseSettings {
    pub(super) fn read(r: &mut Reader, purpose: Purpose) -> Self {
        let url = r.read("DATABASE_URL", "", |raw, p| {
            if raw.is_empty() {
                if purpose != Purpose::Dev {
                    p.push("is required (postgres://user:pass@host:5432/db)".into());
                }
                return None;
            }
            if !(raw.starts_with("postgres://") || raw.starts_with("postgresql://")) {
                p.push("must be a postgres:// or postgresql:// URL".into());
            }
            Some(SecretString::from(raw))
        });
        let pool_max = r.positive("DB_POOL_MAX", "10");
        let pool_min = r.read("DB_POOL_MIN", "2", |raw, p| {
            let min = parse::<u32>(raw, "a whole number", p);
            if min > pool_max && pool_max > 0 {
                p.push(format!("({min}) must not exceed DB_POOL_MAX ({pool_max})"));
            }
            min
        });
        let run_migrations = r.boolean("RUN_MIGRATIONS", "true");
        DatabaseSettings { url, pool_max, pool_min, run_migrations }
    }
}
