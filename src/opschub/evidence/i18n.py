"""Labels a person reads for the vault's codes (English msgids, translated when shown)."""

from __future__ import annotations

from opschub.text import N_

PURPOSE_LABELS = {
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
ACTION_LABELS = {
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
STATE_LABELS = {"stored": N_("stored"), "destroyed": N_("destroyed")}
SOURCE_LABELS = {
    "report": N_("report"),
    "url_capture": N_("capture of a reported page"),
    "seizure": N_("seizure"),
    "upload": N_("upload by an officer"),
    "transfer": N_("transfer from another authority"),
}
CATEGORY_LABELS = {
    "unassessed": N_("not yet assessed"),
    "illegal": N_("illegal"),
    "not_illegal": N_("not illegal"),
}

# What a person reads after managing evidence (codes in the redirect, words here).
MANAGE_DONE = {
    "held": N_("The item is on legal hold: it cannot be destroyed until the hold is released."),
    "released": N_("The legal hold is released."),
    "approved": N_("Destruction approved: another person can now destroy the item."),
    "destroyed": N_("Destroyed. The certificate is in the chain of custody."),
    "rule_saved": N_("Retention rule saved."),
}
MANAGE_ERRORS = {
    "reason": N_("Give a reason."),
    "on_hold": N_("This item is on legal hold; release the hold first."),
    "already_held": N_("This item is already on legal hold."),
    "not_held": N_("This item is not on legal hold."),
    "destroyed": N_("This item is destroyed already."),
    "needs_approval": N_("Destruction needs the approval of a second person first."),
    "own_approval": N_("You approved this destruction yourself; a second person must destroy it."),
    "nothing": N_("Choose at least one item."),
    "rule": N_("Check the rule: a category, a state (or *), 0 to 36,500 days and a name."),
}
