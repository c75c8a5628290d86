"""`make erase PHONE=...` against a running `make run`, as the README shows it: the erase function invoked
through the local stack's Lambda Invoke API with the stack's admin user."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from local.template import ROOT
from tests.integration.test_local_stack import start_local_stack, stopped, waiter


@pytest.mark.usefixtures("one_local_stack")  # `make run`s of one tree share its .local-stack/
def test_make_erase_erases_a_number_of_the_running_stack() -> None:
    proc, lines, _, env = start_local_stack()
    seen: list[str] = []
    wait_for = waiter(proc, lines, seen)

    def make(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "-s", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    try:
        assert wait_for("ready: all up"), seen
        # given a message to the mobile, delivered, and its STOP
        assert make("send", "TO=447700900123", "TEXT=hello").returncode == 0
        assert wait_for("status=delivered final"), seen
        subprocess.run([sys.executable, "-m", "local.phone", "--from", "447700900123", "--to", "447700900001",
                        "--text", "STOP"], env=env, cwd=ROOT, check=True, capture_output=True)
        assert wait_for("event: Opt-Out Changed"), seen
        # when `make erase` is run without a number / then it says how to use it, erasing nothing
        usage = make("erase")
        assert usage.returncode != 0 and "usage: make erase PHONE=" in usage.stdout + usage.stderr
        # when it is run with the number
        erased = make("erase", "PHONE=447700900123")
        # then the message and the STOP are erased, the opt-out kept, and the number is not printed
        assert erased.returncode == 0, erased.stderr
        answer = json.loads(erased.stdout)
        assert answer["complete"] is True
        assert answer["counts"]["messages"] == 1 and answer["counts"]["inbound_messages"] == 1
        assert answer["counts"]["opt_outs_kept"] == 1
        assert "900123" not in erased.stdout + erased.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        code = stopped(proc)
    assert code == 0
    assert not (ROOT / ".local-stack" / "lambda_url").exists()  # gone with the stack
