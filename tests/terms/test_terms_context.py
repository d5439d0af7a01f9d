"""Titles, terms discussed as terms, and suppression comments."""

from __future__ import annotations

from terms_helpers import expect, spans

from opschub.terms import analyse, check

OPSC_EN = (
    "Optional Protocol to the Convention on the Rights of the Child on the sale of children, "
    "child prostitution and child pornography"
)
OPSC_ZH = "《儿童权利公约关于买卖儿童、儿童卖淫和儿童色情制品的任择议定书》"


def test_optional_protocol_title_is_never_a_finding() -> None:
    assert check(f"The State party ratified the {OPSC_EN} in 2002.") == []
    assert check(f"缔约国于2002年批准了{OPSC_ZH}。") == []
    # without title marks, across a line break, in another case
    broken = OPSC_EN.upper().replace("CHILD PROSTITUTION", "CHILD\nPROSTITUTION")
    assert check(broken) == []
    assert check(OPSC_ZH.strip("《》").replace("儿童卖淫", "儿童\n卖淫")) == []
    assert check("關於買賣兒童、兒童賣淫和兒童色情製品問題的任擇議定書") == []


def test_other_titles() -> None:
    text = (
        "Directive 2011/93/EU on combating the sexual abuse and sexual exploitation of "
        "children and child pornography; the Special Rapporteur on the sale and sexual "
        "exploitation of children, including child prostitution, child pornography and other "
        "child sexual abuse material; 《中华人民共和国未成年人保护法》；《关于儿童色情的研究》。"
    )
    assert check(text) == []


def test_term_outside_the_title_is_still_found() -> None:
    text = f"{OPSC_EN}. Child pornography remains common."
    assert spans(check(text)) == [expect(text, "Child pornography", "avoid")]


def test_mentions_are_reported_separately() -> None:
    text = (
        'The term "child pornography" should be replaced. So-called child prostitution is '
        "exploitation. “儿童色情制品”一词已不再使用；所谓儿童卖淫，实为性剥削。"
        "Child pornography means any representation of a child."
    )
    result = analyse(text)
    assert result.problems == []
    assert [f.term for f in result.mentions] == [
        "child pornography",
        "child prostitution",
        "儿童色情制品",
        "儿童卖淫",
    ]
    assert all(f.fix is None for f in result.mentions)


def test_line_suppression_needs_a_rule_match_and_a_reason() -> None:
    text = (
        "child pornography  <!-- opschub-terms: ignore[child-pornography] quoting the law -->\n"
        "child pornography  <!-- opschub-terms: ignore[sexting] wrong rule -->\n"
        "child pornography  <!-- opschub-terms: ignore -->\n"
        "# opschub-terms: ignore-next-line quoted from a 1999 court record\n"
        "child prostitution\n"
    )
    result = analyse(text)
    assert [f.line for f in result.findings] == [2, 3]
    assert result.notes == ["line 3: 'opschub-terms: ignore' without a reason is ignored"]


def test_block_suppression() -> None:
    text = (
        "child pornography\n"
        "<!-- opschub-terms: off examples of terms to avoid -->\n"
        "child pornography, 儿童卖淫\n"
        "<!-- opschub-terms: on -->\n"
        "child prostitution\n"
    )
    assert [f.line for f in check(text)] == [1, 5]


def test_title_quoted_without_its_head() -> None:
    both = (
        "the Optional Protocols to the Convention on the involvement of children in armed "
        "conflict and on the sale of children, child prostitution and child pornography"
    )
    assert check(both) == []
    assert (
        check("关于儿童卷入武装冲突和关于买卖儿童、儿童卖淫和儿童色情制品问题的两项任择议定书")
        == []
    )
    text = "States must end the sale of children, child prostitution and child pornography."
    assert spans(check(text)) == [
        expect(text, "child prostitution", "avoid"),
        expect(text, "child pornography", "avoid"),
    ]
    text = "打击买卖儿童、儿童卖淫和儿童色情制品的行为。"
    assert spans(check(text)) == [
        expect(text, "儿童卖淫", "avoid"),
        expect(text, "儿童色情制品", "avoid"),
    ]


def test_title_with_irregular_spacing_around_commas() -> None:
    assert check(OPSC_EN.replace("children, child", "children,child")) == []
    assert check(OPSC_EN.replace("children, child", "children , child")) == []
    assert check("《儿童权利公约关于买卖儿童 、儿童卖淫和儿童色情制品问题的任择议定书》") == []


def test_national_law_titles() -> None:
    text = (
        "Republic Act No. 9775, the Anti-Child Pornography Act of 2009, and the Act on "
        "Regulation and Punishment of Acts Relating to Child Prostitution and Child "
        "Pornography, and the Protection of Children, are in force; 《打击儿童色情制品法》。"
    )
    assert check(text) == []
    text = (
        "The Penal Code prohibits child pornography. "
        "The Child Prostitution Act is old; Child Prostitution remains."
    )
    assert spans(check(text)) == [
        expect(text, "child pornography", "avoid"),
        expect(text, "Child Prostitution", "avoid", nth=1),
    ]
