"""Named permissions and the one table that grants them to roles.

Every route declares one permission (see :func:`opschub.web.auth.requires`); ``PUBLIC`` marks pages
anyone may open without logging in, ``AUTHENTICATED`` those any logged-in person may open.
"""

from __future__ import annotations

from enum import StrEnum

from opschub.text import N_


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    SENIOR_ANALYST = "senior_analyst"
    POLICE_LIAISON = "police_liaison"
    CASE_WORKER = "case_worker"
    CASE_SUPERVISOR = "case_supervisor"
    STATISTICIAN = "statistician"
    AUDITOR = "auditor"
    PARTNER = "partner"  # machine clients (API tokens) only


PUBLIC = "public"
AUTHENTICATED = "authenticated"

# name -> what it allows (English msgids; the admin pages show them translated)
PERMISSIONS: dict[str, str] = {
    "reports.submit": N_("Submit reports through the partner API"),
    "reports.read": N_("Read reports and their matches"),
    "reports.assess": N_("Assess reports and change their status"),
    "hashlists.read": N_("Read hash lists"),
    "hashlists.manage": N_("Import, change and remove hash lists"),
    "notices.send": N_("Send notices to online services"),
    "partners.manage": N_("Manage the partner hotlines that notices are forwarded to"),
    "evidence.view": N_("View evidence"),
    "evidence.manage": N_("Collect, transfer and destroy evidence"),
    "cases.read": N_("Read cases"),
    "cases.manage": N_("Open and update cases and referrals"),
    "cases.identify": N_("Read the real names of people in cases (each read is recorded)"),
    "cases.protected": N_("See children suspected of offences (the protected track)"),
    "cases.consent_override": N_("Refer a child to a service without consent, giving a reason"),
    "stats.read": N_("Read indicators"),
    "stats.publish": N_("Publish statistics"),
    "audit.read": N_("Read and verify the audit log"),
    "users.manage": N_("Manage users and API tokens"),
    "jobs.manage": N_("See background jobs; retry and cancel them"),
    "takedown.decide": N_("Settle analysts' disagreements on material"),
    "takedown.configure": N_("Set the national categories of illegal material"),
    "lists.read": N_("Download the URL and hash lists served to online services"),
}

_ANALYST = {"reports.read", "reports.assess", "hashlists.read"}
_CASE_WORKER = {"cases.read", "cases.manage", "cases.identify", "cases.protected"}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {
            "users.manage",
            "audit.read",
            "hashlists.read",
            "hashlists.manage",
            "jobs.manage",
            "partners.manage",
            "takedown.configure",
        }
    ),
    Role.ANALYST: frozenset(_ANALYST),
    Role.SENIOR_ANALYST: frozenset(
        _ANALYST | {"hashlists.manage", "notices.send", "evidence.view", "takedown.decide"}
    ),
    Role.POLICE_LIAISON: frozenset(
        {"reports.read", "evidence.view", "evidence.manage", "cases.read", "cases.identify"}
    ),
    # Child-protection case workers deal with children in conflict with the law in the welfare
    # track (para 71), so they alone see the protected track; police liaisons, who feed the
    # criminal record, never do.
    Role.CASE_WORKER: frozenset(_CASE_WORKER),
    # A referral without the recorded consent of the child or guardian is a separate grant
    # (issue 13: "an override needs a separate permission and a reason"): case supervisors only.
    Role.CASE_SUPERVISOR: frozenset(_CASE_WORKER | {"cases.consent_override"}),
    Role.STATISTICIAN: frozenset({"stats.read", "stats.publish"}),
    Role.AUDITOR: frozenset({"audit.read", "stats.read"}),
    Role.PARTNER: frozenset({"reports.submit", "lists.read"}),
}

HUMAN_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.PARTNER)


def permissions_of(role: Role | str) -> frozenset[str]:
    return ROLE_PERMISSIONS[Role(role)]


def parse_role(value: str) -> Role:
    """The role named ``value``, or ValueError naming the known roles."""
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}; known roles: {known}") from None


def check_table() -> None:
    """Every granted permission must be a named one."""
    for role, granted in ROLE_PERMISSIONS.items():
        unknown = granted - PERMISSIONS.keys()
        if unknown:
            raise AssertionError(f"role {role} is granted unknown permissions {sorted(unknown)}")
