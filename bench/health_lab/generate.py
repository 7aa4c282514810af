#!/usr/bin/env python3
"""Health lab: an independent generator of a fictional B2B SaaS customer base for Kizuna.

The product is "Hoshi Books", a cloud accounting and expense-management service sold to
Japanese companies per user seat. The generator writes, in Kizuna's import formats
(/work/shared/spec/import-formats.md):

    accounts.csv  subscriptions.csv  nps.csv  tickets.csv  events.ndjson  features.toml

so the health score can be backtested on data that is not the built-in demo; and truth.csv,
the ground truth (each account's churn archetype and styles) for analysing the results.

Behaviours
----------
Accounts
  * Sizes from 2-person teams to 300-seat companies; tier (smb / mid / enterprise), touch
    model, plan and price follow the size. Employee head counts are filled in for about two
    thirds of the accounts only (CRM data is incomplete).
  * Start dates spread over the whole period with mild growth, plus a migrated launch cohort
    in the first two months. Some accounts start in the middle of the tax season.
  * Monthly or annual billing (annual contracts renew as one row per contract year), an
    optional "invoicing" add-on (bought at the start or upsold later, sometimes dropped),
    a list-price rise applied at the first renewal after a fixed date, seat expansions for
    growing accounts and small seat changes for others.
Product usage (Segment messages; the customer's users are identified, linked to their
company with a `group` call, and about half of the accounts also put `context.groupId` on
every message)
  * Members submit expense reports when they have expenses (a few times a month), approvers
    approve what is pending on their active days, accountants close the books once a month
    (a few business days into the next month), reconcile the bank feed most weeks, send
    invoices around month end (add-on only), export reports, produce a quarterly board pack
    (larger accounts) and file the annual tax return in the 02-01..03-31 season.
  * Noise that is not in the catalog: page and screen views, "Signed In", "Dashboard Viewed",
    "Receipt Uploaded", tax-return drafts, consumption-tax filings (same event name as the
    annual return, different `form` property), a few anonymous login-page views that belong
    to no account, and a few retried messages sent twice with the same messageId.
  * Calendar effects for everyone: weekends, national holidays, Golden Week, Obon and a
    quiet August, the New Year break, a busy March. Each account also has its own random
    holiday weeks and a slow random drift in activity.
  * Users ramp up during onboarding, leave (about 1.5% a month) and are replaced.
Healthy accounts vary
  * naturally low usage (few active seats, approvals every other week, no add-on) and
    never churn because of it; growth (seat expansions); temporary dips of one to two months;
    an accountant on leave (month closes missed then caught up twice in one month); a
    company summer shutdown; one tax season skipped once (filed by an outside tax adviser).
Churn (about a quarter of the accounts; the subscription simply has no later period).
Churners follow one archetype each, with random parameters:
  1. fade       - activity falls gradually over the last 2-5 months (shape and floor vary).
  2. core_stop  - keep signing in, viewing pages and submitting expenses, but stop the
                  monthly close (and bank reconciliation) 2-4 months before leaving.
  3. skip_season- do not file in the tax season before they leave; otherwise normal-ish.
  4. thin       - small teams (2-5 users): the same people stay active, each does less.
  5. surprise   - healthy-looking to the end (acquisition, budget cut): unpredictable.
  6. contraction- seats reduced (and the add-on dropped) 3-8 months before leaving.
  Monthly-billed accounts leave on a monthly anniversary, annual ones at a renewal.
Voice of the customer
  * NPS surveys twice a year (May and November); many contacts never answer and some
    accounts never do. Scores are noisy, somewhat lower for churners in their last months
    (except surprise churners), overlapping with healthy accounts.
  * Support tickets at a rate growing with size, more during onboarding; churners file a
    few more and more urgent ones near the end. Recent tickets may still be open.

Deterministic for a seed: every account draws from its own random.Random derived from the
seed, so accounts do not depend on one another. Standard library only.

Usage:
    python3 bench/health_lab/generate.py --out DIR [--accounts 400] [--years 3.5]
        [--seed 7] [--today YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache

DAY = dt.timedelta(days=1)
JST = dt.timezone(dt.timedelta(hours=9))
CURRENCY = "JPY"
PRODUCT_DOMAIN = "hoshibooks.example"

# ----------------------------------------------------------------------------------------
# The feature catalog of the product
# ----------------------------------------------------------------------------------------

FEATURES = [
    {"key": "monthly_close", "name": "月次締め", "name_en": "Monthly close", "event": "Month Closed",
     "cadence": "monthly", "importance": "core"},
    {"key": "expense_approvals", "name": "経費精算の承認", "name_en": "Expense approvals",
     "event": "Expense Report Approved", "cadence": "weekly", "importance": "core"},
    {"key": "tax_return", "name": "法人税申告", "name_en": "Annual tax return", "event": "Tax Return Filed",
     "properties": {"form": "final_return"}, "cadence": "annual", "season": "02-01..03-31",
     "importance": "core"},
    {"key": "expense_submissions", "name": "経費申請", "name_en": "Expense submissions",
     "event": "Expense Report Submitted", "cadence": "weekly", "importance": "supporting"},
    {"key": "invoicing", "name": "請求書の送付", "name_en": "Invoices sent", "event": "Invoice Sent",
     "cadence": "monthly", "importance": "supporting"},
    {"key": "bank_reconciliation", "name": "銀行明細の消込", "name_en": "Bank reconciliation",
     "event": "Reconciliation ", "match": "prefix", "cadence": "weekly",
     "importance": "supporting"},
    {"key": "board_pack", "name": "取締役会資料", "name_en": "Quarterly board pack", "event": "Report Exported",
     "properties": {"report": "board_pack"}, "cadence": "quarterly", "importance": "supporting"},
]

# ----------------------------------------------------------------------------------------
# Calendar
# ----------------------------------------------------------------------------------------


def days_in_month(year: int, month: int) -> int:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (following - dt.date(year, month, 1)).days


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` later, clamped to the month's last day."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return dt.date(year, month0 + 1, min(day.day, days_in_month(year, month0 + 1)))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


@lru_cache(maxsize=None)
def holidays(year: int) -> frozenset:
    """Japanese public holidays (close enough), plus the usual company New Year break."""
    fixed = [(1, 1), (1, 2), (1, 3), (2, 11), (2, 23), (3, 20), (4, 29), (5, 3), (5, 4), (5, 5),
             (8, 11), (9, 23), (11, 3), (11, 23), (12, 29), (12, 30), (12, 31)]
    days = {dt.date(year, m, d) for m, d in fixed}
    days |= {nth_weekday(year, 1, 0, 2), nth_weekday(year, 7, 0, 3), nth_weekday(year, 9, 0, 3),
             nth_weekday(year, 10, 0, 2)}
    days |= {d + DAY for d in list(days) if d.weekday() == 6}  # substitute holidays
    return frozenset(days)


def is_workday(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year)


@lru_cache(maxsize=None)
def office_activity(day: dt.date) -> float:
    """How busy a typical Japanese office is on the day (1.0 = an ordinary working day)."""
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return 0.03
    if day.month == 8 and 13 <= day.day <= 16:  # Obon
        return 0.2
    if day.weekday() >= 5:
        return 0.05
    if day in holidays(day.year):
        return 0.08
    if day.month == 8:
        return 0.8
    if day.month == 5 and day.day <= 6:  # Golden Week bridge days
        return 0.5
    if day.month == 3:
        return 1.1  # fiscal year end
    if (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 7):
        return 0.75
    return 1.0


def workdays(first: dt.date, last: dt.date) -> list:
    out, day = [], first
    while day <= last:
        if is_workday(day):
            out.append(day)
        day += DAY
    return out


def nth_workday(year: int, month: int, n: int) -> dt.date:
    days = workdays(dt.date(year, month, 1), dt.date(year, month, days_in_month(year, month)))
    return days[min(n, len(days)) - 1]


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, int(round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def clamp(x: float, low: float, high: float) -> float:
    return max(low, min(high, x))


# ----------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------

NAME_STEMS = [
    ("あおば", "aoba"), ("ひので", "hinode"), ("かわせみ", "kawasemi"), ("みどり", "midori"),
    ("さくら", "sakura"), ("つばさ", "tsubasa"), ("わかば", "wakaba"), ("こだま", "kodama"),
    ("ひかり", "hikari"), ("はやて", "hayate"), ("すばる", "subaru"), ("やまびこ", "yamabiko"),
    ("北斗", "hokuto"), ("東雲", "shinonome"), ("大和", "yamato"), ("白樺", "shirakaba"),
    ("千歳", "chitose"), ("瑞穂", "mizuho"), ("葵", "aoi"), ("楓", "kaede"), ("凪", "nagi"),
    ("暁", "akatsuki"), ("蒼空", "sora"), ("光洋", "koyo"), ("朝日", "asahi"), ("松風", "matsukaze"),
    ("藤波", "fujinami"), ("竹林", "chikurin"), ("青葉台", "aobadai"), ("湊", "minato"),
    ("Nexa", "nexa"), ("Crest", "crest"), ("Lumo", "lumo"), ("Orbis", "orbis"),
    ("Piko", "piko"), ("Tanzaku", "tanzaku"), ("Kinari", "kinari"), ("Mebuki", "mebuki"),
]
INDUSTRIES = [
    ("小売", "shoji", "商事"), ("製造", "seisakusho", "製作所"), ("IT・ソフトウェア", "tech", "テック"),
    ("建設", "kensetsu", "建設"), ("医療・福祉", "medical", "メディカル"), ("飲食", "foods", "フーズ"),
    ("物流", "logistics", "ロジスティクス"), ("不動産", "estate", "不動産"),
    ("専門サービス", "partners", "パートナーズ"), ("広告・メディア", "media", "メディア"),
    ("教育", "academy", "アカデミー"), ("卸売", "trading", "トレーディング"),
]
REGIONS = ["東京", "東京", "東京", "神奈川", "大阪", "大阪", "愛知", "福岡", "北海道", "宮城",
           "広島", "京都", "埼玉", "千葉", "静岡", "沖縄"]
FAMILY = ["sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto", "nakamura",
          "kobayashi", "kato", "yoshida", "yamada", "sasaki", "yamaguchi", "matsumoto", "inoue",
          "kimura", "hayashi", "shimizu", "mori", "abe", "ikeda", "hashimoto", "ishikawa", "ogawa",
          "okada", "goto", "hasegawa", "murakami", "kondo", "fujita", "endo", "aoki", "sakamoto"]
GIVEN = ["haruto", "yuto", "sota", "ren", "hina", "yui", "mei", "aoi", "riko", "sakura", "kaito",
         "daiki", "shota", "naoki", "misaki", "ayaka", "kenta", "takumi", "yuna", "mio", "rina",
         "kazuki", "hiroshi", "akiko", "emi", "tomoko", "satoshi", "yuki", "koji", "nanami"]
CSMS = ["misaki.takahashi", "sho.tanaka", "daisuke.watanabe", "yuko.yamamoto", "ren.kimura",
        "aya.fujita", "kenji.mori"]
SALES = ["makoto.yoshida", "haruka.ishii", "takeshi.ono", "nao.sakai"]
STAFF_DOMAIN = "hoshibooks.example"


# ----------------------------------------------------------------------------------------
# The account plan: everything decided about an account before any event is written
# ----------------------------------------------------------------------------------------

PLANS = {  # plan: (list price per seat per month, JPY)
    "starter": 780,
    "standard": 1480,
    "professional": 2280,
}
ADDON_MONTHLY = 3980


@dataclass
class User:
    uid: str
    email: str
    name: str
    role: str  # accountant | approver | member
    since: dt.date
    activity: float  # chance of being active in an ordinary week
    mobile: bool
    announced: bool = False


@dataclass
class Account:
    idx: int
    rng: random.Random
    account_id: str = ""
    name: str = ""
    domain: str = ""
    industry: str = ""
    region: str = ""
    headcount: int = 0
    list_employees: bool = True
    seats: int = 1
    tier: str = "smb"
    touch: str = "tech"
    plan: str = "standard"
    billing: str = "month"
    discount: int = 0
    start: dt.date = dt.date(2000, 1, 1)
    end: dt.date | None = None  # churn: the first day without service
    archetype: str | None = None
    styles: set = field(default_factory=set)
    churn_reason: str = ""
    churn_note: str = ""
    # Subscriptions
    quantity_changes: list = field(default_factory=list)  # [(day, seats)], first at start
    addon: tuple | None = None  # (start, end or None)
    # Behaviour
    adoption: float = 0.8
    ramp_days: int = 60
    close_workday: int = 5
    uses_tax: bool = True
    uses_bank: bool = True
    board_pack: bool = False
    context_group: bool = True
    mobile_share: float = 0.3
    reconcile_rate: float = 0.8
    submit_rate: float = 0.35
    drift: list = field(default_factory=list)  # activity factor per month since start
    skip_seasons: set = field(default_factory=set)
    leave_spells: list = field(default_factory=list)
    dips: list = field(default_factory=list)  # (first, last, factor)
    holiday_weeks: set = field(default_factory=set)  # Mondays
    fade_start: dt.date | None = None
    fade_floor: float = 0.2
    fade_shape: float = 1.0
    core_stop: dt.date | None = None
    thin_start: dt.date | None = None
    thin_floor: float = 0.3
    contraction: dt.date | None = None
    surprise_days: int = 0
    satisfaction: float = 8.0
    # Running state while events are written
    users: list = field(default_factory=list)
    pending_reports: list = field(default_factory=list)
    deferred_closes: int = 0
    user_counter: int = 0

    def last_day(self, today: dt.date) -> dt.date:
        return min(self.end - DAY, today) if self.end else today

    def quantity_on(self, day: dt.date) -> int:
        q = self.quantity_changes[0][1]
        for when, seats in self.quantity_changes:
            if when <= day:
                q = seats
        return q

    def addon_on(self, day: dt.date) -> bool:
        return self.addon is not None and self.addon[0] <= day and (self.addon[1] is None or day < self.addon[1])


def pick_size(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.33:
        return rng.randint(2, 9)
    if r < 0.70:
        return rng.randint(10, 39)
    if r < 0.91:
        return rng.randint(40, 119)
    return rng.randint(120, 300)


def pick_start(rng: random.Random, first: dt.date, today: dt.date) -> dt.date:
    """A launch cohort migrated in the first two months, then mild growth in sign-ups."""
    if rng.random() < 0.14:
        return first + dt.timedelta(days=rng.randint(0, 60))
    span = (today - first).days - 45
    # Density growing linearly from 1 to 2 over the period: inverse of the CDF.
    u = rng.random()
    x = (-1 + math.sqrt(1 + 3 * u)) if u > 0 else 0.0  # solves (x + x^2/2) / 1.5 = u
    return first + dt.timedelta(days=int(x * span))


def anniversaries(a: Account, first: dt.date, last: dt.date) -> list:
    """Days on which the account could leave: monthly or yearly anniversaries in [first, last]."""
    step = 12 if a.billing == "year" else 1
    out, k = [], step
    while True:
        day = add_months(a.start, k)
        if day > last:
            return out
        if day >= first:
            out.append(day)
        k += step


ARCHETYPE_WEIGHTS = {"fade": 30, "core_stop": 15, "skip_season": 13, "thin": 0, "surprise": 14,
                     "contraction": 15}
CHURN_REASONS = {
    "fade": [("low_usage", "使われなくなった。担当者の異動で運用が止まった"),
             ("low_usage", "Usage dropped after the champion left"),
             ("switched_competitor", "他社の会計ソフトに移行")],
    "core_stop": [("switched_competitor", "会計は他社製品に移行、経費精算だけ残していた"),
                  ("outsourced", "記帳を税理士事務所に外注することにした")],
    "skip_season": [("outsourced", "申告は顧問税理士に任せることに"),
                    ("switched_competitor", "Moved to the tax adviser's recommended software")],
    "thin": [("budget", "少人数なので表計算で十分との判断"), ("low_usage", "Too small to need it")],
    "surprise": [("acquired", "親会社のシステムに統合"), ("budget", "全社的なコスト削減"),
                 ("closed", "事業縮小")],
    "contraction": [("downsizing", "事業部の売却で利用者が減り、解約"),
                    ("budget", "Seats cut in the budget review, then cancelled")],
}


def plan_churn(a: Account, today: dt.date) -> None:
    """Decides whether, when and how the account leaves."""
    rng = a.rng
    base = {"smb": 0.50, "mid": 0.38, "enterprise": 0.24}[a.tier]
    months = months_between(a.start, today)
    if rng.random() >= base * clamp((months - 4) / 26, 0.0, 1.0):
        return
    weights = dict(ARCHETYPE_WEIGHTS)
    if a.seats <= 5:
        weights["thin"] = 60
        weights["contraction"] = 0
    archetype = rng.choices(list(weights), weights=list(weights.values()))[0]
    candidates = anniversaries(a, add_months(a.start, 4), today - DAY)
    if archetype == "skip_season":
        # Leave between April and October after a season skipped, having filed the one before.
        candidates = [d for d in candidates if 4 <= d.month <= 10 and a.start <= dt.date(d.year - 1, 2, 10)]
    if archetype in ("fade", "core_stop", "contraction", "thin"):
        candidates = [d for d in candidates if (d - a.start).days >= 200]
    if not candidates:
        archetype = "fade"
        candidates = anniversaries(a, add_months(a.start, 5), today - DAY)
    if not candidates:
        return
    a.end = rng.choice(candidates)
    a.archetype = archetype
    a.churn_reason, a.churn_note = rng.choice(CHURN_REASONS[archetype])
    days = lambda lo, hi: a.end - dt.timedelta(days=rng.randint(lo, hi))  # noqa: E731
    if archetype == "fade":
        a.fade_start = max(a.start + dt.timedelta(days=60), days(60, 150))
        a.fade_floor = rng.uniform(0.03, 0.35)
        a.fade_shape = rng.choice([0.6, 1.0, 1.0, 1.8])  # early drop, linear, late drop
    elif archetype == "core_stop":
        a.core_stop = days(60, 125)
    elif archetype == "skip_season":
        a.skip_seasons.add(a.end.year)
    elif archetype == "thin":
        a.thin_start = max(a.start + dt.timedelta(days=45), days(90, 160))
        a.thin_floor = rng.uniform(0.15, 0.45)
    elif archetype == "surprise":
        a.surprise_days = rng.choice([0, 0, 7, 14, 21])
    elif archetype == "contraction":
        a.contraction = max(a.start + dt.timedelta(days=90), days(90, 240))


def plan_styles(a: Account, today: dt.date) -> None:
    """Ways in which accounts differ whether or not they leave."""
    rng = a.rng
    if rng.random() < 0.16:
        a.styles.add("low_usage")
    if not a.end and rng.random() < 0.22 and a.seats >= 4:
        a.styles.add("growth")
    if rng.random() < 0.25:
        a.styles.add("summer_shutdown")
    if not a.end and rng.random() < 0.10:
        a.styles.add("accountant_leave")
    if not a.end and rng.random() < 0.09:
        a.styles.add("dip")
    last = a.last_day(today)
    life = (last - a.start).days
    if "accountant_leave" in a.styles and life > 240:
        first = a.start + dt.timedelta(days=rng.randint(120, life - 90))
        a.leave_spells.append((first, first + dt.timedelta(days=rng.randint(30, 80))))
    if "dip" in a.styles and life > 200:
        first = a.start + dt.timedelta(days=rng.randint(100, life - 60))
        a.dips.append((first, first + dt.timedelta(days=rng.randint(25, 65)), rng.uniform(0.3, 0.6)))
    seasons = [y for y in range(a.start.year + 1, last.year + 1) if dt.date(y, 3, 31) <= last]
    if not a.end and len(seasons) >= 2 and rng.random() < 0.10:
        a.styles.add("skip_season_once")
        a.skip_seasons.add(rng.choice(seasons[1:]))
    # Random company holiday weeks, about one a year.
    monday = a.start - dt.timedelta(days=a.start.weekday())
    while monday <= last:
        if rng.random() < 1 / 52:
            a.holiday_weeks.add(monday)
        if "summer_shutdown" in a.styles and monday.month == 8 and 1 <= monday.day <= 7:
            a.holiday_weeks.add(monday)
        monday += 7 * DAY


def plan_behaviour(a: Account) -> None:
    rng = a.rng
    low = "low_usage" in a.styles
    a.adoption = rng.uniform(0.25, 0.45) if low else rng.uniform(0.6, 0.97)
    a.ramp_days = rng.randint(20, 120)
    a.close_workday = rng.choice([2, 3, 3, 4, 5, 5, 6, 7, 8, 10, 12])
    a.uses_tax = a.archetype == "skip_season" or rng.random() < (0.7 if low else 0.88)
    a.uses_bank = rng.random() < (0.55 if low else 0.85)
    a.board_pack = a.tier != "smb" and rng.random() < 0.6
    a.context_group = rng.random() < 0.5
    a.mobile_share = rng.uniform(0.05, 0.6)
    a.reconcile_rate = rng.uniform(0.3, 0.6) if low else rng.uniform(0.65, 0.97)
    a.submit_rate = rng.uniform(0.12, 0.25) if low else rng.uniform(0.25, 0.5)
    level, drift = 1.0, []
    for _ in range(60):
        level = clamp(1 + 0.75 * (level - 1) + rng.gauss(0, 0.07), 0.65, 1.3)
        drift.append(level)
    a.drift = drift
    a.satisfaction = clamp(rng.gauss(7.9, 1.1) - (0.6 if low else 0), 3, 10)


def plan_subscription(a: Account, today: dt.date) -> None:
    """Seat changes over time and the invoicing add-on."""
    rng = a.rng
    last = a.last_day(today)
    changes = [(a.start, a.seats)]
    steps = anniversaries(a, a.start + 60 * DAY, last) if a.billing == "month" else \
        sorted(anniversaries(a, a.start + 60 * DAY, last) + [add_months(a.start, 6 + 12 * k) for k in range(4)])
    steps = [d for d in steps if d <= last]
    q = a.seats
    if "growth" in a.styles and steps:
        for day in sorted(rng.sample(steps, k=min(len(steps), rng.randint(1, 3)))):
            q = max(q + 1, int(q * rng.uniform(1.15, 1.6)))
            changes.append((day, q))
    elif steps and rng.random() < 0.3:
        day = rng.choice(steps)
        q = max(1, q + rng.choice([-1, 1]) * max(1, int(q * rng.uniform(0.05, 0.2))))
        changes.append((day, q))
    if a.contraction:
        # Reduce seats at the contraction day; drop any later change.
        changes = [c for c in changes if c[0] < a.contraction]
        current = changes[-1][1]
        changes.append((a.contraction, max(1, int(current * rng.uniform(0.3, 0.7)))))
    changes.sort()
    merged = []
    for day, seats in changes:
        if merged and merged[-1][0] == day:
            merged[-1] = (day, seats)
        elif not merged or merged[-1][1] != seats:
            merged.append((day, seats))
    a.quantity_changes = merged
    # The invoicing add-on.
    if "low_usage" not in a.styles and rng.random() < 0.5:
        start = a.start if rng.random() < 0.6 else a.start + dt.timedelta(days=rng.randint(60, 500))
        if start < last:
            end = a.end
            if a.contraction and start < a.contraction:
                end = a.contraction
            elif rng.random() < 0.1:
                dropped = start + dt.timedelta(days=rng.randint(90, 600))
                if dropped < last:
                    end = dropped
            if end is None or end > start:
                a.addon = (start, end)


def company_identity(a: Account, used_domains: set) -> None:
    rng = a.rng
    stem_ja, stem_en = rng.choice(NAME_STEMS)
    industry, slug, word = rng.choice(INDUSTRIES)
    a.industry = industry
    form = rng.random()
    if form < 0.6:
        a.name = f"株式会社{stem_ja}{word}"
    elif form < 0.9:
        a.name = f"{stem_ja}{word}株式会社"
    else:
        a.name = f"合同会社{stem_ja}{word}"
    domain = f"{stem_en}-{slug}.example.jp"
    n = 2
    while domain in used_domains:
        domain = f"{stem_en}-{slug}{n}.example.jp"
        n += 1
    used_domains.add(domain)
    if n > 2:
        a.name += f"（{rng.choice(REGIONS)}）"
    a.domain = domain
    a.region = rng.choice(REGIONS)


def plan_accounts(n: int, seed: int, first: dt.date, today: dt.date) -> list:
    accounts, used_domains = [], set()
    for idx in range(n):
        a = Account(idx=idx, rng=random.Random(f"health-lab:{seed}:{idx}"))
        rng = a.rng
        a.account_id = f"HB-{10001 + idx}"
        company_identity(a, used_domains)
        a.seats = pick_size(rng)
        a.headcount = max(a.seats, int(a.seats / rng.uniform(0.55, 1.0)))
        a.list_employees = rng.random() < 0.65
        a.tier = "smb" if a.seats < 20 else "mid" if a.seats < 100 else "enterprise"
        a.touch = {"smb": "tech", "mid": "low", "enterprise": "high"}[a.tier]
        if a.tier == "mid" and rng.random() < 0.2:
            a.touch = "high"
        a.plan = {"smb": rng.choice(["starter", "starter", "standard"]), "mid": "standard",
                  "enterprise": rng.choice(["standard", "professional", "professional"])}[a.tier]
        annual = {"smb": 0.15, "mid": 0.5, "enterprise": 0.85}[a.tier]
        a.billing = "year" if rng.random() < annual else "month"
        a.discount = rng.choice([10, 10, 15]) if a.billing == "year" else rng.choice([0] * 8 + [5, 10])
        a.start = pick_start(rng, first, today)
        plan_churn(a, today)
        plan_styles(a, today)
        plan_behaviour(a)
        plan_subscription(a, today)
        accounts.append(a)
    return accounts


# ----------------------------------------------------------------------------------------
# accounts.csv and subscriptions.csv
# ----------------------------------------------------------------------------------------


def stage_of(a: Account, today: dt.date) -> str:
    if a.end:
        return "churned"
    if (today - a.start).days < 90:
        return "onboarding"
    if a.billing == "year":
        renewal = next((d for d in anniversaries(a, today, today + 400 * DAY)), None)
        if renewal and (renewal - today).days <= 60:
            return "renewal"
    if "growth" in a.styles:
        return "expansion"
    return "at_risk" if a.rng.random() < 0.05 else "adoption"


def write_accounts(path: str, accounts: list, today: dt.date) -> int:
    header = ["account_id", "name", "domain", "industry", "region", "employees", "tier", "touch_model",
              "stage", "owner_email", "sub_owner_email", "sales_owner_email", "created_at",
              "churn_reason", "churn_note", "custom.lead_source"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for a in accounts:
            rng = random.Random(f"health-lab:crm:{a.idx}")
            owner = "" if a.touch == "tech" and rng.random() < 0.5 else f"{rng.choice(CSMS)}@{STAFF_DOMAIN}"
            sub_owner = f"{rng.choice(CSMS)}@{STAFF_DOMAIN}" if a.touch == "high" else ""
            if sub_owner == owner:
                sub_owner = ""
            sales = f"{rng.choice(SALES)}@{STAFF_DOMAIN}" if a.tier != "smb" else ""
            signed = a.start - dt.timedelta(days=rng.randint(0, 20))
            created = signed.strftime("%Y/%m/%d") if rng.random() < 0.3 else signed.isoformat()
            w.writerow([
                a.account_id, a.name, a.domain, a.industry, a.region,
                f"{a.headcount:,}" if a.list_employees else "", a.tier, a.touch, stage_of(a, today),
                owner, sub_owner, sales, created, a.churn_reason if a.end else "",
                a.churn_note if a.end else "", rng.choice(["web", "web", "partner", "event", "outbound"]),
            ])
    return len(accounts)


PRICE_RISE = 1.08  # the list price rises by 8% on PRICE_RISE_DAY, applied at the next renewal


def subscription_rows(a: Account, today: dt.date, price_rise_day: dt.date) -> list:
    """One row per contract period of the core subscription and of the add-on."""
    rows = []
    last = a.last_day(today)
    renewals = anniversaries(a, a.start + DAY, last)
    rise = next((d for d in renewals if d >= price_rise_day), None)
    yearly = a.billing == "year"
    base_price = PLANS[a.plan] * (12 if yearly else 1)
    breaks = {a.start} | {d for d, _ in a.quantity_changes} | ({rise} if rise else set())
    if yearly:
        breaks |= set(renewals)
    breaks = sorted(d for d in breaks if d <= last)
    for i, start in enumerate(breaks):
        end = breaks[i + 1] if i + 1 < len(breaks) else a.end
        price = base_price * (PRICE_RISE if rise and start >= rise else 1)
        rows.append({
            "subscription_id": f"SUB-{a.account_id}-CORE", "account_id": a.account_id, "product": "core",
            "plan": a.plan, "start_date": start.isoformat(), "end_date": end.isoformat() if end else "",
            "billing_interval": a.billing, "interval_count": 1, "quantity": a.quantity_on(start),
            "unit_price": int(round(price, -1)), "discount_percent": a.discount, "currency": CURRENCY,
        })
    if a.addon:
        start, end = a.addon
        price = ADDON_MONTHLY * (12 if yearly else 1)
        rows.append({
            "subscription_id": f"SUB-{a.account_id}-INV", "account_id": a.account_id, "product": "invoicing",
            "plan": "invoicing", "start_date": start.isoformat(), "end_date": end.isoformat() if end else "",
            "billing_interval": a.billing, "interval_count": 1, "quantity": 1, "unit_price": price,
            "discount_percent": a.discount, "currency": CURRENCY,
        })
    return rows


def write_subscriptions(path: str, accounts: list, today: dt.date, price_rise_day: dt.date) -> int:
    header = ["subscription_id", "account_id", "product", "plan", "start_date", "end_date",
              "billing_interval", "interval_count", "quantity", "unit_price", "discount_percent", "currency"]
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for a in accounts:
            for row in subscription_rows(a, today, price_rise_day):
                w.writerow(row)
                count += 1
    return count


# ----------------------------------------------------------------------------------------
# How active an account is on a day
# ----------------------------------------------------------------------------------------


def fade_factor(a: Account, day: dt.date) -> float:
    """For fading churners: 1.0 before the fade starts, falling to the floor at the end."""
    if a.archetype != "fade" or day < a.fade_start:
        return 1.0
    frac = (day - a.fade_start).days / max(1, (a.end - a.fade_start).days)
    return 1 - (1 - a.fade_floor) * frac ** a.fade_shape


def engagement(a: Account, day: dt.date) -> float:
    """The account's activity level on a day, before the office calendar (1.0 = its normal)."""
    e = a.drift[min(len(a.drift) - 1, months_between(a.start, day))]
    since = (day - a.start).days
    if since < a.ramp_days:
        e *= 0.35 + 0.65 * since / a.ramp_days
    for first, last, factor in a.dips:
        if first <= day <= last:
            e *= factor
    if day - dt.timedelta(days=day.weekday()) in a.holiday_weeks:
        e *= 0.2
    if a.end:
        to_end = (a.end - day).days
        if a.archetype == "fade":
            e *= fade_factor(a, day)
        elif a.archetype == "surprise" and to_end < a.surprise_days:
            e *= 0.6
        elif a.archetype == "contraction" and to_end < 45:
            e *= 0.7
        elif a.archetype == "skip_season" and to_end < 60:
            e *= 0.85
        elif a.archetype == "core_stop" and day >= a.core_stop:
            e *= 0.9
    return e


def task_factor(a: Account, day: dt.date) -> float:
    """How much work each active user does (thin churners: the same people, less each)."""
    f = 0.75 if "low_usage" in a.styles else 1.0
    if a.thin_start and day >= a.thin_start:
        frac = (day - a.thin_start).days / max(1, (a.end - a.thin_start).days)
        f *= 1 - (1 - a.thin_floor) * frac
    return f


def on_leave(a: Account, day: dt.date) -> bool:
    return any(first <= day <= last for first, last in a.leave_spells)


# ----------------------------------------------------------------------------------------
# events.ndjson
# ----------------------------------------------------------------------------------------


class EventSink:
    """Buffers one month of messages, then writes them sorted by time."""

    def __init__(self, path: str, seed: int):
        self.file = open(path, "w", encoding="utf-8")
        self.buffer = []
        self.lines = 0
        self.by_type = {}
        self.rng = random.Random(f"health-lab:{seed}:ids")
        self.counter = 0

    def message_id(self) -> str:
        self.counter += 1
        return f"{self.rng.getrandbits(64):016x}-{self.counter:x}"

    def add(self, when: dt.datetime, message: dict, duplicate: bool = False) -> None:
        stamp = when.isoformat(timespec="milliseconds")
        message["timestamp"] = stamp
        message["messageId"] = self.message_id()
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        self.buffer.append((stamp, line))
        if duplicate:  # a client retry: the same message again, which must count once
            self.buffer.append((stamp, line))
        kind = message["type"]
        self.by_type[kind] = self.by_type.get(kind, 0) + 1 + duplicate

    def flush(self) -> None:
        self.buffer.sort(key=lambda item: item[0])
        self.file.write("".join(line + "\n" for _, line in self.buffer))
        self.lines += len(self.buffer)
        self.buffer = []

    def close(self) -> None:
        self.flush()
        self.file.close()


HOURS = list(range(7, 23))
HOUR_WEIGHTS = [1, 4, 9, 12, 11, 6, 9, 11, 10, 8, 6, 4, 2, 2, 1, 1]
LATE_WEIGHTS = [1, 2, 5, 8, 8, 5, 8, 10, 11, 11, 9, 7, 5, 3, 2, 1]  # closing the books runs late
CUM_HOURS = [sum(HOUR_WEIGHTS[: i + 1]) for i in range(len(HOURS))]
CUM_LATE = [sum(LATE_WEIGHTS[: i + 1]) for i in range(len(HOURS))]


def at_time(rng: random.Random, day: dt.date, late: bool = False) -> dt.datetime:
    """A moment on the day in Tokyo office hours (sometimes the evening)."""
    hour = rng.choices(HOURS, cum_weights=CUM_LATE if late else CUM_HOURS)[0]
    return dt.datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60),
                       rng.randrange(1000) * 1000, tzinfo=JST)


class AccountEvents:
    """Writes the messages of one account, a month at a time."""

    def __init__(self, a: Account, sink: EventSink, today: dt.date, seed: int):
        self.a = a
        self.sink = sink
        self.today = today
        self.rng = random.Random(f"health-lab:{seed}:events:{a.idx}")
        self.tax_plan = []  # (day, event, properties) of the current tax season

    # --- messages

    def _context(self) -> dict:
        return {"groupId": self.a.account_id} if self.a.context_group else {}

    def announce(self, user: User, when: dt.datetime) -> None:
        """identify and group calls before a user's first message."""
        a = self.a
        self.sink.add(when - dt.timedelta(seconds=2), {
            "type": "identify", "userId": user.uid,
            "traits": {"email": user.email, "name": user.name, "role": user.role}})
        self.sink.add(when - dt.timedelta(seconds=1), {
            "type": "group", "userId": user.uid, "groupId": a.account_id,
            "traits": {"name": a.name, "plan": a.plan, "industry": a.industry,
                       **({"employees": a.headcount} if a.list_employees else {})}})
        user.announced = True

    def track(self, user: User, day: dt.date, event: str, properties: dict | None = None,
              when: dt.datetime | None = None) -> None:
        when = when or at_time(self.rng, day)
        if not user.announced:
            self.announce(user, when)
        message = {"type": "track", "userId": user.uid, "event": event}
        if properties:
            message["properties"] = properties
        context = self._context()
        if context:
            message["context"] = context
        self.sink.add(when, message, duplicate=self.rng.random() < 0.001)

    def view(self, user: User, day: dt.date, name: str, screen: bool = False) -> None:
        when = at_time(self.rng, day)
        if not user.announced:
            self.announce(user, when)
        message = {"type": "screen" if screen else "page", "userId": user.uid, "name": name}
        if not screen:
            message["properties"] = {"path": "/" + name.lower().replace(" ", "-")}
        context = self._context()
        if screen:
            context = {**context, "app": {"name": "Hoshi Books", "version": "3.2"}}
        if context:
            message["context"] = context
        self.sink.add(when, message)

    # --- users

    def _new_user(self, role: str, since: dt.date) -> User:
        a, rng = self.a, self.rng
        a.user_counter += 1
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        activity = {"accountant": 0.95, "approver": rng.uniform(0.7, 0.95),
                    "member": rng.uniform(0.3, 0.75)}[role]
        return User(uid=f"{a.account_id.lower()}-u{a.user_counter:04d}",
                    email=f"{given}.{family}{a.user_counter}@{a.domain}",
                    name=f"{family.capitalize()} {given.capitalize()}", role=role, since=since,
                    activity=activity, mobile=rng.random() < a.mobile_share)

    def update_roster(self, first: dt.date, last: dt.date) -> None:
        """Monthly: people leave and are replaced; the roster follows seats and adoption."""
        a, rng = self.a, self.rng
        frozen = a.thin_start is not None and first >= a.thin_start
        seats = a.quantity_on(first)
        ramp = clamp(0.35 + 0.65 * (first - a.start).days / a.ramp_days, 0.35, 1.0)
        target = max(1, min(seats, round(seats * a.adoption * ramp)))
        # Fading accounts lose users (people stop logging in and are not replaced).
        target = max(1, round(target * (0.5 + 0.5 * fade_factor(a, first))))
        if frozen and a.users:
            return
        join_day = lambda: first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))  # noqa: E731
        for user in list(a.users):
            if rng.random() < 0.015:
                a.users.remove(user)
                a.users.append(self._new_user(user.role, join_day()))
        while len(a.users) > target:
            members = [u for u in a.users if u.role == "member"] or [u for u in a.users if u.role == "approver"]
            if not members or len(a.users) <= 1:
                break
            a.users.remove(rng.choice(members))
        accountants = 1 + seats // 60
        approvers = 0 if seats <= 5 else max(1, seats // 9)
        while len(a.users) < target:
            roles = [u.role for u in a.users]
            if roles.count("accountant") < accountants:
                role = "accountant"
            elif roles.count("approver") < approvers:
                role = "approver"
            else:
                role = "member"
            since = first if not a.users else join_day()
            a.users.append(self._new_user(role, since))

    def staff(self, role: str, day: dt.date) -> list:
        return [u for u in self.a.users if u.role == role and u.since <= day]

    def accountant(self, day: dt.date) -> User | None:
        people = self.staff("accountant", day) or [u for u in self.a.users if u.since <= day]
        return self.rng.choice(people) if people else None

    # --- a month

    def month(self, first: dt.date, last: dt.date) -> None:
        a = self.a
        first = max(first, a.start)
        last = min(last, a.last_day(self.today))
        if first > last:
            return
        self.update_roster(first, last)
        self.sessions(first, last)
        self.month_close(first, last)
        self.bank_reconciliation(first, last)
        self.invoices(first, last)
        self.reports(first, last)
        self.tax_season(first, last)
        for day, event, properties in [t for t in self.tax_plan if first <= t[0] <= last]:
            user = self.accountant(day)
            if user:
                self.track(user, day, event, properties)

    def sessions(self, first: dt.date, last: dt.date) -> None:
        """Week by week: who is active on which days, what they look at, what they submit and
        approve."""
        a, rng = self.a, self.rng
        day = first
        while day <= last:
            week_end = min(last, day + dt.timedelta(days=6 - day.weekday()))
            days = [day + dt.timedelta(days=i) for i in range((week_end - day).days + 1)]
            weights = [office_activity(d) for d in days]
            load = sum(weights) / 5
            e = engagement(a, day)
            work = task_factor(a, day)
            submissions = []
            approvers_days = []
            for user in a.users:
                user_days = [d for d in days if d >= user.since]
                if not user_days:
                    continue
                p = clamp(user.activity * e * load, 0, 0.98)
                if rng.random() >= p:
                    continue
                extra = 1 if user.role == "member" else 3
                count = 1 + sum(rng.random() < 0.35 * e for _ in range(extra))
                picked = sorted(set(rng.choices(days, weights=weights, k=count)))
                picked = [d for d in picked if d >= user.since] or [user_days[0]]
                for d in picked:
                    self.session_event(user, d)
                    if user.role == "member" or a.seats <= 5:
                        if rng.random() < a.submit_rate * work * (2.2 if a.seats <= 5 else 1):
                            self.track(user, d, "Expense Report Submitted",
                                       {"amount": rng.choice([880, 1540, 3200, 5600, 12800, 24000, 56000]),
                                        "category": rng.choice(["travel", "meals", "supplies", "software",
                                                                "transport"])})
                            submissions.append(d)
                    if user.role == "approver" or (a.seats <= 5 and user.role == "accountant"):
                        if rng.random() < clamp(work * 1.1, 0, 1):
                            approvers_days.append((d, user))
            self.approvals(submissions, approvers_days, work, week_end)
            day = week_end + DAY

    def session_event(self, user: User, day: dt.date) -> None:
        rng = self.rng
        if user.role == "member":
            r = rng.random()
            if user.mobile and r < 0.4:
                self.view(user, day, "Receipt Scan", screen=True)
                if rng.random() < 0.5:
                    self.track(user, day, "Receipt Uploaded", {"source": "camera"})
            elif r < 0.75:
                self.view(user, day, rng.choice(["Expenses", "Expenses", "Home", "Receipts"]))
            else:
                self.track(user, day, "Signed In", {"method": rng.choice(["password", "sso", "google"])})
        else:
            r = rng.random()
            if r < 0.5:
                self.track(user, day, "Dashboard Viewed")
            elif r < 0.8:
                self.view(user, day, rng.choice(["Journal", "Ledger", "Approvals", "Cash Flow", "Settings"]))
            else:
                self.track(user, day, "Signed In", {"method": rng.choice(["password", "sso"])})

    def approvals(self, submissions: list, approver_days: list, work: float, week_end: dt.date) -> None:
        """Approvers approve what was submitted before their active day; the rest waits."""
        a, rng = self.a, self.rng
        pending = sorted(a.pending_reports + submissions)
        for day, user in sorted(approver_days, key=lambda item: item[0]):
            ready = [d for d in pending if d <= day]
            if not ready:
                continue
            # Small teams approve in a batch as a single report; bigger ones one by one.
            batch = ready if rng.random() < work + 0.1 else ready[: max(1, len(ready) // 2)]
            for _ in batch[: 1 if a.seats <= 5 else len(batch)]:
                self.track(user, day, "Expense Report Approved", {"reports": len(batch)})
            for d in batch:
                pending.remove(d)
        # Reports waiting more than three weeks are approved outside the product (or dropped).
        a.pending_reports = [d for d in pending if (week_end - d).days <= 21]

    def month_close(self, first: dt.date, last: dt.date) -> None:
        """The books of the previous month are closed a few business days into this one."""
        a, rng = self.a, self.rng
        due = nth_workday(first.year, first.month, a.close_workday + rng.choice([0, 0, 0, 1, 2, -1]))
        due = max(due, first)
        if due > last or (due - a.start).days < 25:
            return
        if a.core_stop and due >= a.core_stop:
            return
        p = 0.9 if "low_usage" in a.styles else 0.965
        e = engagement(a, due)
        if a.archetype == "fade":
            p *= clamp(1.3 * e, 0, 1)
        if a.thin_start and due >= a.thin_start:
            p *= clamp(task_factor(a, due) + 0.25, 0, 1)
        if on_leave(a, due):
            a.deferred_closes += 1
            return
        if rng.random() >= p:
            if rng.random() < 0.6:
                a.deferred_closes += 1  # done late, together with next month's
            return
        user = self.accountant(due)
        if not user:
            return
        count, a.deferred_closes = 1 + min(a.deferred_closes, 2), 0
        for i in range(count):
            closed = add_months(first, -1 - i)
            self.track(user, due, "Month Closed",
                       {"period": f"{closed.year}-{closed.month:02d}", "late": i > 0},
                       when=at_time(rng, due, late=True))

    def bank_reconciliation(self, first: dt.date, last: dt.date) -> None:
        a, rng = self.a, self.rng
        if not a.uses_bank:
            return
        day = first
        while day <= last:
            week_end = min(last, day + dt.timedelta(days=6 - day.weekday()))
            work_days = workdays(day, week_end)
            stopped = a.core_stop is not None and day >= a.core_stop
            if work_days and not stopped and not on_leave(a, day):
                p = a.reconcile_rate * engagement(a, day) * task_factor(a, day)
                if rng.random() < p:
                    d = rng.choice(work_days)
                    user = self.accountant(d)
                    if user:
                        if rng.random() < 0.5:
                            self.track(user, d, "Reconciliation Auto-Matched", {"matched": rng.randint(3, 80)})
                        self.track(user, d, "Reconciliation Completed", {"bank": rng.choice(
                            ["mufg", "smbc", "mizuho", "resona", "gmo-aozora", "rakuten"])})
            day = week_end + DAY

    def invoices(self, first: dt.date, last: dt.date) -> None:
        a, rng = self.a, self.rng
        around = [d for d in workdays(first, last) if d.day >= 20 or d.day <= 3]
        around = [d for d in around if a.addon_on(d)]
        if not around:
            return
        mean = (1.5 + a.quantity_on(first) / 20) * engagement(a, around[-1]) * task_factor(a, around[-1])
        for _ in range(min(40, poisson(rng, mean))):
            d = rng.choice(around)
            user = self.accountant(d)
            if user:
                self.track(user, d, "Invoice Sent", {"channel": rng.choice(["email", "email", "pdf", "post"]),
                                                     "amount": rng.randint(2, 500) * 1000})

    def reports(self, first: dt.date, last: dt.date) -> None:
        a, rng = self.a, self.rng
        days = workdays(first, last)
        if not days:
            return
        e = engagement(a, days[0])
        for _ in range(poisson(rng, 1.2 * e * task_factor(a, days[0]))):
            d = rng.choice(days)
            user = self.accountant(d)
            if user:
                self.track(user, d, "Report Exported", {"report": rng.choice(["pl", "bs", "cash_flow", "aging"]),
                                                        "format": rng.choice(["xlsx", "pdf", "csv"])})
        if a.board_pack and first.month in (1, 4, 7, 10):
            candidates = [d for d in days if 8 <= d.day <= 22]
            if candidates and rng.random() < 0.85 * clamp(e, 0, 1):
                d = rng.choice(candidates)
                user = self.accountant(d)
                if user:
                    self.track(user, d, "Report Exported", {"report": "board_pack", "format": "pdf"})

    def tax_season(self, first: dt.date, last: dt.date) -> None:
        """Plans the season's drafts and filings when it opens (or when the account starts in
        February): the annual return is filed between 20 February and 31 March, mostly by the
        15 March deadline."""
        a, rng = self.a, self.rng
        if first.month != 2 or not a.uses_tax:
            return
        self.tax_plan = []
        year = first.year
        if a.start > dt.date(year, 2, 25) or (a.start > dt.date(year, 2, 1) and rng.random() < 0.5):
            return  # joined in the middle of the season
        if year in a.skip_seasons:
            return
        if (dt.date(year, 3, 31) - a.start).days < 30:
            return
        filing_days = workdays(dt.date(year, 2, 20), dt.date(year, 3, 31))
        weights = [3 if d.month == 3 and d.day <= 15 else 1 for d in filing_days]
        filed = rng.choices(filing_days, weights=weights)[0]
        if filed > a.last_day(self.today):
            return
        if a.archetype == "fade" and rng.random() > clamp(1.4 * engagement(a, filed), 0, 1):
            return
        for _ in range(rng.randint(1, 4)):
            draft = filed - dt.timedelta(days=rng.randint(1, 20))
            if draft >= max(a.start, first):
                self.tax_plan.append((draft, "Tax Return Draft Saved", {"form": "final_return"}))
        self.tax_plan.append((filed, "Tax Return Filed", {"form": "final_return", "fiscal_year": year - 1}))
        if rng.random() < 0.5:
            self.tax_plan.append((filed, "Tax Return Filed", {"form": "consumption_tax", "fiscal_year": year - 1}))


def write_events(path: str, accounts: list, first: dt.date, today: dt.date, seed: int) -> EventSink:
    sink = EventSink(path, seed)
    writers = {a.idx: AccountEvents(a, sink, today, seed) for a in accounts}
    stray = random.Random(f"health-lab:{seed}:anonymous")
    month = month_start(first)
    started = time.time()
    while month <= today:
        month_last = add_months(month, 1) - DAY
        for a in accounts:
            writers[a.idx].month(max(month, first), month_last)
        # A few visitors of the login page who never sign in: attributed to no account.
        for _ in range(poisson(stray, 4)):
            d = month + dt.timedelta(days=stray.randint(0, (month_last - month).days))
            if d <= today:
                sink.add(at_time(stray, d), {"type": "page", "anonymousId": f"anon-{stray.getrandbits(40):010x}",
                                              "name": "Login", "properties": {"path": "/login"}})
        sink.flush()
        print(f"  events {month:%Y-%m}: {sink.lines:,} lines ({time.time() - started:.0f}s)", file=sys.stderr)
        month = add_months(month, 1)
    sink.close()
    return sink


# ----------------------------------------------------------------------------------------
# nps.csv and tickets.csv
# ----------------------------------------------------------------------------------------

NPS_COMMENTS = {
    "low": ["承認フローが使いにくい", "サポートの返答が遅い", "銀行連携がよく切れる", "Too expensive for what we use",
            "月次締めの画面が分かりにくい", "Mobile app crashes when scanning receipts"],
    "mid": ["概ね満足", "レポートをもう少し柔軟にしたい", "Works, but setup took long", "", ""],
    "high": ["経費精算がとても楽になりました", "月次決算が3日早くなった", "Great support team",
             "請求書の送付が自動化できて助かる", "", ""],
}


def nps_score(a: Account, rng: random.Random, day: dt.date) -> int:
    mean = a.satisfaction
    if a.end and a.archetype != "surprise":
        months_left = (a.end - day).days / 30
        if months_left < 9:
            mean -= rng.uniform(0.5, 2.8) * (1 - months_left / 9) + 0.4
    if (day - a.start).days < 100:
        mean -= 0.5  # onboarding friction
    return int(clamp(round(rng.gauss(mean, 1.6)), 0, 10))


def write_nps(path: str, accounts: list, first: dt.date, today: dt.date, seed: int) -> int:
    rows = []
    for a in accounts:
        rng = random.Random(f"health-lab:{seed}:nps:{a.idx}")
        if rng.random() < 0.3:
            continue  # this account never answers
        contacts = sorted({f"{rng.choice(GIVEN)}.{rng.choice(FAMILY)}@{a.domain}" for _ in range(rng.randint(1, 4))})
        rate = rng.uniform(0.15, 0.5)
        month = month_start(first)
        while month <= today:
            if month.month in (5, 11):
                for email in contacts:
                    day = month + dt.timedelta(days=rng.randint(9, 24))
                    if day > a.last_day(today) or (day - a.start).days < 45 or rng.random() >= rate:
                        continue
                    score = nps_score(a, rng, day)
                    band = "low" if score <= 6 else "mid" if score <= 8 else "high"
                    comment = rng.choice(NPS_COMMENTS[band]) if rng.random() < 0.4 else ""
                    responded = (at_time(rng, day).isoformat(timespec="seconds") if rng.random() < 0.5
                                 else day.isoformat())
                    rows.append([a.account_id, email, score, responded, comment])
            month = add_months(month, 1)
    rows.sort(key=lambda r: r[3][:10])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["account_id", "contact_email", "score", "responded_at", "comment"])
        w.writerows(rows)
    return len(rows)


TICKET_SUBJECTS = [
    "銀行明細が取り込まれない", "CSV 取り込みでエラーになる", "承認ルートの設定方法", "請求書のレイアウト変更",
    "インボイス番号の表示について", "ログインできない", "Receipt OCR reads the wrong amount",
    "月次締めを解除したい", "ユーザーの追加方法", "SSO configuration", "消費税区分の設定",
    "仕訳の一括修正", "The dashboard is slow", "電子帳簿保存法への対応", "申告書の PDF 出力",
]


def write_tickets(path: str, accounts: list, first: dt.date, today: dt.date, seed: int) -> int:
    rows = []
    for a in accounts:
        rng = random.Random(f"health-lab:{seed}:tickets:{a.idx}")
        month = month_start(max(first, a.start))
        last = a.last_day(today)
        while month <= last:
            rate = 0.12 + 0.04 * math.sqrt(a.quantity_on(month))
            if (month - a.start).days < 60:
                rate *= 2.2
            troubled = a.end is not None and a.archetype != "surprise" and (a.end - month).days < 160
            if troubled:
                rate *= 1.7
            for _ in range(poisson(rng, rate)):
                created = month + dt.timedelta(days=rng.randint(0, days_in_month(month.year, month.month) - 1))
                if created < a.start or created > last:
                    continue
                weights = [20, 40, 27, 13] if troubled else [30, 50, 15, 5]
                priority = rng.choices(["low", "normal", "high", "urgent"], weights=weights)[0]
                days_to_solve = rng.randint(0, 3) if priority in ("high", "urgent") else rng.randint(0, 15)
                if rng.random() < 0.03:
                    days_to_solve = rng.randint(60, 400)  # forgotten
                solved = created + dt.timedelta(days=days_to_solve)
                created_at = at_time(rng, created)
                if solved <= today:
                    status = "closed" if (today - solved).days > 14 and rng.random() < 0.7 else "solved"
                    solved_cell = (dt.datetime.combine(solved, created_at.timetz()) + dt.timedelta(hours=2)).isoformat(timespec="seconds")
                else:
                    status, solved_cell = rng.choice(["open", "pending"]), ""
                rows.append([f"TK-{a.idx:04d}-{len(rows):05d}", a.account_id,
                             created_at.isoformat(timespec="seconds") if rng.random() < 0.6 else created.isoformat(),
                             solved_cell if rng.random() < 0.8 or not solved_cell else solved.isoformat(),
                             priority, status, rng.choice(TICKET_SUBJECTS)])
            month = add_months(month, 1)
    rows.sort(key=lambda r: r[2][:10])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["ticket_id", "account_id", "created_at", "solved_at", "priority", "status", "subject"])
        w.writerows(rows)
    return len(rows)


# ----------------------------------------------------------------------------------------
# features.toml
# ----------------------------------------------------------------------------------------


def toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)


def write_features(path: str) -> int:
    lines = ["# Feature catalog of Hoshi Books (cloud accounting and expenses), for the health lab.",
             "# Apply with: kizuna features apply features.toml", ""]
    for feature in FEATURES:
        lines.append("[[feature]]")
        for key in ("key", "name", "name_en", "event", "match", "properties", "cadence", "season", "importance"):
            if key in feature:
                lines.append(f"{key} = {toml_value(feature[key])}")
        lines.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return len(FEATURES)


def write_truth(path: str, accounts: list) -> int:
    """What each account was drawn to do: for analysing which churners a score catches. Kizuna
    never reads this file."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["account_id", "start", "churn_date", "archetype", "styles", "seats", "billing"])
        for a in accounts:
            w.writerow([a.account_id, a.start.isoformat(), a.end.isoformat() if a.end else "",
                        a.archetype or "", " ".join(sorted(a.styles)), a.seats, a.billing])
    return len(accounts)


# ----------------------------------------------------------------------------------------


def summary(accounts: list, today: dt.date) -> str:
    churned = [a for a in accounts if a.end]
    kinds = {}
    for a in churned:
        kinds[a.archetype] = kinds.get(a.archetype, 0) + 1
    styles = {}
    for a in accounts:
        for s in a.styles:
            styles[s] = styles.get(s, 0) + 1
    tiers = {}
    for a in accounts:
        tiers[a.tier] = tiers.get(a.tier, 0) + 1
    return (f"accounts {len(accounts)} ({', '.join(f'{k} {v}' for k, v in sorted(tiers.items()))}), "
            f"churned {len(churned)} ({100 * len(churned) / max(1, len(accounts)):.0f}%): "
            + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
            + "\nstyles: " + ", ".join(f"{k} {v}" for k, v in sorted(styles.items())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="directory to write the files into")
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--years", type=float, default=3.5, help="length of the history")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", default=None, help="YYYY-MM-DD; default: the current date")
    args = parser.parse_args()
    today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    first = today - dt.timedelta(days=round(args.years * 365.25))
    price_rise_day = month_start(first + dt.timedelta(days=int(365.25 * args.years / 2)))
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    accounts = plan_accounts(args.accounts, args.seed, first, today)
    print(summary(accounts, today), file=sys.stderr)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731
    counts = {
        "features.toml": write_features(out("features.toml")),
        "accounts.csv": write_accounts(out("accounts.csv"), accounts, today),
        "subscriptions.csv": write_subscriptions(out("subscriptions.csv"), accounts, today, price_rise_day),
        "nps.csv": write_nps(out("nps.csv"), accounts, first, today, args.seed),
        "tickets.csv": write_tickets(out("tickets.csv"), accounts, first, today, args.seed),
        "truth.csv": write_truth(out("truth.csv"), accounts),
    }
    sink = write_events(out("events.ndjson"), accounts, first, today, args.seed)
    counts["events.ndjson"] = sink.lines
    for name, count in counts.items():
        unit = "features" if name.endswith(".toml") else "lines" if name.endswith(".ndjson") else "rows"
        print(f"{name}: {count:,} {unit}", file=sys.stderr)
    print("messages by type: " + ", ".join(f"{k} {v:,}" for k, v in sorted(sink.by_type.items())), file=sys.stderr)
    print(f"history {first} .. {today}; written to {args.out} in {time.time() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
