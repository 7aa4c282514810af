"""Sends one customer's usage through the official Segment Python client.

python3 segment_python.py BASE_URL WRITE_KEY USER GROUP
"""
import sys

import segment.analytics as analytics

base, write_key, user_id, group_id = sys.argv[1:5]
failures = []
analytics.write_key = write_key
analytics.host = base
analytics.sync_mode = True  # each call is sent and answered before the next
analytics.on_error = lambda error, batch: failures.append(error)

analytics.identify(user_id, {"email": f"{user_id}@customer.example", "name": "Segment Python"})
analytics.group(user_id, group_id, {"name": f"Group {group_id}", "employees": 50})
analytics.track(user_id, "Payslip Distributed", context={"groupId": group_id})
analytics.track(user_id, "Report Exported", {"rows": 12})
analytics.page(user_id, name="Dashboard")
analytics.screen(user_id, name="Mobile Home")
analytics.flush()
if failures:
    print("segment python client errors:", failures, file=sys.stderr)
    sys.exit(1)
