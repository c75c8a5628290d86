"""What a newcomer meets on their first day, driven as they would: a `.local-stack/`
left by a killed `make run`, and Ctrl-C while the stack is still starting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from local.template import ROOT
from tests.integration.test_local_stack import free_port

ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}{os.pathsep}{ROOT}",
       "AWS_ACCESS_KEY_ID": "stale", "AWS_SECRET_ACCESS_KEY": "stale"}


def test_make_send_to_a_stack_that_is_gone_says_so_in_one_line() -> None:
    # given the endpoint a killed `make run` left in .local-stack/: nothing listens there now
    gone = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "tools.producer", "--queue-url", f"{gone}/000000000000/send",
         "--endpoint-url", gone, "--region", "eu-west-1", "sms", "--to", "447700900123", "--from", "447700900001",
         "--text", "hello"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120, check=False)
    # then one line says what to do, no traceback
    assert result.returncode == 1
    assert result.stderr == f"nothing answers at {gone}: is the local stack running? start it with make run\n"


@pytest.mark.usefixtures("one_local_stack")  # `make run`s of one tree share its .local-stack/
def test_ctrl_c_while_the_stack_starts_stops_it_and_frees_its_ports() -> None:
    ports = [free_port() for _ in range(3)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "--aws-port", str(ports[0]), "--simulator-port", str(ports[1]),
         "--webhook-port", str(ports[2])], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    assert proc.stdout is not None
    # when Ctrl-C comes once moto server is up, while the rest still starts
    first = proc.stdout.readline()
    assert first.startswith("ready: AWS (moto server)"), first
    proc.send_signal(signal.SIGINT)
    # then the process ends (its output read meanwhile: a full pipe would hold it), and the port is free again
    try:
        rest, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()  # never left running for the rest of the suite
        proc.communicate()
        raise
    code = proc.returncode
    assert code in (0, 130), rest
    time.sleep(0.2)
    with socket.socket() as again:
        again.bind(("127.0.0.1", ports[0]))
