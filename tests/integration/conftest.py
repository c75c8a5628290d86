from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local.app import LocalApp
from simulator.control import SimulatorControl

SIM_CREDENTIALS = {"cloud_id": "1-2-0", "username": "sim@example.com", "api_key": "sim-api-key"}


def make_app(aws: str, sim: SimulatorControl, **env: str) -> LocalApp:
    app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS, env_overrides=env)
    app.start_gateway()
    app.apply_environment()
    sim.configure(inbound_notify_url=app.inbound_url)
    return app


@pytest.fixture
def app_factory(aws: str, sim: SimulatorControl) -> Iterator[object]:
    saved = dict(os.environ)
    apps: list[LocalApp] = []

    def factory(**env: str) -> LocalApp:
        app = make_app(aws, sim, **env)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.stop()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def app(app_factory: object) -> LocalApp:
    return app_factory()  # type: ignore[operator, no-any-return]
