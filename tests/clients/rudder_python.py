"""Sends one customer's usage through the official RudderStack Python client, in its default
background mode with retries (the mode that once hung on Kizuna's error bodies).

python3 rudder_python.py BASE_URL WRITE_KEY USER GROUP
"""
import sys

from rudderstack.analytics.client import Client

base, write_key, user_id, group_id = sys.argv[1:5]
failures = []
client = Client(write_key, host=base, max_retries=3, on_error=lambda error, batch: failures.append(error))

# RudderStack puts identify traits in context.traits: Kizuna must still store the email.
client.identify(user_id, {"email": f"{user_id}@customer.example", "name": "Rudder Python"})
client.group(user_id, group_id, {"name": f"Group {group_id}", "employees": 50})
client.track(user_id, "Payslip Distributed", context={"groupId": group_id})
client.track(user_id, "Report Exported", {"rows": 12})
client.page(user_id, name="Dashboard")
client.screen(user_id, name="Mobile Home")
client.flush()
client.join()
if failures:
    print("rudderstack python client errors:", failures, file=sys.stderr)
    sys.exit(1)
