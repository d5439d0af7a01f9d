"""Regional figures sent through the staff upload page and the JSON API (all or nothing, every
problem named in the reader's language, refused files audited), and reports made for a region
(its sub-tree only, saying which region on every output, still protected and audited)."""

from __future__ import annotations

import io
import json

import pytest
from fastapi import FastAPI
from pypdf import PdfReader
from sqlalchemy import func, select
from stats_helpers import HIERARCHY, random_rows, victim_source

from factories import logged_in_client
from opschub.accounts.permissions import Role
from opschub.audit.models import AuditEvent
from opschub.clock import utcnow
from opschub.db import Database
from opschub.stats import demo, service
from opschub.stats.models import Submission

GOOD = (
    "indicator,period,org_unit,dimension,category,value\n"
    "victims,2023,XA-01-02,total,total,12\n"
    "victims,2023,XA-01-02,sex,female,7\n"
    "victims,2023,XA-01-02,sex,male,5\n"
)
BAD = (
    "indicator,period,org_unit,dimension,category,value\n"
    "victims,2023,XA-01-02,total,total,12\n"
    "victims,2023,XA-01-02,sex,female,seven\n"
    "victims,2023,XA-99,total,total,3\n"
)


def _demo(database: Database) -> str:
    with database.transaction() as session:
        demo.load(session)
    return str(utcnow().year - 1)


def _count(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Submission)) or 0


def _events(database: Database, outcome: str) -> list[AuditEvent]:
    with database.read() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "stats.submission.received",
                    AuditEvent.outcome == outcome,
                )
            )
        )


def test_upload_page_stores_a_valid_file_for_approval_and_audits_it(
    app: FastAPI, database: Database
) -> None:
    _demo(database)
    before = _count(database)
    statistician = logged_in_client(app, database, Role.STATISTICIAN)
    page = statistician.get("/stats/upload")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    assert "/stats/template.xlsx" in page.text  # the template is one step away
    response = statistician.post(
        "/stats/upload",
        files={"file": ("north.csv", GOOD.encode(), "text/csv")},
        data={"format": ""},  # told by the file name
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/stats/submissions?done=received&count=1"
    assert _count(database) == before + 1
    listing = statistician.get(response.headers["location"])
    assert "1 submission waits for approval" in listing.text
    user_id = statistician.user.id  # type: ignore[attr-defined]
    (event,) = [e for e in _events(database, "ok") if e.actor_id == user_id]
    assert event.details["format"] == "csv" and event.details["name"] == "XA-01-02"


def test_upload_problems_are_named_in_chinese_and_nothing_is_stored(
    app: FastAPI, database: Database
) -> None:
    _demo(database)
    before = _count(database)
    statistician = logged_in_client(app, database, Role.STATISTICIAN)
    response = statistician.post(
        "/stats/upload?lang=zh-Hans",
        files={"file": ("north.csv", BAD.encode(), "text/csv")},
        data={"format": "csv"},
    )
    assert response.status_code == 400
    text = response.text
    assert 'role="alert"' in text and "north.csv" in text
    # Each problem names file, row and column, in Chinese.
    assert "north.csv 第 3 行，value 列" in text and "不是大于等于 0 的整数" in text
    assert "north.csv 第 4 行，org_unit 列" in text
    assert "not a whole number" not in text
    assert _count(database) == before  # the good row was not kept either
    (refused,) = _events(database, "refused")
    assert refused.details["file"] == "north.csv" and refused.details["count"] == 2
    # The same file in English.
    english = statistician.post(
        "/stats/upload",
        files={"file": ("north.csv", BAD.encode(), "text/csv")},
        data={"format": "csv"},
    )
    assert "north.csv row 3, column value: &#39;seven&#39; is not a whole number" in english.text


def test_upload_refuses_a_missing_file_or_an_unknown_kind_naming_the_field(
    app: FastAPI, database: Database
) -> None:
    statistician = logged_in_client(app, database, Role.STATISTICIAN)
    response = statistician.post(
        "/stats/upload", files={"file": ("figures.txt", b"x", "text/plain")}, data={"format": ""}
    )
    assert response.status_code == 400 and 'id="e-file"' in response.text
    assert "cannot be told from the file name" in response.text
    response = statistician.post(
        "/stats/upload", files={"file": ("a.csv", b"x", "text/csv")}, data={"format": "pdf"}
    )
    assert response.status_code == 400 and 'id="e-format"' in response.text


def test_only_those_who_publish_may_upload(app: FastAPI, database: Database) -> None:
    auditor = logged_in_client(app, database, Role.AUDITOR)
    assert auditor.get("/stats/upload").status_code == 403
    response = auditor.post(
        "/stats/upload", files={"file": ("north.csv", GOOD.encode(), "text/csv")}
    )
    assert response.status_code == 403
    assert (
        auditor.post("/api/v1/stats/submissions?format=csv", content=GOOD.encode()).status_code
        == 403
    )
    assert _count(database) == 0


def test_api_imports_all_or_nothing_and_lists_submissions(app: FastAPI, database: Database) -> None:
    _demo(database)
    before = _count(database)
    client = logged_in_client(app, database, Role.STATISTICIAN)
    bad = client.post(
        "/api/v1/stats/submissions?file_name=north.csv",
        content=BAD.encode(),
        headers={"Content-Type": "text/csv", "Accept-Language": "zh-Hans"},
    )
    assert bad.status_code == 422 and len(bad.json()["errors"]) == 2
    assert _count(database) == before
    dhis2 = {
        "dataValues": [
            {"dataElement": "victims", "period": "2023", "orgUnit": "XA-01-02", "value": "4"}
        ]
    }
    good = client.post("/api/v1/stats/submissions", json=dhis2)
    assert good.status_code == 201, good.text
    (made,) = good.json()["submissions"]
    assert made["org_unit"] == "XA-01-02" and made["status"] == "pending"
    listed = client.get("/api/v1/stats/submissions", params={"status": "pending"}).json()
    assert made["id"] in {s["id"] for s in listed["submissions"]}
    unknown = client.post("/api/v1/stats/submissions", content=b"x")
    assert unknown.status_code == 422 and "format" in unknown.json()["errors"][0]


def test_problems_carry_english_text_and_render_in_another_language() -> None:
    where = service.Problem("%(file)s row %(row)s", file="a.csv", row=3)
    problem = service.Problem("%(cell)s: broken", cell=where)
    assert problem == "a.csv row 3: broken"  # the command line's words
    words = {"%(file)s row %(row)s": "%(file)s 第 %(row)s 行", "%(cell)s: broken": "%(cell)s：坏"}
    assert problem.render(lambda text: words.get(text, text)) == "a.csv 第 3 行：坏"


# --- a report for a region ----------------------------------------------------------------------


def _cells(table: dict) -> dict[tuple[str, ...], object]:
    return {tuple(c["key"][d] for d in table["dimensions"]): c["value"] for c in table["cells"]}


@pytest.mark.parametrize("within", ["XA-02", "XA-01-03"])
def test_a_region_table_is_the_national_tables_sub_tree(
    database: Database, monkeypatch: pytest.MonkeyPatch, within: str
) -> None:
    with victim_source(database, monkeypatch, random_rows(500)), database.read() as session:
        national = service.table(session, "victims", ["region", "sex"], "2026")
        regional = service.table(session, "victims", ["region", "sex"], "2026", within=within)
        by_sex = service.table(session, "victims", ["sex"], "2026", within=within)
    assert regional["region"] == within
    whole = _cells(national)
    part = _cells(regional)
    # The region's total is the table's total, for every category.
    for sex in {k[1] for k in whole}:
        assert part[("total", sex)] == whole[(within, sex)]
        assert _cells(by_sex)[(sex,)] == whole[(within, sex)]
    # Only the sub-tree: below the region, nothing else.
    below = {c for c, p in HIERARCHY.items() if p == within} or {within}
    if f"{within}-unallocated" in national["hierarchy"]:  # figures recorded at the region itself
        below.add(f"{within}-unallocated")
    assert {c for c, p in regional["hierarchy"].items() if p == "total"} == below
    for code in regional["hierarchy"]:
        if not code.endswith("-unallocated"):
            assert part[(code, "total")] == whole[(code, "total")]


def test_a_region_table_refuses_an_unknown_region(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        victim_source(database, monkeypatch, random_rows(50)),
        database.read() as session,
        pytest.raises(service.StatsError, match="no region 'XZ'"),
    ):
        service.table(session, "victims", ["sex"], "2026", within="XZ")


def test_a_report_for_a_region_says_so_on_every_output(app: FastAPI, database: Database) -> None:
    year = _demo(database)
    with database.transaction() as session:
        pub = service.publish(session, None, year, region="XA-03")
        with pytest.raises(service.UnknownRegion):
            service.publish(session, None, year, region="XZ-09")
    assert pub.region == "XA-03" and pub.parameters["region"] == "XA-03"
    with database.read() as session:
        national_victims = service.table(session, "victims", ["region"], year)
    south_total = _cells(national_victims)[("XA-03",)]
    victims = next(t for t in pub.tables if t["indicator"] == "victims")
    assert victims["region"] == "XA-03"
    # Small cells are still protected (publish ran the attacker's audit on every table with the
    # raw values, and would have refused), and no raw value leaves.
    assert any(c["value"] is None for t in pub.tables for c in t["cells"])
    assert all("raw_value" not in c for t in pub.tables for c in t["cells"])
    with database.read() as session:
        _tables, _i, _o, at_risk = service.build_publication(
            session,
            year,
            pub.contents,
            method="suppress",
            threshold=10,
            interval=0.3,
            base=5,
            region="XA-03",
        )
    assert at_risk == []
    totals = [c for c in victims["cells"] if all(v == "total" for v in c["key"].values())]
    assert totals[0]["value"] in (south_total, None)
    client = logged_in_client(app, database, Role.STATISTICIAN)
    page = client.get(f"/statistics/{pub.version}")
    assert 'id="coverage"' in page.text and "South Province" in page.text
    zh = client.get(f"/statistics/{pub.version}?lang=zh-Hans")
    assert "覆盖范围" in zh.text
    assert "Coverage: South Province" in client.get(f"/statistics/{pub.version}/annex").text
    body = client.get(f"/statistics/{pub.version}/tables.json").json()
    assert body["region"] == "XA-03"
    lines = client.get(f"/statistics/{pub.version}/tables.csv").text.splitlines()
    assert lines[0].endswith(",coverage") and all(line.endswith(",XA-03") for line in lines[1:])
    pdf = client.get(f"/statistics/{pub.version}/report.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Coverage: South Province (XA-03)" in text
    import sdmx

    message = sdmx.read_sdmx(io.BytesIO(client.get(f"/statistics/{pub.version}/sdmx.xml").content))
    observations = message.data[0].obs
    assert {str(o.attached_attribute["COVERAGE"].value) for o in observations} == {"XA-03"}
    # The reproduction uses the recorded region.
    with database.read() as session:
        assert service.reproduce(session, pub.version).same


def test_the_publish_form_offers_the_regions_and_a_national_report_stays_national(
    app: FastAPI, database: Database
) -> None:
    year = _demo(database)
    client = logged_in_client(app, database, Role.STATISTICIAN)
    form = client.get("/stats/publications")
    assert '<select id="region" name="region"' in form.text and 'value="XA-03"' in form.text
    response = client.post(
        "/stats/publications",
        data={"period": year, "method": "suppress", "region": "XA-03"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    refused = client.post(
        "/stats/publications", data={"period": year, "method": "suppress", "region": "XZ"}
    )
    assert refused.status_code == 400 and "choose a region" in refused.text
    national = client.post(
        "/stats/publications", data={"period": year, "method": "suppress"}, follow_redirects=False
    )
    version = national.headers["location"].rsplit("/", 1)[1]
    body = client.get(f"/statistics/{version}/tables.json").json()
    assert body["region"] is None and "region" not in body["method"]
    listing = client.get("/stats/publications").text
    assert "South Province and its sub-regions" in listing and "the whole country" in listing
    assert json.dumps(body["method"])  # the recorded method is plain JSON
    # The command line: --region, named when unknown (exit 2), said in the outcome.
    from typer.testing import CliRunner

    from opschub.cli import app as cli

    result = CliRunner().invoke(cli, ["stats", "publish", "--period", year, "--region", "XZ"])
    assert result.exit_code == 2 and "no region 'XZ'" in result.stderr
    result = CliRunner().invoke(cli, ["stats", "publish", "--period", year, "--region", "XA-03"])
    assert result.exit_code == 0 and "XA-03" in result.stdout, result.output
