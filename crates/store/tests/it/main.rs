//! The store's contract tests, one binary: every backend (SQLite, and PostgreSQL with
//! TEST_DATABASE_URL) must pass the same tests.

mod change_log;
mod contract;
mod feedback;
mod onboarding;
mod renewals;
mod schema;
mod segments;
mod tasks;
mod usage;
