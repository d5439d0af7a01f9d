"""People, roles, permissions, sessions and API tokens."""
