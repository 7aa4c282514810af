//! Whole-language tests: parse → check → evaluate, errors with positions, canonical text.

use super::*;
use crate::account::TouchModel;
use crate::i18n::Lang;
use crate::usage::catalog::{Cadence, MonthDay, SeasonWindow};
use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn segment(rule: &str) -> Segment {
    Segment::parse(rule).unwrap_or_else(|errors| panic!("{rule}: {errors:?}"))
}

/// An error as (line, column, length in bytes, reason).
type Located = (usize, usize, usize, SegmentReason);

fn errors(rule: &str) -> Vec<Located> {
    let errors = Segment::parse(rule).expect_err(rule);
    errors.into_iter().map(|error| (error.line, error.column, error.length, error.reason)).collect()
}

fn single_error(rule: &str) -> Located {
    let mut all = errors(rule);
    assert_eq!(all.len(), 1, "{rule}: {all:?}");
    all.remove(0)
}

/// An account as of 2026-06-15 with every fact known.
fn acme() -> AccountFacts {
    AccountFacts {
        tier: Some("enterprise".into()),
        stage: Some("adoption".into()),
        touch_model: Some(TouchModel::Tech),
        owner_email: Some("aoi.tanaka@example.com".into()),
        sub_owner_email: Some("ken.sato@example.com".into()),
        team: Some("Enterprise".into()),
        mrr: Some(Decimal::from(100_000)),
        arr: Some(Decimal::from(1_200_000)),
        score: Some(42.5),
        grade: Some("at_risk".into()),
        score_trend_30d: Some(-12.0),
        renewal_date: Some(day("2026-08-01")),
        first_paying_day: Some(day("2026-01-10")),
        seat_activation: Some(0.1),
        last_activity_on: Some(day("2026-05-01")),
        employees: Some(250),
        custom: BTreeMap::from([("Industry".to_owned(), "manufacturing".to_owned())]),
        features: BTreeMap::from([
            (
                "year_end".to_owned(),
                FeatureFacts::new(
                    &Cadence::Annual(SeasonWindow {
                        start: MonthDay { month: 11, day: 1 },
                        end: MonthDay { month: 1, day: 31 },
                    }),
                    vec![(day("2024-12-10"), 3), (day("2025-12-10"), 3), (day("2026-02-01"), 0)],
                ),
            ),
            (
                "payslip".to_owned(),
                FeatureFacts::new(
                    &Cadence::Monthly,
                    vec![
                        (day("2026-06-15"), 1),
                        (day("2026-05-17"), 2),
                        (day("2026-05-16"), 4),
                        (day("2026-06-16"), 100),
                    ],
                ),
            ),
        ]),
        ..AccountFacts::new(day("2026-06-15"), "Acme 株式会社")
    }
}

fn holds(rule: &str, facts: &AccountFacts) -> bool {
    segment(rule).matches(facts)
}

#[test]
fn the_documented_examples_parse_and_evaluate() {
    let facts = acme();
    // days_to_renewal: 2026-06-15 → 2026-08-01 is 47 days.
    assert!(holds(r#"grade in ("at_risk", "neutral") and arr >= 1000000 and days_to_renewal <= 90"#, &facts));
    assert!(holds(r#"not stage = "churned" and custom.industry = "manufacturing""#, &facts));
    // In June the season under way is the coming one (2026-11-01..2027-01-31), not used yet;
    // the last one (2025-11-01..2026-01-31) was used.
    assert!(holds(r#"used_last_season("year_end") and not used_this_season("year_end")"#, &facts));
    assert!(holds("score_trend_30d < -10 or days_since_activity > 30", &facts));
    assert!(holds("renewal_date <= today + 90d and first_paying_day >= today - 6m", &facts));
    assert!(holds(
        r#"seat_activation < 0.5 and touch_model = "tech" and owner = "aoi.tanaka@example.com" and team = "Enterprise""#,
        &facts
    ));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let facts = acme();
    // or is loosest: true or (false and false).
    assert!(holds(r#"tier = "enterprise" or tier = "smb" and stage = "x""#, &facts));
    assert!(!holds(r#"(tier = "enterprise" or tier = "smb") and stage = "x""#, &facts));
    // not applies to the comparison only: (not false) and true.
    assert!(holds(r#"not stage = "x" and tier = "enterprise""#, &facts));
    assert!(!holds(r#"not (stage = "x" or tier = "enterprise")"#, &facts));
    assert!(holds(r#"not not tier = "enterprise""#, &facts));
    let Condition::Any { conditions } = segment("arr = 1 or mrr = 2 and not score = 3").condition().clone() else {
        panic!("or at the top")
    };
    assert!(matches!(&conditions[1], Condition::All { conditions } if matches!(conditions[1], Condition::Not { .. })));
}

#[test]
fn compares_numbers_exactly_across_integers_decimals_and_separators() {
    let facts = acme();
    assert!(holds("arr = 1_200_000", &facts));
    assert!(holds("arr = 1200000.00", &facts));
    assert!(holds("arr != 1_200_000.01 and arr > 1_199_999.99 and arr < 1_200_000.01", &facts));
    assert!(holds("mrr >= 100000 and mrr <= 100000", &facts));
    assert!(holds("score = 42.5 and score > 42 and employees = 250", &facts));
    // The stored float 0.1 is the decimal 0.1, not 0.1000000000000000055….
    assert!(holds("seat_activation = 0.1 and seat_activation <= 0.1", &facts));
    assert!(holds("score_trend_30d = -12 and score_trend_30d < - 11.5", &facts));
}

#[test]
fn compares_text_exactly_and_owner_emails_ignoring_case() {
    let facts = acme();
    assert!(holds(r#"name = "Acme 株式会社""#, &facts));
    assert!(!holds(r#"team = "enterprise""#, &facts));
    assert!(holds(r#"owner = "AOI.Tanaka@example.com""#, &facts));
    // owner matches the main or the sub owner; != means neither.
    assert!(holds(r#"owner = "ken.sato@example.com""#, &facts));
    assert!(holds(r#"owner in ("x@example.com", "ken.sato@example.com")"#, &facts));
    assert!(!holds(r#"owner != "ken.sato@example.com""#, &facts));
    assert!(holds(r#"owner != "x@example.com""#, &facts));
    assert!(!holds(r#"owner not in ("ken.sato@example.com")"#, &facts));
    let no_sub = AccountFacts { sub_owner_email: None, ..acme() };
    assert!(holds(r#"owner != "ken.sato@example.com" and owner is not null"#, &no_sub));
}

#[test]
fn in_and_not_in_lists() {
    let facts = acme();
    assert!(holds(r#"grade in ("at_risk")"#, &facts));
    assert!(!holds(r#"grade not in ("at_risk", "neutral")"#, &facts));
    assert!(holds(r#"tier not in ("smb", "mid")"#, &facts));
    assert!(holds("employees in (10, 250, 1_000)", &facts));
    assert!(holds("renewal_date in (2026-08-01, today)", &facts));
    assert!(holds("today in (renewal_date - 47d)", &facts));
}

#[test]
fn custom_fields_match_keys_ignoring_case_and_may_be_quoted() {
    let mut facts = acme();
    facts.custom.insert("sales region".into(), "関西".into());
    facts.custom.insert("業種".into(), "製造".into());
    assert!(holds(r#"CUSTOM.INDUSTRY = "manufacturing""#, &facts));
    assert!(holds(r#"custom."Sales Region" = "関西" and custom.業種 = "製造""#, &facts));
    assert!(holds("custom.missing is null", &facts));
    assert_eq!(segment(r#"custom."Sales Region" = "x""#).to_string(), r#"custom."sales region" = "x""#);
    assert_eq!(segment(r#"custom."in" = "x""#).to_string(), r#"custom."in" = "x""#);
    assert_eq!(segment(r#"custom.IN = "x""#).condition(), segment(r#"custom."in" = "x""#).condition());
}

#[test]
fn booleans_and_true_false_conditions() {
    let facts = acme();
    assert!(holds("true", &facts));
    assert!(!holds("false", &facts));
    assert!(holds(r#"used_within("payslip", 30d) = true"#, &facts));
    assert!(holds(r#"used_this_season("year_end") = false and used_last_season("year_end") != false"#, &facts));
}

#[test]
fn dates_today_and_date_arithmetic() {
    let facts = acme();
    assert!(holds("renewal_date = 2026-08-01 and renewal_date > today", &facts));
    assert!(holds("renewal_date = today + 47d and renewal_date - 47d = today", &facts));
    assert!(holds("today + 2w = 2026-06-29 and today - 1y = 2025-06-15", &facts));
    assert!(holds("today + 1m - 1d = 2026-07-14", &facts));
    assert!(holds("first_paying_day + 5m = today - 5d", &facts));
    assert!(holds("last_used(\"payslip\") + 1d > today", &facts));
}

#[test]
fn months_and_years_clamp_to_the_end_of_shorter_months() {
    let at = |today: &str| AccountFacts::new(day(today), "x");
    assert!(holds("today + 1m = 2026-02-28", &at("2026-01-31")));
    assert!(holds("today + 1m = 2028-02-29", &at("2028-01-31")));
    assert!(holds("today - 1m = 2026-02-28 and today - 3m = 2025-12-31", &at("2026-03-31")));
    assert!(holds("today + 1y = 2025-02-28 and today - 4y = 2020-02-29", &at("2024-02-29")));
    assert!(holds("today + 12m = today + 1y", &at("2024-02-29")));
    // Clamping is not undone: one month then another is not two months.
    assert!(holds("today + 1m + 1m = 2026-03-28 and today + 2m = 2026-03-31", &at("2026-01-31")));
    let interval = |count, unit| Interval { count, unit };
    assert_eq!(shift(day("2026-01-31"), Sign::Plus, interval(1, IntervalUnit::Months)), Some(day("2026-02-28")));
    assert_eq!(shift(NaiveDate::MAX, Sign::Plus, interval(1, IntervalUnit::Days)), None);
    assert_eq!(shift(day("2026-01-01"), Sign::Plus, interval(u32::MAX, IntervalUnit::Years)), None);
}

#[test]
fn day_counts_are_derived_from_dates_and_today() {
    let facts = acme();
    assert!(holds("days_to_renewal = 47 and days_since_activity = 45", &facts));
    let lapsed = AccountFacts { renewal_date: Some(day("2026-06-10")), ..acme() };
    assert!(holds("days_to_renewal = -5", &lapsed));
}

#[test]
fn feature_functions_count_windows_ending_today() {
    let facts = acme();
    // payslip: 4 on 05-16, 2 on 05-17, 1 on 06-15 (today); 100 on 06-16 is after today.
    assert!(holds(r#"uses_in_last("payslip", 1d) = 1"#, &facts));
    assert!(holds(r#"uses_in_last("payslip", 30d) = 3"#, &facts)); // 05-17..06-15
    assert!(holds(r#"uses_in_last("payslip", 31d) = 7"#, &facts)); // 05-16..06-15
    assert!(holds(r#"uses_in_last("payslip", 1m) = 7"#, &facts)); // 05-16..06-15
    assert!(holds(r#"uses_in_last("payslip", 1y) = 7 and uses_in_last("payslip", 2w) = 1"#, &facts));
    assert!(holds(r#"last_used("payslip") = today and used_within("payslip", 1d)"#, &facts));
    // A zero count is no use.
    assert!(holds(r#"last_used("year_end") = 2025-12-10"#, &facts));
    let yesterday = AccountFacts { today: day("2026-06-14"), ..acme() };
    assert!(holds(r#"last_used("payslip") = 2026-05-17 and not used_within("payslip", 28d)"#, &yesterday));
    assert!(holds(r#"used_within("payslip", 29d)"#, &yesterday));
}

#[test]
fn seasons_follow_the_day_and_are_unknown_for_features_without_one() {
    let facts = acme();
    assert!(holds(r#"used_this_season("payslip") is null and not used_this_season("payslip")"#, &facts));
    // In the 2024 season, on 2025-01-15: this season is under way and was used.
    let during = AccountFacts { today: day("2025-01-15"), ..acme() };
    assert!(holds(r#"used_this_season("year_end") and not used_last_season("year_end")"#, &during));
    // Before the 2024 season starts, it has no use yet and the last one is 2023's.
    let before = AccountFacts { today: day("2024-10-01"), ..acme() };
    assert!(holds(r#"used_this_season("year_end") = false and used_last_season("year_end") = false"#, &before));
}

#[test]
fn unknown_values_make_comparisons_false_and_their_negation_true() {
    let blank = AccountFacts::new(day("2026-06-15"), "Blank");
    for rule in [
        "arr > 0",
        "arr <= 0",
        "arr = 0",
        "arr != 0",
        "arr in (0, 1)",
        "arr not in (0, 1)",
        "renewal_date < today",
        "days_to_renewal < 90",
        "owner = \"a@example.com\"",
        "owner != \"a@example.com\"",
        "custom.industry != \"x\"",
        "used_within(\"payslip\", 30d)",
        "uses_in_last(\"payslip\", 30d) = 0",
        "used_within(\"payslip\", 30d) = false",
    ] {
        assert!(!holds(rule, &blank), "{rule}");
        assert!(holds(&format!("not {rule}"), &blank), "not {rule}");
        assert!(holds(&format!("not ({rule})"), &blank), "not ({rule})");
    }
    for field in ["arr", "grade", "owner", "team", "renewal_date", "days_since_activity", "score", "custom.x"] {
        assert!(holds(&format!("{field} is null"), &blank), "{field}");
        assert!(!holds(&format!("{field} is not null"), &blank), "{field}");
        assert!(!holds(&format!("{field} is null"), &acme()) || field == "custom.x", "{field}");
    }
    assert!(holds(r#"last_used("payslip") is null"#, &blank));
    // A loaded feature never used: zero uses, no last use.
    let never = AccountFacts {
        features: BTreeMap::from([("payslip".to_owned(), FeatureFacts::default())]),
        ..AccountFacts::new(day("2026-06-15"), "Never")
    };
    assert!(holds(r#"uses_in_last("payslip", 30d) = 0 and last_used("payslip") is null"#, &never));
    assert!(holds(r#"not used_within("payslip", 30d) and used_within("payslip", 30d) = false"#, &never));
    let not_a_number = AccountFacts { score: Some(f64::NAN), ..acme() };
    assert!(holds("score is null", &not_a_number));
}

#[test]
fn a_tier_or_stage_named_as_the_pages_show_it_means_its_key() {
    for rule in [r#"tier = "Enterprise""#, r#"tier in ("中小", "エンタープライズ")"#, r#""enterprise" = tier"#]
    {
        assert!(holds(rule, &acme()), "{rule}");
    }
    assert!(holds(r#"stage = "活用" and stage != "At risk""#, &acme()));
    assert!(!holds(r#"tier = "Mid-market""#, &acme()));
}

#[test]
fn keywords_and_names_are_case_insensitive_but_text_is_not() {
    let lower = segment(r#"grade in ("At_Risk") and not stage = "churned" or arr is not null and today < 2030-01-01"#);
    let upper = segment(r#"GRADE IN ("At_Risk") AND NOT Stage = "churned" OR Arr IS NOT NULL And TODAY < 2030-01-01"#);
    assert_eq!(lower, upper);
    assert!(segment("USED_WITHIN(\"payslip\", 30D)").matches(&acme()));
    assert!(!holds(r#"grade = "AT_RISK""#, &acme()));
    assert!(holds("TRUE and not FALSE", &acme()));
}

#[test]
fn reports_what_a_rule_reads_and_whether_it_moves_with_the_day() {
    let rule = segment(
        r#"grade = "a" and (custom.industry = "x" or uses_in_last("payslip", 30d) > 3) and not used_this_season("year_end") and renewal_date - 1m < 2026-01-01"#,
    );
    assert_eq!(
        rule.fields_used().into_iter().collect::<Vec<_>>(),
        vec![Field::Grade, Field::RenewalDate, Field::Custom("industry".into())]
    );
    assert_eq!(rule.features_used().into_iter().collect::<Vec<_>>(), vec!["payslip", "year_end"]);
    assert!(rule.depends_on_today());
    assert!(!segment(r#"grade = "a" and renewal_date < 2026-01-01"#).depends_on_today());
    assert!(segment("days_to_renewal < 30").depends_on_today());
    assert!(segment("renewal_date < today").depends_on_today());
    assert!(segment("first_paying_day is null").features_used().is_empty());
}

#[test]
fn type_errors_carry_positions_and_messages_in_both_languages() {
    let errors = Segment::parse(r#"arr >= "big""#).unwrap_err();
    assert_eq!(errors.len(), 1);
    let error = &errors[0];
    assert_eq!((error.offset, error.length, error.line, error.column), (7, 5, 1, 8));
    assert_eq!(error.message(Lang::Ja), "数値と文字列は比較できません");
    assert_eq!(error.message(Lang::En), "cannot compare a number with text");
    assert_eq!(error.to_string(), "line 1, column 8: cannot compare a number with text");
}

#[test]
fn every_type_error_kind_is_reported_where_it_is() {
    use SegmentReason::*;
    use ValueType::*;
    let cases: Vec<(&str, Located)> = vec![
        ("arrr > 1", (1, 1, 4, UnknownField { name: "arrr".into(), suggestion: Some("arr".into()) })),
        ("industry = \"x\"", (1, 1, 8, UnknownField { name: "industry".into(), suggestion: None })),
        ("custom.a.b = \"x\"", (1, 1, 10, UnknownField { name: "custom.a.b".into(), suggestion: None })),
        ("custom.\"\" = \"x\"", (1, 1, 9, UnknownField { name: "custom.".into(), suggestion: None })),
        (
            "used_this_seasn(\"a\")",
            (1, 1, 15, UnknownFunction { name: "used_this_seasn".into(), suggestion: Some("used_this_season".into()) }),
        ),
        ("frobnicate(\"a\")", (1, 1, 10, UnknownFunction { name: "frobnicate".into(), suggestion: None })),
        ("used_within(\"a\")", (1, 1, 16, ArgumentCount { function: "used_within", expected: 2, found: 1 })),
        ("last_used(\"a\", 30d) is null", (1, 1, 19, ArgumentCount { function: "last_used", expected: 1, found: 2 })),
        ("used_this_season()", (1, 1, 18, ArgumentCount { function: "used_this_season", expected: 1, found: 0 })),
        ("used_this_season(name)", (1, 18, 4, FeatureKeyExpected)),
        ("used_this_season(\"Year End\")", (1, 18, 10, InvalidFeatureKey)),
        ("used_within(\"a\", 30)", (1, 18, 2, WindowExpected)),
        ("used_within(\"a\", 0d)", (1, 18, 2, EmptyWindow)),
        ("arr >= \"big\"", (1, 8, 5, Mismatch { left: Number, right: Text })),
        ("renewal_date > 5", (1, 16, 1, Mismatch { left: Date, right: Number })),
        ("used_within(\"a\", 1d) = \"yes\"", (1, 24, 5, Mismatch { left: Bool, right: Text })),
        ("grade in (\"a\", 1)", (1, 16, 1, Mismatch { left: Text, right: Number })),
        ("name < \"m\"", (1, 6, 1, NotOrdered { value_type: Text })),
        ("used_within(\"a\", 1d) >= true", (1, 22, 2, NotOrdered { value_type: Bool })),
        ("arr", (1, 1, 3, NotACondition { value_type: Number })),
        ("last_used(\"a\") and true", (1, 1, 14, NotACondition { value_type: Date })),
        ("arr = null", (1, 7, 4, UseIsNull)),
        ("grade in (null)", (1, 11, 4, UseIsNull)),
        ("null", (1, 1, 4, UseIsNull)),
        ("renewal_date > 30d", (1, 16, 3, IntervalNotAValue)),
        ("30d is null", (1, 1, 3, IntervalNotAValue)),
        ("arr + 5d > 1", (1, 1, 3, ShiftNeedsDate { value_type: Number })),
        ("today + 5 > renewal_date", (1, 9, 1, ShiftNeedsInterval)),
        ("today - first_paying_day > today", (1, 9, 16, ShiftNeedsInterval)),
        ("touch_model = \"Tech\"", (1, 15, 6, NotOneOf { field: "touch_model", allowed: vec!["high", "low", "tech"] })),
        (
            "touch_model in (\"high\", \"medium\")",
            (1, 25, 8, NotOneOf { field: "touch_model", allowed: vec!["high", "low", "tech"] }),
        ),
        ("seat_activation >= 50", (1, 20, 2, OutOfRange { field: "seat_activation", min: "0", max: "1" })),
        ("-0.5 < seat_activation", (1, 1, 4, OutOfRange { field: "seat_activation", min: "0", max: "1" })),
    ];
    for (rule, expected) in cases {
        assert_eq!(single_error(rule), expected, "{rule}");
        let error = Segment::parse(rule).unwrap_err().remove(0);
        assert!(!error.message(Lang::Ja).is_empty() && !error.message(Lang::En).is_empty());
        assert_ne!(error.message(Lang::Ja), error.message(Lang::En), "{rule}");
    }
}

#[test]
fn reports_every_type_error_in_order_with_lines_and_columns() {
    let rule = "grade = 1\n  and (arrr > 5 or stage < \"b\")\n  and 業種 = \"x\" and renewal_date in (today, 3, \"x\")";
    use SegmentReason::*;
    assert_eq!(
        errors(rule),
        vec![
            (1, 9, 1, Mismatch { left: ValueType::Text, right: ValueType::Number }),
            (2, 8, 4, UnknownField { name: "arrr".into(), suggestion: Some("arr".into()) }),
            (2, 26, 1, NotOrdered { value_type: ValueType::Text }),
            (3, 7, 6, UnknownField { name: "業種".into(), suggestion: None }),
            (3, 44, 1, Mismatch { left: ValueType::Date, right: ValueType::Number }),
            (3, 47, 3, Mismatch { left: ValueType::Date, right: ValueType::Text }),
        ]
    );
    // Offsets are in bytes, columns in characters.
    let errors = Segment::parse(rule).unwrap_err();
    assert_eq!(&rule[errors[3].offset..errors[3].offset + errors[3].length], "業種");
}

#[test]
fn a_mixed_list_is_reported_even_when_the_value_is_unknown() {
    use SegmentReason::*;
    assert_eq!(
        errors("nope in (1, \"a\")"),
        vec![
            (1, 1, 4, UnknownField { name: "nope".into(), suggestion: None }),
            (1, 13, 3, Mismatch { left: ValueType::Number, right: ValueType::Text }),
        ]
    );
}

#[test]
fn lexing_and_syntax_errors_stop_at_the_first_with_their_position() {
    use SegmentReason::*;
    let expected = |expected, found: Option<&str>| Expected { expected, found: found.map(str::to_owned) };
    assert_eq!(errors("arr > 1 and\n  stage = \"x"), vec![(2, 11, 2, UnterminatedText)]);
    assert_eq!(
        errors("arr > 1 and\n  (stage = \"x\" or\n   tier = \"a\""),
        vec![(3, 14, 0, expected(super::Expected::ClosingParen, None))]
    );
    assert_eq!(errors("arr > 1 or or arrr > 2"), vec![(1, 12, 2, expected(super::Expected::Condition, Some("or")))]);
    assert_eq!(errors("arr ≥ 1"), vec![(1, 5, 3, UnexpectedCharacter { character: '≥' })]);
    assert_eq!(errors("\n\nrenewal_date < 2026-13-01"), vec![(3, 16, 10, InvalidDate)]);
    let error = Segment::parse("arr > 1 and").unwrap_err().remove(0);
    assert_eq!(error.message(Lang::Ja), "条件が必要ですが、ルールが終わっています");
    assert_eq!(error.message(Lang::En), "expected a condition, found the end of the rule");
}

#[test]
fn canonical_text_is_normalized_and_parenthesized_only_where_needed() {
    let cases = [
        ("ARR>=1_000_000   AND grade IN(\"a\",\"b\")", "arr >= 1000000 and grade in (\"a\", \"b\")"),
        ("(arr = 1 or mrr = 2) and score = 3", "(arr = 1 or mrr = 2) and score = 3"),
        ("arr = 1 or (mrr = 2 and score = 3)", "arr = 1 or mrr = 2 and score = 3"),
        ("(arr = 1 and mrr = 2) and score = 3", "(arr = 1 and mrr = 2) and score = 3"),
        ("arr = 1 and (mrr = 2 and score = 3)", "arr = 1 and (mrr = 2 and score = 3)"),
        ("((arr = 1))", "arr = 1"),
        ("not (arr = 1)", "not arr = 1"),
        ("not (arr = 1 and mrr = 2)", "not (arr = 1 and mrr = 2)"),
        ("NOT NOT arr = 1", "not not arr = 1"),
        ("arr not in (1) and mrr is not null", "arr not in (1) and mrr is not null"),
        ("today+90D<renewal_date-1M", "today + 90d < renewal_date - 1m"),
        ("score_trend_30d < -10.50", "score_trend_30d < -10.50"),
        ("name = \"say \\\"hi\\\"\\n\\u{7}\"", "name = \"say \\\"hi\\\"\\n\\u{7}\""),
        ("USED_WITHIN( \"k\" , 2W )", "used_within(\"k\", 2w)"),
    ];
    for (rule, canonical) in cases {
        let parsed = segment(rule);
        assert_eq!(parsed.to_string(), canonical, "{rule}");
        assert_eq!(segment(canonical), parsed, "{canonical}");
    }
}

// Generated rules: every construct, well typed, so that Display → parse must give them back.

fn text_field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Name),
        Just(Field::Tier),
        Just(Field::Stage),
        Just(Field::Owner),
        Just(Field::Team),
        Just(Field::Grade),
        // Keys are stored lowercased; any text, including keywords and spaces, must survive.
        "\\PC{1,12}".prop_map(|key| Field::Custom(key.to_lowercase())),
        prop::sample::select(vec!["in", "not", "today", "a_b", "業種"]).prop_map(|key| Field::Custom(key.into())),
    ]
}

fn feature_key() -> impl Strategy<Value = String> {
    "[a-z0-9_-]{1,12}"
}

fn interval(min: u32) -> impl Strategy<Value = Interval> {
    (
        min..5000u32,
        prop::sample::select(vec![IntervalUnit::Days, IntervalUnit::Weeks, IntervalUnit::Months, IntervalUnit::Years]),
    )
        .prop_map(|(count, unit)| Interval { count, unit })
}

fn call(function: Function) -> impl Strategy<Value = Operand> {
    (feature_key(), interval(1)).prop_map(move |(feature, window)| Operand::Feature {
        call: FeatureCall { function, feature, window: function.takes_window().then_some(window) },
    })
}

fn operand_of(value_type: ValueType) -> BoxedStrategy<Operand> {
    match value_type {
        ValueType::Text => prop_oneof![
            text_field().prop_map(|field| Operand::Field { field }),
            "\\PC{0,12}|[\"\\\\\\n\\t\\r\\u{1}]{1,4}".prop_map(|value| Operand::Text { value }),
        ]
        .boxed(),
        ValueType::Number => prop_oneof![
            prop::sample::select(vec![
                Field::Mrr,
                Field::Arr,
                Field::Score,
                Field::ScoreTrend30d,
                Field::DaysToRenewal,
                Field::DaysSinceActivity,
                Field::Employees
            ])
            .prop_map(|field| Operand::Field { field }),
            (any::<i64>(), 0u32..6)
                .prop_map(|(mantissa, scale)| Operand::Number { value: Decimal::new(mantissa, scale) }),
            call(Function::UsesInLast),
        ]
        .boxed(),
        ValueType::Date => {
            let leaf = prop_oneof![
                prop::sample::select(vec![Field::RenewalDate, Field::FirstPayingDay])
                    .prop_map(|field| Operand::Field { field }),
                (1000i32..9999, 1u32..=366).prop_map(|(year, ordinal)| Operand::Date {
                    value: NaiveDate::from_yo_opt(year, ordinal).unwrap_or(NaiveDate::from_yo_opt(year, 1).unwrap())
                }),
                Just(Operand::Today),
                call(Function::LastUsed),
            ];
            leaf.prop_recursive(3, 4, 1, |inner| {
                (inner, prop::sample::select(vec![Sign::Plus, Sign::Minus]), interval(0))
                    .prop_map(|(date, sign, by)| Operand::Shifted { date: Box::new(date), sign, by })
            })
            .boxed()
        }
        ValueType::Bool => prop_oneof![
            any::<bool>().prop_map(|value| Operand::Bool { value }),
            call(Function::UsedThisSeason),
            call(Function::UsedLastSeason),
            call(Function::UsedWithin),
        ]
        .boxed(),
    }
}

fn comparison() -> impl Strategy<Value = Condition> {
    let value_type = prop::sample::select(vec![ValueType::Text, ValueType::Number, ValueType::Date, ValueType::Bool]);
    value_type.prop_flat_map(|value_type| {
        let ops = if matches!(value_type, ValueType::Number | ValueType::Date) {
            vec![CompareOp::Eq, CompareOp::Ne, CompareOp::Lt, CompareOp::Le, CompareOp::Gt, CompareOp::Ge]
        } else {
            vec![CompareOp::Eq, CompareOp::Ne]
        };
        prop_oneof![
            (operand_of(value_type), prop::sample::select(ops), operand_of(value_type))
                .prop_map(|(left, op, right)| Condition::Compare { left, op, right }),
            (operand_of(value_type), prop::collection::vec(operand_of(value_type), 1..4), any::<bool>())
                .prop_map(|(value, list, negated)| Condition::In { value, list, negated }),
            (operand_of(value_type), any::<bool>()).prop_map(|(value, negated)| Condition::IsNull { value, negated }),
            operand_of(ValueType::Bool).prop_map(|value| Condition::Holds { value }),
        ]
    })
}

fn condition() -> impl Strategy<Value = Condition> {
    comparison().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|conditions| Condition::Any { conditions }),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|conditions| Condition::All { conditions }),
            inner.prop_map(|condition| Condition::Not { condition: Box::new(condition) }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_text_parses_back_to_the_same_rule(condition in condition()) {
        let text = Segment::from(condition.clone()).to_string();
        let parsed = Segment::parse(&text).map_err(|errors| TestCaseError::fail(format!("{text}: {errors:?}")))?;
        prop_assert_eq!(parsed.condition(), &condition, "{}", text);
        prop_assert_eq!(parsed.to_string(), text);
    }

    /// `=` and `!=` never both hold, and when both sides are known exactly one does (also for
    /// `owner`, which has two values: `=` is "either", `!=` is "neither"); likewise `in` and
    /// `not in`.
    #[test]
    fn equal_and_not_equal_are_complementary_when_both_sides_are_known(
        (left, right, list) in prop::sample::select(vec![ValueType::Text, ValueType::Number, ValueType::Date, ValueType::Bool])
            .prop_flat_map(|value_type| (operand_of(value_type), operand_of(value_type), prop::collection::vec(operand_of(value_type), 1..3))),
        offset in -40_000i64..40_000,
    ) {
        let today = day("2026-06-15") + chrono::Duration::days(offset);
        let compare = |op| Segment::from(Condition::Compare { left: left.clone(), op, right: right.clone() });
        let within = |negated| Segment::from(Condition::In { value: left.clone(), list: list.clone(), negated });
        let known = |operand: &Operand| Segment::from(Condition::IsNull { value: operand.clone(), negated: true });
        for facts in [AccountFacts { today, ..acme() }, AccountFacts::new(today, "blank")] {
            let (equal, not_equal) = (compare(CompareOp::Eq).matches(&facts), compare(CompareOp::Ne).matches(&facts));
            prop_assert!(!(equal && not_equal));
            let both_known = known(&left).matches(&facts) && known(&right).matches(&facts);
            prop_assert_eq!(equal || not_equal, both_known);
            let (inside, outside) = (within(false).matches(&facts), within(true).matches(&facts));
            prop_assert!(!(inside && outside));
            if known(&left).matches(&facts) && list.iter().all(|item| known(item).matches(&facts)) {
                prop_assert!(inside || outside);
            }
            prop_assert_eq!(outside, list.iter().all(|item| {
                let unequal = Segment::from(Condition::Compare { left: left.clone(), op: CompareOp::Ne, right: item.clone() });
                unequal.matches(&facts)
            }));
        }
    }

    #[test]
    fn arbitrary_text_never_panics_and_errors_point_inside_it(text in "\\PC{0,40}|[a-z_ ()=<>!\"0-9.,+-]{0,40}") {
        if let Err(errors) = Segment::parse(&text) {
            prop_assert!(!errors.is_empty());
            for error in errors {
                prop_assert!(error.offset + error.length <= text.len());
                prop_assert!(text.is_char_boundary(error.offset) && text.is_char_boundary(error.offset + error.length));
            }
        }
    }
}

#[test]
fn a_rule_naming_a_feature_outside_the_catalog_is_refused_at_its_position() {
    let catalog: BTreeSet<String> = ["payslip".to_owned(), "year_end".to_owned()].into();
    let rule = "tier = \"smb\"\n  and used_within(\"payslips\", 30d)";
    let errors = Segment::parse_with_catalog(rule, &catalog).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].line, errors[0].column), (2, 19), "{errors:?}");
    assert_eq!(errors[0].message(Lang::Ja), "機能カタログにない機能です: \"payslips\"（\"payslip\" のことですか？）");
    assert!(errors[0].message(Lang::En).starts_with("no feature \"payslips\" in the feature catalog"));
    assert!(Segment::parse_with_catalog("used_within(\"payslip\", 30d)", &catalog).is_ok());
    assert!(Segment::parse(rule).is_ok(), "a stored rule still reads after its feature left the catalog");
}

#[test]
fn a_rule_of_feature_use_alone_says_which_features_make_it_hold() {
    let features = |rule: &str| segment(rule).holds_by_use_of().map(|f| f.into_iter().collect::<Vec<_>>());
    assert_eq!(features(r#"used_within("payslip", 3650d)"#), Some(vec!["payslip".to_owned()]));
    assert_eq!(
        features(r#"used_within("payslip", 30d) and used_within("reports", 30d)"#),
        Some(vec!["payslip".to_owned(), "reports".to_owned()])
    );
    assert_eq!(features(r#"not used_within("payslip", 30d)"#), None, "not using is not a day of use");
    assert_eq!(features(r#"used_within("payslip", 30d) or seat_activation >= 0.5"#), None);
    assert_eq!(features("seat_activation >= 0.8"), None);
}
