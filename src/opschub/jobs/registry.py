"""Which jobs exist: each capability declares its own in its ``tasks.py`` with :func:`task`.

The registry imports the modules in :data:`TASK_MODULES` (and any named by the setting
``OPSCHUB_TASK_MODULES``) the first time it is asked, the way the web app finds its routers.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opschub.jobs.runner import JobContext

# Capabilities with a ``tasks.py``; add yours here (order does not matter).
TASK_MODULES = (
    "opschub.jobs.tasks",
    "opschub.audit.tasks",
    "opschub.accounts.tasks",
    "opschub.evidence.tasks",
    "opschub.intake.tasks",
    "opschub.takedown.tasks",
    "opschub.takedown.notice_tasks",
    "opschub.cases.tasks",
)

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

Handler = Callable[["JobContext"], None]


@dataclass(frozen=True)
class TaskSpec:
    kind: str
    handler: Handler
    max_attempts: int
    backoff_seconds: float
    backoff_cap_seconds: float


_TASKS: dict[str, TaskSpec] = {}
_loaded = False
_lock = threading.Lock()


def task(
    kind: str,
    *,
    max_attempts: int = 5,
    backoff_seconds: float = 30.0,
    backoff_cap_seconds: float = 3600.0,
) -> Callable[[Handler], Handler]:
    """Declare ``kind`` (``capability.verb``), run by the decorated function.

    A failed run is retried after ``backoff_seconds * 2**(attempt-1)`` (at most
    ``backoff_cap_seconds``) until ``max_attempts`` runs have failed; the job is then parked as
    failed with its error. The function must be idempotent: after a crash it runs again.
    """
    if not KIND_PATTERN.match(kind):
        raise ValueError(f"task kind {kind!r} must look like 'capability.name'")
    if max_attempts < 1 or backoff_seconds < 0 or backoff_cap_seconds < backoff_seconds:
        raise ValueError(f"task {kind!r}: bad retry settings")

    def declare(handler: Handler) -> Handler:
        existing = _TASKS.get(kind)
        if existing is not None and existing.handler.__qualname__ != handler.__qualname__:
            raise ValueError(f"task {kind!r} is declared twice")
        _TASKS[kind] = TaskSpec(kind, handler, max_attempts, backoff_seconds, backoff_cap_seconds)
        return handler

    return declare


def load() -> dict[str, TaskSpec]:
    """Every declared task, importing the task modules once."""
    global _loaded
    with _lock:
        if not _loaded:
            from opschub.config import get_settings

            for name in (*TASK_MODULES, *get_settings().task_modules):
                importlib.import_module(name)
            _loaded = True
    return dict(_TASKS)


def get(kind: str) -> TaskSpec | None:
    return load().get(kind)
