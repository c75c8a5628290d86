"""How a contract violation is told: each failing field with its path and reason."""

from __future__ import annotations

from pydantic import ValidationError


class ContractError(ValueError):
    """A queue message that does not follow the contract. Never retried."""

    def __init__(self, reason: str, message_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_id = message_id


def field_errors(exc: ValidationError, limit: int = 5) -> str:
    """``to: not a phone number; metadata.x: ...``: the path of each failing
    field and why (pydantic's "Value error, " prefix dropped)."""
    reasons = []
    for error in exc.errors(include_url=False, include_input=False)[:limit]:
        path = ".".join(str(p) for p in error["loc"] if p not in ("send", "cancel"))
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "json_invalid":
            message = "body is not JSON"
        reasons.append(f"{path}: {message}" if path and not message.startswith(f"{path}:") else message)
    more = exc.error_count() - limit
    return "; ".join(reasons) + (f"; and {more} more" if more > 0 else "")
