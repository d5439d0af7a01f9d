"""Receipts, flood protection and triage: no database needed."""

from __future__ import annotations

import pytest

from opschub.intake import receipts, triage
from opschub.intake.ratelimit import RateLimiter, retry_after_header


def test_receipt_has_at_least_128_bits_and_reads_back() -> None:
    code = receipts.new_code()
    assert len(code) * 5 >= 128
    shown = receipts.display(code)
    assert all(len(group) == 4 for group in shown.split("-"))
    assert receipts.canonical(shown.lower().replace("-", " ")) == code


def test_receipt_codes_differ_and_confusable_letters_are_read_as_digits() -> None:
    assert len({receipts.new_code() for _ in range(200)}) == 200
    code = "0" * 27 + "1"
    assert receipts.canonical("O" * 27 + "l") == code


@pytest.mark.parametrize("text", ["", "ABC", "U" * 28, "0" * 29, "!" * 28])
def test_malformed_receipt_is_refused(text: str) -> None:
    with pytest.raises(receipts.ReceiptFormatError):
        receipts.canonical(text)


def test_receipt_hash_is_keyed_and_not_the_code() -> None:
    code = receipts.new_code()
    digest = receipts.code_hash(code)
    assert len(digest) == 64 and code not in digest
    assert digest != receipts.code_hash(receipts.new_code())


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_burst_then_asks_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 1.0, clock=clock)
    assert [limiter.hit("k") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("k")
    assert wait is not None and 0 < wait <= 1.0
    assert limiter.hit("other") is None  # keys are independent
    clock.now += 1.0
    assert limiter.hit("k") is None
    assert retry_after_header(0.2) == "1"


def test_cost_above_capacity_is_never_allowed() -> None:
    limiter = RateLimiter(10, 1.0, clock=FakeClock())
    assert limiter.hit("k", cost=11) is not None


def test_address_key_is_salted_and_rotates() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 1.0, clock=clock, rotate_seconds=3600)
    first = limiter.address_key("203.0.113.9")
    assert "203.0.113.9" not in first
    assert limiter.address_key("203.0.113.9") == first
    limiter.hit(first)
    clock.now += 3600
    assert limiter.address_key("203.0.113.9") != first
    assert len(limiter) == 0  # buckets of the old salt are gone


def test_other_limiters_use_other_salts() -> None:
    assert RateLimiter(1, 1).address_key("x") != RateLimiter(1, 1).address_key("x")


def test_triage_order_is_lexicographic() -> None:
    def score(**kw: object) -> int:
        args = {
            "matched": False,
            "channel": "public",
            "stated_age_band": None,
            "incident_types": [],
        }
        args.update(kw)
        return triage.triage(**args).priority  # type: ignore[arg-type]

    match_only = score(matched=True)
    everything_else = score(
        channel="self_report", stated_age_band="0-9", incident_types=["live_streaming"]
    )
    assert match_only > everything_else
    assert score(channel="self_report") > score(
        stated_age_band="10-12", incident_types=["live_streaming"]
    )
    assert score(stated_age_band="10-12") > score(incident_types=["live_streaming"])
    assert score(stated_age_band="13-14") == 0
    assert score(incident_types=["live_streaming"]) > score() == 0
    assert triage.triage(
        matched=True, channel="self_report", stated_age_band="0-9", incident_types=[]
    ).reasons == ("known_match", "self_report", "under_13")
