"""DynamoDB attribute values <-> Python, for the types this project stores.

A few lines instead of boto3.dynamodb.types: importing that pulls in all of
boto3 (and s3transfer), about 50 ms of cold start the functions do not need;
they talk to AWS through botocore alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def serialize(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, float):
        raise TypeError("floats are not supported: use Decimal")
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f"unsupported type for DynamoDB: {type(value).__name__}")


def deserialize(value: Mapping[str, Any]) -> Any:
    (kind, data), = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return Decimal(data)
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: deserialize(v) for k, v in data.items()}
    if kind == "L":
        return [deserialize(v) for v in data]
    if kind == "B":
        return data
    if kind in ("SS", "BS"):
        return set(data)
    if kind == "NS":
        return {Decimal(n) for n in data}
    raise TypeError(f"unsupported DynamoDB type {kind}")
