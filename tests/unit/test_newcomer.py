"""A newcomer's day: `make help` tells every target, a wrong AT names the forms
it takes, and a cancel of an unknown id says what to do."""

from __future__ import annotations

import re
import subprocess

import pytest

from local.__main__ import _describe
from local.template import ROOT
from tools.producer import main


def test_make_help_lists_every_phony_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = set(re.findall(r"make ([a-z0-9-]+)", shown))
    assert set(phony.group(1).split()) <= listed, set(phony.group(1).split()) - listed
    assert "the three functions" not in shown


def test_an_at_that_is_not_a_time_names_the_forms_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--queue-url", "https://sqs.eu-west-1.amazonaws.com/1/q", "--region", "eu-west-1", "sms",
                 "--to", "447700900123", "--from", "447700900001", "--text", "hi", "--at", "tomorrow"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("invalid message: 'tomorrow' is not a time: give +90s, +2m, +1h, +1d from now, or ISO 8601 "
                   "with its offset (2026-11-25T09:00:00+00:00)\n")


def test_a_cancel_of_an_unknown_id_says_so_without_a_status() -> None:
    line = _describe({"detail-type": "Message Cancel Failed",
                      "detail": {"messageId": "m-typo", "status": None, "reason": "unknown message"}})
    assert line == ("Message Cancel Failed: m-typo reason=unknown message "
                    "(no message has this id: check the id make send printed)")
    assert _describe({"detail-type": "Message Status Changed", "detail": {"messageId": "m-1", "status": "sent"}}) == (
        "Message Status Changed: m-1 status=sent")


def test_make_run_takes_the_functions_variables_as_name_value_pairs() -> None:
    from local.__main__ import env_overrides

    assert env_overrides(["ALLOWED_COUNTRIES=GB,IE", "X=a=b"]) == {"ALLOWED_COUNTRIES": "GB,IE", "X": "a=b"}
    with pytest.raises(SystemExit, match="NAME=VALUE, not GB"):
        env_overrides(["GB"])


def test_a_campaign_rate_of_zero_is_refused_not_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    # given CAMPAIGN_RATE=0 (a "pause"?): the contract has no such rate, and the send must not go unpaced
    code = main(["--queue-url", "https://sqs.eu-west-1.amazonaws.com/1/q", "--region", "eu-west-1", "sms",
                 "--to", "447700900123", "--from", "447700900001", "--text", "hi", "--campaign", "spring",
                 "--campaign-rate", "0", "--dry-run"])
    assert code == 2 and "campaign_max_per_second: Input should be greater than 0" in capsys.readouterr().err


def test_the_tail_says_when_each_event_happened_and_masks_a_number_as_make_status_does() -> None:
    # given events as the bus carries them (their detail's timestamp, UTC)
    submitted = {"detail-type": "Message Submitted",
                 "detail": {"messageId": "m-1", "status": "queued", "timestamp": "2026-12-01T06:32:09.489Z"}}
    opt_out = {"detail-type": "Opt-Out Changed", "detail": {"from": "+447700900001", "to": "+447700900123",
                                                           "blocked": True, "timestamp": "2026-12-01T06:33:00.000Z"}}
    # then each line ends with its time (a paced send's second can be read off the tail), and a mobile is
    # masked the one way (+4477*****123)
    assert _describe(submitted) == "Message Submitted: m-1 status=queued at 06:32:09.489"
    assert _describe(opt_out) == "Opt-Out Changed: from +447700900001 to +4477*****123 blocked=True at 06:33:00.000"
