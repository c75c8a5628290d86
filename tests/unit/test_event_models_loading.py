"""A path loads only the detail models of the events it builds: the webhook, which tells status
changes, never loads the send path's outcome models (contracts/events/outcomes.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from local.template import ROOT

PROBE = """
import json, sys
from datetime import UTC, datetime
import aculab_messaging.logic.ingest, aculab_messaging.api.webhook.adapter
from aculab_messaging.logic.tracking import StatusReport, apply_status
from aculab_messaging.logic.status import Status
from tests import seeding
from tests.fakes.store import InMemoryStore

store, now = InMemoryStore(), datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
seeding.queued(store, "m-1", ["r1"], now)
events = apply_status(store, StatusReport(message_id="m-1", msg_ref="r1", status=Status.DELIVERED), now).events
loaded = sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("aculab_messaging.contracts.events."))
print(json.dumps({"built": [e.detail_type for e in events], "loaded": loaded}))
"""


def test_the_webhook_path_loads_the_models_it_builds_and_not_the_send_paths() -> None:
    # given a fresh interpreter that imports the webhook's service
    # when a status update is applied (a Message Status Changed built)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT}"})
    # then the status model was loaded to build it, and the send path's outcomes never were
    assert json.loads(out.stdout) == {"built": ["Message Status Changed"], "loaded": ["base", "status"]}


def test_the_webhook_and_its_store_do_not_load_the_send_contract() -> None:
    # given a fresh interpreter / when it imports the webhook's adapter and service and the whole store
    probe = ("import sys, aculab_messaging.dal, aculab_messaging.logic.ingest, aculab_messaging.api.webhook.adapter\n"
             "print('aculab_messaging.contracts.send_request' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT}"})
    # then the send request's model (pydantic, numbers, quiet hours, segmentation) is not among what it loaded:
    # a limit the store needs of the contract comes from logic/ids.py
    assert out.stdout.strip() == "False"


def test_the_send_function_does_not_load_the_notification_model() -> None:
    # given a fresh interpreter / when it imports the send function's handler module
    probe = "import sys, send_function\nprint('aculab_messaging.contracts.notification' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT / 'functions' / 'send'}"})
    # then Aculab's notification model (the webhook's) was not built: the part limit the send contract
    # shares with it comes from logic/ids.py
    assert out.stdout.strip() == "False"
