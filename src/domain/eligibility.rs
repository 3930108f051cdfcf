//! When the company may pay rewards, and how many (SPEC §2, §5).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::money::Money;

/// Where the revenue figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevenueSource {
    SubscriptionService,
    Database,
}

/// The configured rules.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub threshold: Decimal,
    pub reward: Decimal,
    pub min_company_age_months: u32,
    pub launch_date: NaiveDate,
}

/// What the rules are applied to.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub revenue: Decimal,
    pub revenue_source: RevenueSource,
    pub today: NaiveDate,
    /// Payouts not rejected or cancelled.
    pub committed_payouts: i64,
    /// Members who could be selected right now.
    pub selectable_members: i64,
    pub next_check: Option<DateTime<Utc>>,
}

/// Whether the company may pay rewards now, how many, and why not (SPEC §10's fields).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility {
    pub is_eligible: bool,
    pub total_revenue: Money,
    pub revenue_source: RevenueSource,
    pub company_age_months: i64,
    pub meets_revenue_requirement: bool,
    pub meets_time_requirement: bool,
    pub revenue_threshold: Money,
    pub time_threshold_months: u32,
    /// floor(revenue / reward): rewards the revenue has ever funded.
    pub potential_winners: i64,
    pub committed_payouts: i64,
    /// Rewards that may be created now: funded, not yet committed, and with someone to receive them.
    pub available_payouts: i64,
    pub eligible_member_count: i64,
    pub next_check_date: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Whole calendar months from `launch` to `today`: a month counts once the same day of the month
/// is reached (the 31st reaches the last day of a shorter month). Never negative.
pub fn company_age_months(launch: NaiveDate, today: NaiveDate) -> i64 {
    if today <= launch {
        return 0;
    }
    let guess = (i64::from(today.year()) - i64::from(launch.year())) * 12 + i64::from(today.month0())
        - i64::from(launch.month0());
    let mut months = guess.max(0);
    while months > 0 && launch.checked_add_months(Months::new(months as u32)).is_none_or(|d| d > today) {
        months -= 1;
    }
    months
}


/// floor(revenue / reward), never negative.
pub fn potential_winners(revenue: Decimal, reward: Decimal) -> i64 {
    if reward <= Decimal::ZERO || revenue <= Decimal::ZERO {
        return 0;
    }
    (revenue / reward).floor().to_i64().unwrap_or(i64::MAX)
}

/// SPEC §2: funded minus committed, never below 0, never more than the selectable members.
pub fn available_payouts(potential: i64, committed: i64, selectable: i64) -> i64 {
    (potential - committed).max(0).min(selectable.max(0))
}

/// The rules applied to the facts: threshold, company age, committed payouts, selectable members.
pub fn evaluate(rules: &Rules, facts: &Facts) -> Eligibility {
    let age = company_age_months(rules.launch_date, facts.today);
    let meets_revenue = facts.revenue >= rules.threshold;
    let meets_time = age >= i64::from(rules.min_company_age_months);
    let potential = potential_winners(facts.revenue, rules.reward);
    let available = available_payouts(potential, facts.committed_payouts, facts.selectable_members);
    let is_eligible = meets_revenue && meets_time && available > 0;

    let mut reasons = Vec::new();
    if !meets_revenue {
        reasons.push(format!(
            "Revenue is {} short of the {} threshold",
            Money::new(rules.threshold - facts.revenue).display_usd(),
            Money::new(rules.threshold).display_usd()
        ));
    }
    if !meets_time {
        let to_go = i64::from(rules.min_company_age_months) - age;
        reasons.push(format!(
            "{to_go} more month{} until the company is {} months old",
            if to_go == 1 { "" } else { "s" },
            rules.min_company_age_months
        ));
    }
    if meets_revenue && available == 0 {
        if potential - facts.committed_payouts <= 0 {
            reasons.push(format!(
                "No payouts available: revenue funds {potential}, {} already committed",
                facts.committed_payouts
            ));
        } else {
            reasons.push("No payouts available: no member is selectable right now".to_string());
        }
    }

    Eligibility {
        is_eligible,
        total_revenue: Money::new(facts.revenue),
        revenue_source: facts.revenue_source,
        company_age_months: age,
        meets_revenue_requirement: meets_revenue,
        meets_time_requirement: meets_time,
        revenue_threshold: Money::new(rules.threshold),
        time_threshold_months: rules.min_company_age_months,
        potential_winners: potential,
        committed_payouts: facts.committed_payouts,
        available_payouts: available,
        eligible_member_count: facts.selectable_members,
        next_check_date: facts.next_check,
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::from_str(s).unwrap()
    }

    fn rules() -> Rules {
        Rules {
            threshold: Decimal::from(100_000),
            reward: Decimal::from(100_000),
            min_company_age_months: 12,
            launch_date: d("2024-01-15"),
        }
    }

    fn facts(revenue: &str, today: &str, committed: i64, selectable: i64) -> Facts {
        Facts {
            revenue: Decimal::from_str(revenue).unwrap(),
            revenue_source: RevenueSource::Database,
            today: d(today),
            committed_payouts: committed,
            selectable_members: selectable,
            next_check: None,
        }
    }

    #[test]
    fn company_age_counts_whole_calendar_months() {
        assert_eq!(company_age_months(d("2024-01-15"), d("2025-01-14")), 11);
        assert_eq!(company_age_months(d("2024-01-15"), d("2025-01-15")), 12);
        assert_eq!(company_age_months(d("2024-01-31"), d("2024-02-29")), 1, "month end reaches a shorter month's end");
        assert_eq!(company_age_months(d("2024-01-31"), d("2024-02-28")), 0);
        assert_eq!(company_age_months(d("2024-03-01"), d("2024-01-01")), 0, "before launch");
    }

    #[test]
    fn the_threshold_edges() {
        let just_short = evaluate(&rules(), &facts("99999.99", "2025-06-01", 0, 5));
        assert!(!just_short.is_eligible);
        assert_eq!(just_short.reason.as_deref(), Some("Revenue is $0.01 short of the $100,000.00 threshold"));
        let exactly = evaluate(&rules(), &facts("100000.00", "2025-06-01", 0, 5));
        assert!(exactly.is_eligible && exactly.available_payouts == 1 && exactly.potential_winners == 1);
        let two = evaluate(&rules(), &facts("200000.00", "2025-06-01", 1, 5));
        assert_eq!((two.potential_winners, two.available_payouts), (2, 1));
    }

    #[test]
    fn too_young_says_how_long_to_go() {
        let e = evaluate(&rules(), &facts("500000", "2024-12-20", 0, 5));
        assert!(!e.is_eligible && !e.meets_time_requirement && e.meets_revenue_requirement);
        assert_eq!(e.company_age_months, 11);
        assert_eq!(e.reason.as_deref(), Some("1 more month until the company is 12 months old"));
    }

    #[test]
    fn committed_payouts_are_subtracted() {
        let e = evaluate(&rules(), &facts("250000", "2025-06-01", 2, 10));
        assert!(!e.is_eligible);
        assert_eq!(e.available_payouts, 0);
        assert_eq!(e.reason.as_deref(), Some("No payouts available: revenue funds 2, 2 already committed"));
        let none_selectable = evaluate(&rules(), &facts("250000", "2025-06-01", 0, 0));
        assert_eq!(none_selectable.reason.as_deref(), Some("No payouts available: no member is selectable right now"));
    }

    proptest! {
        #[test]
        fn available_is_never_negative_nor_more_than_selectable(
            cents in 0i64..10_000_000_000, committed in 0i64..200, selectable in 0i64..200,
        ) {
            let revenue = Decimal::new(cents, 2);
            let e = evaluate(&rules(), &Facts { revenue, ..facts("0", "2026-01-01", committed, selectable) });
            prop_assert!(e.available_payouts >= 0);
            prop_assert!(e.available_payouts <= selectable);
            prop_assert!(e.available_payouts <= (e.potential_winners - committed).max(0));
            prop_assert_eq!(e.is_eligible, revenue >= Decimal::from(100_000) && e.available_payouts > 0);
            prop_assert_eq!(e.reason.is_none(), e.is_eligible);
        }

        #[test]
        fn age_grows_by_one_per_month(y in 2020i32..2030, m in 1u32..=12, day in 1u32..=28, k in 0u32..120) {
            let launch = NaiveDate::from_ymd_opt(y, m, day).unwrap();
            let later = launch.checked_add_months(Months::new(k)).unwrap();
            prop_assert_eq!(company_age_months(launch, later), i64::from(k));
            prop_assert_eq!(company_age_months(launch, later.pred_opt().unwrap()), i64::from(k.saturating_sub(1)));
        }
    }
}
