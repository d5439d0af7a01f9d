from __future__ import annotations

import re
from datetime import date

import pytest

from opschub import taxonomy
from opschub.taxonomy import (
    CODE_LISTS,
    FORM_OF_EXPLOITATION,
    ICCS,
    Code,
    CodeList,
    UnknownCodeError,
    UnknownCodeListError,
    age_band,
    age_band_from_birth_month,
    age_from_birth_month,
    code_list,
    label,
)

# The lists and codes as DESIGN.md ("Shared vocabulary") names them.
DESIGN_CODES = {
    "form_of_exploitation": [
        "sale_sexual_exploitation",
        "sale_organ_transfer",
        "sale_forced_labour",
        "sale_illegal_adoption",
        "prostitution",
        "csam",
        "live_streaming",
        "travel_tourism",
        "grooming",
        "sexual_extortion",
        "causing_to_witness",
        "advertising",
    ],
    "exploitation_context": ["child_marriage", "surrogacy"],
    "participation": ["committed", "attempt", "complicity", "participation"],
    "sex": ["female", "male", "other", "unknown"],
    "age_band": ["0-4", "5-9", "10-14", "15-17", "unknown"],
    "setting": ["online", "offline", "both"],
    "offender_category": ["adult", "child", "legal_person", "unknown"],
    "relationship": [
        "family",
        "position_of_trust",
        "acquaintance",
        "online_contact",
        "stranger",
        "unknown",
    ],
}

# ICCS codes DESIGN.md names, with the guideline-term label each must carry.
DESIGN_ICCS = {
    "030221": "child sexual abuse material",
    "030222": "sexual exploitation of children in prostitution",
    "030223": "sexual grooming of children",
    "030229": "other sexual exploitation of children",
    "0204": "trafficking in persons",
    "020291": "illegal adoption",
    "0203": "slavery and exploitation",
}

# Words the guidelines say to avoid (checked here so that labels never carry them).
AVOIDED = [
    "child " + "pornography",
    "child " + "prostitut",
    "child sex " + "tourism",
    "child sex " + "worker",
    "儿童" + "色情",
    "儿童" + "卖淫",
    "童" + "妓",
    "儿童性" + "工作者",
]


def _all_codes() -> list[tuple[str, Code]]:
    return [(cl.name, c) for cl in CODE_LISTS.values() for c in cl]


@pytest.mark.parametrize("name", DESIGN_CODES)
def test_lists_have_exactly_the_design_codes_in_order(name: str) -> None:
    assert list(code_list(name).values) == DESIGN_CODES[name]


def test_registry_holds_every_list() -> None:
    assert set(CODE_LISTS) == set(DESIGN_CODES) | {"iccs"}
    for name, cl in CODE_LISTS.items():
        assert cl.name == name
        assert set(cl.title) == {"en", "zh-Hans"}


@pytest.mark.parametrize(
    ("list_name", "code"), _all_codes(), ids=lambda v: str(getattr(v, "code", v))
)
def test_every_code_has_both_labels(list_name: str, code: Code) -> None:
    assert set(code.labels) == {"en", "zh-Hans"}
    assert code.labels["en"].strip() and code.labels["zh-Hans"].strip()
    assert re.search(r"[\u4e00-\u9fff]", code.labels["zh-Hans"]), "zh-Hans label is not Chinese"
    if code.plain is not None:
        assert set(code.plain) == {"en", "zh-Hans"}
        assert all(text.strip() for text in code.plain.values())


def test_no_label_uses_an_avoided_term() -> None:
    for _name, code in _all_codes():
        texts = [*code.labels.values(), *(code.plain or {}).values()]
        for text in texts:
            for avoided in AVOIDED:
                assert avoided not in text.lower(), f"{code.code}: {text!r}"


def test_guideline_terms_are_used_exactly() -> None:
    assert FORM_OF_EXPLOITATION["csam"].labels == {
        "en": "child sexual abuse material",
        "zh-Hans": "儿童性虐待材料",
    }
    assert FORM_OF_EXPLOITATION["prostitution"].labels == {
        "en": "sexual exploitation of children in prostitution",
        "zh-Hans": "在卖淫业中对儿童的性利用",
    }
    assert FORM_OF_EXPLOITATION["travel_tourism"].labels == {
        "en": "sexual exploitation of children in the context of travel and tourism",
        "zh-Hans": "旅行和旅游中对儿童的性剥削",
    }


def test_every_form_of_exploitation_has_plain_words_for_children() -> None:
    for code in [*FORM_OF_EXPLOITATION, *code_list("exploitation_context")]:
        assert code.plain is not None, code.code
        # short enough to read on a phone, one or two sentences
        assert len(code.plain["en"]) < 160, code.code


def test_iccs_codes_are_those_in_design() -> None:
    for iccs_code, en in DESIGN_ICCS.items():
        assert ICCS[iccs_code].labels["en"] == en
        assert ICCS[iccs_code].iccs == iccs_code
    trafficking = [c for c in ICCS.values if c.startswith("0204")]
    assert trafficking[0] == "0204" and len(trafficking) > 1  # 0204x


def test_forms_map_to_the_design_iccs_codes() -> None:
    iccs = {c.code: c.iccs for c in FORM_OF_EXPLOITATION}
    assert iccs["csam"] == "030221"
    assert iccs["prostitution"] == "030222"
    assert iccs["grooming"] == "030223"
    assert iccs["sale_illegal_adoption"] == "020291"
    assert iccs["sale_forced_labour"] == "0203"
    assert iccs["sale_sexual_exploitation"].startswith("0204")
    assert iccs["sale_organ_transfer"].startswith("0204")
    for code in ("travel_tourism", "sexual_extortion", "causing_to_witness"):
        assert iccs[code] == "030229"


def test_every_iccs_reference_is_a_known_iccs_code() -> None:
    for _name, code in _all_codes():
        if code.iccs is not None:
            assert code.iccs in ICCS, code.code


def test_unknown_code_names_the_list_and_the_known_codes() -> None:
    with pytest.raises(UnknownCodeError) as info:
        FORM_OF_EXPLOITATION["abuse_images"]
    message = str(info.value)
    assert "'form_of_exploitation'" in message and "'abuse_images'" in message and "csam" in message
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnknownCodeError, match="'sex'"):
        code_list("sex").validate("F")


def test_unknown_list_is_named() -> None:
    with pytest.raises(UnknownCodeListError, match=r"'colour'.*known lists: form_of_exploitation"):
        code_list("colour")


def test_label_lookup_by_name_and_language_spellings() -> None:
    assert label("sex", "female", "en") == "female"
    assert label("sex", "female", "zh-Hans") == "女"
    assert label("sex", "female", "zh_Hans") == "女"
    assert label(code_list("setting"), "both", "en-GB") == "online and offline"
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        label("sex", "female", "fr")


def test_choices_and_plain_fallback() -> None:
    assert code_list("setting").choices("en")[0] == ("online", "online")
    assert code_list("setting").choices("en", plain=True)[0] == ("online", "On the internet")
    # codes without plain words fall back to the label
    assert code_list("participation")["attempt"].plain_label("zh-Hans") == "企图实施"


def test_membership_and_immutability() -> None:
    assert "csam" in FORM_OF_EXPLOITATION and "nope" not in FORM_OF_EXPLOITATION
    assert 3 not in FORM_OF_EXPLOITATION
    with pytest.raises(TypeError):
        FORM_OF_EXPLOITATION["csam"].labels["en"] = "x"  # type: ignore[index]
    with pytest.raises(ValueError, match="duplicate"):
        CodeList("x", {"en": "x", "zh-Hans": "x"}, (Code("a", {}), Code("a", {})))


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (None, "unknown"),
        (0, "0-4"),
        (4, "0-4"),
        (5, "5-9"),
        (9, "5-9"),
        (10, "10-14"),
        (14, "10-14"),
        (15, "15-17"),
        (17, "15-17"),
    ],
)
def test_age_band_edges(age: int | None, band: str) -> None:
    assert age_band(age) == band
    assert band in taxonomy.AGE_BAND


def test_numpy_integers_are_ages() -> None:
    np = pytest.importorskip("numpy")
    assert age_band(np.int64(12)) == "10-14"  # type: ignore[arg-type]


@pytest.mark.parametrize("age", [18, 19, 99])
def test_adults_are_not_banded_as_children(age: int) -> None:
    with pytest.raises(ValueError, match=f"age {age} is not a child's age"):
        age_band(age)


@pytest.mark.parametrize("age", [-1, 3.5, True, "7"])
def test_bad_ages_are_refused(age: object) -> None:
    with pytest.raises(ValueError, match="age"):
        age_band(age)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("year", "month", "on", "age"),
    [
        (2026, 11, date(2026, 11, 29), 0),  # born this month
        (2025, 11, date(2026, 11, 29), 0),  # birthday month: day unknown, younger age
        (2025, 11, date(2026, 12, 1), 1),
        (2025, 10, date(2026, 11, 1), 1),
        (2012, 1, date(2026, 1, 31), 13),
        (2012, 1, date(2026, 2, 1), 14),
        (2008, 12, date(2026, 12, 31), 17),  # still presumed 17 in the birthday month
    ],
)
def test_age_from_birth_month(year: int, month: int, on: date, age: int) -> None:
    assert age_from_birth_month(year, month, on) == age


def test_age_band_from_birth_month() -> None:
    assert age_band_from_birth_month(2017, 6, date(2026, 6, 15)) == "5-9"  # 8, turning 9
    assert age_band_from_birth_month(2017, 5, date(2026, 6, 15)) == "5-9"  # 9
    assert age_band_from_birth_month(2016, 5, date(2026, 6, 15)) == "10-14"  # 10
    with pytest.raises(ValueError, match="not a child's age"):
        age_band_from_birth_month(2008, 5, date(2026, 6, 15))


def test_birth_month_errors() -> None:
    with pytest.raises(ValueError, match="birth month must be 1 to 12, got 13"):
        age_from_birth_month(2020, 13, date(2026, 1, 1))
    with pytest.raises(ValueError, match="2027-01 is after 2026-12-31"):
        age_from_birth_month(2027, 1, date(2026, 12, 31))
