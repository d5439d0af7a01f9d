"""``opschub backup`` and ``opschub restore``: the database, the data directory, and a list of
key files kept apart.

A backup directory holds ``manifest.json`` (what, when, which schema revision, a SHA-256 per
file), the database dump (``database.sqlite3`` from SQLite's online backup; ``database.pgdump``
from ``pg_dump`` when it is installed, else ``database.jsonl``, a logical copy of every table)
and ``data/`` (the data directory without the database and the key files). The master key is
never written into the backup: whoever holds the backup and the key can read everything, so the
two are stored in different places.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, LargeBinary, MetaData, Table, insert, select, text
from sqlalchemy.engine import make_url

from opschub import __version__
from opschub.clock import utcnow
from opschub.config import SECRET_KEY_FILE, Settings
from opschub.crypto import EncryptedText
from opschub.db import Base, Database, import_all_models

MANIFEST = "manifest.json"
SQLITE_NAMES = ("opschub.sqlite3", "opschub.sqlite3-wal", "opschub.sqlite3-shm")


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_key(path: Path) -> bool:
    return path.name == SECRET_KEY_FILE or path.suffix == ".key"


def _ignore(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n in SQLITE_NAMES or _is_key(Path(directory) / n)]


def _libpq_url(database: Database) -> str:
    url = make_url(database.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _dump_database(settings: Settings, database: Database, target: Path) -> dict[str, Any]:
    if database.engine.dialect.name == "sqlite":
        source_path = make_url(database.url).database
        destination = target / "database.sqlite3"
        source = sqlite3.connect(str(source_path))
        copy = sqlite3.connect(str(destination))
        try:
            source.backup(copy)  # consistent even while opschub writes
        finally:
            copy.close()
            source.close()
        return {"engine": "sqlite", "method": "sqlite online backup", "file": destination.name}
    pg_dump = shutil.which("pg_dump")
    if pg_dump:
        destination = target / "database.pgdump"
        subprocess.run(
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                f"--file={destination}",
                _libpq_url(database),
            ],
            check=True,
            capture_output=True,
            timeout=3600,
        )
        return {"engine": "postgresql", "method": "pg_dump", "file": destination.name}
    destination = target / "database.jsonl"
    _logical_dump(database, destination)
    return {"engine": "postgresql", "method": "logical copy", "file": destination.name}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return {"$t": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b": value.hex()}
    return value


def _raw(table: Table) -> Table:
    """``table`` with encrypted columns as plain bytes: a backup copies ciphertext, never the
    decrypted values, and restoring does not encrypt them a second time."""
    columns = [
        Column(c.name, LargeBinary if isinstance(c.type, EncryptedText) else c.type)
        for c in table.columns
    ]
    return Table(table.name, MetaData(), *columns)


def _logical_dump(database: Database, destination: Path) -> None:
    metadata = import_all_models()
    with database.engine.connect() as conn, destination.open("w") as out:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(_raw(table))).mappings():
                record = {k: _json_value(v) for k, v in row.items()}
                out.write(json.dumps({"table": table.name, "row": record}, default=str) + "\n")


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "$t" in value:
        return datetime.fromisoformat(value["$t"])
    if isinstance(value, dict) and "$b" in value:
        return bytes.fromhex(value["$b"])
    return value


def backup(settings: Settings, target: Path) -> dict[str, Any]:
    """Write a backup into ``target`` (a new or empty directory); the manifest."""
    from opschub import migrate
    from opschub.db import get_database

    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; back up into a new directory")
    if target.resolve().is_relative_to(settings.data_dir.resolve()):
        raise BackupError(f"{target} is inside the data directory; choose another place")
    target.mkdir(parents=True, exist_ok=True)
    database = get_database()
    try:
        dumped = _dump_database(settings, database, target)
    except (subprocess.SubprocessError, OSError, sqlite3.Error) as exc:
        raise BackupError(f"database dump failed: {exc}") from exc
    if settings.data_dir.exists():
        shutil.copytree(settings.data_dir, target / "data", ignore=_ignore)
    files = {
        str(path.relative_to(target)): _sha256(path)
        for path in sorted(target.rglob("*"))
        if path.is_file()
    }
    keys = sorted(str(p.resolve()) for p in settings.data_dir.glob("*") if _is_key(p))
    manifest = {
        "format": 1,
        "opschub": __version__,
        "created_at": utcnow().isoformat(),
        "revision": migrate.current_revision(database.engine),
        "database": dumped,
        "files": files,
        "keys_to_store_elsewhere": keys
        or (["OPSCHUB_SECRET_KEY (from the environment)"] if settings.secret_key else []),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.exists():
        raise BackupError(f"{path} is missing: not a backup written by opschub backup")
    manifest: dict[str, Any] = json.loads(path.read_text())
    for name, expected in manifest["files"].items():
        file = source / name
        if not file.exists():
            raise BackupError(f"{file} is missing from the backup")
        if _sha256(file) != expected:
            raise BackupError(f"{file} does not match its checksum in the manifest")
    return manifest


def _has_data(database: Database) -> bool:
    import_all_models()
    table = Base.metadata.tables["audit_events"]
    try:
        with database.engine.connect() as conn:
            return conn.execute(select(table.c.seq).limit(1)).first() is not None
    except Exception:  # no schema yet
        return False


def restore(settings: Settings, source: Path, *, force: bool = False) -> dict[str, Any]:
    """Put a backup back: the database and the data directory. The key must already be there."""
    from opschub.db import get_database

    manifest = _read_manifest(source)
    if not settings.secret_key and not (settings.data_dir / SECRET_KEY_FILE).exists():
        raise BackupError(
            f"the master key is not in {settings.data_dir / SECRET_KEY_FILE} and "
            "OPSCHUB_SECRET_KEY is not set: put the key back first (it is not in the backup)"
        )
    database = get_database()
    if _has_data(database) and not force:
        raise BackupError("the database has data; add --force to replace it")
    dumped = manifest["database"]
    dump = source / dumped["file"]
    engine = database.engine.dialect.name
    if dumped["engine"] != engine:
        raise BackupError(f"the backup is of {dumped['engine']}, this database is {engine}")
    try:
        if engine == "sqlite":
            database.dispose()
            copy = sqlite3.connect(str(dump))
            target = sqlite3.connect(str(make_url(database.url).database))
            try:
                copy.backup(target)
            finally:
                target.close()
                copy.close()
        elif dumped["method"] == "pg_dump":
            pg_restore = shutil.which("pg_restore")
            if not pg_restore:
                raise BackupError("pg_restore is needed to restore a pg_dump backup")
            database.dispose()
            subprocess.run(
                [
                    pg_restore,
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "-d",
                    _libpq_url(database),
                    str(dump),
                ],
                check=True,
                capture_output=True,
                timeout=3600,
            )
        else:
            _logical_restore(database, dump)
    except (subprocess.CalledProcessError, sqlite3.Error) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise BackupError(f"database restore failed: {exc} {detail.decode()[-500:]}") from exc
    data = source / "data"
    if data.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(data, settings.data_dir, dirs_exist_ok=True)
    return manifest


def _logical_restore(database: Database, dump: Path) -> None:
    from opschub import migrate

    metadata = import_all_models()
    migrate.upgrade(database.engine)
    with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Emptying the append-only audit log needs its trigger off for this transaction.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        with dump.open() as lines:
            for line in lines:
                item = json.loads(line)
                table = _raw(metadata.tables[item["table"]])
                row = {k: _from_json(v) for k, v in item["row"].items()}
                conn.execute(insert(table).values(**row))
