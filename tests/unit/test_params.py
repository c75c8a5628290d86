from __future__ import annotations

import pytest

from aculab_messaging.aculab.errors import AculabValidationError
from aculab_messaging.aculab.params import SendParams, normalise_number


@pytest.mark.parametrize(
    "raw", ["+44 7700 900123", "447700900123", "0044 7700-900123", "+44 (7700) 900.123"]
)
def test_normalise_number_accepts_international_forms(raw: str) -> None:
    assert normalise_number(raw) == "+447700900123"


@pytest.mark.parametrize("raw", ["", "+", "07700 900123x", "12345", "1" * 16])
def test_normalise_number_rejects_garbage(raw: str) -> None:
    with pytest.raises(AculabValidationError):
        normalise_number(raw)


def test_build_sms_params_needs_content() -> None:
    with pytest.raises(AculabValidationError, match="sms needs content"):
        SendParams(to="447700900123", from_="447700900001")


def test_build_sms_params_refuses_media() -> None:
    with pytest.raises(AculabValidationError, match="must not have msg_media"):
        SendParams(to="447700900123", from_="447700900001", content="x", msg_media=("a.png",))


def test_build_mms_params_needs_media() -> None:
    with pytest.raises(AculabValidationError, match="mms needs"):
        SendParams(to="447700900123", from_="447700900001", type="mms")  # type: ignore[arg-type]


@pytest.mark.parametrize("alnum", ["TWELVE_CHARS", "way too long id", "bad-char", ""])
def test_build_params_rejects_bad_alphanumeric_id(alnum: str) -> None:
    with pytest.raises(AculabValidationError):
        SendParams(to="447700900123", from_="447700900001", content="x", alphanumeric_id=alnum)


def test_build_params_rejects_bad_status_method() -> None:
    with pytest.raises(AculabValidationError, match="GET or POST"):
        SendParams(to="447700900123", from_="447700900001", content="x", status_method="PUT")


def test_form_repeats_msg_media_and_carries_every_parameter() -> None:
    # given an mms with every parameter
    params = SendParams(
        to="+44 7700 900123", from_="447700900001", type="mms", content="look",  # type: ignore[arg-type]
        msg_media=("a.png", "b.jpg"), request_delivery_report=True, status_page="https://x.example/n?mid=1",
        status_method="get", status_authentication_name="u", status_authentication_password="s3cret-pw",
        status_ssl_check=True, alphanumeric_id="Shop 42",
    )
    # when the form is built
    form = params.form()
    # then media repeat and every field is there, normalised
    assert [v for k, v in form if k == "msg_media"] == ["a.png", "b.jpg"]
    as_dict = dict(form)
    assert as_dict["to"] == "447700900123"
    assert as_dict["status_method"] == "GET"
    assert as_dict["request_delivery_report"] == "true"
    assert as_dict["status_ssl_check"] == "true"
    assert as_dict["status_authentication_password"] == "s3cret-pw"
    assert as_dict["alphanumeric_id"] == "Shop 42"
    assert "s3cret-pw" not in repr(params)


def test_numbers_are_parsed_by_libphonenumber() -> None:
    # the "(0)" trunk prefix written inside an international number is dropped, as libphonenumber does
    assert normalise_number("+44 (0)7700 900123") == "+447700900123"
    # a length no UK number has is refused, with the reason
    with pytest.raises(AculabValidationError, match="not a possible number for country code \\+44"):
        normalise_number("+44 7700 9001234567")


def test_a_national_number_needs_a_region() -> None:
    with pytest.raises(AculabValidationError, match=r"national number.*DefaultRegion"):
        normalise_number("07700 900123", field_name="to")
    assert normalise_number("07700 900123", region="GB") == "+447700900123"
    assert normalise_number("(212) 555-1234", region="US") == "+12125551234"


def test_a_pool_name_stays_a_valid_sender() -> None:
    from aculab_messaging.aculab.params import normalise_sender

    assert normalise_sender("marketing-pool") == "marketing-pool"
    assert normalise_sender("+44 7700 900001") == "+447700900001"


def test_the_send_path_reads_national_numbers_only_with_a_default_region() -> None:
    import json

    from aculab_messaging.contracts.queue import ContractError, parse_queue_message

    body = json.dumps({"message_id": "n-1", "to": "07700 900123", "from": "447700900001", "content": "hi"})
    with pytest.raises(ContractError, match="national number"):
        parse_queue_message(body)
    assert parse_queue_message(body, default_region="GB").to == "+447700900123"  # type: ignore[union-attr]


def test_no_hand_written_number_rules_remain() -> None:
    from pathlib import Path

    import aculab_messaging.aculab.params as params

    source = Path(params.__file__).read_text()
    assert "_DIGITS" not in source and "phonenumbers.parse" in source
