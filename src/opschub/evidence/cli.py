"""``opschub evidence``: store, show, take out, hold, destroy, export and verify evidence.

Exit codes: 0 done, 1 refused or problems found (the message names the item), 2 could not run
(bad arguments, unreadable key file, unreachable database or storage).
The person at the command line is named by their operating-system account in the custody chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

evidence_app = typer.Typer(
    help="The evidence vault: encrypted store and chain of custody.", no_args_is_help=True
)
package_app = typer.Typer(help="Evidence packages (BagIt).", no_args_is_help=True)
certificate_app = typer.Typer(help="Certificates of destruction.", no_args_is_help=True)
keys_app = typer.Typer(help="Key-encryption keys.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention rules and what is due.", no_args_is_help=True)
evidence_app.add_typer(package_app, name="package")
evidence_app.add_typer(certificate_app, name="certificate")
evidence_app.add_typer(keys_app, name="keys")
evidence_app.add_typer(retention_app, name="retention")

FORMAT = Annotated[str, typer.Option("--format", help="text or json")]
PROGRESS_THRESHOLD = 20


def register(app: typer.Typer) -> None:
    app.add_typer(evidence_app, name="evidence")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"opschub evidence: {message}", err=True)
    raise typer.Exit(code)


def _check_format(value: str) -> None:
    if value not in ("text", "json"):
        _fail(f"--format {value!r} must be text or json", 2)


@contextmanager
def _session() -> Iterator[Any]:
    """One transaction; vault errors become messages with the right exit code."""
    from opschub.db import get_database
    from opschub.evidence.keys import KeyServiceError
    from opschub.evidence.service import EvidenceError
    from opschub.evidence.storage import StorageError

    try:
        with get_database().transaction() as session:
            yield session
    except EvidenceError as exc:
        _fail(str(exc), 1)
    except (KeyServiceError, StorageError) as exc:
        _fail(str(exc), 2)


def _vault() -> Any:
    from opschub.evidence.vault import vault_from_settings

    return vault_from_settings()


def _operator() -> Any:
    from opschub.evidence.service import Operator

    return Operator.current()


@evidence_app.command("add")
def add_command(
    files: Annotated[list[Path], typer.Argument(help="files to store")],
    source: Annotated[str, typer.Option(help="report, url_capture, seizure or upload")],
    purpose: Annotated[str, typer.Option(help="why it is stored (a purpose code)")],
    note: Annotated[str | None, typer.Option(help="free text for the custody record")] = None,
    source_ref: Annotated[
        str | None, typer.Option(help="the report, capture or seizure it came from")
    ] = None,
    method: Annotated[str, typer.Option(help="how it was acquired")] = "upload",
    output: FORMAT = "text",
) -> None:
    """Store files encrypted; print one line (or JSON object) per file. All or nothing."""
    from opschub.evidence import service

    _check_format(output)
    for path in files:  # every file checked before anything is stored
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            _fail(f"{path}: cannot be read ({exc.strerror or exc}); nothing stored", 1)
    vault, actor = _vault(), _operator()
    results = []
    with _session() as session:
        for path in files:
            try:
                with open(path, "rb") as handle:
                    stored = service.put(
                        session,
                        vault,
                        handle,
                        source_kind=source,
                        actor=actor,
                        purpose=purpose,
                        note=note,
                        original_name=path.name,
                        method=method,
                        source_ref=source_ref,
                    )
            except OSError as exc:
                raise service.EvidenceError(
                    f"{path}: cannot be stored ({exc.strerror or exc}); nothing stored"
                ) from None
            except service.EvidenceError as exc:
                raise service.EvidenceError(f"{path}: {exc}; nothing stored") from None
            results.append(stored.to_json())
    for path, result in zip(files, results, strict=True):
        if output == "json":
            typer.echo(json.dumps(result))
        else:
            state = "already stored" if result["duplicate"] else "stored"
            typer.echo(f"{path}: {state} as {result['id']} (sha256 {result['sha256']})")


@evidence_app.command("show")
def show_command(item_id: str, output: FORMAT = "text") -> None:
    """Metadata and custody events of an item (never its bytes)."""
    from opschub.evidence import service

    _check_format(output)
    with _session() as session:
        data = service.item_as_dict(session, service.get_item(session, item_id))
    if output == "json":
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{data['id']}  {data['media_type']}  {data['size']} bytes  {data['state']}")
    typer.echo(f"sha256 {data['sha256']}\nmd5    {data['md5']}\nsha1   {data['sha1']}")
    if data["pdq"]:
        typer.echo(f"pdq    {data['pdq']} (quality {data['pdq_quality']})")
    typer.echo(f"on hold: {'yes' if data['on_hold'] else 'no'}; category: {data['category']}")
    for ev in data["custody"]:
        typer.echo(
            f"  {ev['seq']:>3} {ev['occurred_at']}  {ev['action']:<8} {ev['actor_label']}"
            f"  [{ev['purpose']}] {ev['note']}".rstrip()
        )


@evidence_app.command("get")
def get_command(
    item_id: str,
    purpose: Annotated[str, typer.Option(help="why you take it out (a purpose code)")],
    out: Annotated[Path, typer.Option(help="file to write the decrypted bytes to")],
    note: Annotated[str | None, typer.Option(help="free text for the custody record")] = None,
) -> None:
    """Decrypt an item into a file; the download is a custody event."""
    from opschub.evidence import service

    if out.exists():
        _fail(f"{out}: exists; choose a new file", 2)
    vault = _vault()
    partial = out.with_name(out.name + ".part")
    try:
        with _session() as session:
            chunks = service.open_for(
                session,
                vault,
                item_id,
                actor=_operator(),
                purpose=purpose,
                note=note,
                action="download",
            )
            with open(partial, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(f"{item_id}: written to {out}")


@evidence_app.command("hold")
def hold_command(
    item_id: str, reason: Annotated[str, typer.Option(help="why (e.g. the court order)")]
) -> None:
    """Place a legal hold: the item cannot be destroyed until released."""
    from opschub.evidence import service

    with _session() as session:
        service.hold(session, item_id, actor=_operator(), reason=reason)
    typer.echo(f"{item_id}: on legal hold")


@evidence_app.command("release")
def release_command(item_id: str, reason: Annotated[str, typer.Option(help="why")] = "") -> None:
    """Release a legal hold."""
    from opschub.evidence import service

    with _session() as session:
        service.release(session, item_id, actor=_operator(), reason=reason)
    typer.echo(f"{item_id}: hold released")


@evidence_app.command("approve")
def approve_command(
    item_id: str,
    action: Annotated[str, typer.Option("--for", help="export or destroy")],
    note: Annotated[str, typer.Option(help="free text")] = "",
) -> None:
    """Approve the next export or destruction of an item (four eyes)."""
    from opschub.evidence import service

    with _session() as session:
        service.approve(session, item_id, actor=_operator(), action=action, note=note)
    typer.echo(f"{item_id}: {action} approved")


@evidence_app.command("destroy")
def destroy_command(
    item_id: str,
    reason: Annotated[str, typer.Option(help="why (recorded on the certificate)")],
    yes: Annotated[bool, typer.Option("--yes", help="confirm: this cannot be undone")] = False,
    rule: Annotated[str | None, typer.Option(help="the retention rule applied")] = None,
) -> None:
    """Destroy an item (cryptographic erase) and print its signed certificate as JSON."""
    from opschub.evidence import service

    if not yes:
        _fail("destruction cannot be undone; add --yes to confirm", 2)
    vault = _vault()
    with _session() as session:
        document = service.destroy(
            session, vault, item_id, actor=_operator(), reason=reason, rule=rule
        )
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@evidence_app.command("export")
def export_command(
    item_ids: Annotated[list[str], typer.Argument(help="items to export")],
    to: Annotated[Path, typer.Option("--to", help="new directory for the package")],
    purpose: Annotated[str, typer.Option(help="a purpose code")] = "transfer_to_police",
    recipient: Annotated[str, typer.Option(help="who receives it")] = "",
    note: Annotated[str | None, typer.Option(help="free text for the custody record")] = None,
    encrypt_to: Annotated[
        Path | None,
        typer.Option("--encrypt-to", help="the recipient's X25519 public key (PEM)"),
    ] = None,
) -> None:
    """Export items as a signed BagIt evidence package."""
    from opschub.evidence.package import export_package
    from opschub.evidence.recipient import RecipientError, load_public

    recipient_pem = _read_key(encrypt_to)
    if recipient_pem is not None:
        try:
            load_public(recipient_pem)
        except RecipientError as exc:
            _fail(f"{encrypt_to}: {exc}", 2)
    vault = _vault()
    with _session() as session:
        result = export_package(
            session,
            vault,
            item_ids,
            to,
            actor=_operator(),
            purpose=purpose,
            note=note,
            recipient=recipient,
            encrypt_to=recipient_pem,
        )
    typer.echo(f"package {result['package_id']}: {len(result['items'])} item(s) in {to}")


@evidence_app.command("import")
def import_command(
    directory: Path,
    public_key: Annotated[
        Path | None, typer.Option(help="the sender's published public key (PEM)")
    ] = None,
    output: FORMAT = "text",
) -> None:
    """Store the items of a verified package from another opschub, keeping their custody."""
    from opschub.evidence.package import PackageError, import_package

    _check_format(output)
    pem = _read_key(public_key)
    vault = _vault()
    try:
        with _session() as session:
            results = [
                r.to_json()
                for r in import_package(
                    session, vault, directory, actor=_operator(), public_key_pem=pem
                )
            ]
    except PackageError as exc:
        _fail(str(exc), 2)
    for result in results:
        typer.echo(json.dumps(result) if output == "json" else f"imported {result['id']}")


def _read_key(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text()
    except OSError as exc:
        _fail(f"{path}: cannot be read ({exc.strerror})", 2)


@package_app.command("verify")
def package_verify_command(
    directory: Path,
    public_key: Annotated[
        Path | None, typer.Option(help="the sender's published public key (PEM)")
    ] = None,
) -> None:
    """Check a package's signature, manifests and custody chains (no account needed)."""
    from opschub.evidence.package import PackageError, verify_package

    try:
        problems = verify_package(directory, _read_key(public_key))
    except PackageError as exc:
        _fail(str(exc), 2)
    if problems:
        for problem in problems:
            typer.echo(problem)
        _fail(f"{directory}: package does NOT verify: {len(problems)} problem(s)", 1)
    typer.echo(f"{directory}: package verifies (signature, manifests, custody chains)")


@package_app.command("decrypt")
def package_decrypt_command(
    directory: Path,
    key: Annotated[Path, typer.Option(help="your X25519 private key (PEM)")],
    to: Annotated[Path, typer.Option("--to", help="directory for the decrypted files")],
) -> None:
    """Decrypt the material of a package sealed to you (verify it first)."""
    from opschub.evidence.package import PackageError, verify_package
    from opschub.evidence.recipient import RecipientError, decrypt_package

    try:
        problems = verify_package(directory)
        if problems:
            _fail(f"{directory}: package does NOT verify: {problems[0]}", 1)
        written = decrypt_package(directory, key.read_bytes(), to)
    except (PackageError, OSError) as exc:
        _fail(str(exc), 2)
    except RecipientError as exc:
        _fail(f"{directory}: {exc}", 1)
    for path in written:
        typer.echo(f"decrypted {path}")


@certificate_app.command("verify")
def certificate_verify_command(
    file: Path,
    public_key: Annotated[Path | None, typer.Option(help="the published public key (PEM)")] = None,
) -> None:
    """Check a certificate of destruction's signature."""
    from opschub.evidence.service import verify_document

    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        _fail(f"{file}: cannot be read as JSON ({exc})", 2)
    problems = verify_document(document, _read_key(public_key))
    if problems:
        for problem in problems:
            typer.echo(f"{file}: {problem}")
        raise typer.Exit(1)
    media = document.get("media", {})
    typer.echo(f"{file}: valid certificate for item {media.get('item_id')}")


@certificate_app.command("show")
def certificate_show_command(item_id: str) -> None:
    """Print the certificate of a destroyed item."""
    from opschub.evidence import service

    with _session() as session:
        document = service.certificate(session, item_id)
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@evidence_app.command("public-key")
def public_key_command() -> None:
    """Print the public key that verifies certificates and packages (publish it)."""
    typer.echo(_vault().signer.public_key_pem(), nl=False)


@evidence_app.command("verify")
def verify_command(output: FORMAT = "text") -> None:
    """Re-hash every blob, check every custody chain and its anchors in the audit log."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from opschub.evidence import integrity, service

    _check_format(output)
    vault = _vault()
    console = Console(stderr=True)
    with _session() as session:
        total = service.count_items(session)
        with Progress(
            "verifying evidence",
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=total < PROGRESS_THRESHOLD or not console.is_terminal,
        ) as bar:
            task = bar.add_task("verify", total=total)
            report = integrity.verify(session, vault, progress=lambda n: bar.advance(task, n))
    if output == "json":
        typer.echo(json.dumps([p.to_json() for p in report.problems]))
    else:
        for problem in report.problems:
            typer.echo(str(problem))
    summary = f"{report.items} item(s), {report.blobs_checked} blob(s), {report.events} event(s)"
    if report.problems:
        _fail(f"NOT intact: {len(report.problems)} problem(s) in {summary}", 1)
    typer.echo(f"evidence intact: {summary}", err=output == "json")


@evidence_app.command("recover")
def recover_command(
    grace_minutes: Annotated[int, typer.Option(min=0, help="leave newer temporary blobs")] = 60,
) -> None:
    """Finish or undo what a crash left behind (temporary and orphaned blobs)."""
    from datetime import timedelta

    from opschub.evidence import service

    with _session() as session:
        done = service.recover(session, _vault(), grace=timedelta(minutes=grace_minutes))
    for line in done:
        typer.echo(line)
    typer.echo(f"recovered: {len(done)} action(s)")


@keys_app.command("rotate")
def rotate_command() -> None:
    """New key-encryption key; every data key re-wrapped (no blob re-encrypted)."""
    from opschub.evidence import service

    vault = _vault()
    with _session() as session:
        new, count = service.rotate_keys(session, vault, actor=_operator())
    with _session() as session:
        retired = service.retire_old_keys(session, vault)
    typer.echo(f"key-encryption key {new}: {count} data key(s) re-wrapped; {len(retired)} retired")


@retention_app.command("set")
def retention_set_command(
    category: Annotated[str, typer.Option(help="unassessed, illegal or not_illegal")],
    linked_state: Annotated[
        str,
        typer.Option(
            help="state of the linked report (received, assessing, action_taken, not_illegal, "
            "duplicate, out_of_jurisdiction, closed) or case (case_open, case_in_progress, "
            "case_on_hold, case_closed), or * for any"
        ),
    ],
    keep_days: Annotated[int, typer.Option(help="days to keep after that state began")],
    name: Annotated[str, typer.Option(help="the rule's name, e.g. the law it follows")],
) -> None:
    """Add or change a retention rule."""
    from opschub.evidence import service

    with _session() as session:
        rule = service.set_retention_rule(
            session,
            actor=_operator(),
            category=category,
            linked_state=linked_state,
            keep_days=keep_days,
            name=name,
        )
        rule_id = rule.id
    typer.echo(f"rule {rule_id}: {category}/{linked_state}: keep {keep_days} days")


@retention_app.command("due")
def retention_due_command(output: FORMAT = "text") -> None:
    """List the items whose retention has run out (destroy them after checking the list)."""
    from opschub.evidence import service

    _check_format(output)
    with _session() as session:
        due = [d.to_json() for d in service.due_for_destruction(session)]
    for entry in due:
        typer.echo(
            json.dumps(entry)
            if output == "json"
            else f"{entry['id']}  due since {entry['due_since']}  ({entry['rule']})"
        )
    if output == "text":
        typer.echo(f"{len(due)} item(s) due for destruction", err=True)
