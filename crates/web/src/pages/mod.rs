//! Server-rendered HTML pages.

pub mod accounts;
mod format;
