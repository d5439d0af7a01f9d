"""The terminology checker: the guidelines' preferred terms in Chinese and English.

A pure library (no database or web imports)::

    from opschub.terms import check, fix
    findings = check(text, lang="auto", locale="en")   # list[Finding]
    clean = fix(text)
    ensure_clean(text)   # raises TerminologyError on a term to avoid

Report and notice generators call ``ensure_clean`` (or ``check``) before anything leaves the
system.
"""

from opschub.terms.checker import (
    CheckResult,
    Finding,
    TerminologyError,
    analyse,
    check,
    ensure_clean,
)
from opschub.terms.fixer import fix
from opschub.terms.termbase import TermBaseError, default_termbase, load_termbase

__all__ = [
    "CheckResult",
    "Finding",
    "TermBaseError",
    "TerminologyError",
    "analyse",
    "check",
    "default_termbase",
    "ensure_clean",
    "fix",
    "load_termbase",
]
