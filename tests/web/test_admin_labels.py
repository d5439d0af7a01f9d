"""Every code that reaches a page has a label in both languages (opschub.labels): the codes the
models allow, every audit action the code writes, every role and permission."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opschub import labels
from opschub.accounts.permissions import PERMISSIONS, Role
from opschub.audit.models import ACTOR_KINDS, OUTCOMES
from opschub.cases.models import PRIORITIES as CASE_PRIORITIES
from opschub.evidence.models import CATEGORIES, CUSTODY_ACTIONS, PURPOSES, SOURCES
from opschub.evidence.models import STATES as EVIDENCE_STATES
from opschub.intake import service as intake_service
from opschub.intake import states as intake_states
from opschub.intake import triage
from opschub.intake.models import CHANNELS, MEDIA_KINDS, STATED_AGE_BANDS, STATUSES
from opschub.web.i18n import translations

SRC = Path(labels.__file__).resolve().parents[1]
# audit.record(..., action="x.y", ...), EventIn(action="x.y"), accounts' _record(session, "x.y";
# the expression may choose between several ("a.b" if reopened else "a.c"), over several lines.
ACTION = re.compile(r"""(?:action=|_record\(\s*session,\s*)(.*?)(?:,\s*\n|\)\s*\n)""", re.S)
DOTTED = re.compile(r""""([a-z_]+(?:\.[a-z_]+)+)\"""")


def _recorded_actions() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for expression in ACTION.findall(path.read_text(encoding="utf-8")):
            found.update(DOTTED.findall(expression))
    return found


def test_the_scan_finds_the_actions_the_code_writes() -> None:
    actions = _recorded_actions()
    assert {
        "accounts.login.failed",
        "intake.report.status_changed",
        "permission.refused",
    } <= actions
    assert "hashlists.list.imported" in actions


def test_every_audit_action_written_has_a_label() -> None:
    missing = sorted(a for a in _recorded_actions() if a not in labels.AUDIT_ACTION)
    assert missing == [], "add these to opschub.labels.AUDIT_ACTION"


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("channel", CHANNELS),
        ("report_status", STATUSES),
        ("media_kind", MEDIA_KINDS),
        ("actor_kind", ACTOR_KINDS),
        ("outcome", OUTCOMES),
        ("role", tuple(role.value for role in Role)),
        ("permission", tuple(PERMISSIONS)),
        # intake's and evidence's codes: labelled here, not in their own packages
        ("priority_reason", (*triage.WEIGHTS, "matching_unavailable", intake_service.UNREADABLE)),
        ("priority_level", intake_states.LEVELS),
        ("priority_level", CASE_PRIORITIES),  # a case's priority reads as a report's level
        ("queue_sort", intake_service.SORTS),
        ("public_status", tuple(set(intake_states.PUBLIC_STATUS.values()))),
        ("stated_age_band", STATED_AGE_BANDS),
        ("evidence_purpose", PURPOSES),
        ("custody_action", CUSTODY_ACTIONS),
        ("evidence_state", EVIDENCE_STATES),
        ("evidence_source", SOURCES),
        ("evidence_category", CATEGORIES),
        ("purpose", PURPOSES),
    ],
)
def test_every_allowed_code_has_a_chinese_label(kind: str, codes: tuple[str, ...]) -> None:
    gettext = translations("zh-Hans").gettext
    for code in codes:
        assert labels.has(kind, code), f"{kind} {code!r} has no label"
        text = labels.label(kind, code, gettext, "zh-Hans")
        assert re.search(r"[\u4e00-\u9fff]", text), f"{kind} {code!r} reads {text!r} in Chinese"


def test_a_purpose_in_audit_details_reads_the_same_for_notices_and_evidence() -> None:
    # details.purpose is a notice's (takedown) or an evidence access's: one kind, no code shared.
    assert not set(labels.NOTICE_PURPOSE) & set(labels.EVIDENCE_PURPOSE)
    gettext = translations("zh-Hans").gettext
    english = translations("en").gettext
    assert labels.details({"purpose": "initial"}, english, "en") == [("purpose", "first notice")]
    for code in ("initial", "investigation"):
        text = labels.detail_value("purpose", code, gettext, "zh-Hans")
        assert re.search(r"[\u4e00-\u9fff]", text), (code, text)


def test_taxonomy_lists_are_reached_through_the_same_function() -> None:
    gettext = translations("zh-Hans").gettext
    assert labels.label("form_of_exploitation", "csam", gettext, "zh-Hans") == "儿童性虐待材料"
    assert labels.label("sex", "female", gettext, "en") == "female"


def test_status_change_details_read_as_words() -> None:
    gettext = translations("zh-Hans").gettext
    pairs = labels.details({"from": "received", "to": "action_taken"}, gettext, "zh-Hans")
    assert pairs == [("原为", "已收到"), ("改为", "已采取行动")]


def test_an_unknown_code_is_shown_as_it_is_so_the_page_test_finds_it() -> None:
    gettext = translations("zh-Hans").gettext
    assert labels.label("channel", "carrier_pigeon", gettext, "zh-Hans") == "carrier_pigeon"
    assert labels.action_label("accounts.login.something_new", gettext) == "登录"
    with pytest.raises(KeyError, match="unknown kind"):
        labels.label("colour", "red", gettext, "en")
