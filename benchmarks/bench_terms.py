"""Terminology checker throughput: opschub.terms vs a naive one-regex-per-term baseline.

Generates a corpus of mixed Chinese and English UN-style paragraphs (written for this
benchmark, varied by paragraph numbers, term choice, line breaks inside terms, markup and
some Traditional Chinese), checks it on one core and prints both side by side with ratios.
The baseline is run on a slice and extrapolated (it is linear in the text length).

    .venv/bin/python benchmarks/bench_terms.py --size-mb 100 --baseline-mb 5
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from opschub.terms import analyse, default_termbase

EN_PARAGRAPHS = [
    "{n}. The Committee is concerned that {avoid_en} remains widespread in border areas and "
    "that children are treated as offenders rather than as victims. It recommends that the "
    "State party strengthen {good_en} prevention programmes and train the police.",
    "{n}. Recalling the {title_en}, the Committee urges the State party to prohibit {avoid_en} "
    "in all its forms, including material made with computers, and to block access to "
    "websites offering {good_en}.",
    "{n}. The Committee welcomes the adoption of the national plan of action but notes with "
    "concern the lack of data on {good_en}, disaggregated by age, sex and setting, and "
    "the limited number of prosecutions.\nIt recommends that the State party collect data.",
    "{n}. <p>Civil society organisations reported cases of <em>{avoid_en}</em> linked to "
    'travel and tourism; the term "{avoid_en}" should nevertheless be replaced by '
    "{good_en} in all official documents.</p>",
]
ZH_PARAGRAPHS = [
    "{n}．委员会关切地注意到，边境地区的{avoid_zh}现象依然普遍，儿童被当作罪犯而不是受害者对待。"
    "委员会建议缔约国加强预防{good_zh}的方案并培训警察。",
    "{n}．委员会回顾{title_zh}，敦促缔约国禁止一切形式的{avoid_zh}，包括利用计算机制作的材料，"
    "并屏蔽提供{good_zh}的网站。",
    "{n}．委员会欢迎通过国家行动计划，但关切地注意到缺乏按年龄、性别和环境分列的{good_zh}数据，"
    "起诉案件\n数量有限。委员会建议缔约国收集数据。",
    "{n}．委員會關切地注意到{avoid_zh_t}的案件，並建議締約國與旅遊業合作，調查{good_zh_t}。",
]
AVOID_EN = [
    "child pornography",
    "child prostitution",
    "child sex\ntourism",
    "Child-Pornography",
    "child prostitutes",
    "sextortion",
    "webcam child sex tourism",
    "minors",
]
GOOD_EN = [
    "child sexual abuse material",
    "sexual exploitation of children in prostitution",
    "sexual extortion of children",
    "live online child sexual abuse",
]
AVOID_ZH = [
    "儿童色情制品",
    "儿童卖淫",
    "儿童色\n情旅游",
    "雏妓",
    "色情勒索",
    "网络摄像头儿童色情旅游",
]
GOOD_ZH = ["儿童性虐待材料", "在卖淫业中对儿童的性利用", "对儿童的性勒索", "网络直播儿童性虐待"]
AVOID_ZH_T = ["兒童色情製品", "兒童賣淫", "雛妓"]
GOOD_ZH_T = ["兒童性虐待材料", "旅行和旅遊中對兒童的性剝削"]
TITLE_EN = [
    "Optional Protocol to the Convention on the Rights of the Child on the sale of "
    "children, child prostitution and child pornography",
    "Convention",
]
TITLE_ZH = ["《儿童权利公约关于买卖儿童、儿童卖淫和儿童色情制品的任择议定书》", "《公约》"]


def corpus(size_bytes: int, seed: int) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    n = 0
    while total < size_bytes:
        n += 1
        template = rng.choice(EN_PARAGRAPHS if rng.random() < 0.5 else ZH_PARAGRAPHS)
        paragraph = template.format(
            n=n,
            avoid_en=rng.choice(AVOID_EN),
            good_en=rng.choice(GOOD_EN),
            title_en=rng.choice(TITLE_EN),
            avoid_zh=rng.choice(AVOID_ZH),
            good_zh=rng.choice(GOOD_ZH),
            avoid_zh_t=rng.choice(AVOID_ZH_T),
            good_zh_t=rng.choice(GOOD_ZH_T),
            title_zh=rng.choice(TITLE_ZH),
        )
        parts.append(paragraph)
        total += len(paragraph.encode("utf-8")) + 2
    return "\n\n".join(parts)


def naive_patterns() -> list[re.Pattern[str]]:
    """One regex per form: what a first implementation would write."""
    patterns = []
    for entry in default_termbase().entries:
        for form in entry.forms:
            if entry.lang == "en":
                words = [re.escape(w) for w in re.split(r"[\s-]+", form.text)]
                body = r"[\s-]+".join(words)
                patterns.append(re.compile(rf"\b{body}(?:s|es|'s)?\b", re.IGNORECASE))
            else:
                patterns.append(re.compile(re.escape(form.text)))
    return patterns


def run_naive(text: str, patterns: list[re.Pattern[str]]) -> int:
    return sum(1 for p in patterns for _ in p.finditer(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--baseline-mb", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=156)
    args = parser.parse_args()

    started = time.perf_counter()
    text = corpus(int(args.size_mb * 1_000_000), args.seed)
    size_mb = len(text.encode("utf-8")) / 1_000_000
    print(f"corpus: {size_mb:.1f} MB UTF-8, {len(text) / 1e6:.1f} M characters "
          f"(generated in {time.perf_counter() - started:.1f} s)")  # fmt: skip

    started = time.perf_counter()
    analyse("warm-up: child pornography 儿童色情制品 兒童賣淫 " * 20_000)  # numba, automaton
    print(f"warm-up (automaton build, numba load/compile): {time.perf_counter() - started:.1f} s")

    started, cpu = time.perf_counter(), time.process_time()
    result = analyse(text)
    ours, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
    problems = len(result.problems)
    mentions = len(result.mentions)

    cut = text[: int(len(text) * min(1.0, args.baseline_mb / size_mb))]
    cut_mb = len(cut.encode("utf-8")) / 1_000_000
    patterns = naive_patterns()
    started, cpu = time.perf_counter(), time.process_time()
    naive_count = run_naive(cut, patterns)
    naive, naive_cpu = time.perf_counter() - started, time.process_time() - cpu
    naive_full = naive * size_mb / cut_mb
    naive_full_cpu = naive_cpu * size_mb / cut_mb
    started, cpu = time.perf_counter(), time.process_time()
    ours_cut = analyse(cut)
    ours_cut_s, ours_cut_cpu = time.perf_counter() - started, time.process_time() - cpu

    print()
    head = f"{'checker':<38} {'MB':>6} {'wall s':>7} {'CPU s':>7} {'MB/s CPU':>9} {'vs ours':>8}"
    print(head)
    rows = [
        ("opschub.terms (Aho-Corasick, numba)", size_mb, ours, ours_cpu, 1.0),
        (
            f"naive regex per form ({len(patterns)})",
            cut_mb,
            naive,
            naive_cpu,
            naive_cpu / ours_cut_cpu,
        ),
        ("naive, extrapolated", size_mb, naive_full, naive_full_cpu, naive_full_cpu / ours_cpu),
    ]
    for name, mb, wall, cpu_s, ratio in rows:
        print(f"{name:<38} {mb:6.1f} {wall:7.2f} {cpu_s:7.2f} {mb / cpu_s:9.1f} {ratio:7.1f}x")
    print()
    print(f"opschub.terms: {problems} findings + {mentions} mentions on the full corpus; "
          f"on the {cut_mb:.1f} MB slice {len(ours_cut.findings)} (incl. mentions) in "
          f"{ours_cut_s:.2f} s vs {naive_count} naive regex matches")  # fmt: skip
    print("(the naive one also flags titles and mentions, and misses Traditional Chinese and "
          "line breaks inside Chinese terms)")  # fmt: skip
    per100, per100_cpu = ours * 100 / size_mb, ours_cpu * 100 / size_mb
    verdict = "met" if per100_cpu < 10 else "NOT met"
    print(
        f"target < 10 s per 100 MB on one core: {verdict} ({per100_cpu:.1f} s CPU, "
        f"{per100:.1f} s wall; wall includes waiting for a core on a shared machine)"
    )


if __name__ == "__main__":
    main()
