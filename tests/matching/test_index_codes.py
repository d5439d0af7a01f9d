"""Hex <-> code conversions and their error messages."""

from __future__ import annotations

import numpy as np
import pytest

from opschub.matching.codes import codes_from_hex, hex_from_code, pdq_hex_to_code

HEX = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_round_trip() -> None:
    code = pdq_hex_to_code(HEX)
    assert len(code) == 32 and hex_from_code(code) == HEX
    assert pdq_hex_to_code(HEX.upper() + "\n") == code
    codes = codes_from_hex([HEX, HEX[::-1]])
    assert codes.shape == (2, 32) and codes.dtype == np.uint8
    assert hex_from_code(codes[1]) == HEX[::-1]
    assert codes_from_hex([]).shape == (0, 32)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (HEX[:-1], "64 hex digits, got 63"),
        (HEX[:-1] + "g", "non-hex character 'g' at position 64"),
        (None, "must be a string"),
    ],
)
def test_malformed_hex(value, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pdq_hex_to_code(value)


def test_batch_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match="entry 2: PDQ hash must have 64 hex digits"):
        codes_from_hex([HEX, HEX, HEX + "0"])


def test_hex_from_code_rejects_non_codes() -> None:
    with pytest.raises(ValueError, match="1-D uint8"):
        hex_from_code(np.zeros((2, 32), dtype=np.uint8))
