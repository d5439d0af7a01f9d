"""Hash lists in the web UI: the pages over :mod:`opschub.matching.store` (a pure library)."""
