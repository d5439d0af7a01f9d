"""``opschub cases import``: all-or-nothing, every problem named by row and field."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from opschub.cases.models import Case, CasePerson
from opschub.cli import app as cli_app
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo

HEADER = (
    "case_key,title,org_unit,setting,forms,opened_at,"
    "role,alias,real_name,sex,estimated_age,birth_month,residence\n"
)
AT = "2025-03-01T10:00:00+00:00"


def _units(database: Database) -> None:
    with database.transaction() as session:
        orgunits_demo.load(session)


def _count(database: Database, model: type) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_bad_csv_imports_nothing_and_names_lines_and_fields(
    database: Database, tmp_path: Path
) -> None:
    _units(database)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + f"A1,Grooming case,XA-01-01,online,grooming,{AT},victim,,Name One,female,12,,\n"
        + "A1,,,,,,suspect,,,male,abc,,\n"
        + "A2,Another,XA-09,space,grooming:maybe,,witness,,,,,2014-13,\n",
        "utf-8",
    )
    result = CliRunner().invoke(cli_app, ["cases", "import", str(bad), "--format", "csv"])
    assert result.exit_code == 1, result.output
    for expected in (
        "line 3: estimated_age:",
        "line 4: org_unit: Unknown region 'XA-09'.",
        "line 4: setting:",
        "line 4: forms/0/participation:",
        "line 4: birth_month:",
        "nothing imported",
    ):
        assert expected in result.output
    assert _count(database, Case) == 0 and _count(database, CasePerson) == 0


def test_a_good_csv_and_json_import_everything(database: Database, tmp_path: Path) -> None:
    _units(database)
    good = tmp_path / "good.csv"
    good.write_text(
        HEADER
        + f"A1,Grooming case,XA-01-01,online,grooming,{AT},victim,,Name One,female,12,,XA-01-01\n"
        + "A1,,,,,,suspect,,,male,15,,\n"
        + "A1,,,,,,suspect,,,male,35,,\n"
        + "A2,Case without people,XA-02,offline,prostitution:attempt,,,,,,,,\n",
        "utf-8",
    )
    result = CliRunner().invoke(cli_app, ["cases", "import", str(good), "--report", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"imported": True, "cases": 2, "people": 3}
    with database.read() as session:
        people = session.execute(
            select(CasePerson.alias, CasePerson.protected_track, CasePerson.age_band).order_by(
                CasePerson.alias
            )
        ).all()
        assert [tuple(p) for p in people] == [
            ("S1", True, "15-17"),
            ("S2", False, None),
            ("V1", False, "10-14"),
        ]
        raw = session.execute(text("SELECT real_name FROM case_people WHERE alias = 'V1'")).scalar()
        assert raw is not None and b"Name One" not in bytes(raw)
    cases_json = tmp_path / "cases.json"
    cases_json.write_text(
        json.dumps(
            [
                {
                    "key": "B1",
                    "title": "Sale of a child",
                    "org_unit": "XA-03-01",
                    "forms": [{"form": "sale_sexual_exploitation"}],
                    "people": [{"role": "victim", "birth_month": "2012-06"}, {"role": "bogus"}],
                }
            ]
        ),
        "utf-8",
    )
    bad = CliRunner().invoke(cli_app, ["cases", "import", str(cases_json), "--format", "json"])
    assert bad.exit_code == 1 and "case 1: role:" in bad.output
    assert _count(database, Case) == 2
