//! The resident scoring engine: every account's health signals held in memory (`portfolio`),
//! loaded once and then changed in place for the accounts that changed (`changes`), so scores,
//! segments, onboarding rules and the backtest never re-read the whole history. Pure: the `app`
//! crate reads the rows and follows the change log; this crate only holds and derives.

pub mod changes;
pub mod portfolio;
pub mod scoring;

pub use changes::{Change, Follower, Pending};
pub use portfolio::{Calendars, Inputs, Portfolio, Usage};
pub use scoring::{score_account, score_accounts, CHURNED_GRADE};
