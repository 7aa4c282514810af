//! Product usage: the feature catalog, the periods a feature is expected to be used in, and
//! the summaries the usage API and health scores read.

pub mod catalog;
pub mod periods;

pub use catalog::{Cadence, EventMatch, Feature, FeatureDefinition, FeatureKey, FeatureView, Importance, SeasonWindow};
pub use periods::{
    days_before, feature_use, feature_use_on, seat_activation, seats, time_series, FeatureCalendar, FeatureUse,
    Granularity, Period,
};

use chrono::{DateTime, NaiveDate, Utc};
pub use chrono_tz::Tz;

/// The workspace's calendar day of an instant: rollups count days where the customer lives.
pub fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The first instant of a calendar day in the workspace's zone (the earliest, when a clock
/// change makes midnight ambiguous; midnight UTC if the zone skips it).
pub fn start_of_day(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    zone.from_local_datetime(&midnight).earliest().map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}
