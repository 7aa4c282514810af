#!/usr/bin/env python3
"""Monthly SaaS metrics of a subscriptions.csv in DuckDB SQL: the DuckDB side of the Kizuna benchmark.

Usage:  python3 bench/metrics_duckdb.py SUBSCRIPTIONS_CSV FROM TO     (needs `pip install duckdb`)
        FROM = first day of a month, TO = last day of a month (YYYY-MM-DD).

For every calendar month P in [FROM, TO] it computes, following /work/shared/spec/metrics.md:
mrr_start (account MRR on the day before P), mrr_end (on P's last day), the movements dated in P
(new, expansion, contraction, churn, reactivation; same-day changes of an account netted, churn
and contraction negative), customers_start/_end (accounts with MRR > 0), churned_customers
(paying at start, not at end), nrr and grr over the accounts paying at the start (null if none).

Method: per-account change points only (start_date: +row MRR, end_date: -row MRR, netted per
day, zero-net days dropped); a running sum per account gives prev/cur at each change point. Per
(account, month with changes): MRR before the month's first change (s = MRR at the start) and
after its last (e = MRR at the end). Accounts without changes in a month keep s = e, so monthly
totals are running sums of (e - s), and NRR/GRR need only the changed accounts paying at the
start: NRR = (mrr_start + sum(e - s | s > 0)) / mrr_start, GRR = (mrr_start + sum(min(e - s, 0)
| s > 0)) / mrr_start. No day x account (or month x account) grid is built.

Exactness: money is carried as HUGEINT in units of 1e-12 of the currency unit. A row's MRR is
quantity * unit_price * (100 - discount_percent) / (100 * months * max(interval_count, 1)),
computed as an exact integer quotient rounded ONCE to 12 decimals half away from zero, like
Kizuna's `row_mrr` (`Decimal::rescale(12)`, which rounds half away from zero); negative row MRR
counts as 0. unit_price and discount_percent are read as DECIMAL(38,9) (exact up to 9 decimals).
Money is reported rounded half away from zero to 2 decimals, nrr/grr to 6 decimals, both in SQL.

Timing: load (CSV -> in-memory table) is timed once; the metrics query (row MRR included) is run
3 times with time.perf_counter(), each run fetching all rows. DuckDB runs with SET threads TO 2.
Output: one JSON document on stdout. Errors: message on stderr, exit code 2.
"""
import datetime as dt
import json
import os
import sys
import time

THREADS = 2
LOAD_SQL = """
CREATE TABLE subs AS SELECT * FROM read_csv(?, header = true, auto_detect = true, types = {
  'subscription_id': 'VARCHAR', 'account_id': 'VARCHAR', 'product': 'VARCHAR', 'plan': 'VARCHAR',
  'start_date': 'DATE', 'end_date': 'DATE', 'billing_interval': 'VARCHAR', 'currency': 'VARCHAR',
  'interval_count': 'INTEGER', 'quantity': 'BIGINT', 'unit_price': 'DECIMAL(38,9)',
  'discount_percent': 'DECIMAL(38,9)'})
"""
BAD_INTERVAL_SQL = """SELECT count(*), any_value(billing_interval) FROM subs
WHERE billing_interval IS NULL OR billing_interval NOT IN ('month', 'quarter', 'half_year', 'year')"""

METRICS_SQL = """
WITH r AS (  -- row MRR numerator at scale 18 (9 + 9 decimals) and divisor down to scale 12
  SELECT account_id, start_date, end_date,
         CAST(quantity AS HUGEINT) * CAST(unit_price * 1000000000 AS HUGEINT)
           * CAST((100 - coalesce(discount_percent, 0)) * 1000000000 AS HUGEINT) AS num,
         CAST(100000000 AS HUGEINT) * greatest(interval_count, 1) * CASE billing_interval
           WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 WHEN 'half_year' THEN 6 ELSE 12 END AS den
  FROM subs),
rows AS (  -- row MRR in 1e-12 units, rounded half away from zero; zero rows and empty spans dropped
  SELECT account_id, start_date, end_date, (2 * num + den) // (2 * den) AS mrr
  FROM r WHERE num > 0 AND (end_date IS NULL OR end_date > start_date)),
deltas AS (
  SELECT account_id, start_date AS day, mrr AS d FROM rows
  UNION ALL SELECT account_id, end_date, -mrr FROM rows WHERE end_date IS NOT NULL),
net AS (SELECT account_id, day, sum(d) AS d FROM deltas GROUP BY account_id, day HAVING sum(d) <> 0),
cp AS (  -- change points: from `day` on the account's MRR is `cur` (was cur - d); n = 1: first paying day
  SELECT account_id, day, d, sum(d) OVER w AS cur, row_number() OVER w AS n
  FROM net WINDOW w AS (PARTITION BY account_id ORDER BY day)),
am AS (  -- per account and month with changes: MRR before the month's first change (s) and after its last (e)
  SELECT account_id, date_trunc('month', day)::DATE AS m, arg_min(cur - d, day) AS s, arg_max(cur, day) AS e,
    sum(CASE WHEN cur - d = 0 AND n = 1 THEN cur END) AS new,
    sum(CASE WHEN cur > cur - d AND cur - d > 0 THEN d END) AS expansion,
    sum(CASE WHEN cur > 0 AND cur < cur - d THEN d END) AS contraction,
    sum(CASE WHEN cur = 0 THEN d END) AS churn,
    sum(CASE WHEN cur - d = 0 AND n > 1 THEN cur END) AS reactivation
  FROM cp GROUP BY ALL),
mo AS (  -- per month: totals' change, movements, and what the accounts paying at the start did
  SELECT m, sum(e - s) AS delta,
    count(*) FILTER (WHERE s = 0 AND e > 0) - count(*) FILTER (WHERE s > 0 AND e = 0) AS customers_delta,
    count(*) FILTER (WHERE s > 0 AND e = 0) AS churned_customers,
    sum(CASE WHEN s > 0 THEN e - s ELSE 0 END) AS kept_delta,
    sum(CASE WHEN s > 0 AND e < s THEN e - s ELSE 0 END) AS kept_gross_delta,
    sum(new) AS new, sum(expansion) AS expansion, sum(contraction) AS contraction,
    sum(churn) AS churn, sum(reactivation) AS reactivation
  FROM am GROUP BY m),
base AS (  -- MRR and paying accounts on the day before FROM
  SELECT coalesce(sum(delta), 0) AS mrr0, coalesce(sum(customers_delta), 0) AS c0 FROM mo WHERE m < DATE '{frm}'),
months AS (SELECT m::DATE AS m FROM generate_series(DATE '{frm}', DATE '{to}', INTERVAL 1 MONTH) t(m)),
res AS (
  SELECT months.m, coalesce(delta, 0) AS delta, coalesce(customers_delta, 0) AS customers_delta,
    mrr0 + sum(coalesce(delta, 0)) OVER w AS mrr_end, c0 + sum(coalesce(customers_delta, 0)) OVER w AS customers_end,
    coalesce(new, 0) AS new, coalesce(expansion, 0) AS expansion, coalesce(contraction, 0) AS contraction,
    coalesce(churn, 0) AS churn, coalesce(reactivation, 0) AS reactivation,
    coalesce(churned_customers, 0) AS churned_customers,
    coalesce(kept_delta, 0) AS kept_delta, coalesce(kept_gross_delta, 0) AS kept_gross_delta
  FROM months LEFT JOIN mo USING (m) CROSS JOIN base
  WINDOW w AS (ORDER BY months.m ROWS UNBOUNDED PRECEDING)),
fin AS (SELECT *, mrr_end - delta AS mrr_start, customers_end - customers_delta AS customers_start FROM res)
SELECT strftime(m, '%Y-%m') AS month,  -- money: 1e-12 units -> cents; ratios -> 1e-6 units
  {cents}
  customers_start, customers_end, churned_customers,
  CASE WHEN mrr_start > 0 THEN (2000000 * (mrr_start + kept_delta) + mrr_start) // (2 * mrr_start) END AS nrr,
  CASE WHEN mrr_start > 0 THEN (2000000 * (mrr_start + kept_gross_delta) + mrr_start) // (2 * mrr_start) END AS grr
FROM fin ORDER BY m
"""
MONEY = ["mrr_start", "mrr_end", "new", "expansion", "contraction", "churn", "reactivation"]
# half away from zero at 2 decimals of a 1e-12 amount: sign(x) * round_half_up(|x| / 1e10)
CENTS = "".join(f"sign({c}) * ((2 * abs({c}) + 10000000000) // 20000000000) AS {c}, " for c in MONEY)


def fixed(units, places):
    """An integer count of 10^-places as an exact decimal string, e.g. fixed(-5, 2) == '-0.05'."""
    q, r = divmod(abs(int(units)), 10 ** places)
    return f"{'-' if units < 0 else ''}{q}.{r:0{places}d}"


def fail(message):
    print(f"metrics_duckdb.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    if len(argv) != 4:
        fail("usage: python3 bench/metrics_duckdb.py SUBSCRIPTIONS_CSV FROM TO (dates YYYY-MM-DD)")
    path, frm, to = argv[1:]
    if not os.path.isfile(path):
        fail(f"subscriptions CSV not found: {path}")
    try:
        d_from, d_to = dt.date.fromisoformat(frm), dt.date.fromisoformat(to)
    except ValueError:
        fail(f"FROM and TO must be dates YYYY-MM-DD, got {frm!r} and {to!r}")
    if d_from.day != 1:
        fail(f"FROM must be the first day of a month, got {frm}")
    if (d_to + dt.timedelta(days=1)).day != 1:
        fail(f"TO must be the last day of a month, got {to}")
    if d_from > d_to:
        fail(f"FROM ({frm}) is after TO ({to})")
    return path, d_from.isoformat(), d_to.isoformat()


def main():
    path, frm, to = parse_args(sys.argv)
    try:
        import duckdb
    except ImportError:
        fail("the duckdb Python package is not installed; run: pip install duckdb")
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads TO {THREADS}")
    try:
        t0 = time.perf_counter()
        con.execute(LOAD_SQL, [path])
        load_seconds = time.perf_counter() - t0
        bad, example = con.execute(BAD_INTERVAL_SQL).fetchone()
    except duckdb.Error as e:
        fail(f"cannot load {path}: {e}")
    if bad:
        fail(f"{bad} rows have an unknown billing_interval (e.g. {example!r})")
    sql = METRICS_SQL.format(frm=frm, to=to, cents=CENTS)
    times, result = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        try:
            rows = con.execute(sql).fetchall()
        except duckdb.Error as e:
            fail(f"the metrics query failed on {path}: {e}")
        times.append(time.perf_counter() - t0)
        if result is not None and rows != result:
            fail("the query gave different results on different runs")
        result = rows
    cols = ["month"] + MONEY + ["customers_start", "customers_end", "churned_customers", "nrr", "grr"]
    months = []
    for row in result:
        rec = dict(zip(cols, row))
        for c in MONEY:
            rec[c] = fixed(rec[c], 2)
        for c in ("nrr", "grr"):
            rec[c] = None if rec[c] is None else fixed(rec[c], 6)
        for c in ("customers_start", "customers_end", "churned_customers"):
            rec[c] = int(rec[c])
        months.append(rec)
    json.dump({"engine": "duckdb", "version": duckdb.__version__, "threads": THREADS,
               "load_seconds": round(load_seconds, 4), "query_seconds": [round(t, 4) for t in times],
               "months": months}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
