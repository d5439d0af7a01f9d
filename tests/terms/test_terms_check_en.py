"""English text, positions asserted exactly."""

from __future__ import annotations

import pytest
from terms_helpers import expect, position, spans

from opschub.terms import check

CONCLUDING_OBSERVATIONS = """\
Sexual exploitation of children in prostitution

27. The Committee is concerned that child prostitution remains widespread in
border areas and that children are treated as offenders. It recommends that the
State party ensure that no child prostitute is criminalised, and that child sex
tourism is investigated with the travel industry.

28. Recalling article 3 of the Optional Protocol, the Committee urges the State party
to prohibit Child Pornography in all its forms, including virtual child pornography,
and to block access to websites offering child-pornography or child
pornography-related content.
"""


def test_concluding_observations_positions() -> None:
    text = CONCLUDING_OBSERVATIONS
    assert spans(check(text, "en")) == [
        expect(text, "child prostitution", "avoid"),
        expect(text, "child prostitute", "avoid"),
        expect(text, "child sex\ntourism", "avoid"),
        expect(text, "Child Pornography", "avoid"),
        expect(text, "virtual child pornography", "avoid"),
        expect(text, "child-pornography", "avoid"),
        expect(text, "child\npornography", "avoid"),
    ]


def test_end_points_after_the_last_character() -> None:
    text = CONCLUDING_OBSERVATIONS
    finding = next(f for f in check(text) if f.term == "child sex\ntourism")
    start, line, _ = position(text, "child sex\ntourism")
    assert (finding.start, finding.end) == (start, start + len("child sex\ntourism"))
    assert finding.end_line == line + 1
    assert finding.end_col == len("tourism") + 1
    assert finding.rule == "child-sex-tourism"
    assert finding.preferred == (
        "sexual exploitation of children in the context of travel and tourism",
    )


def test_plural_possessive_and_case() -> None:
    text = "CHILD PROSTITUTES were arrested; the child prostitute's family was not told."
    found = check(text)
    assert [(f.term, f.rule) for f in found] == [
        ("CHILD PROSTITUTES", "child-prostitute"),
        ("child prostitute's", "child-prostitute"),
    ]


def test_hyphenation_across_a_line_break() -> None:
    text = "Offences of child porno-\ngraphy are punished."
    [finding] = check(text)
    assert finding.term == "child porno-\ngraphy"
    assert (finding.line, finding.col, finding.end_line, finding.end_col) == (1, 13, 2, 7)


def test_word_boundaries() -> None:
    assert check("The minority report; sextortionists; pedometers; a minor change.") == []
    assert [f.term for f in check("Grandchild pornographyX and child pornography.")] == [
        "child pornography"
    ]


def test_minor_only_as_a_noun() -> None:
    text = "A minor change. The consent of a minor is irrelevant. Minors need protection."
    assert [(f.term, f.severity) for f in check(text)] == [
        ("minor", "use-with-care"),
        ("Minors", "use-with-care"),
    ]


def test_markup_is_skipped_but_positions_are_kept() -> None:
    text = "<p>Reports of <em>child</em>\n  <strong>pornography</strong> rose.</p>"
    [finding] = check(text)
    assert finding.term == "child</em>\n  <strong>pornography"
    assert finding.start == text.index("child")
    markdown = "Reports of **child** _pornography_ rose &amp; fell; child&nbsp;prostitution too."
    assert [f.term for f in check(markdown)] == [
        "child** _pornography",
        "child&nbsp;prostitution",
    ]


def test_no_finding_in_preferred_terms() -> None:
    text = (
        "Child sexual abuse material, child sexual exploitation material, sexual exploitation "
        "of children in prostitution, live online child sexual abuse, sexual extortion of "
        "children and children exploited in prostitution."
    )
    assert check(text) == []


def test_extended_terms_from_the_luxembourg_guidelines() -> None:
    text = (
        "Webcam child sex tourism, sextortion, sexting, self-generated images, a paedophile, "
        "child abuse images, a willing victim and a child sex tourist."
    )
    assert [(f.rule, f.severity) for f in check(text, "en")] == [
        ("webcam-child-sex-tourism", "avoid"),
        ("sextortion", "avoid"),
        ("sexting", "use-with-care"),
        ("self-generated", "use-with-care"),
        ("paedophile", "use-with-care"),
        ("child-abuse-images", "use-with-care"),
        ("consent", "use-with-care"),
        ("child-sex-tourist", "avoid"),
    ]


def test_reason_in_the_requested_locale() -> None:
    [en] = check("child pornography", locale="en")
    [zh] = check("child pornography", locale="zh-Hans")
    assert en.reason.startswith("'Pornography'")
    assert zh.reason.startswith("“色情制品”")


def test_lang_filter() -> None:
    text = "child pornography 儿童色情制品"
    assert [f.lang for f in check(text, "en")] == ["en"]
    assert [f.lang for f in check(text, "zh")] == ["zh-Hans"]
    assert [f.lang for f in check(text, "auto")] == ["en", "zh-Hans"]


def test_html_attribute_text_is_read() -> None:
    text = '<img alt="Child pornography report" src="x.png"> <p title=\'儿童卖淫\'>x</p>'
    assert [(f.term, f.start) for f in check(text)] == [
        ("Child pornography", text.index("Child")),
        ("儿童卖淫", text.index("儿童")),
    ]


def test_footnote_digits_glued_to_a_term() -> None:
    text = "offences of child pornography12 and 3child prostitution in PDF text"
    assert [f.term for f in check(text)] == ["child pornography", "child prostitution"]


def test_ensure_clean_for_generators() -> None:
    from opschub.terms import TerminologyError, ensure_clean

    assert [f.rule for f in ensure_clean("Two minors were identified.")] == ["minor"]
    with pytest.raises(TerminologyError, match=r"line 2 col 5: 'child pornography' -> child"):
        ensure_clean("Notice\nThe child\npornography was removed.")
    with pytest.raises(TerminologyError):
        ensure_clean("Two minors.", fail_on="use-with-care")
