"""Notice and takedown: where content is hosted, a safe fetcher, notices and signed lists.

Built so far (see docs/takedown.md): hosting look-ups from operator-loaded data
(:mod:`~opschub.takedown.hosting`), the fetcher that refuses private addresses
(:mod:`~opschub.takedown.fetcher`), notice messages (:mod:`~opschub.takedown.notices`) and
signed, versioned lists for online services (:mod:`~opschub.takedown.signed_lists`). Capture,
assessment, sending and re-checking come with the job worker and the evidence vault.
"""
