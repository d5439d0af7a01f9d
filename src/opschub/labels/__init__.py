"""One place for the words people read instead of codes.

Codes (``action_taken``, ``self_report``, ``accounts.login.failed``, ``api_token``) are stable
identifiers for data and scripts; a person reads a label. Every page asks here, through the
``label(kind, code)`` function that :func:`opschub.web.templating.render` gives every template, so
that a code has one wording in English and one in Chinese wherever it appears. The shared
vocabulary of :mod:`opschub.taxonomy` (forms of exploitation, sex, settings ...) is reachable
through the same function by its list name.

Labels are English msgids translated by this package's zh-Hans catalogue. An unknown code comes
back as it is, so that the zh-Hans page test (tests/web/test_zh_pages.py) finds it.

This module imports nothing from the web layer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import MappingProxyType

from opschub import taxonomy
from opschub.accounts.i18n import ROLE_LABELS
from opschub.accounts.permissions import PERMISSIONS
from opschub.text import N_

Gettext = Callable[[str], str]

CHANNEL = {
    "public": N_("public reporting form"),
    "self_report": N_("self-report by fingerprint"),
    "partner": N_("partner API"),
}
MEDIA_KIND = {"image": N_("image"), "video": N_("video")}
REPORT_STATUS = {
    "received": N_("received"),
    "assessing": N_("being assessed"),
    "action_taken": N_("action taken"),
    "not_illegal": N_("not illegal"),
    "duplicate": N_("duplicate"),
    "out_of_jurisdiction": N_("out of jurisdiction"),
    "closed": N_("closed"),
}
PRIORITY_REASON = {
    "known_match": N_("matches a known hash"),
    "self_report": N_("a child reported an image of themselves"),
    "under_13": N_("stated age under 13"),
    "live_harm": N_("harm happening now"),
    "matching_unavailable": N_("matching was unavailable"),
    "self_report_match": N_("matches an earlier self-report (unverified)"),
    "unreadable": N_("partly unreadable: see the server log"),
}
# A priority, in one wording: a report's level (opschub.intake.states.LEVELS, level_of) and a
# case's priority (opschub.cases.models.PRIORITIES) are the same four codes. The queue's orders.
PRIORITY_LEVEL = {
    "urgent": N_("urgent"),
    "high": N_("high"),
    "normal": N_("normal"),
    "low": N_("low"),
}
QUEUE_SORT = {
    "priority": N_("Priority, then oldest"),
    "oldest": N_("Oldest first"),
    "newest": N_("Newest first"),
}
# What the public status page says, keyed by the coarse public status
# (opschub.intake.states.PUBLIC_STATUS), never the staff one.
PUBLIC_STATUS = {
    "received": N_("Received: we have your report and will look at it."),
    "assessing": N_("Being checked: someone is looking at your report now."),
    "action_taken": N_("Action taken: we did something about what you reported."),
    "checked": N_("Checked: we have looked at what you reported and finished our part."),
    "closed": N_("Closed: we have finished working on your report."),
}
# The age a reporter states (opschub.intake.models.STATED_AGE_BANDS; nested in the statistical
# bands of the taxonomy's age_band).
STATED_AGE_BAND = {
    "0-9": N_("9 or younger"),
    "10-12": N_("10 to 12"),
    "13-14": N_("13 or 14"),
    "15-17": N_("15, 16 or 17"),
}
ACTOR_KIND = {
    "user": N_("person"),
    "token": N_("API token"),
    "system": N_("system"),
    "public": N_("member of the public"),
}
OUTCOME = {"ok": N_("succeeded"), "refused": N_("refused"), "failed": N_("failed")}
AUDIT_ACTION = {
    "accounts.login": N_("logged in"),
    "accounts.login.failed": N_("login failed"),
    "accounts.login.locked": N_("login refused: account locked"),
    "accounts.login.totp": N_("confirmed login with the second factor"),
    "accounts.logout": N_("logged out"),
    "accounts.password.changed": N_("changed the password"),
    "accounts.password.reset": N_("reset a password"),
    "accounts.token.created": N_("created an API token"),
    "accounts.token.revoked": N_("revoked an API token"),
    "accounts.totp.disabled": N_("switched off the second factor"),
    "accounts.totp.enabled": N_("set up the second factor"),
    "accounts.totp.reset": N_("removed a person's second factor"),
    "accounts.user.created": N_("added a person"),
    "accounts.user.disabled": N_("disabled a person"),
    "accounts.user.enabled": N_("enabled a person"),
    "accounts.user.role_changed": N_("changed a person's role"),
    "intake.report.received": N_("report received"),
    "intake.report.status_changed": N_("changed a report's status"),
    "intake.report.viewed": N_("opened a report"),
    "intake.report.removed": N_("removed reports"),
    "hashlists.list.created": N_("created a hash list"),
    "hashlists.list.imported": N_("imported into a hash list"),
    "hashlists.list.exported": N_("exported a hash list"),
    "hashlists.list.removed": N_("removed a hash list"),
    "permission.refused": N_("refused: no permission"),
    "accounts.reauthenticated": N_("confirmed the password again"),
    "accounts.reset_notice.acknowledged": N_("acknowledged a reset of their login"),
    "accounts.credential_review": N_("weekly review of login changes"),
    "intake.report.claimed": N_("claimed a report"),
    "intake.report.assigned": N_("assigned a report"),
    "intake.report.released": N_("released a report"),
    "intake.report.reopened": N_("reopened a report"),
    "intake.report.note_added": N_("added a note to a report"),
    "intake.self_reports.rejected": N_("rejected self-reported fingerprints"),
    "jobs.retry": N_("retried a background job"),
    "jobs.cancel": N_("cancelled a background job"),
    "evidence.acquire": N_("added evidence"),
    "evidence.view": N_("viewed evidence"),
    "evidence.download": N_("downloaded evidence"),
    "evidence.export": N_("exported evidence"),
    "evidence.transfer": N_("transferred evidence"),
    "evidence.hold": N_("placed evidence on legal hold"),
    "evidence.release": N_("released evidence from legal hold"),
    "evidence.approve": N_("approved an evidence export or destruction"),
    "evidence.destroy": N_("destroyed evidence"),
    "evidence.classify": N_("classified evidence"),
    "evidence.keys_rotated": N_("rotated the evidence key"),
    "evidence.retention_rule": N_("set an evidence retention rule"),
    "evidence.retention.reviewed": N_("daily review of evidence due for destruction"),
    # takedown notices and partners (td-notify)
    "takedown.notice.created": N_("created a notice"),
    "takedown.notice.sent": N_("sent a notice (delivery not confirmed)"),
    "takedown.notice.delivered": N_("delivered a notice"),
    "takedown.notice.refused": N_("a notice was refused; trying again"),
    "takedown.notice.failed": N_("a notice could not be delivered"),
    "takedown.notice.acknowledged": N_("the recipient acknowledged a notice"),
    "takedown.notice.removed": N_("content removed after a notice"),
    "takedown.notice.disputed": N_("the recipient disputed a notice"),
    "takedown.notice.escalated": N_("escalated a notice"),
    "takedown.notice.requeued": N_("queued a failed notice again"),
    "takedown.notice.resend": N_("sent a notice again"),
    "takedown.notice.not_removed": N_("still there although the recipient said it was removed"),
    "takedown.partner.added": N_("added a partner hotline"),
    "takedown.partner.changed": N_("changed a partner hotline"),
    "takedown.partner.enabled": N_("enabled a partner hotline"),
    "takedown.partner.disabled": N_("disabled a partner hotline"),
    "takedown.target.created": N_("started takedown of a web address"),
    "takedown.capture.started": N_("started capturing a web address"),
    "takedown.capture.recorded": N_("captured a web address"),
    "takedown.capture.failed": N_("could not capture a web address"),
    "takedown.target.captured": N_("takedown target waits for assessment"),
    "takedown.target.assessing": N_("takedown target being assessed"),
    "takedown.target.awaiting_confirmation": N_("takedown target waits for a second analyst"),
    "takedown.target.disputed": N_("analysts disagree on a takedown target"),
    "takedown.target.confirmed": N_("takedown target confirmed illegal"),
    "takedown.target.not_illegal": N_("takedown target closed as not illegal"),
    "takedown.target.notified": N_("takedown notice sent"),
    "takedown.target.removed": N_("content observed removed"),
    "takedown.item.awaiting_confirmation": N_("assessed an item as illegal"),
    "takedown.item.confirmed": N_("confirmed an item as illegal"),
    "takedown.item.not_illegal": N_("assessed an item as not illegal"),
    "takedown.item.disputed": N_("disagreed with the first assessment"),
    "takedown.item.auto_classified": N_("recognised an item assessed before"),
    "takedown.item.revealed": N_("revealed an item"),
    "takedown.hashlist.joined": N_("added confirmed hashes to the hash list"),
    "takedown.category.added": N_("added a national category"),
    "takedown.category.changed": N_("changed a national category"),
    "takedown.lists.version": N_("published a new version of a list for online services"),
    # organisation units and cases (cases-core)
    "orgunits.loaded": N_("loaded organisation units"),
    "orgunits.removed": N_("removed unused demo regions"),
    "cases.demo.removed": N_("removed the demo cases"),
    # cases follow-up: referrals, proceedings, limitation, informing (cases-follow)
    "cases.service.added": N_("added a service to the directory"),
    "cases.service.removed": N_("removed unused demo services from the directory"),
    "cases.referral.created": N_("referred a child to a service"),
    "cases.referral.override_refused": N_("refused a referral without consent"),
    "cases.referral.followed_up": N_("followed up a referral"),
    "cases.referral.delivered": N_("sent a referral to the service"),
    "cases.referral.delivery_failed": N_("could not send a referral to the service"),
    "cases.proceeding.recorded": N_("recorded a step of the proceedings"),
    "cases.offence.recorded": N_("recorded an offence and its limitation deadline"),
    "cases.offence.recomputed": N_("computed an offence's limitation deadline again"),
    "cases.informed.logged": N_("logged what the child was told"),
    "cases.followup.reviewed": N_("daily review of delays, deadlines and reminders"),
    # statistics (stats-core)
    "stats.indicator.added": N_("added a statistical indicator"),
    "stats.submission.received": N_("received regional figures"),
    "stats.submission.approved": N_("approved regional figures"),
    "stats.submission.rejected": N_("rejected regional figures"),
    "stats.publication.published": N_("published statistics"),
    "cases.case.opened": N_("opened a case"),
    "cases.case.updated": N_("changed a case"),
    "cases.case.restricted": N_("restricted a case to named people"),
    "cases.case.unrestricted": N_("lifted a case's restriction"),
    "cases.case.linked": N_("linked two cases"),
    "cases.case.exported": N_("exported a case file"),
    "cases.cases.imported": N_("imported cases"),
    "cases.member.added": N_("named a person on a restricted case"),
    "cases.member.removed": N_("removed a person from a restricted case"),
    "cases.report.linked": N_("linked a report to a case"),
    "cases.evidence.linked": N_("linked evidence to a case"),
    "cases.person.added": N_("added a person to a case"),
    "cases.person.updated": N_("changed a person in a case"),
    "cases.person.name_read": N_("read a person's real name"),
    "cases.person.suspect_confirmed": N_("confirmed recording a child victim as a suspect"),
    "cases.person.suspect_refused": N_(
        "refused: recording a child victim as a suspect for images of themselves"
    ),
    "cases.relationship.added": N_("recorded a relationship between people in a case"),
    "cases.relationship.changed": N_("changed a relationship between people in a case"),
    "cases.relationship.removed": N_("removed a relationship between people in a case"),
    "cases.scope.set": N_("set a person's case scope"),
    # cases follow-up: referrals, proceedings, limitation, informing (cases-follow)
    # statistics (stats-core)
}
TARGET_TYPE = {
    "user": N_("person"),
    "api_token": N_("API token"),
    "report": N_("report"),
    "route": N_("page or API route"),
    "hashlist": N_("hash list"),
    "job": N_("background job"),
    "audit_log": N_("audit log"),
    "evidence_item": N_("evidence item"),
    "evidence_kek": N_("evidence key"),
    "evidence_retention_rule": N_("evidence retention rule"),
    "evidence_vault": N_("evidence vault"),
    "takedown_notice": N_("notice"),
    "takedown_partner": N_("partner hotline"),
    "takedown_target": N_("takedown target"),
    "takedown_item": N_("captured item"),
    "takedown_category": N_("national category"),
    "served_list": N_("list for online services"),
    # organisation units and cases (cases-core)
    "org_unit": N_("organisation unit"),
    # cases follow-up (cases-follow)
    "referral_service": N_("service in the directory"),
    "case_referral": N_("referral"),
    "case": N_("case"),
    "case_person": N_("person in a case"),
    # statistics (stats-core)
    "stats_indicator": N_("statistical indicator"),
    "stats_submission": N_("regional submission"),
    "stats_publication": N_("statistics publication"),
    # cases follow-up (cases-follow)
}
# Takedown (opschub.takedown.models): a target's and an item's states, decisions, capture outcomes.
TAKEDOWN_STATE = {
    "new": N_("new"),
    "capturing": N_("being captured"),
    "captured": N_("captured, waiting for assessment"),
    "capture_failed": N_("capture failed"),
    "assessing": N_("being assessed"),
    "pending": N_("waiting for assessment"),
    "awaiting_confirmation": N_("waiting for a second analyst"),
    "disputed": N_("analysts disagree"),
    "confirmed": N_("confirmed illegal"),
    "not_illegal": N_("not illegal"),
    "notified": N_("notice sent"),
    "removed": N_("removed"),
}
TAKEDOWN_DECISION = {"illegal": N_("illegal"), "not_illegal": N_("not illegal")}
ASSESSMENT_ROLE = {
    "first": N_("first analyst"),
    "second": N_("second analyst"),
    "senior": N_("senior analyst"),
    "auto": N_("assessed before (automatic)"),
}
CAPTURE_OUTCOME = {
    "ok": N_("fetched"),
    "gone": N_("not found (404 or 410)"),
    "http_error": N_("server error"),
    "unchanged": N_("unchanged"),
    "too_large": N_("too large, cut off"),
    "timeout": N_("timed out"),
    "redirect_loop": N_("redirect loop"),
    "too_many_redirects": N_("too many redirects"),
    "refused_address": N_("refused: not a public address"),
    "connection_error": N_("could not connect"),
    "bad_url": N_("not a web address"),
    "error": N_("capture error"),
}
ITEM_KIND = {"image": N_("image"), "video": N_("video"), "other": N_("other")}
# Why a login failed (details.reason of accounts.login.failed).
LOGIN_FAILURE = {
    "unknown_user": N_("unknown user name"),
    "password": N_("wrong password"),
    "totp": N_("wrong second-factor code"),
    "disabled": N_("account disabled"),
    "locked": N_("account locked"),
}
# Labels the system writes for actors that are not people (audit actor_label).
ACTOR_NAME = {
    "command line": N_("command line"),
    "demo data": N_("demo data"),
    "anonymous": N_("unknown person"),
    "public": N_("member of the public"),
    "system": N_("system"),
    "takedown notices": N_("notice service"),
    "recipient": N_("recipient of a notice"),
}
# Names of hash lists that the system itself keeps (other lists are named by their operators).
HASH_LIST = {"self-reported": N_("self-reported images")}
HASH_TYPE = {"pdq": N_("PDQ (perceptual)"), "sha256": "SHA-256", "md5": "MD5", "sha1": "SHA-1"}
# Keys of audit events' details.
DETAIL_KEY = {
    "from": N_("from"),
    "to": N_("to"),
    "username": N_("user name"),
    "role": N_("role"),
    "name": N_("name"),
    "permission": N_("permission"),
    "permissions": N_("permissions"),
    "channel": N_("channel"),
    "priority": N_("priority"),
    "reasons": N_("reasons"),
    "with_reason": N_("with a reason"),
    "urls": N_("web addresses"),
    "fingerprints": N_("fingerprints"),
    "matches": N_("matches"),
    "count": N_("number"),
    "reason": N_("reason"),
    "user": N_("person"),
    "ok": N_("succeeded"),
    "list": N_("hash list"),
    "file": N_("file"),
    "format": N_("format"),
    "version": N_("version"),
    "added": N_("added"),
    "read": N_("entries read"),
    "already_present": N_("already in the list"),
    "entries": N_("entries"),
    "expires_at": N_("expires"),
    "partner": N_("partner"),
    "is_demo": N_("demo data"),
    "failures": N_("failed attempts in a row"),
    "until": N_("until"),
    "created": N_("new list"),
    "notice_from": N_("from"),
    "notice_to": N_("to"),
    "recipient": N_("recipient"),
    "purpose": N_("purpose"),
    "target": N_("takedown target"),
    "round": N_("round"),
    "attempt": N_("attempt"),
    "detail": N_("answer"),
    "observed_at": N_("observed"),
    "hours": N_("hours"),
    "by": N_("by"),
    "country": N_("country"),
    "state_from": N_("from"),
    "state_to": N_("to"),
    "assessment_role": N_("as"),
    "report_id": N_("report"),
    "url": N_("web address"),
    "outcome": N_("outcome"),
    "status": N_("HTTP status"),
    "final_url": N_("final web address"),
    "redirects": N_("redirects"),
    "items": N_("items"),
    "media_found": N_("media found"),
    "error": N_("error"),
    "target_id": N_("takedown target"),
    "item_id": N_("item"),
    "from_item_id": N_("decided before as item"),
    "seen_before_target_id": N_("seen before at"),
    "decision": N_("decision"),
    "baseline": N_("international baseline"),
    "category": N_("national category"),
    "hashes": N_("hashes"),
    "kind": N_("kind"),
    "service_kind": N_("kind of service"),
    "code": N_("code"),
    "active": N_("in use"),
    "at": N_("at"),
    "served_list": N_("list for online services"),
    "removed": N_("removed"),
    # organisation units and cases (cases-core)
    "updated": N_("updated"),
    # cases follow-up (cases-follow)
    "reports": N_("reports"),
    "restricted": N_("restricted"),
    "fields": N_("fields"),
    "case": N_("case"),
    "person_role": N_("role in the case"),
    "protected": N_("protected track"),
    "pending": N_("awaiting confirmation"),
    "item": N_("evidence item"),
    "report": N_("report"),
    "relationship": N_("relationship"),
    "relationship_before": N_("relationship before"),
    "scope": N_("case scope"),
    "senior": N_("senior case worker"),
    "cases": N_("cases"),
    "people": N_("people"),
    # cases follow-up (cases-follow)
    "consent_by": N_("consent"),
    "delivery": N_("sent by"),
    "step": N_("step"),
    "on": N_("date"),
    "suspect": N_("suspect"),
    "offence": N_("offence"),
    "rule": N_("limitation rule"),
    "falls_on": N_("limitation deadline"),
    "who": N_("told to"),
    "form": N_("how"),
    "steps": N_("steps told of"),
    "org_unit": N_("region"),
    "why": N_("why"),
    "alarms": N_("stage alarms"),
    "warnings": N_("limitation warnings"),
    "reminders": N_("informing reminders"),
    "overdue_referrals": N_("overdue referrals"),
    "alarms_total": N_("stage alarms in all"),
    "reminders_total": N_("informing reminders in all"),
    "referral_from": N_("from"),
    "referral_to": N_("to"),
    "act": N_("act"),
    "cause": N_("because"),
    "rule_before": N_("limitation rule before"),
    "falls_on_before": N_("limitation deadline before"),
    "recomputed": N_("deadlines computed again"),
}
# Which code list a detail's value comes from, by key (status changes: "from", "to").
DETAIL_VALUE_KIND = {
    "from": "report_status",
    "to": "report_status",
    "role": "role",
    "channel": "channel",
    "reasons": "priority_reason",
    "permission": "permission",
    "permissions": "permission",
    "list": "hash_list",
    "reason": "login_failure",
    "notice_from": "notice_state",
    "notice_to": "notice_state",
    "recipient": "notice_recipient",
    "purpose": "purpose",  # a notice's (takedown) or an access's (evidence)
    "by": "actor_name",
    "state_from": "takedown_state",
    "state_to": "takedown_state",
    "assessment_role": "assessment_role",
    "outcome": "capture_outcome",
    "decision": "takedown_decision",
    "kind": "item_kind",
    "served_list": "served_list",
    "person_role": "person_role",
    "relationship": "relationship",
    "relationship_before": "relationship",
    "scope": "case_scope",
    # cases follow-up (cases-follow)
    "service_kind": "service_kind",
    "consent_by": "consent_by",
    "delivery": "delivery_channel",
    "step": "proceeding_step",
    "offence": "form_of_exploitation",
    "who": "informed_who",
    "form": "informed_form",
    "referral_from": "referral_status",
    "referral_to": "referral_status",
    "act": "suspect_act",
    "cause": "recompute_cause",
}

# The lists served to online services (opschub.takedown.lists_service), by name.
SERVED_LIST = {
    "urls": N_("URL block list"),
    "hashes": N_("hash list of confirmed material"),
}

# Background jobs (opschub.jobs), by the kind each capability's tasks.py declares.
JOB_KIND = {
    "jobs.prune": N_("clean up finished jobs"),
    "jobs.noop": N_("test job"),
    "audit.checkpoint": N_("anchor the audit log outside the database"),
    "accounts.credential_review": N_("weekly review of login changes"),
    "evidence.retention_review": N_("daily review of evidence due for destruction"),
    "intake.alert_on_call": N_("alert the on-call person to a new high-priority report"),
    "takedown.notify": N_("create the notices of a confirmed target"),
    "takedown.notice_send": N_("send a notice"),
    "takedown.recheck": N_("check whether notified content is still there"),
    "takedown.capture": N_("capture a reported web address and its media"),
    "cases.send_referral": N_("send a referral to a service"),
    "cases.stage_alarms": N_("daily review of delays, deadlines and reminders"),
}

# Takedown notices (opschub.takedown.notice_models).
NOTICE_STATE = {
    "queued": N_("queued"),
    "sent": N_("sent, delivery not confirmed"),
    "delivered": N_("delivered"),
    "acknowledged": N_("acknowledged"),
    "removed": N_("removed"),
    "disputed": N_("disputed"),
    "escalated": N_("escalated"),
    "failed": N_("could not be delivered"),
}
NOTICE_RECIPIENT = {
    "host": N_("hosting provider"),
    "cdn": N_("content delivery network"),
    "origin": N_("origin server's provider"),
    "police": N_("police unit"),
    "hotline": N_("partner hotline"),
}
NOTICE_CHANNEL = {"email": N_("email"), "webhook": N_("signed webhook")}
NOTICE_PURPOSE = {"initial": N_("first notice"), "escalation": N_("escalation")}
ATTEMPT_STATE = {
    "sending": N_("sending"),
    "delivered": N_("delivered"),
    "refused": N_("refused"),
    "unconfirmed": N_("unconfirmed (not sent again)"),
}
RECHECK_OUTCOME = {
    "gone": N_("gone"),
    "unchanged": N_("unchanged, still there"),
    "changed": N_("changed, still there"),
    "still_there": N_("still there"),
    "error": N_("could not be checked"),
}

# --- cases follow-up (opschub.cases.followup_models, stages, limitation) ---
SERVICE_KIND = {
    "one_stop_centre": N_("one-stop centre (Barnahus)"),
    "medical": N_("medical care"),
    "psychosocial": N_("psychosocial support"),
    "legal_aid": N_("legal aid"),
    "shelter": N_("shelter"),
    "family_tracing": N_("family tracing"),
    "compensation_scheme": N_("compensation scheme"),
}
REFERRAL_STATUS = {
    "sent": N_("sent"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "service_given": N_("service given"),
    "closed": N_("closed"),
}
CONSENT_BY = {
    "child": N_("the child agreed"),
    "guardian": N_("the guardian agreed"),
    "override": N_("without consent (override with a reason)"),
}
DELIVERY_CHANNEL = {"none": N_("not sent"), "email": N_("email"), "webhook": N_("webhook")}
DELIVERY_STATE = {
    "not_sent": N_("not sent"),
    "queued": N_("waiting to be sent"),
    "delivered": N_("delivered"),
    "failed": N_("sending failed"),
}
PROCEEDING_STEP = {
    "investigation_opened": N_("investigation opened"),
    "charged": N_("charged"),
    "prosecution": N_("prosecution"),
    "hearing": N_("hearing"),
    "conviction": N_("conviction"),
    "acquittal": N_("acquittal"),
    "sentence": N_("sentence"),
    "appeal": N_("appeal"),
    "compensation_ordered": N_("compensation ordered"),
    "compensation_paid": N_("compensation paid"),
    "offender_released": N_("offender released"),
}
WAITING_STAGE = {**PROCEEDING_STEP, "opened": N_("case opened, no investigation yet")}
PROCEEDING_STAGE = {
    "investigation": N_("investigation"),
    "prosecution": N_("prosecution"),
    "conviction": N_("conviction"),
    "acquittal": N_("acquittal"),
    "sentence": N_("sentence"),
    "appeal": N_("appeal"),
}
LIMITATION_STATE = {
    "none": N_("no limitation"),
    "running": N_("running"),
    "warning": N_("deadline approaching"),
    "lapsed": N_("lapsed"),
}
INFORMED_WHO = {
    "child": N_("the child"),
    "guardian": N_("the guardian"),
    "child_and_guardian": N_("the child and the guardian"),
}
INFORMED_FORM = {
    "in_person": N_("in person"),
    "phone": N_("by phone"),
    "video": N_("by video call"),
    "letter": N_("by letter"),
    "message": N_("by message"),
}

# The evidence vault (opschub.evidence.models): purposes of access, custody actions, states,
# sources of acquisition, categories.
EVIDENCE_PURPOSE = {
    "assessment": N_("Assessment of the material"),
    "investigation": N_("Criminal investigation"),
    "legal_proceedings": N_("Legal proceedings"),
    "victim_identification": N_("Identifying a victim"),
    "transfer_to_police": N_("Transfer to the police"),
    "quality_review": N_("Quality review"),
    "audit": N_("Audit"),
    "retention": N_("Retention and destruction"),
    "intake": N_("Intake"),
}
CUSTODY_ACTION = {
    "acquire": N_("acquired"),
    "view": N_("viewed"),
    "download": N_("downloaded"),
    "export": N_("exported"),
    "transfer": N_("transferred"),
    "hold": N_("legal hold placed"),
    "release": N_("legal hold released"),
    "approve": N_("approved"),
    "destroy": N_("destroyed"),
}
EVIDENCE_STATE = {"stored": N_("stored"), "destroyed": N_("destroyed")}
EVIDENCE_SOURCE = {
    "report": N_("report"),
    "url_capture": N_("capture of a reported page"),
    "seizure": N_("seizure"),
    "upload": N_("upload by an officer"),
    "transfer": N_("transfer from another authority"),
}
EVIDENCE_CATEGORY = {
    "unassessed": N_("not yet assessed"),
    "illegal": N_("illegal"),
    "not_illegal": N_("not illegal"),
}
# The state of the linked report or case a retention rule counts from
# (opschub.evidence.models.LINKED_STATES).
EVIDENCE_LINKED_STATE = {
    "*": N_("any state (from acquisition when nothing is linked)"),
    "received": N_("report received"),
    "assessing": N_("report being assessed"),
    "action_taken": N_("report: action taken"),
    "not_illegal": N_("report found not illegal"),
    "duplicate": N_("report is a duplicate"),
    "out_of_jurisdiction": N_("report out of jurisdiction"),
    "closed": N_("report closed"),
    "case_open": N_("case open"),
    "case_in_progress": N_("case in progress"),
    "case_on_hold": N_("case on hold"),
    "case_closed": N_("case closed"),
}

# Cases (cases-core).
CASE_STATUS = {
    "open": N_("open"),
    "in_progress": N_("in progress"),
    "on_hold": N_("on hold"),
    "closed": N_("closed"),
}
PERSON_ROLE = {
    "victim": N_("child victim"),
    "suspect": N_("suspect"),
    "guardian": N_("parent or guardian"),
    "witness": N_("witness"),
}
VULNERABILITY = {
    "disability": N_("disability"),
    "migrant": N_("migrant"),
    "unaccompanied": N_("unaccompanied or separated"),
    "alternative_care": N_("in alternative care"),
    "street_connected": N_("street-connected"),
    "out_of_school": N_("out of school"),
    "child_labour": N_("in child labour"),
    "other": N_("other vulnerability"),
}
CASE_SCOPE = {
    "own": N_("own cases"),
    "team": N_("the team's cases"),
    "region": N_("cases of a region"),
    "all": N_("all cases"),
}
SUSPECT_CONFIRMATION = {
    "pending": N_("awaiting a senior's confirmation"),
    "confirmed": N_("confirmed by a senior"),
}
SUSPECT_ACT = {"self_generated_images": N_("made images of themselves")}
# Why an offence's limitation deadline was computed again (opschub.cases.proceedings).
RECOMPUTE_CAUSE = {
    "rule": N_("the national limitation rule changed"),
    "birth": N_("what is known of the victim's birth changed"),
}

KINDS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "job_kind": JOB_KIND,
        "channel": CHANNEL,
        "media_kind": MEDIA_KIND,
        "report_status": REPORT_STATUS,
        "priority_reason": PRIORITY_REASON,
        "priority_level": PRIORITY_LEVEL,
        "queue_sort": QUEUE_SORT,
        "public_status": PUBLIC_STATUS,
        "stated_age_band": STATED_AGE_BAND,
        "actor_kind": ACTOR_KIND,
        "outcome": OUTCOME,
        "audit_action": AUDIT_ACTION,
        "target_type": TARGET_TYPE,
        "hash_list": HASH_LIST,
        "login_failure": LOGIN_FAILURE,
        "actor_name": ACTOR_NAME,
        "hash_type": HASH_TYPE,
        "served_list": SERVED_LIST,
        "detail_key": DETAIL_KEY,
        "role": {role.value: text for role, text in ROLE_LABELS.items()},
        "permission": PERMISSIONS,
        "notice_state": NOTICE_STATE,
        "notice_recipient": NOTICE_RECIPIENT,
        "notice_channel": NOTICE_CHANNEL,
        "notice_purpose": NOTICE_PURPOSE,
        "attempt_state": ATTEMPT_STATE,
        "recheck_outcome": RECHECK_OUTCOME,
        "takedown_state": TAKEDOWN_STATE,
        "takedown_decision": TAKEDOWN_DECISION,
        "assessment_role": ASSESSMENT_ROLE,
        "capture_outcome": CAPTURE_OUTCOME,
        "item_kind": ITEM_KIND,
        "evidence_purpose": EVIDENCE_PURPOSE,
        # details.purpose of an audit event: a notice's or an evidence access's (codes differ)
        "purpose": {**NOTICE_PURPOSE, **EVIDENCE_PURPOSE},
        "custody_action": CUSTODY_ACTION,
        "evidence_state": EVIDENCE_STATE,
        "evidence_source": EVIDENCE_SOURCE,
        "evidence_category": EVIDENCE_CATEGORY,
        "evidence_linked_state": EVIDENCE_LINKED_STATE,
        "case_status": CASE_STATUS,
        "person_role": PERSON_ROLE,
        "vulnerability": VULNERABILITY,
        "case_scope": CASE_SCOPE,
        "suspect_confirmation": SUSPECT_CONFIRMATION,
        "suspect_act": SUSPECT_ACT,
        "recompute_cause": RECOMPUTE_CAUSE,
        # cases follow-up
        "service_kind": SERVICE_KIND,
        "referral_status": REFERRAL_STATUS,
        "consent_by": CONSENT_BY,
        "delivery_channel": DELIVERY_CHANNEL,
        "delivery_state": DELIVERY_STATE,
        "proceeding_step": PROCEEDING_STEP,
        "waiting_stage": WAITING_STAGE,
        "proceeding_stage": PROCEEDING_STAGE,
        "limitation_state": LIMITATION_STATE,
        "informed_who": INFORMED_WHO,
        "informed_form": INFORMED_FORM,
    }
)

# Kinds whose unknown codes are shown as they are because they are names, not codes.
_NAMES_AS_THEY_ARE = frozenset({"hash_list"})


def has(kind: str, code: object) -> bool:
    """Whether ``code`` has a label of ``kind``."""
    if kind in taxonomy.CODE_LISTS:
        return code in taxonomy.CODE_LISTS[kind]
    return isinstance(code, str) and code in KINDS.get(kind, {})


def label(kind: str, code: str, gettext: Gettext, lang: str) -> str:
    """The label of ``code`` of ``kind`` in ``lang`` (``gettext`` translates into it).

    ``kind`` is a key of :data:`KINDS` or a :mod:`opschub.taxonomy` list name. An unknown code is
    returned unchanged (a hash list name an operator chose is shown as it is).
    """
    if kind in taxonomy.CODE_LISTS:
        code_list = taxonomy.CODE_LISTS[kind]
        return code_list.label(code, lang) if code in code_list else code
    labels = KINDS.get(kind)
    if labels is None:
        raise KeyError(f"unknown kind of code {kind!r}; known: {', '.join(sorted(KINDS))}")
    text = labels.get(code)
    if text is None:
        return code
    return gettext(text)


def action_label(action: str, gettext: Gettext) -> str:
    """An audit action's label; an unlabelled action falls back to its family's label
    (``accounts.login.something`` reads as "logged in"), else the code itself."""
    parts = action.split(".")
    while parts:
        text = AUDIT_ACTION.get(".".join(parts))
        if text is not None:
            return gettext(text)
        parts.pop()
    return action


def detail_value(key: str, value: object, gettext: Gettext, lang: str) -> str:
    """A detail's value as a person reads it: codes labelled, lists joined, booleans as words."""
    kind = DETAIL_VALUE_KIND.get(key)
    separator = gettext("; ")
    if isinstance(value, list | tuple):
        return separator.join(detail_value(key, item, gettext, lang) for item in value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if value is None:
        return "–"
    if kind is not None and isinstance(value, str):
        return label(kind, value, gettext, lang)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def details(values: Mapping[str, object], gettext: Gettext, lang: str) -> list[tuple[str, str]]:
    """An audit event's details as (label, value) pairs, in a stable order."""
    return [
        (label("detail_key", key, gettext, lang), detail_value(key, value, gettext, lang))
        for key, value in sorted(values.items())
    ]


__all__ = [
    "KINDS",
    "action_label",
    "detail_value",
    "details",
    "has",
    "label",
]
