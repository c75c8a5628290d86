"""The local stack runs every function in one process: each log line still names the
function that wrote it and that invocation's request id (issue #25, item 6)."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
import requests

from local.app import LocalApp
from local.lambda_runtime import LambdaContext
from simulator.control import SimulatorControl
from tests.integration.conftest import queue_send

# lines only one of the two functions writes: who wrote a line, whatever it says about itself
WRITERS = {"message submitted": "send", "inbound message": "webhook"}


class HoldFirstRecord(logging.Filter):
    """Holds the send function's first log record (in one of its record threads) until
    the webhook has handled a whole request: both functions are mid-invocation at once."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()
        self.release = threading.Event()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.reached.is_set():
            self.reached.set()
            self.release.wait(60)
        return True


def test_each_line_names_its_own_function_and_request_while_both_run(
    app: LocalApp, sim: SimulatorControl, capsys: pytest.CaptureFixture[str],
) -> None:
    # given the webhook and the send function, each invoked the way the stack invokes them
    # (gateway, queue poller), with the contexts the runtime builds recorded; the carrier
    # slow enough that no status update makes a third invocation
    sim.configure(step_seconds=3600)
    contexts: dict[str, list[LambdaContext]] = {"webhook": [], "send": []}
    build_context = app.context

    def recorded(name: str, *args: Any) -> LambdaContext:
        context = build_context(name, *args)
        contexts[name].append(context)
        return context

    app.context = recorded  # type: ignore[method-assign]
    hold = HoldFirstRecord()
    send_flow = logging.getLogger("aculab_messaging.logic.send_flow")
    send_flow.addFilter(hold)
    try:
        queue_send(app)
        poller = app.send_poller(wait_seconds=1)
        sending = threading.Thread(target=poller.poll_once, name="send-invocation")
        # when the send function is mid-batch (a record's line held) ...
        sending.start()
        assert hold.reached.wait(60), "the send function logged nothing"
        # ... and the webhook takes an inbound message meanwhile
        answer = requests.post(app.inbound_url, json={
            "msg_ref": "logs-1", "status": "received", "direction": "receive", "type": "sms",
            "from": "447700900123", "to": "447700900001", "content": "hello"}, timeout=30)
        hold.release.set()
        sending.join(60)
    finally:
        hold.release.set()
        send_flow.removeFilter(hold)
        app.context = build_context  # type: ignore[method-assign]
    assert answer.status_code == 200, answer.text
    assert not sending.is_alive()
    assert len(contexts["webhook"]) == 1 and len(contexts["send"]) == 1, contexts

    # then every line of either function carries its own name, request id and cold start
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("service") == "aculab-messaging"]
    by_writer: dict[str, list[dict[str, Any]]] = {
        writer: [line for line in ours if line["message"] == message] for message, writer in WRITERS.items()}
    assert by_writer["send"] and by_writer["webhook"], lines
    for writer, written in by_writer.items():
        context = contexts[writer][0]
        for line in written:
            assert line.get("function_name") == context.function_name, line
            assert line.get("function_request_id") == context.aws_request_id, line
            assert line.get("function_arn") == context.invoked_function_arn, line
            assert line.get("cold_start") is True, line  # each container's first invocation
    # and no line of ours names a function or request other than these two invocations
    invocations = {(c.function_name, c.aws_request_id) for found in contexts.values() for c in found}
    assert {(line.get("function_name"), line.get("function_request_id")) for line in ours} <= invocations, ours
