"""Image hashing and hash-list matching: a pure library (no web or database imports)."""
