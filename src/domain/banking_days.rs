//! The Federal Reserve banking-day calendar (SPEC §14): an ACH file's effective entry date is the
//! next banking day. Weekends and the Fed's holidays are not banking days.
//!
//! The Fed's observance rule differs from the federal government's: a holiday on Sunday is
//! observed on Monday, but a holiday on Saturday is not moved to Friday (the Fed is open then).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The `n`th (1-based) `weekday` of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).expect("every month has four of each weekday")
}

/// The last `weekday` of a month.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let mut d = NaiveDate::from_ymd_opt(next_year, next_month, 1).expect("valid month") - Duration::days(1);
    while d.weekday() != weekday {
        d -= Duration::days(1);
    }
    d
}

/// A fixed-date holiday as the Fed observes it: Sunday moves to Monday, Saturday stays put.
fn observed(year: i32, month: u32, day: u32) -> NaiveDate {
    let d = NaiveDate::from_ymd_opt(year, month, day).expect("valid holiday date");
    if d.weekday() == Weekday::Sun {
        d + Duration::days(1)
    } else {
        d
    }
}

/// The Fed's holidays of `year`, in date order, each on the day the Fed observes it. A holiday
/// that falls on a Saturday is listed on that Saturday: the Fed does not close the Friday before.
pub fn fed_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut days = vec![
        (observed(year, 1, 1), "New Year's Day"),
        (nth_weekday(year, 1, Weekday::Mon, 3), "Birthday of Martin Luther King, Jr."),
        (nth_weekday(year, 2, Weekday::Mon, 3), "Washington's Birthday"),
        (last_weekday(year, 5, Weekday::Mon), "Memorial Day"),
    ];
    if year >= 2022 {
        days.push((observed(year, 6, 19), "Juneteenth National Independence Day"));
    }
    days.extend([
        (observed(year, 7, 4), "Independence Day"),
        (nth_weekday(year, 9, Weekday::Mon, 1), "Labor Day"),
        (nth_weekday(year, 10, Weekday::Mon, 2), "Columbus Day"),
        (observed(year, 11, 11), "Veterans Day"),
        (nth_weekday(year, 11, Weekday::Thu, 4), "Thanksgiving Day"),
        (observed(year, 12, 25), "Christmas Day"),
    ]);
    days
}

/// A weekday on which the Fed is open.
pub fn is_banking_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !fed_holidays(d.year()).iter().any(|(h, _)| *h == d)
}

/// The first banking day strictly after `d` (the effective entry date for a file made on `d`).
pub fn next_banking_day_after(d: NaiveDate) -> NaiveDate {
    let mut next = d + Duration::days(1);
    while !is_banking_day(next) {
        next += Duration::days(1);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Worked out by hand from a calendar: (month, day) of each observed holiday, in the order
    /// New Year, MLK, Presidents, Memorial, Juneteenth, July 4, Labor, Columbus, Veterans,
    /// Thanksgiving, Christmas. Saturdays are marked in the comments: those stay on Saturday.
    const TABLE: [(i32, [(u32, u32); 11]); 7] = [
        (2024, [(1, 1), (1, 15), (2, 19), (5, 27), (6, 19), (7, 4), (9, 2), (10, 14), (11, 11), (11, 28), (12, 25)]),
        (2025, [(1, 1), (1, 20), (2, 17), (5, 26), (6, 19), (7, 4), (9, 1), (10, 13), (11, 11), (11, 27), (12, 25)]),
        // Jul 4 2026 is a Saturday.
        (2026, [(1, 1), (1, 19), (2, 16), (5, 25), (6, 19), (7, 4), (9, 7), (10, 12), (11, 11), (11, 26), (12, 25)]),
        // Jun 19 and Dec 25 2027 are Saturdays; Jul 4 2027 is a Sunday → Monday Jul 5.
        (2027, [(1, 1), (1, 18), (2, 15), (5, 31), (6, 19), (7, 5), (9, 6), (10, 11), (11, 11), (11, 25), (12, 25)]),
        // Jan 1 and Nov 11 2028 are Saturdays.
        (2028, [(1, 1), (1, 17), (2, 21), (5, 29), (6, 19), (7, 4), (9, 4), (10, 9), (11, 11), (11, 23), (12, 25)]),
        // Nov 11 2029 is a Sunday → Monday Nov 12.
        (2029, [(1, 1), (1, 15), (2, 19), (5, 28), (6, 19), (7, 4), (9, 3), (10, 8), (11, 12), (11, 22), (12, 25)]),
        (2030, [(1, 1), (1, 21), (2, 18), (5, 27), (6, 19), (7, 4), (9, 2), (10, 14), (11, 11), (11, 28), (12, 25)]),
    ];

    #[test]
    fn observed_holidays_2024_to_2030() {
        for (year, days) in TABLE {
            let got: Vec<NaiveDate> = fed_holidays(year).into_iter().map(|(h, _)| h).collect();
            let want: Vec<NaiveDate> = days.iter().map(|(m, day)| d(year, *m, *day)).collect();
            assert_eq!(got, want, "{year}");
        }
    }

    #[test]
    fn saturday_holidays_leave_friday_open() {
        assert_eq!(d(2027, 6, 19).weekday(), Weekday::Sat);
        assert!(is_banking_day(d(2027, 6, 18)), "Friday before a Saturday Juneteenth");
        assert_eq!(d(2027, 12, 25).weekday(), Weekday::Sat);
        assert!(is_banking_day(d(2027, 12, 24)), "Christmas Eve 2027");
        assert_eq!(d(2028, 1, 1).weekday(), Weekday::Sat);
        assert!(is_banking_day(d(2027, 12, 31)), "New Year's Eve 2027");
        assert!(is_banking_day(d(2026, 7, 3)), "Friday before a Saturday July 4");
        assert!(is_banking_day(d(2028, 11, 10)), "Friday before a Saturday Veterans Day");
    }

    #[test]
    fn sunday_holidays_close_monday() {
        // 2023: New Year's Day on a Sunday → Monday Jan 2 closed; Nov 11 a Saturday.
        assert!(!is_banking_day(d(2023, 1, 2)));
        assert!(is_banking_day(d(2023, 1, 3)));
        assert!(is_banking_day(d(2023, 11, 10)));
        // Christmas 2022 on a Sunday → Monday Dec 26 closed.
        assert!(!is_banking_day(d(2022, 12, 26)));
        assert!(!is_banking_day(d(2027, 7, 5)));
        assert!(!is_banking_day(d(2029, 11, 12)));
    }

    #[test]
    fn juneteenth_only_from_2022() {
        assert!(is_banking_day(d(2021, 6, 18)), "not a Fed holiday in 2021 (Jun 19 was a Saturday)");
        assert!(!fed_holidays(2021).iter().any(|(_, name)| name.starts_with("Juneteenth")));
        assert_eq!(fed_holidays(2021).len(), 10);
        assert!(!is_banking_day(d(2023, 6, 19)));
    }

    #[test]
    fn weekends_are_never_banking_days() {
        assert!(!is_banking_day(d(2025, 3, 8)));
        assert!(!is_banking_day(d(2025, 3, 9)));
        assert!(is_banking_day(d(2025, 3, 10)));
    }

    #[test]
    fn next_banking_day_over_long_weekends() {
        // Friday before Memorial Day 2025 → Tuesday.
        assert_eq!(next_banking_day_after(d(2025, 5, 23)), d(2025, 5, 27));
        // Thursday before Good Friday is an ordinary day; Good Friday is not a Fed holiday.
        assert_eq!(next_banking_day_after(d(2025, 4, 17)), d(2025, 4, 18));
        // Wednesday before Thanksgiving 2025 → Friday.
        assert_eq!(next_banking_day_after(d(2025, 11, 26)), d(2025, 11, 28));
        // Friday before MLK Day 2026 → Tuesday.
        assert_eq!(next_banking_day_after(d(2026, 1, 16)), d(2026, 1, 20));
        // Friday Jul 2 2027 → Jul 4 (Sunday) observed Monday → Tuesday Jul 6.
        assert_eq!(next_banking_day_after(d(2027, 7, 2)), d(2027, 7, 6));
        // Thursday Dec 23 2027 → Friday Dec 24 is open.
        assert_eq!(next_banking_day_after(d(2027, 12, 23)), d(2027, 12, 24));
        // Friday Dec 31 2027 → Monday Jan 3 2028 (Jan 1 is a Saturday, not moved).
        assert_eq!(next_banking_day_after(d(2027, 12, 31)), d(2028, 1, 3));
        // A Saturday → Monday; Christmas Eve 2028 (Sunday) → Tuesday Dec 26.
        assert_eq!(next_banking_day_after(d(2025, 3, 8)), d(2025, 3, 10));
        assert_eq!(next_banking_day_after(d(2028, 12, 24)), d(2028, 12, 26));
    }

    #[test]
    fn names_follow_dates() {
        let h = fed_holidays(2026);
        assert_eq!(h.len(), 11);
        assert_eq!(h[3], (d(2026, 5, 25), "Memorial Day"));
        assert!(h.windows(2).all(|w| w[0].0 < w[1].0), "in date order");
    }
}

/// The wall-clock time in New York (where the Federal Reserve works) at `now`: Eastern time,
/// daylight saving from the second Sunday of March to the first Sunday of November, 2 a.m.
pub fn new_york_time(now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    use chrono::{Datelike, Duration, NaiveDate, Weekday};
    let year = now.year();
    let nth_sunday = |month: u32, n: u32| {
        let first = NaiveDate::from_ymd_opt(year, month, 1).expect("a real month");
        let offset = (7 - first.weekday().num_days_from_sunday()) % 7;
        first + Duration::days(i64::from(offset + 7 * (n - 1)))
    };
    debug_assert_eq!(nth_sunday(3, 2).weekday(), Weekday::Sun);
    // 2 a.m. local: 07:00 UTC in March (still standard time), 06:00 UTC in November.
    let starts = nth_sunday(3, 2).and_hms_opt(7, 0, 0).expect("valid").and_utc();
    let ends = nth_sunday(11, 1).and_hms_opt(6, 0, 0).expect("valid").and_utc();
    let offset = if now >= starts && now < ends { 4 } else { 5 };
    (now - Duration::hours(offset)).naive_utc()
}

#[cfg(test)]
mod new_york {
    use super::new_york_time;
    use chrono::{TimeZone, Utc};

    #[test]
    fn eastern_time_follows_daylight_saving() {
        let at = |y, m, d, h| new_york_time(Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()).format("%Y-%m-%d %H").to_string();
        assert_eq!(at(2026, 1, 15, 3), "2026-01-14 22", "EST: UTC-5, the day before");
        assert_eq!(at(2026, 7, 1, 3), "2026-06-30 23", "EDT: UTC-4");
        assert_eq!(at(2026, 3, 8, 6), "2026-03-08 01", "just before the switch (second Sunday of March)");
        assert_eq!(at(2026, 3, 8, 7), "2026-03-08 03", "just after");
        assert_eq!(at(2026, 11, 1, 5), "2026-11-01 01", "EDT until the first Sunday of November");
        assert_eq!(at(2026, 11, 1, 6), "2026-11-01 01", "then EST");
    }
}
