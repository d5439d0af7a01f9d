"""The append-only, hash-chained audit log (see docs/audit.md)."""
