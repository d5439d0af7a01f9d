"""The case file for a court or a transfer, as JSON and PDF.

What it holds: the case, its forms, region, the people by alias (no real names), relationships,
the references of the linked reports and of the evidence items (id, SHA-256, size, media type:
never the material), linked cases. What it never holds: anyone on the protected track (a child
suspect, para 71), whoever exports it. Each export is audited (``cases.case.exported``).

The PDF uses reportlab's built-in CJK CID font STSong-Light so that Chinese text (region names,
titles) prints without shipping a font file.
"""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.cases import service
from opschub.clock import utcnow

FORMAT = "opschub-case-file/1"


def _person(p: service.PersonView) -> dict[str, Any]:
    return {
        "id": p.id,
        "role": p.role,
        "alias": p.alias,
        "sex": p.sex,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "birth_month": p.birth_month,
        "estimated_age": p.estimated_age,
        "age_at_opening": p.age_at_opening,
        "age_band": p.age_band,
        "nationality": p.nationality,
        "residence": p.residence,
        "vulnerabilities": list(p.vulnerabilities),
        "offender_category": p.offender_category,
        "protected_track": p.protected_track,
        "suspect_confirmation": p.suspect_confirmation,
        "version": p.version,
    }


def case_json(view: service.CaseView) -> dict[str, Any]:
    """A case as the API shows it (the viewer's own visibility already applied)."""
    return {
        "id": view.id,
        "reference": view.reference,
        "title": view.title,
        "status": view.status,
        "priority": view.priority,
        "setting": view.setting,
        "org_unit": view.org_unit_code,
        "org_unit_path": list(view.org_unit_path),
        "team": view.team,
        "assigned_to_id": view.assigned_to_id,
        "restricted": view.restricted,
        "opened_at": view.opened_at.isoformat(),
        "closed_at": view.closed_at.isoformat() if view.closed_at else None,
        "version": view.version,
        "forms": [{"form": f, "participation": p} for f, p in view.forms],
        "report_ids": list(view.report_ids),
        "evidence_item_ids": list(view.evidence_item_ids),
        "linked_case_ids": list(view.linked_case_ids),
        "people": [_person(p) for p in view.people],
        "relationships": [
            {"person_id": a, "other_person_id": b, "relationship": r}
            for a, b, r in view.relationships
        ],
        "hidden_people": view.hidden_people,
    }


def export_document(session: Session, actor: service.CaseActor, case_id: str) -> dict[str, Any]:
    """The case file as a JSON-ready mapping; protected-track people are left out for everyone."""
    from opschub.evidence import service as evidence
    from opschub.intake import service as intake

    view = service.get_case(session, actor, case_id)
    body = case_json(view)
    body["people"] = [_person(p) for p in view.people if not p.protected_track]
    kept = {p["id"] for p in body["people"]}
    body["relationships"] = [
        r for r in body["relationships"] if r["person_id"] in kept and r["other_person_id"] in kept
    ]
    body.pop("hidden_people")
    body.pop("assigned_to_id")
    items = []
    for item_id in view.evidence_item_ids:
        item = evidence.get_item(session, item_id)
        items.append(
            {
                "id": item.id,
                "sha256": item.sha256,
                "size": item.size,
                "media_type": item.media_type,
                "acquired_at": item.created_at.isoformat(),
            }
        )
    reports = []
    for report_id in view.report_ids:
        report = intake.get_report(session, report_id)
        reports.append(
            {
                "id": report.id,
                "reference": report.reference,
                "received_at": report.created_at.isoformat(),
            }
        )
    audit.record(
        session,
        action="cases.case.exported",
        actor=actor,
        target_type="case",
        target_id=view.id,
        details={"format": "case-file", "people": len(body["people"])},
    )
    return {
        "format": FORMAT,
        "exported_at": utcnow().isoformat(),
        "exported_by": actor.name,
        "case": body,
        "reports": reports,
        "evidence": items,
        "note": "Evidence is referenced by hash; the material stays in the evidence vault.",
    }


def export_pdf(document: dict[str, Any], *, labels: dict[str, str] | None = None) -> bytes:
    """The case file document (from :func:`export_document`) as PDF bytes."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    words = labels or {}

    def w(key: str) -> str:
        return words.get(key, key.replace("_", " "))

    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=6)
    head_style = ParagraphStyle("head", fontName=font, fontSize=12, leading=16, spaceBefore=8)
    text_style = ParagraphStyle("text", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    case = document["case"]

    def para(value: object) -> Paragraph:
        return Paragraph(escape("" if value is None else str(value)), text_style)

    def table(rows: list[list[object]]) -> Table:
        t = Table([[para(c) for c in row] for row in rows], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, "#888888"),
                    ("BACKGROUND", (0, 0), (-1, 0), "#eeeeee"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    story: list[Any] = [
        Paragraph(escape(f"{w('case_file')} {case['reference']}"), title_style),
        para(case["title"]),
        Spacer(1, 4 * mm),
        table(
            [
                [w("field"), w("value")],
                [w("status"), case["status"]],
                [w("priority"), case["priority"]],
                [w("setting"), case["setting"] or "-"],
                [w("region"), " > ".join(case["org_unit_path"])],
                [w("opened"), case["opened_at"]],
                [w("closed"), case["closed_at"] or "-"],
                [w("exported"), f"{document['exported_at']} ({document['exported_by']})"],
            ]
        ),
        Paragraph(escape(w("forms")), head_style),
        table(
            [[w("form"), w("participation")]]
            + [[f["form"], f["participation"]] for f in case["forms"]]
        ),
        Paragraph(escape(w("people")), head_style),
        table(
            [[w("alias"), w("role"), w("sex"), w("age_at_opening"), w("residence")]]
            + [
                [p["alias"], p["role"], p["sex"], p["age_at_opening"], p["residence"] or "-"]
                for p in case["people"]
            ]
        ),
        Paragraph(escape(w("reports")), head_style),
        table(
            [[w("reference"), w("received")]]
            + [[r["reference"], r["received_at"]] for r in document["reports"]]
        ),
        Paragraph(escape(w("evidence")), head_style),
        table(
            [["SHA-256", w("size"), w("media_type")]]
            + [[e["sha256"], e["size"], e["media_type"]] for e in document["evidence"]]
        ),
        Spacer(1, 4 * mm),
        para(w("evidence_note")),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{case['reference']}",
        author="opschub",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
    )
    doc.build(story)
    return out.getvalue()
