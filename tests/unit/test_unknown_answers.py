"""Aculab answers the reference does not list (issue 24 item 6): an odd
msg_cancel result, a status spelling, an aculab_msg_err code, a garbled
msg_status row. Each is read without raising, logged without personal data
and counted; the message is left as it was."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from aculab_messaging.aculab.params import CancelResult, PartStatus
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.logic.ingest import IngestService, Route
from aculab_messaging.logic.status import (
    UnknownStatusError,
    for_log,
    is_documented_msg_err,
    msg_err_meaning,
    parse_provider_status,
)
from tests.fakes.services import Clock, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.unit.test_ingest_service import submitted

MOBILE, OURS = "447700900123", "447700900001"


@pytest.mark.parametrize("text", ["success", "unknown", "failed"])
def test_the_three_documented_cancel_results_are_members(text: str) -> None:
    assert CancelResult(text) is CancelResult[text.upper()]
    assert not CancelResult(text).is_other


@pytest.mark.parametrize("text", ["pending", "SUCCESS", "", "x" * 500])
def test_any_other_cancel_result_reads_as_other_keeping_its_text(text: str) -> None:
    result = CancelResult(text)  # no ValueError (the client built these outside its error handling)
    assert result.is_other and result.name == "OTHER"
    assert result.value == text[:100] and result == text[:100]
    assert result not in (CancelResult.SUCCESS, CancelResult.UNKNOWN, CancelResult.FAILED)


def test_a_garbled_msg_status_row_reads_without_raising_and_never_as_unknown() -> None:
    # given fields of the wrong type and no status
    part = PartStatus.from_json("r1", {"multipart_pos": "two", "multipart_count": True, "type": ["sms"],
                                       "timestamp": {"at": 1}, "aculab_msg_err": None})
    # then each reads as absent, and the status as unrecognised (skipped), not "unknown" (the ref is gone)
    assert (part.multipart_pos, part.multipart_count, part.type, part.timestamp) == (None, None, None, None)
    assert part.status == "" and not part.is_unknown
    with pytest.raises(UnknownStatusError):
        parse_provider_status(part.status)
    assert PartStatus.from_json("r2", {"status": "sent", "multipart_pos": "2"}).multipart_pos == 2


def test_an_unknown_status_error_keeps_the_text_and_shows_it_masked() -> None:
    with pytest.raises(UnknownStatusError) as caught:
        parse_provider_status("handed to 447700900123 at once")
    assert caught.value.raw == "handed to 447700900123 at once"
    assert "447700900123" not in str(caught.value) and "************" in str(caught.value)


def test_for_log_truncates_and_masks_long_digit_runs() -> None:
    assert for_log("x" * 100) == "x" * 40
    assert for_log("sent 447700900123 ok") == "sent ************ ok"
    assert for_log("301") == "301"


def test_documented_msg_err_codes() -> None:
    assert is_documented_msg_err("301") and is_documented_msg_err(None)
    assert not is_documented_msg_err("999")
    assert msg_err_meaning("999") == "Unrecognised aculab_msg_err code."


@pytest.fixture
def world() -> tuple[IngestService, InMemoryStore, RecordingPublisher, Clock]:
    store, publisher, clock = InMemoryStore(), RecordingPublisher(), Clock()
    submitted(store, clock)  # m-1, one part r1, queued at Aculab (as the ingest tests set it up)
    return IngestService(store=store, publisher=publisher, clock=clock), store, publisher, clock


def update(text: str, **fields: Any) -> Notification:
    return Notification.from_fields({"msg_ref": "r1", "status": text, "to": MOBILE, "from": OURS, **fields})


def test_an_unknown_status_is_logged_without_personal_data(world: Any) -> None:
    service, store, _, _ = world
    # the ingest module's own records, whatever handlers a function container built earlier in this
    # process left on the package's loggers (powertools copies its config to them; no propagation)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("aculab_messaging.logic.ingest")
    level, disabled, floor = logger.level, logger.disabled, logging.root.manager.disable
    logger.setLevel(logging.INFO)
    logger.disabled = False  # (a logging config applied earlier in this process may have disabled it)
    logging.disable(logging.NOTSET)
    logger.addHandler(handler)
    try:
        result = service.ingest(update(f"relayed to {MOBILE}", aculab_msg_err="000"), Route("m-1"))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
        logging.disable(floor)
    assert result.counts == ("UnknownAculabStatus",)
    record = store.messages.get_message("m-1")
    assert record is not None and record.status == "queued"
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].status == "relayed to ************"  # type: ignore[attr-defined]
    assert all(MOBILE not in r.getMessage() and MOBILE not in str(vars(r)) for r in records)


def test_an_unknown_msg_err_is_kept_counted_and_the_update_applied(world: Any) -> None:
    service, store, publisher, _ = world
    # when a delivered update carries a code the reference does not list
    result = service.ingest(update("delivered", aculab_msg_err="999"), Route("m-1"))
    # then the update moves the message on as any other, the code kept as it came, and it is counted
    assert result.counts == ("UnknownAculabMsgErr",)
    record = store.messages.get_message("m-1")
    assert record is not None and record.status == "delivered" and record.parts["r1"]["aculab_msg_err"] == "999"
    (event,) = publisher.published
    assert event.detail["aculabMsgErr"] == {"code": "999", "meaning": "Unrecognised aculab_msg_err code."}


def test_both_unknown_are_both_counted(world: Any) -> None:
    service, _, publisher, _ = world
    result = service.ingest(update("teleported", aculab_msg_err="42"), Route("m-1"))
    assert sorted(result.counts) == ["UnknownAculabMsgErr", "UnknownAculabStatus"]
    assert publisher.published == []


def test_a_documented_update_counts_nothing(world: Any) -> None:
    service, _, _, _ = world
    assert service.ingest(update("sent", aculab_msg_err="001"), Route("m-1")).counts == ()
