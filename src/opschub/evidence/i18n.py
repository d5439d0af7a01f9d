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
