"""A guard against SMS pumping (artificially inflated traffic to premium numbers): a send to a
country outside ``AllowedCountries``, longer than ``MaxPartsPerMessage``, or beyond
``CountrySendsPerHour`` to its country is refused before Aculab: ``Message Blocked``, its reason
naming the rule (the metric of each rule counts it; a reached velocity cap raises an alarm)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aculab_messaging.aculab.params import MessageType
from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic.policy import SendPolicy
from aculab_messaging.logic.segmentation import estimate
from aculab_messaging.logic.smart_encoding import smart_encode


class VelocityStore(Protocol):
    def count_country_send(self, country: str, now: datetime, cap: int) -> bool: ...


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


def refusal(req: SendRequest, policy: SendPolicy, store: VelocityStore, now: datetime) -> Refusal | None:
    """Why this send must not go (the first rule it breaks), or None. The velocity cap counts the
    send, so it is asked last, once the others let it through."""
    if req.type is MessageType.SMS and req.content:
        text = smart_encode(req.content).text if req.sends_smart_encoded(policy.smart_encoding) else req.content
        parts = estimate(text).parts
        if parts > policy.max_parts_per_message:
            return Refusal(f"{parts} parts: more than MaxPartsPerMessage ({policy.max_parts_per_message})",
                           "MessagePartsCapped")
    country = country_of(req.to)
    if policy.allowed_countries and country not in policy.allowed_countries:
        return Refusal(f"country {country or 'unknown'} not in AllowedCountries", "CountryNotAllowed")
    if policy.country_sends_per_hour and not store.count_country_send(country, now, policy.country_sends_per_hour):
        return Refusal(f"CountrySendsPerHour ({policy.country_sends_per_hour}) reached for {country or 'unknown'}",
                       "CountryVelocityCapped")
    return None
