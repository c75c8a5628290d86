"""Validation against the subset of JSON Schema (2020-12) our contracts use.

The contracts are JSON Schema documents, published to producers and consumers;
the functions validate with the very same documents. A general validator (or
pydantic) costs 40-60 ms of cold start; this covers the keywords below, refuses
any other, and ``tests/unit/test_schema_validation.py`` checks that it agrees
with the ``jsonschema`` package on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "default", "examples"})
_SUPPORTED = frozenset({
    "type", "properties", "required", "additionalProperties", "enum", "const", "minLength", "maxLength",
    "pattern", "minimum", "maximum", "items", "maxItems", "maxProperties", "oneOf",
}) | _ANNOTATIONS
_TYPE_NAMES = {
    "object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "true or false", "null": "null",
}


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this validator does not implement."""


@dataclass(frozen=True)
class Violation:
    """One way a document breaks a schema: where, and how."""

    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path) or "body"
        return f"{where}: {self.message}"


class _Found(list[Violation]):
    """The violations found so far, up to a limit."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        if len(self) < self.limit:
            self.append(Violation(path, message))


def violations(instance: Any, schema: Mapping[str, Any], limit: int = 5) -> list[Violation]:
    """Every way ``instance`` breaks ``schema`` (at most ``limit``); empty when valid."""
    found = _Found(limit)
    _check(instance, schema, (), found)
    return list(found)


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, int | float)
    raise UnsupportedSchema(f"unknown type {name!r}")


@cache
def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression)


def _check(value: Any, schema: Mapping[str, Any], path: tuple[str | int, ...], found: _Found) -> None:
    unknown = schema.keys() - _SUPPORTED
    if unknown:
        raise UnsupportedSchema(f"unsupported keywords: {', '.join(sorted(unknown))}")

    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not violations(value, s, 1)]
        if len(matching) != 1:
            found.add(path, "must match exactly one of the allowed shapes")
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, n) for n in names):
            found.add(path, "must be " + " or ".join(_TYPE_NAMES[n] for n in names))
            return
    if "const" in schema and value != schema["const"]:
        found.add(path, f"must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.add(path, "must be one of: " + ", ".join(str(v) for v in schema["enum"]))
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            found.add(path, f"must be at least {schema['minLength']} characters" if value else "must not be empty")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.add(path, f"must be at most {schema['maxLength']} characters")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            found.add(path, f"must match {schema['pattern']}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.add(path, f"must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.add(path, f"must be at most {schema['maximum']}")
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.add(path, f"must have at most {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                _check(item, schema["items"], (*path, i), found)
    elif isinstance(value, dict):
        _check_object(value, schema, path, found)


def _check_object(value: dict[str, Any], schema: Mapping[str, Any], path: tuple[str | int, ...],
                  found: _Found) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            found.add((*path, name), "is required")
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        found.add(path, f"must have at most {schema['maxProperties']} properties")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], (*path, name), found)
        elif extra is False:
            found.add((*path, str(name)[:32]), "is not allowed")
        elif isinstance(extra, Mapping):
            _check(item, extra, (*path, name), found)
