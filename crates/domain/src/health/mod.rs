//! Health scores: scorecards of weighted measures, each explained; grades; the backtest. Pure:
//! the app gathers each account's signals as of a day and these functions do the rest.

pub mod activity;
pub mod backtest;
pub mod fit;
pub mod history;
pub mod pulse;
pub mod score;
pub mod scorecard;

pub use score::{score, AccountSignals, HealthScore, MeasureResult, TicketSignal, UNKNOWN_GRADE};
pub use scorecard::{
    AccountMatch, AccountTraits, ActivityKey, ActivityScope, CriticalRule, GradeBand, HealthConfig, MeasureSpec,
    MeasureType, PointsMapping, Scorecard,
};
