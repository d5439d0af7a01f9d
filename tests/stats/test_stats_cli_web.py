"""The command line shapes of issue 14 and the staff pages, over the demo's regional figures
(approved submissions for the South Province's districts, rolled up to the country)."""

from __future__ import annotations

import json

from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from factories import logged_in_client
from opschub.accounts.permissions import Role
from opschub.cli import app as cli
from opschub.clock import utcnow
from opschub.db import Database
from opschub.stats import demo, disclosure, service
from opschub.stats.models import Submission


def _demo(database: Database) -> str:
    with database.transaction() as session:
        assert demo.load(session) == 6
    return str(utcnow().year - 1)


def test_table_command_gives_the_issue_shape_raw_and_protected(database: Database) -> None:
    year = _demo(database)
    args = ["stats", "table", "victims", "--by", "region,sex", "--period", year, "--format", "json"]
    raw = json.loads(CliRunner().invoke(cli, args).stdout)
    assert list(raw)[:4] == ["indicator", "period", "dimensions", "hierarchy"]
    assert raw["dimensions"] == ["region", "sex"] and raw["hierarchy"]["XA-03-01"] == "XA-03"
    assert raw["hierarchy"]["XA"] == "total"
    assert {c["status"] for c in raw["cells"]} == {"published"}
    national = next(c for c in raw["cells"] if c["key"] == {"region": "XA", "sex": "total"})
    south = next(c for c in raw["cells"] if c["key"] == {"region": "XA-03", "sex": "total"})
    assert national["value"] == south["value"] > 0  # rolled up from the districts
    result = CliRunner().invoke(cli, [*args, "--protect"])
    assert result.exit_code == 0, result.output
    protected = json.loads(result.stdout)
    statuses = {c["status"] for c in protected["cells"]}
    assert "primary" in statuses and all(
        (c["value"] is None) == (c["status"] in ("primary", "secondary"))
        for c in protected["cells"]
    )
    # The published table passes the attacker's audit without its raw values.
    assert disclosure.audit_table(protected).ok


def test_table_command_errors_exit_2_naming_the_problem(database: Database) -> None:
    result = CliRunner().invoke(cli, ["stats", "table", "victims", "--by", "planet"])
    assert result.exit_code == 2 and "cannot be broken down by 'planet'" in result.stderr
    result = CliRunner().invoke(cli, ["stats", "table", "victims", "--period", "2026-Q7"])
    assert result.exit_code == 2 and "2026-Q1" in result.stderr


def test_statistician_approves_on_the_staff_page(app: FastAPI, database: Database) -> None:
    _demo(database)
    text = (
        "indicator,period,org_unit,dimension,category,value\n"
        "cases_opened,2023,XA-01-02,total,total,4\n"
    )
    with database.transaction() as session:
        (pending,) = service.import_figures(session, None, text.encode(), "north.csv", "csv")
    auditor = logged_in_client(app, database, Role.AUDITOR)
    page = auditor.get("/stats/submissions")
    assert page.status_code == 200 and "Hillview District" in page.text
    assert "/approve" not in page.text  # auditors read, they do not approve
    assert auditor.post(f"/stats/submissions/{pending.id}/approve").status_code == 403
    statistician = logged_in_client(app, database, Role.STATISTICIAN)
    assert f"/stats/submissions/{pending.id}/approve" in statistician.get("/stats/submissions").text
    response = statistician.post(f"/stats/submissions/{pending.id}/approve", follow_redirects=False)
    assert response.status_code == 303
    with database.read() as session:
        status = session.scalar(select(Submission.status).where(Submission.id == pending.id))
    assert status == "approved"
    dashboard = statistician.get("/stats", params={"period": "2023"})
    assert dashboard.status_code == 200 and 'role="img"' in dashboard.text
    table = statistician.get(
        "/stats/tables/cases_opened", params={"period": "2023", "by": "region"}
    )
    assert "Hillview District" in table.text
    template = statistician.get("/stats/template.csv")
    assert template.text.startswith("indicator,period,org_unit,dimension,category,value")


def test_publishing_from_the_staff_page(app: FastAPI, database: Database) -> None:
    year = _demo(database)
    statistician = logged_in_client(app, database, Role.STATISTICIAN)
    response = statistician.post(
        "/stats/publications", data={"period": year, "method": "suppress"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/statistics/1"
    public = statistician.get("/statistics/1/tables.json").json()
    assert public["version"] == 1 and len(public["input_digest"]) == 64
    assert all("raw_value" not in c for t in public["tables"] for c in t["cells"])
    csv_text = statistician.get("/statistics/1/tables.csv").text
    assert csv_text.startswith("indicator,period,key,value,status")
    assert statistician.get("/statistics/1/annex").status_code == 200
    # SDMX-ML for international bodies: one observation per published cell, withheld ones "C".
    import io

    import sdmx

    message = sdmx.read_sdmx(io.BytesIO(statistician.get("/statistics/1/sdmx.xml").content))
    observations = message.data[0].obs
    assert len(observations) == sum(len(t["cells"]) for t in public["tables"])
    withheld = sum(c["value"] is None for t in public["tables"] for c in t["cells"])
    assert withheld and sum("OBS_STATUS" in o.attached_attribute for o in observations) == withheld
    # The CLI reproduces it.
    result = CliRunner().invoke(cli, ["stats", "reproduce", "1"])
    assert result.exit_code == 0 and "reproduced" in result.stdout
