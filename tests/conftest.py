"""Servers every integration test needs, started on 127.0.0.1 at random ports:
moto in server mode (AWS) and the Aculab simulator."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator

import pytest
import requests

# No test may reach real AWS: dummy credentials, and every client is given an endpoint.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="eu-west-1",
    AWS_REGION="eu-west-1",
    POWERTOOLS_METRICS_DISABLED="true",
)


logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """No test sees what an earlier one put in the environment (a function's
    credentials, overrides)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _garbage_of_containers_collected() -> Iterator[None]:
    """Each handler builds its service inside ``init_without_gc`` (cold_start.py), which ends with
    ``gc.freeze()``: on Lambda, one container a process, what init made is never garbage. Here every
    container of every test shares one process, so each freeze also froze whatever garbage the earlier
    tests' containers had left (boto3 clients and their service models are cyclic): never collected,
    about 20 MB a container, 9.5 GB by the end of the suite. After a test, what was frozen goes back
    to the collector, and is collected. (A handler module that failed to import after its
    ``pause_collector()`` would leave the collector off for every later test: it is turned back on.)"""
    yield
    if not gc.isenabled():
        gc.enable()
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the reliability suite with its full counts")


@pytest.fixture(scope="session")
def soak(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--soak"))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from local.moto_server import StrictMotoServer

    server = StrictMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def simulator_server() -> Iterator[object]:
    from simulator import serve, stop

    server = serve("127.0.0.1", 0)
    yield server
    stop(server)


@pytest.fixture
def sim(simulator_server: object) -> Iterator[object]:
    from simulator.control import SimulatorControl

    control = SimulatorControl(simulator_server.base_url)  # type: ignore[attr-defined]
    control.reset()
    yield control
    control.reset()


@pytest.fixture
def aws(moto_endpoint: str) -> str:
    """A clean moto server for this test."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    return moto_endpoint
