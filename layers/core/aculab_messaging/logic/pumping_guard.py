"""A guard against SMS pumping (artificially inflated traffic to premium numbers): a send to a
country outside ``AllowedCountries``, longer than ``MaxPartsPerMessage``, or beyond
``CountrySendsPerHour`` to its country is refused before Aculab: ``Message Blocked``, its reason
naming the rule (the metric of each rule counts it; a reached velocity cap raises an alarm)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from aculab_messaging.aculab.params import MessageType
from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.segmentation import estimate
from aculab_messaging.logic.smart_encoding import for_request

if TYPE_CHECKING:
    from aculab_messaging.logic.store_ports import CountryVelocity


# libphonenumber's region of the global numbering plans (international freephone, satellite, premium rate ...)
NON_GEOGRAPHIC = "001"


@dataclass(frozen=True)
class Refusal:
    reason: str
    metric: str


def country_of(e164: str) -> str:
    """The ISO 3166 code of a number's country (a shared calling code, +1 or +7, by the number
    itself where libphonenumber knows it, else the code's main country); "" when unknown."""
    import phonenumbers  # only the paths that parse numbers pay for its import

    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ""
    return str(phonenumbers.region_code_for_number(number)
               or phonenumbers.region_code_for_country_code(number.country_code or 0) or "")


def _named(country: str) -> str:
    if country == NON_GEOGRAPHIC:
        return "a non-geographic number (+800, +808, +870, +881, +882, +883, +888, +979)"
    return f"country {country}" if country else "an unknown country"


def refusal(req: SendRequest, policy: SendPolicy, store: CountryVelocity, now: datetime, *,
            count: bool = True) -> Refusal | None:
    """Why this send must not go (the first rule it breaks), or None. The velocity cap counts the
    send, so it is asked last, once the others let it through, and only when ``count`` (a message
    is counted once: not again when it comes back unsent)."""
    if req.type is MessageType.SMS and req.content:
        smart = for_request(req, policy.smart_encoding)
        parts = estimate(smart.text if smart else req.content).parts
        if parts > policy.max_parts_per_message:
            return Refusal(f"{parts} parts: more than MaxPartsPerMessage ({policy.max_parts_per_message})",
                           "MessagePartsCapped")
    country = country_of(req.to)
    named = _named(country)
    if policy.allowed_countries and country not in policy.allowed_countries:
        return Refusal(f"{named} not in AllowedCountries", "CountryNotAllowed")
    cap = policy.country_sends_per_hour
    if cap and count and not store.count_country_send(country, now, cap):
        where = country if country and country != NON_GEOGRAPHIC else named
        return Refusal(f"CountrySendsPerHour ({cap}) reached for {where}", "CountryVelocityCapped")
    return None
