"""The in-browser fingerprints (src/opschub/intake/static/js) checked in Chromium.

PDQ against the reference hashes (expected.csv) and the server's hash (Pillow + pdqhash) of the
same files; MD5 and SHA-256 against hashlib; the error paths; the self-report form contract.
The test page loads the scripts by <script src> only, under the production CSP.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageOps

from opschub.web.middleware import CSP

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Page, Route

REPO_ROOT = Path(__file__).resolve().parents[2]
JS_DIR = REPO_ROOT / "src" / "opschub" / "intake" / "static" / "js"
PAGES_DIR = Path(__file__).parent / "pages"
CONFORMANCE_DISTANCE = 10  # PDQ documentation: within 10 bits of the reference at quality >= 80
CONFORMANCE_QUALITY = 80

FINGERPRINT_ALL = """
async (options) => {
  const out = [];
  for (const file of document.getElementById("probe").files) {
    out.push(await OpschubFingerprint.fingerprintFile(file, options || {}));
  }
  return out;
}
"""


@dataclass(frozen=True)
class ServerHash:
    hex: str
    quality: int


def server_pdq(data: bytes) -> ServerHash:
    """What the server computes: full Pillow decode (EXIF orientation applied) + pdqhash."""
    with Image.open(io.BytesIO(data)) as img:
        rgb = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    bits, quality = pdqhash.compute(rgb)
    return ServerHash(np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality))


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def payload(name: str, mime: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": data}


def jpeg_bytes(img: Image.Image, **save: Any) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=92, **save)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def reference_dir(shared_dir: Path) -> Path:
    path = shared_dir / "pdq-reference"
    if not (path / "expected.csv").is_file():
        pytest.skip(f"PDQ reference data not found at {path} (set OPSCHUB_SHARED_DIR)")
    return path


@pytest.fixture(scope="module")
def site(static_server: Callable[..., str]) -> str:
    return static_server({"/": PAGES_DIR, "/js": JS_DIR}, headers={"Content-Security-Policy": CSP})


def open_test_page(page: Page, site: str) -> Page:
    response = page.goto(f"{site}/fingerprint.html")
    assert response is not None and response.headers["content-security-policy"] == CSP
    page.wait_for_function("() => window.OpschubSelfReport && window.OpschubFingerprint")
    return page


@pytest.fixture
def test_page(page: Page, site: str) -> Page:
    return open_test_page(page, site)


@dataclass(frozen=True)
class ImageRun:
    path: Path
    relative: str
    browser: dict[str, Any]
    server: ServerHash


@pytest.fixture(scope="module")
def image_runs(browser: Browser, site: str, reference_dir: Path) -> Iterator[list[ImageRun]]:
    paths = sorted(p for p in (reference_dir / "images").rglob("*") if p.is_file())
    assert len(paths) >= 20, f"expected the reference images under {reference_dir / 'images'}"
    context = browser.new_context()
    try:
        page = open_test_page(context.new_page(), site)
        page.set_input_files("#probe", [str(p) for p in paths])
        results = page.evaluate(FINGERPRINT_ALL)
        assert page.evaluate("window.cspViolations") == []
    finally:
        context.close()
    yield [
        ImageRun(p, p.relative_to(reference_dir).as_posix(), r, server_pdq(p.read_bytes()))
        for p, r in zip(paths, results, strict=True)
    ]


def test_every_reference_image_is_hashed(image_runs: list[ImageRun]) -> None:
    for run in image_runs:
        assert "error" not in run.browser, (run.relative, run.browser)
        assert run.browser["kind"] == "image", run.relative
        assert len(run.browser["pdq"]) == 64 and run.browser["pdq"] == run.browser["pdq"].lower()
        assert 0 <= run.browser["quality"] <= 100


def test_pdq_within_conformance_of_reference_hashes(
    image_runs: list[ImageRun], reference_dir: Path
) -> None:
    with (reference_dir / "expected.csv").open(newline="") as handle:
        expected = {row["path"]: row["pdq_hex"] for row in csv.DictReader(handle)}
    checked = 0
    for run in image_runs:
        if run.relative not in expected or run.browser["quality"] < CONFORMANCE_QUALITY:
            continue
        d = distance(run.browser["pdq"], expected[run.relative])
        assert d <= CONFORMANCE_DISTANCE, f"{run.relative}: distance {d} to expected.csv"
        checked += 1
    assert checked >= 20


def test_pdq_within_conformance_of_server_hash(image_runs: list[ImageRun]) -> None:
    for run in image_runs:
        d = distance(run.browser["pdq"], run.server.hex)
        assert d <= CONFORMANCE_DISTANCE, f"{run.relative}: distance {d} to the server's hash"
        assert abs(run.browser["quality"] - run.server.quality) <= 5, run.relative


def test_distance_table(image_runs: list[ImageRun], reference_dir: Path) -> None:
    """Prints the figures recorded in docs/fingerprints.md (run with -s to see them)."""
    with (reference_dir / "expected.csv").open(newline="") as handle:
        expected = {row["path"]: row["pdq_hex"] for row in csv.DictReader(handle)}
    print(f"\n{'image':44} {'q browser':>9} {'q server':>8} {'vs csv':>6} {'vs server':>9}")
    for run in image_runs:
        reference = expected.get(run.relative)
        to_csv = "-" if reference is None else str(distance(run.browser["pdq"], reference))
        to_server = distance(run.browser["pdq"], run.server.hex)
        print(
            f"{run.relative:44} {run.browser['quality']:>9} {run.server.quality:>8} "
            f"{to_csv:>6} {to_server:>9}"
        )


def test_digests_of_reference_images_equal_hashlib(image_runs: list[ImageRun]) -> None:
    for run in image_runs:
        data = run.path.read_bytes()
        assert run.browser["md5"] == hashlib.md5(data).hexdigest(), run.relative
        assert run.browser["sha256"] == hashlib.sha256(data).hexdigest(), run.relative


def test_exif_orientation_is_honoured(test_page: Page) -> None:
    from skimage import data as samples

    upright = Image.fromarray(samples.astronaut())
    # Stored rotated; EXIF orientation 6 tells viewers to rotate it back to upright.
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = jpeg_bytes(upright.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes())
    test_page.set_input_files("#probe", files=[payload("rotated.jpg", "image/jpeg", stored)])
    [result] = test_page.evaluate(FINGERPRINT_ALL)
    upright_hash = server_pdq(jpeg_bytes(upright))
    assert distance(result["pdq"], upright_hash.hex) <= CONFORMANCE_DISTANCE
    assert distance(result["pdq"], server_pdq(stored).hex) <= CONFORMANCE_DISTANCE


def test_large_images_are_shrunk_first_within_conformance(
    test_page: Page, reference_dir: Path
) -> None:
    path = reference_dir / "images" / "bridge-mods" / "aaa-orig.jpg"
    test_page.set_input_files("#probe", [str(path)])
    [result] = test_page.evaluate(FINGERPRINT_ALL, {"maxPixels": 512 * 512})
    assert distance(result["pdq"], server_pdq(path.read_bytes()).hex) <= CONFORMANCE_DISTANCE


def test_digests_stream_over_many_chunks(test_page: Page) -> None:
    data = random.Random(5).randbytes(3 * 1024 * 1024 + 12345)
    test_page.set_input_files(
        "#probe",
        files=[
            payload("blob.bin", "application/octet-stream", data),
            payload("clip.mp4", "video/mp4", data[:1_000_001]),
        ],
    )
    # 65,537-byte chunks: not a multiple of the 64-byte block, so block carry-over is exercised.
    blob, clip = test_page.evaluate(FINGERPRINT_ALL, {"chunkSize": 65537})
    assert blob == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "pdq": None,
        "quality": None,
        "kind": "other",
    }
    assert clip["kind"] == "video" and clip["pdq"] is None and "error" not in clip
    assert clip["sha256"] == hashlib.sha256(data[:1_000_001]).hexdigest()
    assert clip["md5"] == hashlib.md5(data[:1_000_001]).hexdigest()


def test_md5_and_sha256_known_vectors_and_web_crypto(test_page: Page) -> None:
    vectors = ["", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz", "1234567890" * 8]
    got = test_page.evaluate(
        """async (vectors) => {
          const enc = new TextEncoder();
          const out = [];
          for (const v of vectors) {
            const bytes = enc.encode(v);
            const subtle = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
            out.push([OpschubMD5.hex(bytes), OpschubSHA256.hex(bytes),
                      Array.from(subtle, (b) => b.toString(16).padStart(2, "0")).join("")]);
          }
          return out;
        }""",
        vectors,
    )
    for text, (md5, sha, subtle) in zip(vectors, got, strict=True):
        assert md5 == hashlib.md5(text.encode()).hexdigest()
        assert sha == subtle == hashlib.sha256(text.encode()).hexdigest()


def test_undecodable_and_empty_files_give_errors(test_page: Page) -> None:
    test_page.set_input_files(
        "#probe",
        files=[
            payload("broken.jpg", "image/jpeg", b"\xff\xd8\xff" + b"x" * 500),
            payload("empty.png", "image/png", b""),
        ],
    )
    broken, empty = test_page.evaluate(FINGERPRINT_ALL)
    for result, error in ((broken, "cannot-decode"), (empty, "empty")):
        assert result["error"] == error
        assert result["kind"] == "image"
        assert result["sha256"] is result["md5"] is result["pdq"] is result["quality"] is None


# --- the self-report form (selfreport.js) -------------------------------------------------------

HIDDEN = ("sha256", "md5", "pdq", "pdq_quality", "media_kind")


def hidden_values(page: Page) -> dict[str, str]:
    return {name: page.input_value(f'#selfreport-form input[name="{name}"]') for name in HIDDEN}


def choose(page: Page, name: str, mime: str, data: bytes) -> None:
    page.set_input_files("#selfreport-file", files=[payload(name, mime, data)])
    page.wait_for_function(
        "() => ['ready', 'error'].includes(document.forms['selfreport-form'].dataset.state)"
    )


def test_selfreport_sends_only_fingerprints(test_page: Page) -> None:
    from skimage import data as samples

    photo = jpeg_bytes(Image.fromarray(samples.coffee()))
    assert test_page.get_attribute("#selfreport-file", "name") is None  # removed on bind
    assert test_page.is_disabled("#selfreport-submit")
    choose(test_page, "coffee.jpg", "image/jpeg", photo)
    assert test_page.text_content("#selfreport-status") == "READY"
    assert test_page.is_enabled("#selfreport-submit")
    values = hidden_values(test_page)
    assert values["sha256"] == hashlib.sha256(photo).hexdigest()
    assert values["md5"] == hashlib.md5(photo).hexdigest()
    assert distance(values["pdq"], server_pdq(photo).hex) <= CONFORMANCE_DISTANCE
    assert values["media_kind"] == "image" and values["pdq_quality"].isdigit()

    bodies: list[bytes] = []

    def capture(route: Route) -> None:
        bodies.append(route.request.post_data_buffer or b"")
        route.fulfill(status=200, content_type="text/html", body="<p>received</p>")

    test_page.route("**/submit", capture)
    # A listener added after selfreport.js's own sees whether the file input was cleared.
    test_page.eval_on_selector(
        "#selfreport-form",
        """form => form.addEventListener("submit", () => sessionStorage.setItem(
             "filesAtSubmit", String(document.getElementById("selfreport-file").files.length)))""",
    )
    with test_page.expect_navigation():
        test_page.click("#selfreport-submit")
    assert test_page.evaluate("sessionStorage.getItem('filesAtSubmit')") == "0"
    assert len(bodies) == 1
    body = bodies[0]
    assert photo[:2048] not in body and b"coffee.jpg" not in body
    fields = dict(pair.split("=", 1) for pair in body.decode().split("&"))
    assert set(fields) == {*HIDDEN, "age_band"}
    assert fields["sha256"] == values["sha256"] and fields["pdq"] == values["pdq"]


@pytest.mark.parametrize(
    ("name", "mime", "data", "message"),
    [
        ("broken.jpg", "image/jpeg", b"\xff\xd8\xff" + b"y" * 300, "CANNOT-READ"),
        ("notes.txt", "text/plain", b"just some words", "NOT-MEDIA"),
        ("nothing.png", "image/png", b"", "EMPTY"),
    ],
)
def test_selfreport_refuses_files_it_cannot_fingerprint(
    test_page: Page, name: str, mime: str, data: bytes, message: str
) -> None:
    choose(test_page, name, mime, data)
    assert test_page.text_content("#selfreport-status") == message
    assert test_page.is_disabled("#selfreport-submit")
    assert set(hidden_values(test_page).values()) == {""}
    # Even a scripted submit (the button is disabled) must be stopped by selfreport.js.
    prevented = test_page.eval_on_selector(
        "#selfreport-form",
        """form => {
          let prevented = null;
          form.addEventListener("submit", (e) => { prevented = e.defaultPrevented; });
          form.requestSubmit();
          return prevented;
        }""",
    )
    assert prevented is True


def test_selfreport_video_has_no_pdq(test_page: Page) -> None:
    clip = random.Random(7).randbytes(200_000)
    choose(test_page, "clip.mp4", "video/mp4", clip)
    values = hidden_values(test_page)
    assert values == {
        "sha256": hashlib.sha256(clip).hexdigest(),
        "md5": hashlib.md5(clip).hexdigest(),
        "pdq": "",
        "pdq_quality": "",
        "media_kind": "video",
    }
