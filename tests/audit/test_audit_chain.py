"""The hash chain: intact when left alone; every edit, deletion and re-ordering is named."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from audit_helpers import ALICE, PARTNER_TOKEN, fill, row_id, tampering
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from opschub import clock
from opschub.audit import service
from opschub.audit.models import AuditEvent
from opschub.audit.service import GENESIS_HASH, EventFilter, compute_row_hash
from opschub.db import Database


def _verify(database: Database, **kwargs: object) -> service.VerifyResult:
    with database.sessions() as session:
        return service.verify_chain(session, **kwargs)  # type: ignore[arg-type]


def test_chain_is_intact_after_many_records(database: Database) -> None:
    written = fill(database, 120, per_transaction=7)
    assert [seq for seq, _ in written] == list(range(1, 121))
    progress: list[int] = []
    result = _verify(database, batch_size=50, progress=progress.append)
    assert result.problems == []
    assert result.intact and result.checked == 120 and sum(progress) == 120
    assert result.head is not None and result.head.seq == 120 and result.head.id == written[-1][1]
    with database.sessions() as session:
        assert service.verify(session) == []


def test_rows_link_to_their_predecessor(database: Database) -> None:
    fill(database, 3)
    with database.sessions() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert rows[0].prev_hash == GENESIS_HASH
    assert rows[1].prev_hash == rows[0].row_hash and rows[2].prev_hash == rows[1].row_hash
    assert all(compute_row_hash(row) == row.row_hash for row in rows)


def test_record_stores_actor_target_and_details(database: Database) -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    with clock.frozen(moment), database.transaction() as session:
        service.record(
            session,
            action="report.assess",
            actor=ALICE,
            target_type="report",
            target_id="r1",
            details={"to": ("confirmed", "csam"), "score": 0.5},
        )
        service.record(session, action="token.use", actor=PARTNER_TOKEN, outcome="refused")
        service.record(session, action="system.start")
        service.record(
            session, action="report.submit", actor_kind="public", actor_label="member of the public"
        )
    with database.sessions() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    first = rows[0]
    assert (first.actor_kind, first.actor_id, first.actor_label) == ("user", ALICE.id, "alice")
    assert (first.target_type, first.target_id, first.outcome) == ("report", "r1", "ok")
    assert first.details == {"to": ["confirmed", "csam"], "score": 0.5}  # as stored and hashed
    assert first.occurred_at == moment
    assert (rows[1].actor_kind, rows[1].outcome) == ("token", "refused")
    assert (rows[2].actor_kind, rows[2].actor_id, rows[2].actor_label) == ("system", None, "system")
    assert (rows[3].actor_kind, rows[3].actor_label) == ("public", "member of the public")
    assert _verify(database).intact


def test_long_actor_name_is_shortened_not_refused(database: Database) -> None:
    long_name = replace(ALICE, name="n" * 300)
    with database.transaction() as session:
        event = service.record(session, action="user.login", actor=long_name)
    assert len(event.actor_label) == 200 and event.actor_label.endswith("…")
    assert _verify(database).intact


def test_two_records_in_one_transaction_chain_in_order(database: Database) -> None:
    with database.transaction() as session:
        a = service.record(session, action="user.create")
        b = service.record(session, action="user.update")
        assert (a.seq, b.seq) == (1, 2) and b.prev_hash == a.row_hash
    assert _verify(database).intact


def test_rolled_back_savepoint_does_not_break_the_chain(database: Database) -> None:
    with database.transaction() as session:
        first = service.record(session, action="case.open")
        savepoint = session.begin_nested()
        service.record(session, action="case.referral")
        savepoint.rollback()
        after = service.record(session, action="case.close")
        assert after.seq == first.seq + 1 and after.prev_hash == first.row_hash
    with database.transaction() as session:
        assert service.record(session, action="case.reopen").seq == after.seq + 1
    result = _verify(database)
    assert result.intact and result.checked == 3


def test_failed_transaction_leaves_no_audit_row(database: Database) -> None:
    fill(database, 2)
    with pytest.raises(RuntimeError, match="change failed"), database.transaction() as session:
        service.record(session, action="user.create", actor=ALICE, target_id="x")
        raise RuntimeError("change failed")
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2
    with database.transaction() as session:
        assert service.record(session, action="user.create").seq == 3
    assert _verify(database).intact


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "Login"}, "must be dotted lower-case words"),
        ({"action": "user.login", "outcome": "maybe"}, "outcome 'maybe' must be one of"),
        ({"action": "user.login", "details": {"ip": "192.0.2.1"}}, "details.ip: .*never stores IP"),
        (
            {"action": "user.login", "details": {"req": {"User-Agent": "x"}}},
            r"details.req.User-Agent: .*user agents",
        ),
        ({"action": "user.login", "details": {"when": datetime.now(UTC)}}, "only JSON values"),
        ({"action": "user.login", "details": {"x": float("nan")}}, "only JSON values"),
        ({"action": "user.login", "details": {"x": "y" * 20_000}}, "larger than"),
        ({"action": "user.login", "actor_label": "x" * 201}, "actor_label is longer than 200"),
        ({"action": "user.login", "actor_kind": "robot"}, "actor kind 'robot' must be one of"),
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(
    database: Database, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message), database.transaction() as session:
        service.record(session, **kwargs)  # type: ignore[arg-type]
    with database.sessions() as session:
        assert service.count(session) == 0


def test_database_refuses_update_and_delete(database: Database) -> None:
    fill(database, 3)
    for statement in (
        "UPDATE audit_events SET actor_label = 'x' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 3",
    ):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text(statement))
    with database.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.seq == 1)).one()
        session.delete(event)
        with pytest.raises(DBAPIError, match="append-only"):
            session.flush()
    assert _verify(database).intact


def test_edited_row_is_named(database: Database) -> None:
    fill(database, 10)
    with tampering(database) as conn:
        conn.execute(text("UPDATE audit_events SET actor_label = 'mallory' WHERE seq = 5"))
    problems = _verify(database).problems
    assert [(p.seq, p.id, p.kind) for p in problems] == [(5, row_id(database, 5), "edited")]
    assert f"seq 5 (id {row_id(database, 5)})" in str(problems[0])
    assert "edited" in str(problems[0])


def test_edited_details_and_time_are_found(database: Database) -> None:
    fill(database, 6)
    with tampering(database) as conn:
        conn.execute(text("UPDATE audit_events SET outcome = 'ok' WHERE seq = 3"))
        conn.execute(text("UPDATE audit_events SET details = '{\"n\": 99}' WHERE seq = 4"))
    with database.sessions() as session:
        problems = service.verify(session)
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited"), (4, "edited")]


def test_edit_with_recomputed_hash_is_found_at_the_next_row(database: Database) -> None:
    fill(database, 8)
    with database.sessions() as session:
        row = session.scalars(select(AuditEvent).where(AuditEvent.seq == 5)).one()
        session.expunge(row)
    row.actor_label = "mallory"
    forged = compute_row_hash(row)
    with tampering(database) as conn:
        conn.execute(
            text("UPDATE audit_events SET actor_label = 'mallory', row_hash = :h WHERE seq = 5"),
            {"h": forged},
        )
    problems = _verify(database).problems
    assert [(p.seq, p.kind) for p in problems] == [(6, "broken_link")]
    assert f"seq 5 (id {row_id(database, 5)})" in str(problems[0])


def test_deleted_row_is_found(database: Database) -> None:
    written = fill(database, 10)
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq IN (4, 5)"))
    problems = _verify(database).problems
    assert [(p.seq, p.id, p.kind) for p in problems] == [(6, written[5][1], "missing")]
    assert "seq 4 to 5 are missing" in str(problems[0])
    assert f"seq 3 (id {written[2][1]})" in str(problems[0])


def test_deleted_first_row_is_found(database: Database) -> None:
    fill(database, 4)
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    problems = _verify(database).problems
    assert [(p.seq, p.kind) for p in problems] == [(2, "missing")]
    assert "starts at seq 2" in str(problems[0])


def test_swapped_rows_are_found_as_moved(database: Database) -> None:
    written = fill(database, 8)
    with tampering(database) as conn:
        conn.execute(text("UPDATE audit_events SET seq = 1000 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 6"))
        conn.execute(text("UPDATE audit_events SET seq = 6 WHERE seq = 1000"))
    problems = _verify(database).problems
    kinds = {(p.seq, p.kind) for p in problems}
    assert (3, "moved") in kinds and (6, "moved") in kinds
    moved = {p.seq: p for p in problems if p.kind == "moved"}
    assert moved[3].id == written[5][1] and "written as seq 6" in str(moved[3])
    assert moved[6].id == written[2][1] and "written as seq 3" in str(moved[6])


def test_cut_off_tail_is_found_with_an_anchor(database: Database) -> None:
    fill(database, 6)
    head = _verify(database).head
    assert head is not None
    anchor = service.parse_anchor(head.anchor())
    assert _verify(database, anchor=anchor).intact
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq >= 5"))
    assert _verify(database).intact  # a cut tail leaves a valid, shorter chain...
    problems = _verify(database, anchor=anchor).problems  # ...which the anchor exposes
    assert [(p.seq, p.kind) for p in problems] == [(6, "anchor")]
    assert "log ends at seq 4" in str(problems[0])


@pytest.mark.parametrize("bad", ["6", "x:" + "0" * 64, "6:" + "g" * 64, "6:abc"])
def test_bad_anchor_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="must be SEQ:HASH"):
        service.parse_anchor(bad)


def test_concurrent_writers_keep_one_chain(database: Database) -> None:
    threads_n, per_thread = 4, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def write(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with database.transaction() as session:
                    service.record(session, action="worker.write", details={"w": worker, "i": i})
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = _verify(database)
    assert result.problems == [] and result.checked == threads_n * per_thread
    with database.sessions() as session:
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    assert seqs == list(range(1, threads_n * per_thread + 1))


def test_list_events_filters_and_pages(database: Database) -> None:
    with clock.frozen(datetime(2026, 1, 10, 12, tzinfo=UTC)):
        fill(database, 9)
    with clock.frozen(datetime(2026, 2, 10, 12, tzinfo=UTC)):
        fill(database, 3)
    with database.sessions() as session:
        newest = service.list_events(session, limit=5)
        assert [e.seq for e in newest] == [12, 11, 10, 9, 8]
        older = service.list_events(session, limit=5, before_seq=newest[-1].seq)
        assert [e.seq for e in older] == [7, 6, 5, 4, 3]
        logins = service.list_events(session, EventFilter(action="user.login"))
        assert {e.action for e in logins} == {"user.login"} and len(logins) == 4
        assert service.count_events(session, EventFilter(action="user.*")) == 4
        assert service.count_events(session, EventFilter(action="permission.*")) == 4
        assert service.count_events(session, EventFilter(actor="alice")) == 4
        assert service.count_events(session, EventFilter(actor=ALICE.id)) == 4
        assert service.count_events(session, EventFilter(outcome="refused")) == 4
        assert service.count_events(session, EventFilter(target_type="report", target_id="r1")) == 2
        feb = service.parse_date_bound("2026-02-01", name="since")
        assert service.count_events(session, EventFilter(since=feb)) == 3
        jan_end = service.parse_date_bound("2026-01-10", name="until", end=True)
        assert service.count_events(session, EventFilter(until=jan_end)) == 9
    with pytest.raises(ValueError, match="limit must be 1 to 1000"):
        service.list_events(session, limit=0)
    with pytest.raises(ValueError, match="outcome 'bad'"):
        EventFilter(outcome="bad")


def test_parse_date_bound() -> None:
    assert service.parse_date_bound("2026-01-02", name="since") == datetime(2026, 1, 2, tzinfo=UTC)
    assert service.parse_date_bound("2026-01-02", name="u", end=True) == datetime(
        2026, 1, 3, tzinfo=UTC
    )
    assert service.parse_date_bound("2026-01-02T03:04:05+08:00", name="s") == datetime(
        2026, 1, 1, 19, 4, 5, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="since 'yesterday' is not a date"):
        service.parse_date_bound("yesterday", name="since")


def test_record_many_chains_in_order_and_checks_all_first(database: Database) -> None:
    from opschub.audit.service import EventIn, record_many

    with database.transaction() as session:
        service.record(session, action="test.before")
        rows = record_many(session, [EventIn(action=f"test.batch{i}") for i in range(5)])
        service.record(session, action="test.after")
    assert [row.seq for row in rows] == [2, 3, 4, 5, 6]
    with database.read() as session:
        assert service.verify(session) == []
    with pytest.raises(ValueError, match="IP addresses"), database.transaction() as session:
        record_many(
            session, [EventIn(action="test.ok"), EventIn(action="test.bad", details={"ip": "x"})]
        )
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 7
