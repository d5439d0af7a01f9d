"""Findings as text lines, JSON or SARIF 2.1.0."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from opschub.terms.checker import Finding
from opschub.terms.termbase import TermBase

_SPACES = re.compile(r"\s+")
_LEVELS = {"avoid": "error", "use-with-care": "warning", "mention": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def text_line(path: str, finding: Finding) -> str:
    preferred = " / ".join(finding.preferred)
    return (
        f"{path}:{finding.line}:{finding.col} {finding.severity} {one_line(finding.term)} "
        f"-> {preferred} ({finding.reason})"
    )


def as_text(results: Sequence[tuple[str, list[Finding]]]) -> str:
    problems = [text_line(p, f) for p, fs in results for f in fs if not f.is_mention]
    mentions = [text_line(p, f) for p, fs in results for f in fs if f.is_mention]
    lines = problems
    if mentions:
        lines = [*problems, "", "Mentions (terms discussed as terms; not errors):", *mentions]
    return "\n".join(lines) + ("\n" if lines else "")


def as_json(results: Sequence[tuple[str, list[Finding]]]) -> str:
    rows = [{"path": p, **f.as_dict()} for p, fs in results for f in fs]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def _uri(path: str) -> str:
    if path == "-":
        return "stdin"
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate.as_uri()
    return candidate.as_posix()


def _rules(termbase: TermBase) -> list[dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for entry in termbase.entries:
        rule = rules.setdefault(
            entry.rule,
            {
                "id": entry.rule,
                "shortDescription": {"text": entry.reason_en},
                "fullDescription": {"text": f"{entry.reason_en} {entry.reason_zh}"},
                "help": {"text": ""},
                "defaultConfiguration": {"level": _LEVELS[entry.severity]},
                "properties": {"source": entry.source, "preferred": []},
            },
        )
        rule["properties"]["preferred"].extend(entry.preferred)
        rule["help"]["text"] = "Use instead: " + " / ".join(rule["properties"]["preferred"])
    return list(rules.values())


def as_sarif(results: Iterable[tuple[str, list[Finding]]], termbase: TermBase, version: str) -> str:
    sarif_results = []
    for path, findings in results:
        for f in findings:
            sarif_results.append(
                {
                    "ruleId": f.rule,
                    "level": _LEVELS[f.severity],
                    "kind": "informational" if f.is_mention else "fail",
                    "message": {
                        "text": f"'{one_line(f.term)}' -> {' / '.join(f.preferred)} ({f.reason})"
                    },
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": _uri(path)},
                                "region": {
                                    "startLine": f.line,
                                    "startColumn": f.col,
                                    "endLine": f.end_line,
                                    "endColumn": f.end_col,
                                    "snippet": {"text": f.term},
                                },
                            }
                        }
                    ],
                    "properties": {"severity": f.severity, "preferred": list(f.preferred)},
                }
            )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "opschub-terms",
                        "version": version,
                        "rules": _rules(termbase),
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
