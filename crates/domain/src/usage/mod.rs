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
