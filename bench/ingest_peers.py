"""Peers for `kizuna bench ingest`: the same NDJSON file loaded by
  - DuckDB (read_ndjson into a table, deduplicated by messageId), the analytical engine, and
  - Python's sqlite3 into a bare SQLite table shaped like Kizuna's usage_events (WAL,
    synchronous=NORMAL, one transaction, INSERT OR IGNORE on the unique message id): the row
    store with none of Kizuna's identity, attribution or rollup work.
Prints one JSON object with each peer's events per second."""

import json
import os
import sqlite3
import sys
import tempfile
import time


def duckdb_load(path):
    try:
        import duckdb
    except ImportError:
        return None
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(
        "CREATE TABLE events AS SELECT DISTINCT ON (messageId) messageId, type, userId, event, "
        "context.groupId AS group_id, CAST(properties AS VARCHAR) AS properties, timestamp "
        f"FROM read_ndjson('{path}', format='newline_delimited')"
    )
    stored = con.execute("SELECT count(*) FROM events").fetchone()[0]
    return stored / (time.perf_counter() - started)


def sqlite_load(path, directory):
    con = sqlite3.connect(os.path.join(directory, "peer.db"), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE usage_events (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, "
        "account TEXT, user_id TEXT, event TEXT, properties TEXT NOT NULL, context TEXT NOT NULL, occurred_at TEXT NOT NULL)"
    )
    con.execute("CREATE INDEX usage_events_account ON usage_events(account, occurred_at)")
    started = time.perf_counter()
    rows = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            m = json.loads(line)
            context = m.get("context") or {}
            rows.append((m["messageId"], m["type"], context.get("groupId"), m.get("userId"), m.get("event"),
                         json.dumps(m.get("properties") or {}), json.dumps(context), m["timestamp"]))
    con.execute("BEGIN")
    con.executemany(
        "INSERT OR IGNORE INTO usage_events (message_id, kind, account, user_id, event, properties, context, occurred_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("COMMIT")
    stored = con.execute("SELECT count(*) FROM usage_events").fetchone()[0]
    return stored / (time.perf_counter() - started)


def main():
    path = sys.argv[1]
    with tempfile.TemporaryDirectory() as directory:
        print(json.dumps({"duckdb": duckdb_load(path), "sqlite3": sqlite_load(path, directory)}))


if __name__ == "__main__":
    main()
