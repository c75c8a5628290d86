"""Request parameters and answers of the four messaging calls, validated before
anything goes on the wire."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aculab_messaging.aculab.errors import AculabValidationError

_NUMBER_SEPARATORS = re.compile(r"[\s\-().]")
_ALPHANUMERIC_ID = re.compile(r"[A-Za-z0-9 ]{1,11}")
_POOL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
_SHORT_CODE_MAX_LENGTH = 6
# an answer's free text we keep (an unrecognised cancel result or status): bounded, it goes into events
MAX_ANSWER_TEXT = 100

class MessageType(StrEnum):
    SMS = "sms"
    MMS = "mms"


class CancelResult(StrEnum):
    """msg_cancel's answer for one msg_ref. The reference names three; any
    other text reads as ``OTHER``, keeping Aculab's text as its ``value``
    (``CancelResult("pending").value == "pending"``), and means "not cancelled"."""

    SUCCESS = "success"
    UNKNOWN = "unknown"
    FAILED = "failed"
    OTHER = "other"

    @classmethod
    def _missing_(cls, value: object) -> CancelResult:
        other = str.__new__(cls, str(value)[:MAX_ANSWER_TEXT])
        other._name_ = "OTHER"
        other._value_ = str(other)
        return other

    @property
    def is_other(self) -> bool:
        """Not one of the three results the reference names."""
        return self.name == "OTHER"


def normalise_number(value: str, *, field_name: str = "number", region: str | None = None) -> str:
    """E.164 with its ``+`` (``+447700900123``), parsed by ``phonenumbers``
    (Google's libphonenumber): the one form numbers take in our contract,
    store, keys and events.

    Accepts ``+44 7700 900123``, ``+44 (0)7700 900123``, ``0044 7700 900123``
    and Aculab's own form ``447700900123``; all become ``+447700900123``. A
    value with ``+`` (or ``00``) is never read in ``region``, so parsing our
    own output again gives it back, whatever the region. A national number
    (``07700 900123``: a leading 0, no country code) is read in ``region``
    (an ISO 3166 code such as ``GB``) and refused without one; with a region,
    digits without ``+`` or ``00`` are read in it first when they make a
    possible number there (``(212) 555-1234`` in ``US``).
    The number must be *possible* (a known country code, a length that
    country uses); whether a range is assigned is left to the carrier, as
    numbering plans change faster than a deployed library.
    """
    import phonenumbers  # only the paths that parse numbers pay for its import

    if not isinstance(value, str):
        raise AculabValidationError(f"{field_name} must be a string")
    text = value.strip()
    compact = _NUMBER_SEPARATORS.sub("", text)
    if compact.startswith("00"):
        text = "+" + compact[2:]
    elif compact.startswith("0"):
        if not region:
            raise AculabValidationError(
                f"{field_name} is a national number: give it in international form (+44 7700 900123), "
                "or set the DefaultRegion parameter to read national numbers"
            )
    elif not compact.startswith("+"):
        national = _parse(phonenumbers, text, region) if region else None
        # in the region if it is a possible number there, else Aculab's form: country code first, no '+'
        text = text if national is not None and phonenumbers.is_possible_number(national) else "+" + compact
    try:
        number = phonenumbers.parse(text, region)  # a leading '+' wins over the region
    except phonenumbers.NumberParseException as exc:
        raise AculabValidationError(f"{field_name} is not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise AculabValidationError(
            f"{field_name} is not a possible number for country code +{number.country_code} (wrong length)"
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _parse(phonenumbers: Any, text: str, region: str) -> Any:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def aculab_number(value: str, *, field_name: str = "number") -> str:
    """Aculab's form, for the wire only: full international digits without
    the leading ``+`` (``447700900123``), as msg_send and msg_list_blocked take them."""
    return normalise_number(value, field_name=field_name)[1:]


def is_pool_name(value: str) -> bool:
    return isinstance(value, str) and _POOL_NAME.fullmatch(value.strip()) is not None


def normalise_sender(value: str) -> str:
    """A sending number (E.164 with ``+``), or the name of a message number pool (as given)."""
    if is_pool_name(value):
        return value.strip()
    return normalise_number(value, field_name="from")


def aculab_sender(value: str) -> str:
    """``normalise_sender`` in Aculab's form, for the wire: a number without ``+``, a pool name as is."""
    return value.strip() if is_pool_name(value) else aculab_number(value, field_name="from")


def is_e164(value: object) -> bool:
    """A phone number as we keep them (``+447700900123``), not a short code or a sender name."""
    return isinstance(value, str) and value[:1] == "+" and value[1:].isdigit()


def number_or_given(value: str) -> str:
    """A number Aculab gives us (its form ``447700900123``, or ``+447700900123``)
    in E.164 with ``+``; anything else as given: a short code (``80012``), an
    alphanumeric sender (``BANK``), an empty field. Never raises."""
    return international_or_none(value) or value


def international_or_none(value: str) -> str | None:
    """``number_or_given``'s number in E.164 with ``+``, or None: not a phone number.

    Digits are a number only when they make a possible full international
    number: never at most six digits without ``+`` (short codes run from 3 to
    6 digits; the only 6-digit international numbers are a few Austrian,
    German and Iranian service numbers, which send no messages), nor a length
    possible only for local dialling there."""
    import phonenumbers  # only the paths that parse numbers pay for its import

    if not isinstance(value, str):
        return None
    compact = _NUMBER_SEPARATORS.sub("", value.strip())
    digits = compact[1:] if compact[:1] == "+" else compact
    if not digits.isdigit() or not digits.isascii() or (compact[:1] != "+" and len(digits) <= _SHORT_CODE_MAX_LENGTH):
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def validate_alphanumeric_id(value: str) -> str:
    if not _ALPHANUMERIC_ID.fullmatch(value):
        raise AculabValidationError("alphanumeric_id must be 1 to 11 characters of A-Z, a-z, 0-9 and space")
    return value


@dataclass(frozen=True)
class SendParams:
    """Every parameter of msg_send, in Aculab's form: ``to`` and a numeric
    ``from_`` full international digits without ``+`` (``447700900123``)."""

    to: str
    from_: str
    type: MessageType = MessageType.SMS
    content: str | None = None
    msg_media: tuple[str, ...] = ()
    request_delivery_report: bool = False
    status_page: str | None = None
    status_method: str = "POST"
    status_authentication_name: str | None = None
    status_authentication_password: str | None = field(default=None, repr=False)
    status_ssl_check: bool = False
    alphanumeric_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "to", aculab_number(self.to, field_name="to"))
        object.__setattr__(self, "from_", aculab_sender(self.from_))
        object.__setattr__(self, "type", MessageType(self.type))
        object.__setattr__(self, "msg_media", tuple(self.msg_media))
        if self.type is MessageType.SMS:
            if not self.content:
                raise AculabValidationError("sms needs content")
            if self.msg_media:
                raise AculabValidationError("sms must not have msg_media")
        elif not self.msg_media:
            raise AculabValidationError("mms needs at least one msg_media file")
        if any(not m or "," in m for m in self.msg_media):
            raise AculabValidationError("msg_media names must be non-empty and contain no comma")
        method = self.status_method.upper()
        if method not in ("GET", "POST"):
            raise AculabValidationError("status_method must be GET or POST")
        object.__setattr__(self, "status_method", method)
        if self.alphanumeric_id is not None:
            validate_alphanumeric_id(self.alphanumeric_id)

    def form(self) -> list[tuple[str, str]]:
        """The form body: repeated ``msg_media`` fields, booleans as true/false."""
        fields: list[tuple[str, str]] = [("to", self.to), ("from", self.from_), ("type", self.type.value)]
        if self.content is not None:
            fields.append(("content", self.content))
        fields.extend(("msg_media", m) for m in self.msg_media)
        fields.append(("request_delivery_report", _bool(self.request_delivery_report)))
        if self.status_page:
            fields.append(("status_page", self.status_page))
            fields.append(("status_method", self.status_method))
            fields.append(("status_ssl_check", _bool(self.status_ssl_check)))
            if self.status_authentication_name:
                fields.append(("status_authentication_name", self.status_authentication_name))
                fields.append(("status_authentication_password", self.status_authentication_password or ""))
        if self.alphanumeric_id:
            fields.append(("alphanumeric_id", self.alphanumeric_id))
        return fields


def _bool(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class PartStatus:
    """One msg_status answer for one msg_ref."""

    msg_ref: str
    status: str
    type: str | None = None
    timestamp: str | None = None
    aculab_msg_err: str | None = None
    msg_from: str | None = None
    multipart_uid: str | None = None
    multipart_pos: int | None = None
    multipart_count: int | None = None

    @property
    def is_unknown(self) -> bool:
        return self.status == "unknown"

    @classmethod
    def from_json(cls, msg_ref: str, data: dict[str, Any]) -> PartStatus:
        # read without raising: a field of the wrong type reads as absent, a row without
        # a status as "" (unrecognised: skipped), never as "unknown" (the ref is gone)
        def opt_int(key: str) -> int | None:
            value = data.get(key)
            try:
                return int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
            except ValueError:
                return None

        def opt_str(key: str) -> str | None:
            value = data.get(key)
            return str(value)[:MAX_ANSWER_TEXT] if isinstance(value, (str, int)) and not isinstance(value, bool) \
                else None

        return cls(
            msg_ref=msg_ref,
            status=opt_str("status") or "",
            type=opt_str("type"),
            timestamp=opt_str("timestamp"),
            aculab_msg_err=opt_str("aculab_msg_err"),
            msg_from=number_or_given(str(msg_from)) if (msg_from := data.get("msg_from")) is not None else None,
            multipart_uid=opt_str("multipart_uid"),
            multipart_pos=opt_int("multipart_pos"),
            multipart_count=opt_int("multipart_count"),
        )


@dataclass(frozen=True)
class BlockedEntry:
    """One msg_list_blocked row: ``from_`` is ours, ``to`` the mobile that said STOP."""

    to: str
    from_: str
    timestamp: str | None = None

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> BlockedEntry:
        """Aculab's row, its numbers (``447700900123``) in E.164 with ``+`` as our blocked pairs are keyed."""
        timestamp = row.get("timestamp")
        return cls(to=number_or_given(str(row["to"])), from_=number_or_given(str(row["from"])),
                   timestamp=timestamp if isinstance(timestamp, str) else None)
