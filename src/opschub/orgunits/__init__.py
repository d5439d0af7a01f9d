"""Organisation units: the region hierarchy (country > province > district) that scopes people,
cases and statistics."""
