"""The reliability suite: bounded counts in `make test`, full counts in `make soak`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.integration.conftest import app, app_factory  # noqa: F401 - shared fixtures


@dataclass(frozen=True)
class Counts:
    fuzz_requests: int
    lost_update_messages: int
    double_send_messages: int
    outage_messages: int


BOUNDED = Counts(fuzz_requests=300, lost_update_messages=60, double_send_messages=100, outage_messages=20)
SOAK = Counts(fuzz_requests=10_000, lost_update_messages=2_000, double_send_messages=1_000, outage_messages=200)


@pytest.fixture(scope="session")
def counts(soak: bool) -> Counts:
    return SOAK if soak else BOUNDED


def report(name: str, measured: object, target: str) -> None:
    """A figure line for `make soak` (pytest -s shows it)."""
    print(f"\nFIGURE {name}: {measured}  (target: {target})")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Full counts take longer than the suite's default per-test timeout."""
    if config.getoption("--soak"):
        for item in items:
            if "reliability" in str(item.fspath):
                item.add_marker(pytest.mark.timeout(7200))  # lost updates at 2,000: 55 min here
