"""The contracts' own validator agrees with the ``jsonschema`` package on the
contract schemas, for valid, nearly valid and wildly wrong documents."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aculab_messaging.contracts.notification import NOTIFICATION_SCHEMA
from aculab_messaging.contracts.queue import CANCEL_SCHEMA, SEND_SCHEMA, queue_json_schema
from aculab_messaging.contracts.schema_validation import UnsupportedSchema, violations

SCHEMAS = {"send": SEND_SCHEMA, "cancel": CANCEL_SCHEMA, "notification": NOTIFICATION_SCHEMA,
           "queue": queue_json_schema()}
NAMES = sorted({name for s in (SEND_SCHEMA, CANCEL_SCHEMA, NOTIFICATION_SCHEMA) for name in s["properties"]})

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "1", "send", "cancel", "sms", "mms", "receive", "m-1", "447700900123", "x" * 129,
                     "has space", "a,b"]),
    st.text(max_size=40),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=12) | st.dictionaries(st.text(max_size=5),
                                                                                             inner, max_size=4),
                      max_leaves=20)
BASES = [{"message_id": "m-1", "to": "447700900123", "from": "447700900001", "content": "hi"},
         {"action": "cancel", "message_id": "m-1"}, {"msg_ref": "r1", "status": "sent"}]


def _boundaries(schema: dict[str, Any]) -> list[Any]:
    """Values on and just past every bound the schemas declare."""
    out: list[Any] = []
    for prop in schema["properties"].values():
        if "maxLength" in prop:
            out += ["7" * prop["maxLength"], "7" * (prop["maxLength"] + 1)]
        if "maxItems" in prop:
            out += [["a.png"] * prop["maxItems"], ["a.png"] * (prop["maxItems"] + 1)]
        if "maxProperties" in prop:
            out += [{str(i): i for i in range(n)} for n in (prop["maxProperties"], prop["maxProperties"] + 1)]
        for key, step in (("minimum", -1), ("maximum", 1)):
            if key in prop:
                out += [prop[key], prop[key] + step, float(prop[key])]
    return out


BOUNDARIES = [v for s in (SEND_SCHEMA, CANCEL_SCHEMA, NOTIFICATION_SCHEMA) for v in _boundaries(s)]
good = st.sampled_from(["sms", "mms", "send", "receive", "1", "m-1", True, False, 3, [], ["a.png"], {}, None,
                        *BOUNDARIES])


def _mutate(base: dict[str, Any], changes: dict[str, Any], drop: set[str]) -> dict[str, Any]:
    return {k: v for k, v in {**base, **changes}.items() if k not in drop}


# nearly valid: a valid document with a field or two changed, added or dropped
documents = st.builds(_mutate, st.sampled_from(BASES),
                      st.dictionaries(st.sampled_from([*NAMES, "surprise"]), good | values, max_size=2),
                      st.sets(st.sampled_from(NAMES), max_size=1))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_contract_schema_is_valid_json_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMAS[name])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SCHEMAS)), document=st.one_of(documents, values))
def test_validate_agrees_with_jsonschema(name: str, document: Any) -> None:
    # given a contract schema and any JSON document
    expected_valid = jsonschema.Draft202012Validator(SCHEMAS[name]).is_valid(document)
    # when our validator checks it / then it comes to the same verdict
    assert (not violations(document, SCHEMAS[name])) == expected_valid


@pytest.mark.parametrize(("schema", "base"), [(SEND_SCHEMA, BASES[0]), (CANCEL_SCHEMA, BASES[1]),
                                              (NOTIFICATION_SCHEMA, BASES[2])])
def test_validate_agrees_with_jsonschema_on_every_bound(schema: dict[str, Any], base: dict[str, Any]) -> None:
    checker = jsonschema.Draft202012Validator(schema)
    candidates = [*BOUNDARIES, "sms", "mms", "send", "cancel", "receive", "1", "2", True, False, 0, 3, 2.5,
                  [], ["a.png"], [1], {}, None, "has space"]
    for name in [*schema["properties"], "surprise"]:
        for value in candidates:
            # given a valid document with one field set to a value on or past a bound
            document = {**base, name: value}
            # then both validators agree
            assert (not violations(document, schema)) == checker.is_valid(document), (name, value)


def test_validate_names_each_violation() -> None:
    found = violations({"message_id": "has space", "to": 5, "surprise": 1}, SEND_SCHEMA)
    assert [str(v) for v in found] == [
        "from: is required", "message_id: must match ^[A-Za-z0-9._:\\-]+$", "to: must be a string",
        "surprise: is not allowed",
    ]


def test_validate_refuses_unsupported_keyword() -> None:
    with pytest.raises(UnsupportedSchema, match="anyOf"):
        violations("x", {"anyOf": [{"type": "string"}]})
