"""Regional figures: the template, imports that are all or nothing with every bad cell named,
approval, corrections as new versions with the history kept, roll-up into the national tables,
and DHIS2 dataValueSets both ways."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from stats_helpers import HIERARCHY, victim_source
from typer.testing import CliRunner

from opschub.audit.models import AuditEvent
from opschub.cli import app
from opschub.db import Database
from opschub.stats import catalogue, engine, service
from opschub.stats.models import Submission

HEADER = "indicator,period,org_unit,dimension,category,value\n"


@pytest.fixture(autouse=True)
def hierarchy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "region_parents", lambda session: dict(HIERARCHY))


def _figures(
    org: str = "XA-01-01",
    period: str = "2026",
    victims: int = 12,
    female: int = 7,
    male: int = 5,
    prosecutions: int = 4,
    convictions: int = 3,
) -> str:
    return (
        HEADER
        + "\n".join(
            [
                f"victims,{period},{org},total,total,{victims}",
                f"victims,{period},{org},sex,female,{female}",
                f"victims,{period},{org},sex,male,{male}",
                f"prosecutions,{period},{org},total,total,{prosecutions}",
                f"convictions,{period},{org},total,total,{convictions}",
            ]
        )
        + "\n"
    )


def _import(
    database: Database, text: str | bytes, name: str = "north.csv", fmt: str = "csv"
) -> list[service.SubmissionView]:
    data = text.encode() if isinstance(text, str) else text
    with database.transaction() as session:
        return service.import_figures(session, None, data, name, fmt)


def _approve_all(database: Database) -> None:
    with database.transaction() as session:
        for s in service.submissions(session, status="pending"):
            service.decide(session, None, s.id, approve=True)


def _cell(table: dict, **key: str) -> object:
    for cell in table["cells"]:
        if cell["key"] == {d: key.get(d, "total") for d in table["dimensions"]}:
            return cell["value"]
    raise AssertionError(f"no cell {key}")


def test_template_lists_every_collected_indicator_and_category(database: Database) -> None:
    with database.read() as session:
        cats = service.catalogue(session)
    text = service.template_csv(cats, "2026", "XA-01-01")
    assert text.startswith(HEADER)
    assert "victims,2026,XA-01-01,sex,female,\n" in text
    assert "victims,2026,XA-01-01,age_band,15-17,\n" in text
    assert "mean_hours_to_removal" not in text  # a mean is not collected from regions
    book = load_workbook(io.BytesIO(service.template_xlsx(cats)))
    assert book.sheetnames == ["figures", "indicators"]
    assert [c.value for c in book["figures"][1]] == HEADER.strip().split(",")


def test_bad_csv_names_row_and_column_and_imports_nothing(database: Database) -> None:
    text = (
        HEADER
        + "\n".join(
            [
                "victims,2026,XA-01-01,total,total,12",
                "victims,2026,XA-01-01,sex,female,seven",
                "victims,2026,XA-09,total,total,3",
                "victims,2026-13,XA-01-02,total,total,3",
                "victims,2026,XA-01-03,sex,purple,2",
                "mean_hours_to_removal,2026,XA-01-03,total,total,2",
            ]
        )
        + "\n"
    )
    with pytest.raises(service.ImportInvalid) as caught:
        _import(database, text)
    errors = caught.value.errors
    assert "north.csv row 3, column value: 'seven' is not a whole number >= 0" in errors
    assert any(e.startswith("north.csv row 4, column org_unit: 'XA-09'") for e in errors)
    assert any(e.startswith("north.csv row 5, column period: '2026-13'") for e in errors)
    assert any(e.startswith("north.csv row 6, column category: 'purple'") for e in errors)
    assert any("row 7, column indicator" in e and "only counts" in e for e in errors)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_sums_and_rules_are_checked(database: Database) -> None:
    with pytest.raises(service.ImportInvalid) as caught:
        _import(database, _figures(victims=12, female=7, male=4, prosecutions=2, convictions=3))
    errors = caught.value.errors
    assert any(
        "row 3" in e and "victims by sex" in e and "adds up to 11, but the total is 12" in e
        for e in errors
    )
    assert any("row 6" in e and "convictions (3) must be <= prosecutions (2)" in e for e in errors)


def test_xlsx_errors_name_sheet_row_and_cell(database: Database) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "figures"
    sheet.append(HEADER.strip().split(","))
    sheet.append(["victims", "2026", "XA-01-01", "total", "total", 12])
    sheet.append(["victims", "2026", "XA-01-01", "sex", "female", -1])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(service.ImportInvalid) as caught:
        _import(database, buffer.getvalue(), "south.xlsx", "xlsx")
    assert caught.value.errors[0] == (
        "south.xlsx sheet figures row 3, cell F3 (value): '-1' is not a whole number >= 0"
    )


@pytest.fixture
def no_case_victims(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """cases.victims installed but empty: every victim counted comes from the regions."""
    with victim_source(database, monkeypatch, []):
        monkeypatch.setattr(engine, "region_parents", lambda session: dict(HIERARCHY))
        yield


@pytest.mark.usefixtures("no_case_victims")
def test_approved_figures_roll_up_and_corrections_keep_the_history(database: Database) -> None:
    (first,) = _import(database, _figures())
    assert (first.version, first.status) == (1, "pending")
    _import(database, _figures(org="XA-02-01", victims=3, female=3, male=0))
    with database.read() as session:
        before = service.table(session, "victims", ["region"], "2026", regional=True)
    assert _cell(before, region="XA") == 0  # nothing counts before approval
    _approve_all(database)
    with database.read() as session:
        table = service.table(session, "victims", ["region", "sex"], "2026")
    assert _cell(table, region="XA-01-01", sex="female") == 7
    assert _cell(table, region="XA-01", sex="male") == 5
    assert _cell(table, region="XA", sex="female") == 10
    assert _cell(table, region="total") == 15
    # A two-way table keeps the same totals (the regions sent one-way breakdowns).
    with database.read() as session:
        two_way = service.table(session, "victims", ["sex", "age_band"], "2026")
    assert _cell(two_way, sex="female", age_band="unknown") == 10
    assert _cell(two_way) == 15
    # A correction is a new version; approving it supersedes the first, both are kept.
    (second,) = _import(database, _figures(victims=14, female=8, male=6))
    assert second.version == 2
    _approve_all(database)
    with database.read() as session:
        table = service.table(session, "victims", ["region"], "2026")
        history = service.history(session, "XA-01-01", "2026")
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert _cell(table, region="XA-01-01") == 14
    assert [(h.version, h.status) for h in history] == [(1, "superseded"), (2, "approved")]
    assert actions.count("stats.submission.received") == 3
    assert actions.count("stats.submission.approved") == 3
    # A month inside the year counts in the year, not in another year.
    with database.read() as session:
        assert (
            _cell(
                service.table(session, "victims", [], "2025"),
            )
            == 0
        )


def test_dhis2_round_trip(database: Database) -> None:
    _import(database, _figures())
    _import(database, _figures(org="XA-03-02", victims=2, female=1, male=1))
    _approve_all(database)
    with database.read() as session:
        exported = service.export_dhis2(session, "2026", ["victims", "convictions"])
    values = exported["dataValues"]
    assert {
        "dataElement": "victims",
        "period": "2026",
        "orgUnit": "XA-01-01",
        "categoryOptionCombo": "sex=female",
        "value": "7",
    } in values
    assert {
        "dataElement": "convictions",
        "period": "2026",
        "orgUnit": "XA-01-01",
        "categoryOptionCombo": "default",
        "value": "3",
    } in values
    # Imported into another installation, the same document gives the same figures.
    database_rows = json.dumps(exported).encode()
    with database.transaction() as session:
        session.execute(Submission.__table__.delete())
    created = _import(database, database_rows, "ministry.json", "dhis2")
    assert sorted(s.org_unit_code for s in created) == ["XA-01-01", "XA-03-02"]
    _approve_all(database)
    with database.read() as session:
        again = service.export_dhis2(session, "2026", ["victims", "convictions"])
    key = lambda v: (v["dataElement"], v["orgUnit"], v["categoryOptionCombo"])  # noqa: E731
    assert sorted(again["dataValues"], key=key) == sorted(values, key=key)


def test_dhis2_errors_name_the_data_value(database: Database) -> None:
    doc = {
        "dataValues": [
            {
                "dataElement": "victims",
                "period": "2026Q5",
                "orgUnit": "XA-01-01",
                "categoryOptionCombo": "default",
                "value": "3",
            }
        ]
    }
    with pytest.raises(service.ImportInvalid) as caught:
        _import(database, json.dumps(doc), "bad.json", "dhis2")
    assert caught.value.errors[0].startswith("bad.json dataValues[0].period: '2026Q5'")


def test_import_command_exits_1_naming_each_error(database: Database, tmp_path: Path) -> None:
    bad = tmp_path / "east.csv"
    bad.write_text(HEADER + "victims,2026,XA-01-01,total,total,x\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["stats", "import", str(bad), "--format", "csv"])
    assert result.exit_code == 1
    assert "east.csv row 2, column value: 'x' is not a whole number >= 0" in result.stderr
    good = tmp_path / "west.csv"
    good.write_text(_figures(), encoding="utf-8")
    result = CliRunner().invoke(app, ["stats", "import", str(good), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "XA-01-01 2026 version 1: 5 figures, waiting for approval" in result.stdout


def test_the_catalogue_command_lists_ids_names_and_dimensions(database: Database) -> None:
    result = CliRunner().invoke(app, ["stats", "indicators", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = {entry["id"]: entry for entry in json.loads(result.stdout)}
    assert listed["victims"]["name"] == {"en": "Child victims", "zh-Hans": "儿童被害人"}
    assert "age_band" in listed["victims"]["dimensions"]
    assert listed["reports_received"]["source_status"] == "available"
    assert set(listed) == set(catalogue.builtin().indicators)
