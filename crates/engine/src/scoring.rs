//! Health scores from the portfolio: one account, or many at once on every core.

use crate::portfolio::{Calendars, Portfolio};
use chrono::NaiveDate;
use domain::account::Account;
use domain::health::{score, AccountTraits, HealthConfig, HealthScore, Scorecard};
use domain::i18n::Bilingual;

/// The grade an account's score reports once it has churned (stored as no grade at all).
pub const CHURNED_GRADE: &str = "churned";

/// Below this many accounts, scoring on one thread is quicker than starting others.
const ACCOUNTS_PER_THREAD: usize = 2_000;

fn traits(account: &Account) -> AccountTraits<'_> {
    AccountTraits {
        tier: account.input.tier.as_deref(),
        stage: account.input.stage.as_deref(),
        touch_model: account.input.touch_model.map(|t| t.as_str()),
        custom: &account.input.custom,
    }
}

/// Scores one account with the scorecard that applies to it, as of the calendars' day (see
/// `Portfolio::calendars`); `None` when no scorecard applies (a configuration without a default).
pub fn score_account(
    config: &HealthConfig,
    portfolio: &Portfolio,
    account: &Account,
    calendars: &Calendars,
) -> Option<HealthScore> {
    let card = config.scorecard_for(&traits(account))?;
    if let Some(day) = portfolio.figures(account.id, calendars.as_of).churned_on {
        return Some(churned(card, calendars.as_of, day));
    }
    Some(score(config, card, &portfolio.signals(account, calendars)))
}

/// Scores every account, in order, on as many threads as the machine has cores.
pub fn score_accounts(
    config: &HealthConfig,
    portfolio: &Portfolio,
    accounts: &[Account],
    calendars: &Calendars,
) -> Vec<Option<HealthScore>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = threads.min(accounts.len() / ACCOUNTS_PER_THREAD).max(1);
    let score_part = |part: &[Account]| -> Vec<Option<HealthScore>> {
        part.iter().map(|account| score_account(config, portfolio, account, calendars)).collect()
    };
    if threads == 1 {
        return score_part(accounts);
    }
    let size = accounts.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = accounts.chunks(size).map(|part| scope.spawn(move || score_part(part))).collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// A churned account has no score and no grade: nothing is at risk any more.
fn churned(card: &Scorecard, as_of: NaiveDate, day: NaiveDate) -> HealthScore {
    HealthScore {
        scorecard: card.key.clone(),
        as_of,
        score: None,
        grade: CHURNED_GRADE.into(),
        capped_by: None,
        measures_available: 0,
        measures_total: card.measures.len(),
        measures: Vec::new(),
        drivers: vec![Bilingual::new(format!("{day} に解約"), format!("Churned on {day}"))],
    }
}
