"""What a person reads after managing evidence (English msgids, translated when shown); the
labels of the vault's codes are in :mod:`opschub.labels` (``evidence_*``, ``custody_action``)."""

from __future__ import annotations

from opschub.text import N_

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
    "rule": N_("Check the rule: a category, a state (or any), 0 to 36,500 days and a name."),
    "rule_state": N_(
        "Choose the state of the report or case from the list; the rule was not saved."
    ),
}
