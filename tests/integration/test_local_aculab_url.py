"""``python -m local --aculab-url URL`` (``make run ACULAB_URL=...``): the local
stack's functions call that endpoint, as the AculabBaseUrl parameter makes them when deployed."""

from __future__ import annotations

import json

from local.__main__ import aculab_endpoint
from local.app import FUNCTIONS, LocalApp
from simulator import SimConfig


def test_the_functions_environment_and_secret_take_the_given_aculab_url(aws: str) -> None:
    # given --aculab-url and the account's credentials in the environment (not on the command line)
    environ = {"ACULAB_CLOUD_ID": "9-9-9", "ACULAB_USERNAME": "ops@example.com", "ACULAB_API_KEY": "k-123"}
    url, credentials = aculab_endpoint("https://ws-9-9-9.aculabcloud.net/", None, SimConfig(), environ)
    # when the local stack is built on them
    app = LocalApp(aws, url, credentials)
    # then every function that calls Aculab is given that endpoint, and its secret those credentials
    calling = {name: app.environment(name).get("ACULAB_BASE_URL") for name in FUNCTIONS}
    assert {name: value for name, value in calling.items() if value} == dict.fromkeys(
        ("send", "reconcile", "media"), "https://ws-9-9-9.aculabcloud.net")
    secret = app.stack.client("secretsmanager").get_secret_value(SecretId=app.environment("send")["ACULAB_SECRET_ARN"])
    assert json.loads(secret["SecretString"]) == credentials == {
        "cloud_id": "9-9-9", "username": "ops@example.com", "api_key": "k-123"}


def test_without_a_url_the_simulator_is_the_endpoint_with_its_own_credentials() -> None:
    class Started:
        base_url = "http://127.0.0.1:8090"

    config = SimConfig()
    url, credentials = aculab_endpoint(None, Started(), config, {"ACULAB_API_KEY": "ignored"})
    assert url == "http://127.0.0.1:8090" and credentials["api_key"] == config.api_key
