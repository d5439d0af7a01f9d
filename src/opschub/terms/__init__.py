"""The terminology checker: the guidelines' preferred terms in Chinese and English.

A pure library (no database or web imports)::

    from opschub.terms import check, fix
    findings = check(text, lang="auto", locale="en")   # list[Finding]
    clean = fix(text)

Report and notice generators call ``check`` before anything leaves the system and refuse
text with a finding of severity ``"avoid"``.
"""

from opschub.terms.checker import CheckResult, Finding, analyse, check
from opschub.terms.fixer import fix
from opschub.terms.termbase import TermBaseError, default_termbase, load_termbase

__all__ = [
    "CheckResult",
    "Finding",
    "TermBaseError",
    "analyse",
    "check",
    "default_termbase",
    "fix",
    "load_termbase",
]
