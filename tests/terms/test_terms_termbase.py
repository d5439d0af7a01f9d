"""The term base itself: complete, bilingual, sourced, and validated on load."""

from __future__ import annotations

import pytest

from opschub.terms import check, default_termbase
from opschub.terms.termbase import TermBaseError, parse_termbase

REQUIRED = {
    "child-pornography", "child-prostitution", "child-prostitute", "child-sex-tourism",
    "child-sex-tourist", "paedophile", "minor", "consent", "self-generated", "sexting",
    "sextortion", "webcam-child-sex-tourism", "child-abuse-images", "virtual-child-pornography",
    "virtual-material",
}  # fmt: skip


def test_every_required_rule_in_both_languages() -> None:
    entries = default_termbase().entries
    for lang in ("en", "zh-Hans"):
        assert {e.rule for e in entries if e.lang == lang} >= REQUIRED, lang


def test_entries_have_reasons_and_sources() -> None:
    for entry in default_termbase().entries:
        assert entry.reason_en and entry.reason_zh and entry.source, entry.rule
        assert entry.preferred, entry.rule


def test_every_form_is_found_and_no_preferred_term_is() -> None:
    for entry in default_termbase().entries:
        for form in entry.forms:
            if form.before is None:
                rules = [f.rule for f in check(f"See {form.text}.")]
                assert rules == [entry.rule], form.text
        for preferred in entry.preferred:
            assert [f for f in check(preferred) if f.severity == "avoid"] == [], preferred
        for reason in (entry.reason_en, entry.reason_zh):  # shown to users: clean too
            assert [f for f in check(reason) if f.severity == "avoid"] == [], reason


def test_titles_are_not_findings() -> None:
    termbase = default_termbase()
    for lang, titles in termbase.titles.items():
        for title in titles:
            assert check(title) == [], (lang, title)


def test_malformed_entries_are_named() -> None:
    with pytest.raises(TermBaseError, match=r"#1 .*'severity'"):
        parse_termbase(
            {"version": 1, "term": [{"id": "x", "lang": "en", "severity": "bad", "forms": ["x"]}]}
        )
    with pytest.raises(TermBaseError, match="duplicate entry x"):
        entry = {
            "id": "x", "lang": "en", "severity": "avoid", "forms": ["x"], "preferred": ["y"],
            "reason_en": "r", "reason_zh": "r", "source": "s",
        }  # fmt: skip
        parse_termbase({"version": 1, "term": [entry, entry]})


def test_chinese_keys_survive_traditional_to_simplified_conversion() -> None:
    """Text with Traditional characters is converted with OpenCC t2s before matching, which
    may also touch Simplified characters: every key must come out unchanged."""
    from opschub.terms.checker import to_simplified

    termbase = default_termbase()
    texts = [f.text for e in termbase.entries if e.lang == "zh-Hans" for f in e.forms]
    texts += [p for e in termbase.entries if e.lang == "zh-Hans" for p in e.preferred]
    texts += list(termbase.titles["zh-Hans"])
    assert [t for t in texts if to_simplified(t) != t] == []
    mixed = "兒童賣淫。缔约国批准了儿童权利公约关于买卖儿童、儿童卖淫和儿童色情制品的任择议定书。"
    assert [f.term for f in check(mixed)] == ["兒童賣淫"]
