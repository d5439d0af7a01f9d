"""Run an ``opschub evidence`` command and kill the process (SIGKILL) at a chosen step.

    python evidence_crash_runner.py STEP evidence add FILE --source upload --purpose intake

Steps: ``write`` (in the middle of writing the blob), ``commit`` (just before the database
commits), ``promote`` (after the commit, before the blob gets its final name), ``delete`` (after
a destruction committed, before the blob is deleted).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from typing import Any


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    step, args = sys.argv[1], sys.argv[2:]
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from opschub.evidence import service, storage, stream

    if step == "write":
        original = stream.encrypt

        def encrypt(*a: Any, **kw: Any) -> Iterator[bytes]:
            for n, chunk in enumerate(original(*a, **kw)):
                if n == 2:
                    die()
                yield chunk

        service.stream.encrypt = encrypt  # type: ignore[attr-defined]
    elif step == "commit":
        event.listen(Session, "before_commit", lambda _s: die())
    elif step == "promote":
        storage.LocalBackend.promote = lambda *a, **kw: die()  # type: ignore[method-assign]
    elif step == "delete":
        storage.LocalBackend.delete = lambda *a, **kw: die()  # type: ignore[method-assign]
    from opschub.cli import app

    app(args)


if __name__ == "__main__":
    main()
