"""Organisation units: an all-or-nothing load that names every bad row, and the tree reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from opschub.audit.models import AuditEvent
from opschub.cli import app as cli_app
from opschub.db import Database
from opschub.orgunits import demo, service
from opschub.orgunits.models import OrgUnit


def _load_demo(database: Database) -> None:
    with database.transaction() as session:
        demo.load(session)


def test_demo_units_form_a_three_level_tree(database: Database) -> None:
    _load_demo(database)
    with database.read() as session:
        tree = service.hierarchy(session)
        assert tree["XA"] is None
        assert tree["XA-02"] == "XA"
        assert tree["XA-02-03"] == "XA-02"
        assert len(tree) == 1 + 3 + 9
        assert service.descendants(session, "XA-01") == [
            "XA-01",
            "XA-01-01",
            "XA-01-02",
            "XA-01-03",
        ]
        assert service.ancestors(session, "XA-03-02") == ["XA", "XA-03", "XA-03-02"]
        listed = [u.code for u in service.units(session)]
        assert listed[:3] == ["XA", "XA-01", "XA-01-01"]
        view = service.by_code(session, "XA-01-02")
        assert view is not None and view.parent_code == "XA-01" and view.name("zh-Hans") == "山景区"
        with pytest.raises(service.UnknownUnit):
            service.descendants(session, "ZZ")


def test_a_bad_row_loads_nothing_and_names_row_and_field(database: Database) -> None:
    rows = [
        {"code": "XB", "parent": "", "level": "1", "name_en": "B", "name_zh": "乙"},
        {"code": "XB-01", "parent": "XB", "level": "2", "name_en": "B1", "name_zh": ""},
        {"code": "XB-02", "parent": "XQ", "level": "2", "name_en": "B2", "name_zh": "乙二"},
        {"code": "XB-03", "parent": "XB", "level": "4", "name_en": "B3", "name_zh": "乙三"},
    ]
    with pytest.raises(service.OrgUnitsInvalid) as caught, database.transaction() as session:
        service.load_rows(session, None, rows)
    found = {(e.row, e.field) for e in caught.value.errors}
    assert found == {(2, "name_zh"), (3, "parent"), (4, "level")}
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(OrgUnit)) == 0


def test_a_unit_never_moves_in_the_tree(database: Database) -> None:
    _load_demo(database)
    moved = [{"code": "XA-01-01", "parent": "XA-02", "level": "3", "name_en": "x", "name_zh": "x"}]
    with pytest.raises(service.OrgUnitsInvalid) as caught, database.transaction() as session:
        service.load_rows(session, None, moved)
    assert caught.value.errors[0].field == "parent"


def test_reloading_updates_names_and_is_audited(database: Database) -> None:
    _load_demo(database)
    renamed = [dict(u) for u in demo.DEMO_UNITS]
    renamed[1]["name_en"] = "Northern Province"
    with database.transaction() as session:
        result = service.load_rows(session, None, renamed)
    assert (result.added, result.updated) == (0, 1)
    with database.read() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
        assert actions.count("orgunits.loaded") == 2
        view = service.by_code(session, "XA-01")
        assert view is not None and view.name_en == "Northern Province"


def test_cli_load_names_the_line_and_list_prints_the_tree(
    database: Database, tmp_path: Path
) -> None:
    runner = CliRunner()
    bad = tmp_path / "units.csv"
    bad.write_text("code,parent,level,name_en,name_zh\nXC,,1,C,丙\nXC-01,XC,2,,丙一\n", "utf-8")
    result = runner.invoke(cli_app, ["orgunits", "load", str(bad)])
    assert result.exit_code == 1
    assert "line 3: name_en: is empty" in result.output
    good = tmp_path / "good.csv"
    good.write_text("code,parent,level,name_en,name_zh\nXC,,1,C,丙\nXC-01,XC,2,C1,丙一\n", "utf-8")
    result = runner.invoke(cli_app, ["orgunits", "load", str(good)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli_app, ["orgunits", "list"])
    assert "  XC-01  C1 / 丙一" in result.output
    missing = tmp_path / "missing.csv"
    missing.write_text("code,level\n", "utf-8")
    result = runner.invoke(cli_app, ["orgunits", "load", str(missing)])
    assert result.exit_code == 2 and "missing columns parent, name_en, name_zh" in result.output
