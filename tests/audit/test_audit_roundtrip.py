"""Whatever JSON details a caller records, the row still verifies after the database round trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from opschub.audit import service
from opschub.audit.models import AuditEvent
from opschub.audit.service import FORBIDDEN_DETAIL_KEYS
from opschub.db import Database

# Valid text: no lone surrogates, no NUL (PostgreSQL text cannot hold it); both are refused.
_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
# Keys the log refuses (IP addresses, user agents) are tested elsewhere.
_key = _text.filter(lambda k: k.lower().replace("-", "_") not in FORBIDDEN_DETAIL_KEYS)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_key, inner, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    details=st.dictionaries(_key, _json, max_size=5),
    label=_text,
)
def test_any_json_details_verify_after_round_trip(
    database: Database, details: dict[str, Any], label: str
) -> None:
    with database.transaction() as session:
        written = service.record(
            session, action="test.roundtrip", actor_label=label or None, details=details
        )
    with database.sessions() as session:
        stored = session.scalars(select(AuditEvent).where(AuditEvent.id == written.id)).one()
        assert service.compute_row_hash(stored) == stored.row_hash
        assert service.canonical_json(stored.details) == service.canonical_json(written.details)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"details": {"x": "\ud800"}}, "details hold text that is not valid Unicode"),
        ({"actor_label": "\udfff"}, "actor_label is not valid Unicode"),
        ({"target_id": "a\x00b"}, "target_id contains a NUL"),
    ],
)
def test_invalid_text_is_refused(
    database: Database, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message), database.transaction() as session:
        service.record(session, action="test.bad", **kwargs)  # type: ignore[arg-type]
    with database.sessions() as session:
        assert service.count(session) == 0
