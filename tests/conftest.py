"""Servers every integration test needs, started on 127.0.0.1 at random ports:
moto in server mode (AWS) and the Aculab simulator."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _one_botocore_loader() -> None:
    """Every boto3/botocore session of this process (the harness's, and each function container's:
    a test builds dozens) shares one data loader, as the clients of one session do: the service
    models, endpoints and partitions JSON are read and parsed once, not once a session (about
    0.15 s of CPU a client). What they load is read-only; the clients, credentials and
    configuration stay each session's own. boto3 adds its resources folder to the loader's search
    path once a session: added once here."""
    import botocore.loaders
    import botocore.session

    class SearchPaths(list[str]):
        def append(self, path: str) -> None:
            if path not in self:
                super().append(path)

    create_loader = botocore.loaders.create_loader
    loaders: dict[str | None, botocore.loaders.Loader] = {}

    def shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loader = create_loader(search_path_string)
            loader._search_paths = SearchPaths(loader.search_paths)
            loaders[search_path_string] = loader
        return loaders[search_path_string]

    botocore.session.create_loader = shared_loader  # type: ignore[attr-defined]


def _template_translated_once() -> None:
    """template.yaml is read and translated once a run, not once a stack (every integration test
    provisions one): each caller still gets its own deep copy, and any other template (a test's
    edited copy) is translated as before."""
    import copy
    import functools

    import local.app
    import local.provision
    import local.template as template

    load_sam, to_cloudformation = template.load_sam, template.to_cloudformation

    @functools.cache
    def the_sam() -> dict[str, Any]:
        return load_sam()

    @functools.cache
    def translated() -> dict[str, Any]:
        return to_cloudformation(the_sam())

    def cached_load_sam(path: Path = template.TEMPLATE) -> dict[str, Any]:
        return copy.deepcopy(the_sam()) if path == template.TEMPLATE else load_sam(path)

    def cached_to_cloudformation(sam: dict[str, Any] | None = None,
                                 parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        if not parameters and (sam is None or sam == the_sam()):
            return copy.deepcopy(translated())
        return to_cloudformation(sam, parameters)

    template.load_sam = cached_load_sam
    local.app.load_sam = cached_load_sam  # type: ignore[attr-defined]
    template.to_cloudformation = cached_to_cloudformation
    local.provision.to_cloudformation = cached_to_cloudformation  # type: ignore[attr-defined]


_one_botocore_loader()
_template_translated_once()


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


@pytest.fixture
def one_local_stack() -> Iterator[None]:
    """A test that starts `make run` holds this lock throughout: the `make run`s of one tree share its
    .local-stack/ (the queue's URL, the ports, the credentials), so two at once, on two workers, would
    read each other's. A file lock, not pytest-xdist's ``xdist_group``: with pytest 9, xdist 3.8's
    ``--dist loadgroup`` no longer groups (two tests of one group ran at once on two workers, checked)."""
    import fcntl

    from local.template import ROOT

    with (ROOT / ".local-stack.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the reliability suite with its full counts")


@pytest.fixture(scope="session")
def soak(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--soak"))


def _managed_policies_in_the_aws_partition_only() -> None:
    """moto builds IAM afresh for each of its six partitions after every reset (each test's), and
    each time parses and builds all ~1,600 AWS managed policies: 1.5 s of CPU a test for five
    partitions (aws-cn, aws-us-gov, aws-iso, ...) that no test's region (eu-west-1) reaches. The
    aws partition keeps every managed policy, as before."""
    import moto.iam.models

    init_aws_policies = moto.iam.models.IAMBackend._init_aws_policies

    def aws_partition_only(backend: moto.iam.models.IAMBackend) -> list[moto.iam.models.ManagedPolicy]:
        return init_aws_policies(backend) if backend.region_name == "aws" else []

    moto.iam.models.IAMBackend._init_aws_policies = aws_partition_only  # type: ignore[method-assign, assignment]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from local.moto_server import StrictMotoServer

    _managed_policies_in_the_aws_partition_only()
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
