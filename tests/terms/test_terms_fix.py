"""--fix: the preferred term where exactly one fits; never in titles, quotations, code."""

from __future__ import annotations

from opschub.terms import check, fix


def test_fix_replaces_and_keeps_case_and_number() -> None:
    text = "Child prostitutes and CHILD PORNOGRAPHY; child sex tourism. 儿童色情制品和雏妓。"
    assert fix(text) == (
        "Children exploited in prostitution and CHILD SEXUAL ABUSE MATERIAL; sexual "
        "exploitation of children in the context of travel and tourism. "
        "儿童性虐待材料和被利用卖淫的儿童。"
    )


def test_fix_leaves_titles_mentions_quotations_and_code() -> None:
    text = (
        "The Optional Protocol on the sale of children, child prostitution and child "
        'pornography. The term "child pornography" is outdated. He said “we saw child '
        "pornography there”.\n> child pornography in a block quote\n"
        "`child pornography` in code\n```\nchild pornography\n```\n"
        "《关于儿童色情的研究》; 「儿童色情制品」\n"
    )
    assert fix(text) == text


def test_fix_needs_exactly_one_preferred_term() -> None:
    text = "A paedophile and a willing victim sent sexts."  # several preferred: no fix
    assert fix(text) == text
    assert all(f.fix is None for f in check(text))


def test_fix_then_check_is_clean_for_fixable_terms() -> None:
    text = "Child pornography, child prostitution, sextortion, 儿童卖淫, 儿童色情旅游."
    assert check(fix(text)) == []


def test_fix_in_a_catalogue_changes_translations_only() -> None:
    text = (
        "# child pornography in a comment\n"
        'msgid "Report child pornography"\n'
        'msgstr "举报儿童色情制品"\n'
        'msgid ""\n"child "\n"prostitution"\nmsgstr ""\n"儿童卖淫"\n'
    )
    assert fix(text, po=True) == text.replace("儿童色情制品", "儿童性虐待材料").replace(
        "儿童卖淫", "在卖淫业中对儿童的性利用"
    )
