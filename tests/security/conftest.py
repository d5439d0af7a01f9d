"""The security suite: each test replays an attack that once worked, so that it stays fixed.

Tests here are named after the attack and assert on what the attacker would see. Fixtures come
from ``tests/conftest.py`` (``database``, ``app``, ``client``: each test runs on SQLite and
PostgreSQL) and ``tests/factories.py`` (users and logins).
"""
