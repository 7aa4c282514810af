//! The demo's voice of the customer: NPS answers every April and October from the account's
//! admin contact, and support tickets — both following the same engagement as its usage, so a
//! fading customer answers lower and raises more urgent tickets.

use super::usage::{core_windows, engagement, profile};
use super::{add_days, DemoData};
use chrono::{Datelike, Months, NaiveDate};
use domain::interchange::nps::NpsRecord;
use domain::interchange::tickets::TicketRecord;
use domain::voice::{TicketPriority, TicketRow, TicketStatus};
use domain::{Email, ExternalId};
use std::collections::HashMap;

const SUBJECTS: &[&str] = &[
    "給与明細が表示されない",
    "年末調整の書類が提出できない",
    "CSV 取り込みでエラーになる",
    "従業員の権限設定について",
    "請求書の宛名変更",
    "ログインできない社員がいる",
];

/// NPS answers and tickets of one account.
/// The primary contact's email of every account, looked up once for all accounts.
pub fn primary_contacts(data: &DemoData) -> HashMap<&str, Email> {
    data.contacts
        .iter()
        .filter(|c| c.is_primary)
        .filter_map(|c| Some((c.account_external_id.as_str(), c.email.clone()?)))
        .collect()
}

pub fn account_voice(
    data: &DemoData,
    index: usize,
    seed: u64,
    today: NaiveDate,
    primary_contacts: &HashMap<&str, Email>,
) -> (Vec<NpsRecord>, Vec<TicketRecord>) {
    let record = &data.accounts[index];
    let account = record.external_id.as_str();
    let profile = profile(data, index, seed, today);
    // A generator of its own, so adding the voice does not change the usage.
    let mut rng = super::Rng(seed ^ 0x005E_ED0F_C0DE ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9));
    let contact = primary_contacts.get(account).cloned();
    let (mut answers, mut tickets) = (Vec::new(), Vec::new());
    for window in core_windows(data, account) {
        let last = window.end.map_or(today, |end| add_days(end, -1)).min(today);
        let mut month = window.start.with_day(1).unwrap_or(window.start);
        while month <= last {
            let day = add_days(month, 14).clamp(window.start, last);
            let level = engagement(profile.base, &window, day, profile.declining_from);
            if let (Some(email), 4 | 10) = (&contact, month.month()) {
                let score = match level {
                    l if l >= 0.6 => rng.range(8, 10),
                    l if l >= 0.35 => rng.range(6, 8),
                    _ => rng.range(1, 6),
                };
                if rng.chance(80) {
                    answers.push(NpsRecord {
                        line: 0,
                        account_external_id: record.external_id.clone(),
                        contact_email: email.clone(),
                        score,
                        responded_on: day,
                        comment: None,
                    });
                }
            }
            if rng.chance(if level < 0.35 { 45 } else { 15 }) {
                let opened = add_days(month, rng.below(28) as i64).clamp(window.start, last);
                let urgent = rng.chance(if level < 0.35 { 50 } else { 10 });
                let solved = add_days(opened, rng.range(1, 6));
                let open = solved > today;
                tickets.push(TicketRecord {
                    line: 0,
                    ticket_id: ExternalId::parse(&format!("TK-{}-{}", &account[4..], tickets.len() + 1))
                        .expect("a non-empty id"),
                    account_external_id: record.external_id.clone(),
                    ticket: TicketRow {
                        created_on: opened,
                        solved_on: (!open).then_some(solved),
                        priority: if urgent { TicketPriority::High } else { TicketPriority::Normal },
                        status: if open { TicketStatus::Open } else { TicketStatus::Solved },
                    },
                    subject: Some(rng.pick(SUBJECTS).to_string()),
                });
            }
            month = month.checked_add_months(Months::new(1)).unwrap_or(today);
        }
    }
    (answers, tickets)
}

#[cfg(test)]
mod tests {
    use super::super::{generate, DemoOptions};
    use super::*;

    #[test]
    fn customers_answer_lower_and_raise_more_urgent_tickets_before_they_churn() {
        let today: NaiveDate = "2026-11-23".parse().unwrap();
        let data = generate(DemoOptions::default(), today);
        let (mut before_churn, mut otherwise) = (Vec::new(), Vec::new());
        let (mut urgent_before, mut urgent_otherwise) = (0usize, 0usize);
        for (index, account) in data.accounts.iter().enumerate() {
            let churns: Vec<NaiveDate> =
                core_windows(&data, account.external_id.as_str()).iter().filter_map(|w| w.end).collect();
            let near_churn = |day: NaiveDate| churns.iter().any(|end| *end > day && (*end - day).num_days() <= 120);
            let (answers, tickets) = account_voice(&data, index, 42, today, &primary_contacts(&data));
            for a in answers {
                if near_churn(a.responded_on) {
                    before_churn.push(a.score)
                } else {
                    otherwise.push(a.score)
                }
            }
            for t in tickets.iter().filter(|t| t.ticket.priority == TicketPriority::High) {
                if near_churn(t.ticket.created_on) {
                    urgent_before += 1
                } else {
                    urgent_otherwise += 1
                }
            }
        }
        let mean = |v: &[i64]| v.iter().sum::<i64>() as f64 / v.len().max(1) as f64;
        assert!(before_churn.len() > 10 && otherwise.len() > 100);
        assert!(mean(&before_churn) + 1.5 < mean(&otherwise), "{} vs {}", mean(&before_churn), mean(&otherwise));
        assert!(urgent_before > 0 && urgent_otherwise > 0);
    }
}
