"""The audit log as a person reads it (issue 9 item 7): people by name, targets as links, codes
translated, a status change as one row, filters that find what the page shows."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import create_user, logged_in_client
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.intake import service as intake


def _report(database: Database) -> str:
    with database.transaction() as session:
        return intake.submit_report(
            session, intake.ReportIn(channel="public", urls=["https://example.org/a"])
        ).id


def _assess(database: Database, report_id: str, analyst_name: str) -> None:
    """What the report page does: opened, status changed, opened again (the same moment)."""
    with database.transaction() as session:
        user = accounts.require_user(session, analyst_name)
        principal = accounts.user_principal(user)
        intake.record_view(session, report_id, principal)
        intake.change_status(session, report_id, "action_taken", principal)
        intake.record_view(session, report_id, principal)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="seq-\d+">(.*?)</tr>', html, flags=re.S)


def test_status_change_reads_as_one_row_by_name_in_chinese(
    app: FastAPI, database: Database
) -> None:
    create_user(database, Role.ANALYST, username="wang", display_name="王芳", totp=False)
    report_id = _report(database)
    _assess(database, report_id, "wang")
    auditor = logged_in_client(app, database, Role.AUDITOR)
    page = auditor.get("/audit", params={"lang": "zh-Hans", "actor": "王芳"}).text
    rows = _rows(page)
    assert len(rows) == 1, rows  # opened, changed, opened: one row, headed by the change
    row = rows[0]
    assert "王芳" in row and "更改了举报的状态" in row
    assert "原为" in row and "已收到" in row and "改为" in row and "已采取行动" in row
    assert "2 个相关事件" in row
    assert f'href="/queue/{report_id}?lang=zh-Hans"' in row  # the target is a link
    assert "action_taken" not in row and "intake.report" not in row
    assert '{"from"' not in row and "&#34;from&#34;" not in row


def test_people_are_shown_by_name_and_link_to_the_users_page(
    app: FastAPI, database: Database
) -> None:
    admin = logged_in_client(app, database, Role.ADMIN)
    response = admin.post(
        "/admin/users",
        data={"username": "li", "display_name": "李娜", "role": "analyst"},
        follow_redirects=False,
    )
    assert response.status_code in (200, 303)
    with database.transaction() as session:
        li = accounts.require_user(session, "li")
    page = admin.get(
        "/audit", params={"lang": "en", "action": "accounts.user.created", "target_id": li.id}
    ).text
    (row,) = _rows(page)
    assert "added a person" in row
    assert f'href="/admin/users?lang=en#user-{li.id}"' in row and "李娜" in row
    assert "Analyst" in row and "analyst<" not in row  # the role's label, not its code


def test_failed_login_is_found_by_the_failure_filter(app: FastAPI, database: Database) -> None:
    create_user(database, Role.ANALYST, username="zhao")
    with database.transaction() as session:
        assert not accounts.authenticate(session, "zhao", "wrong password 123").ok
        assert not accounts.authenticate(session, "nobody", "wrong password 123").ok
    auditor = logged_in_client(app, database, Role.AUDITOR)
    page = auditor.get("/audit", params={"lang": "zh-Hans", "outcome": "not_ok"}).text
    shown = " ".join(_rows(page))
    assert shown.count("登录失败") == 2
    assert "密码错误" in shown and "未知的用户名" in shown
    assert "未成功（被拒绝或失败）" in page  # the filter says what it finds
    ok = auditor.get("/audit", params={"outcome": "ok"}).text
    assert "login failed" not in " ".join(_rows(ok))


def test_action_filter_lists_translated_actions(app: FastAPI, database: Database) -> None:
    create_user(database, Role.ANALYST, username="qian")
    auditor = logged_in_client(app, database, Role.AUDITOR)
    page = auditor.get("/audit", params={"lang": "zh-Hans"}).text
    options = re.search(r'<select id="f-action".*?</select>', page, flags=re.S)
    assert options is not None
    assert '<option value="accounts.user.created">添加了人员</option>' in options.group()
    assert ">accounts." not in options.group()


def test_refusal_route_reads_without_parameter_names(app: FastAPI, database: Database) -> None:
    analyst = logged_in_client(app, database, Role.ANALYST)
    assert analyst.get("/audit").status_code == 403
    auditor = logged_in_client(app, database, Role.AUDITOR)
    page = auditor.get("/audit", params={"lang": "zh-Hans"}).text
    assert "被拒绝：没有权限" in page and "GET /audit" in page
    assert "读取和验证审计日志" in page or "audit.read" not in page


def test_a_refused_page_names_the_permission_not_its_code(app: FastAPI, database: Database) -> None:
    analyst: TestClient = logged_in_client(app, database, Role.ANALYST)
    page = analyst.get("/audit", params={"lang": "en"})
    assert page.status_code == 403
    assert "audit.read" not in page.text and "Read and verify the audit log" in page.text
