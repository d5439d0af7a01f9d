"""Hash lists in the web UI: the lists with their source, sharing terms, version, size and import
history; import (all or nothing, every bad line named), export, and removal confirmed on a page of
its own. ``hashlists.read`` sees and exports lists, ``hashlists.manage`` imports and removes."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from opschub.hashlists import service
from opschub.matching.formats import HASH_TYPES, ListFormatError, UnsupportedExport
from opschub.matching.store import StoreError, UnknownList
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db
from opschub.web.middleware import BodyLimit
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Hash lists"), "/hashlists", "hashlists.read", order=30)]

# A hash list file is text; a billion-hash list is about 70 GB, far beyond a web upload. Larger
# files go through `opschub lists import` on the server.
MAX_UPLOAD_BYTES = 2 * 1024**3
# The import form takes a file: up to MAX_UPLOAD_BYTES (plus the form's few fields).
BODY_LIMITS = {"/hashlists/import": BodyLimit(MAX_UPLOAD_BYTES + 64 * 1024, multipart=True)}
ERRORS_SHOWN = 50
FORMAT_LABELS = {
    "": N_("detect from the file"),
    "lines": N_("one hash a line"),
    "csv": N_("CSV with a header row"),
    "tx-csv": N_("ThreatExchange CSV"),
    "vics": N_("Project VIC / VICS JSON"),
    "jsonl": N_("JSON lines"),
}
FIELD_ERRORS = {
    "bad_name": N_(
        "A list name is 1 to 100 letters, digits, dots, hyphens or underscores, starting with a "
        "letter or digit."
    ),
    "bad_format": N_("Choose one of the formats."),
    "bad_hash_type": N_("Choose one of the hash types."),
    "system_list": N_("This list is kept by the system and cannot be changed here."),
    "no_file": N_("Choose a file to import."),
    "too_large": N_("The file is larger than 2 GB: import it with “opschub lists import”."),
}


def _store() -> Any:
    return service.store()


def _info_or_404(request: Request, name: str) -> Any:
    try:
        return service.get(_store(), name)
    except UnknownList:
        raise HTTPException(
            status_code=404, detail=request.state.gettext("No such hash list.")
        ) from None


@router.get("/hashlists", response_class=HTMLResponse)
def lists_page(
    request: Request, principal: Annotated[Principal, requires("hashlists.read")]
) -> HTMLResponse:
    return render(
        request,
        "hashlists/lists.html",
        {
            "lists": service.lists(_store()),
            "can_manage": principal.can("hashlists.manage"),
            "removed": request.query_params.get("removed", ""),
            "system_lists": service.SYSTEM_LISTS,
        },
    )


def _import_page(
    request: Request,
    form: dict[str, str] | None = None,
    *,
    field_error: tuple[str, str] | None = None,
    file_errors: list[str] | None = None,
    invalid: int = 0,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "hashlists/import.html",
        {
            "form": form or {"name": request.query_params.get("name", "")},
            "lists": [info.name for info in service.lists(_store())],
            "formats": list(FORMAT_LABELS.items()),
            "hash_types": HASH_TYPES,
            "field_error": field_error,
            "field_errors": FIELD_ERRORS,
            "file_errors": file_errors or [],
            "invalid": invalid,
        },
        status_code=status_code,
    )


@router.get("/hashlists/import", response_class=HTMLResponse)
def import_page(
    request: Request, principal: Annotated[Principal, requires("hashlists.manage")]
) -> HTMLResponse:
    return _import_page(request)


def _save_upload(upload: UploadFile, filename: str) -> Path:
    """The upload under its own name (the store reads the format from the suffix and keeps the
    name in the list's history) in a private temporary folder; refused past MAX_UPLOAD_BYTES."""
    folder = Path(tempfile.mkdtemp(dir=service.upload_dir()))
    path = folder / filename
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise service.HashListError("file", "too_large", "file too large")
            out.write(chunk)
    return path


def _line_errors(request: Request, exc: ListFormatError) -> list[str]:
    """Each bad line named: "line 12: not a 64-digit hex hash" (the reason is the library's)."""
    _ = request.state.gettext
    out = []
    for error in exc.errors[:ERRORS_SHOWN]:
        if error.line is not None:
            out.append(
                _("Line %(line)s: %(reason)s") % {"line": error.line, "reason": error.reason}
            )
        elif error.item:
            out.append(
                _("Item %(item)s: %(reason)s") % {"item": error.item, "reason": error.reason}
            )
        else:
            out.append(_("The file: %(reason)s") % {"reason": error.reason})
    return out


@router.post("/hashlists/import", response_class=HTMLResponse)
async def import_submit(
    request: Request, principal: Annotated[Principal, requires("hashlists.manage")]
) -> Response:
    data = await request.form()

    def text(key: str) -> str:
        value = data.get(key)
        return value.strip() if isinstance(value, str) else ""

    form = {
        key: text(key)
        for key in ("name", "format", "hash_type", "version", "source", "sharing", "description")
    }
    form["hash_type"] = form["hash_type"] or "pdq"
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, form, field_error=("file", "no_file"), status_code=400)
    path: Path | None = None
    try:
        request_ = service.ImportRequest(
            name=form["name"],
            path=Path("."),
            filename=Path(upload.filename).name.lstrip(".") or "upload.txt",
            format=form["format"] or None,
            hash_type=form["hash_type"],
            version=form["version"],
            source=form["source"],
            sharing=form["sharing"],
            description=form["description"],
        )
        service.validate_import(request_)
        path = _save_upload(upload, request_.filename)
        request_ = service.ImportRequest(**{**request_.__dict__, "path": path})
        with get_db(request).transaction() as session:
            summary = service.import_file(session, _store(), request_, principal)
    except service.HashListError as exc:
        return _import_page(request, form, field_error=(exc.field, exc.code), status_code=400)
    except ListFormatError as exc:
        return _import_page(
            request,
            form,
            file_errors=_line_errors(request, exc),
            invalid=exc.invalid,
            status_code=400,
        )
    except (StoreError, OSError, ValueError) as exc:
        return _import_page(request, form, file_errors=[str(exc)], status_code=400)
    finally:
        if path is not None:
            shutil.rmtree(path.parent, ignore_errors=True)
        await upload.close()
    return RedirectResponse(
        link(
            request,
            f"/hashlists/{request_.name}",
            imported=summary.added,
            present=summary.already_present,
        ),
        status_code=303,
    )


@router.get("/hashlists/{name}", response_class=HTMLResponse)
def list_page(
    request: Request, name: str, principal: Annotated[Principal, requires("hashlists.read")]
) -> HTMLResponse:
    info = _info_or_404(request, name)
    imported = request.query_params.get("imported")
    return render(
        request,
        "hashlists/list.html",
        {
            "info": info,
            "imports": list(reversed(info.imports)),
            "can_manage": principal.can("hashlists.manage"),
            "is_system": name in service.SYSTEM_LISTS,
            "export_formats": service.EXPORT_FORMATS,
            "imported": int(imported) if imported and imported.isdigit() else None,
            "present": request.query_params.get("present", "0"),
        },
    )


@router.get("/hashlists/{name}/export")
def export_list(
    request: Request, name: str, principal: Annotated[Principal, requires("hashlists.read")]
) -> Response:
    _info_or_404(request, name)
    format = request.query_params.get("format", "csv")
    out = io.StringIO()
    try:
        with get_db(request).transaction() as session:
            service.export(session, _store(), name, format, out, principal)
    except (service.HashListError, UnsupportedExport) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    suffix = {"vics": "json", "tx-csv": "csv", "lines": "txt"}.get(format, format)
    return Response(
        out.getvalue(),
        media_type="application/json" if format == "vics" else "text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )


@router.get("/hashlists/{name}/remove", response_class=HTMLResponse)
def remove_page(
    request: Request, name: str, principal: Annotated[Principal, requires("hashlists.manage")]
) -> HTMLResponse:
    info = _info_or_404(request, name)
    return render(
        request,
        "hashlists/remove.html",
        {"info": info, "is_system": name in service.SYSTEM_LISTS, "error": False},
        status_code=409 if name in service.SYSTEM_LISTS else 200,
    )


@router.post("/hashlists/{name}/remove", response_class=HTMLResponse)
async def remove_submit(
    request: Request, name: str, principal: Annotated[Principal, requires("hashlists.manage")]
) -> Response:
    info = _info_or_404(request, name)
    data = await request.form()
    typed = data.get("confirm_name")
    if not isinstance(typed, str) or typed.strip() != name or name in service.SYSTEM_LISTS:
        return render(
            request,
            "hashlists/remove.html",
            {"info": info, "is_system": name in service.SYSTEM_LISTS, "error": True},
            status_code=400,
        )
    with get_db(request).transaction() as session:
        service.remove(session, _store(), name, principal)
    return RedirectResponse(link(request, "/hashlists", removed=name), status_code=303)
