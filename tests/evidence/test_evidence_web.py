"""Evidence pages: only for people with evidence.view, never cached, material blurred and
greyscale by default (made on the server), the full image only after a deliberate action,
every view a custody event."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
from evidence_helpers import photo, put_bytes
from fastapi import FastAPI
from PIL import Image

from factories import logged_in_client
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.evidence import service

IMG = re.compile(r'<img src="data:image/jpeg;base64,([^"]+)" id="rendition"')


def _image(html: str) -> Image.Image:
    found = IMG.search(html)
    assert found, "no rendition on the page"
    return Image.open(io.BytesIO(base64.b64decode(found.group(1))))


def test_item_page_shows_record_and_custody_but_no_material(
    app: FastAPI, database: Database
) -> None:
    original = photo(21, 400)
    item = put_bytes(database, original, name="capture.png").item
    client = logged_in_client(app, database, Role.SENIOR_ANALYST)
    listing = client.get("/evidence")
    assert listing.status_code == 200 and item.id in listing.text
    page = client.get(f"/evidence/{item.id}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert item.sha256 in page.text and "capture.png" in page.text
    assert "data:image" not in page.text and "<img" not in page.text


def test_viewing_needs_a_purpose_and_is_blurred_greyscale_by_default(
    app: FastAPI, database: Database
) -> None:
    original = photo(22, 400)
    item = put_bytes(database, original).item
    client = logged_in_client(app, database, Role.POLICE_LIAISON)
    refused = client.post(f"/evidence/{item.id}/view", data={"purpose": ""})
    assert refused.status_code == 400 and "Choose why you need to see this item." in refused.text
    shown = client.post(
        f"/evidence/{item.id}/view", data={"purpose": "investigation", "note": "case 9"}
    )
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    preview = _image(shown.text)
    assert preview.mode == "L"  # greyscale
    assert max(preview.size) <= 480 < 400 * 2  # small
    pixels = np.asarray(preview, dtype=np.int16)
    # Blurred: neighbouring pixels barely differ.
    assert float(np.abs(np.diff(pixels, axis=1)).mean()) < 3
    with database.read() as session:
        last = service.custody(session, item.id)[-1]
    assert (last.action, last.purpose, last.note, last.details) == (
        "view", "investigation", "case 9", {"rendition": "blurred"},
    )  # fmt: skip


def test_full_view_is_a_deliberate_recorded_action(app: FastAPI, database: Database) -> None:
    item = put_bytes(database, photo(23, 300)).item
    client = logged_in_client(app, database, Role.SENIOR_ANALYST)
    full = client.post(f"/evidence/{item.id}/view", data={"purpose": "assessment", "mode": "full"})
    assert full.status_code == 200
    image = _image(full.text)
    assert image.mode == "RGB" and image.size == (300, 300)
    with database.read() as session:
        last = service.custody(session, item.id)[-1]
    assert last.details == {"rendition": "full"} and last.actor_label.startswith("senior-analyst")


def test_people_without_evidence_view_are_refused(app: FastAPI, database: Database) -> None:
    item = put_bytes(database, photo(24)).item
    client = logged_in_client(app, database, Role.ANALYST)
    assert client.get(f"/evidence/{item.id}", follow_redirects=False).status_code == 403
    answer = client.post(
        f"/evidence/{item.id}/view", data={"purpose": "assessment"}, follow_redirects=False
    )
    assert answer.status_code == 403
    with database.read() as session:
        assert [e.action for e in service.custody(session, item.id)] == ["acquire"]


def test_pages_in_chinese(app: FastAPI, database: Database) -> None:
    item = put_bytes(database, photo(25)).item
    client = logged_in_client(app, database, Role.SENIOR_ANALYST)
    page = client.get(f"/evidence/{item.id}?lang=zh-Hans")
    assert "保管链" in page.text and "您为何需要查看？" in page.text
    assert "Chain of custody" not in page.text


def _video(frames: int = 40) -> bytes:
    """A generated MPEG-4 video (moving gradients), key frame every 10 frames."""
    import av

    out = io.BytesIO()
    container = av.open(out, mode="w", format="mp4")
    stream = container.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
    stream.codec_context.gop_size = 10
    y, x = np.mgrid[0:120, 0:160]
    for i in range(frames):
        rgb = np.stack([(x + 5 * i) % 256, (y + 3 * i) % 256, (x + y) % 256], axis=-1)
        frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return out.getvalue()


def test_video_is_shown_as_a_blurred_contact_sheet_of_key_frames(
    app: FastAPI, database: Database
) -> None:
    item = put_bytes(database, _video(), name="clip.mp4").item
    assert item.media_type == "video/mp4"
    client = logged_in_client(app, database, Role.POLICE_LIAISON)
    page = client.get(f"/evidence/{item.id}")
    assert "Show blurred" in page.text and "Show the full image" not in page.text
    shown = client.post(
        f"/evidence/{item.id}/view", data={"purpose": "investigation", "mode": "full"}
    )
    assert shown.status_code == 200
    sheet = _image(shown.text)
    # 4 key frames: two rows of 160-pixel tiles, greyscale and blurred.
    assert sheet.mode == "L" and sheet.size == (480, 320)
    assert float(np.abs(np.diff(np.asarray(sheet, dtype=np.int16), axis=1)).mean()) < 3
    assert "Show the full image" not in shown.text  # never a full view of a video
    with database.read() as session:
        assert service.custody(session, item.id)[-1].details == {"rendition": "sheet"}
