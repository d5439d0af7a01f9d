"""Chinese text (Simplified and Traditional), positions asserted exactly."""

from __future__ import annotations

from terms_helpers import expect, position, spans

from opschub.terms import check

# A paraphrase in the style of the Committee's concluding observations.
CONCLUDING_OBSERVATIONS = """\
在卖淫中对儿童的性剥削

27．委员会关切地注意到，边境地区的儿童卖淫现象依然普遍，儿童被当作罪犯对待。
委员会建议缔约国确保不将任何雏妓定罪，并与旅游业合作调查儿童色
情旅游。

28．委员会回顾《任择议定书》第三条，敦促缔约国禁止一切形式的儿童色情制品，包括虚拟儿童色情制品，
并屏蔽提供儿童色情图片的网站。
"""


def test_concluding_observations_positions() -> None:
    text = CONCLUDING_OBSERVATIONS
    assert spans(check(text, "zh")) == [
        expect(text, "儿童卖淫", "avoid"),
        expect(text, "雏妓", "avoid"),
        expect(text, "儿童色\n情旅游", "avoid"),
        expect(text, "儿童色情制品", "avoid"),
        expect(text, "虚拟儿童色情制品", "avoid"),
        expect(text, "儿童色情图片", "avoid"),
    ]


def test_longest_match_is_one_finding() -> None:
    text = "网络摄像头儿童色情旅游和儿童色情旅游者"
    assert [(f.term, f.rule) for f in check(text)] == [
        ("网络摄像头儿童色情旅游", "webcam-child-sex-tourism"),
        ("儿童色情旅游者", "child-sex-tourist"),
    ]


def test_full_width_text_and_spaces_from_pdf_extraction() -> None:
    text = "报告指出： 儿 童 色 情 制 品 ，以及ｃｈｉｌｄ　ｐｏｒｎｏｇｒａｐｈｙ。"
    assert [(f.term, f.col) for f in check(text)] == [
        ("儿 童 色 情 制 品", position(text, "儿 童")[2]),
        ("ｃｈｉｌｄ　ｐｏｒｎｏｇｒａｐｈｙ", position(text, "ｃｈｉｌｄ")[2]),
    ]


def test_traditional_chinese_is_converted_and_positions_kept() -> None:
    text = "委員會關切兒童色情製品和兒童賣淫問題，\n以及雛妓。"
    found = check(text, "zh")
    assert spans(found) == [
        expect(text, "兒童色情製品", "avoid"),
        expect(text, "兒童賣淫", "avoid"),
        expect(text, "雛妓", "avoid"),
    ]
    assert found[0].fix == "兒童性虐待材料"  # the fix is written in the text's own script


def test_preferred_terms_are_clean() -> None:
    text = (
        "儿童性虐待材料、儿童性剥削材料、在卖淫业中对儿童的性利用、被利用卖淫的儿童、"
        "旅行和旅游中对儿童的性剥削、网络直播儿童性虐待、对儿童的性勒索。"
    )
    assert check(text) == []


def test_extended_terms() -> None:
    text = "恋童癖者利用色情勒索、色情短信和自我生成的性内容；未成年人不能两厢情愿。"
    assert [(f.rule, f.severity) for f in check(text)] == [
        ("paedophile", "use-with-care"),
        ("sextortion", "avoid"),
        ("sexting", "use-with-care"),
        ("self-generated", "use-with-care"),
        ("minor", "use-with-care"),
        ("consent", "use-with-care"),
    ]
