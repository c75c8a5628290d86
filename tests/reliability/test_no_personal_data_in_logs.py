"""No secret, API key, full phone number or message text in any log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from local.app import LocalApp
from simulator.control import SimulatorControl
from tests.integration.conftest import SIM_CREDENTIALS, drain_queue, queue_send

SECRET_TEXT = "Meet me at the old mill 7pm"
MOBILE, US = "447700912345", "447700900001"


def test_logs_hold_no_personal_data_or_secrets(app: LocalApp, sim: SimulatorControl,
                                               capfd: pytest.CaptureFixture[str],
                                               caplog: pytest.LogCaptureFixture) -> None:
    # production log level (INFO) for every logger, ours included
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="aculab_messaging")
    # a full flow: send (and a rejected one), status updates, inbound with STOP, a failure
    sim.configure(fail_rules=[{"to_prefix": "4477009999", "aculab_msg_err": "204", "at": "sent"}])
    queue_send(app, to=MOBILE, content=SECRET_TEXT)
    queue_send(app, to="447700999999", content=SECRET_TEXT)
    queue_send(app, to="bad", content=SECRET_TEXT)
    drain_queue(app)
    sim.settle()
    sim.inbound(MOBILE, US, SECRET_TEXT)
    sim.inbound(MOBILE, US, "STOP")
    sim.settle()
    app.run_reconcile()
    out, err = capfd.readouterr()
    logs: list[Any] = [out, err, caplog.text]
    text = "\n".join(logs)
    assert "message submitted" in text and "inbound message" in text  # the flow did log
    for forbidden in (MOBILE, "447700999999", SECRET_TEXT, app.webhook_password, app.inbound_token,
                      SIM_CREDENTIALS["api_key"]):
        assert forbidden not in text, f"leaked into logs: {forbidden[:4]}..."
