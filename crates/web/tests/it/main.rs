//! The web crate's integration tests, one binary: every suite drives the real server over HTTP
//! on port 0, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

mod common;

mod access;
mod api;
mod cs_ops;
mod feedback;
mod health;
mod kpi;
mod nodes;
mod onboarding;
mod pages;
mod pages_metrics_health;
mod pages_settings;
mod playbooks;
mod renewals;
mod robustness;
mod security;
mod segments;
mod tasks;
mod tech_touch;
mod tracking;
mod usage;
