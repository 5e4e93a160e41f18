"""A PEP 503 simple package index on 127.0.0.1, serving wheels the test builds.

Each wheel is a zip written directly (``*.dist-info`` with METADATA, WHEEL and a RECORD of
sha256 digests), so no build tool runs. The server counts the wheel downloads, so a test can
tell that a second run installed nothing.
"""

from __future__ import annotations

import base64
import hashlib
import html
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(folder: Path, dist: str, version: str, modules: dict[str, str],
                requires: tuple[str, ...] = ()) -> Path:
    """A pure-Python wheel of ``dist`` holding ``modules`` (file path -> source)."""
    stem = dist.replace("-", "_")
    info = f"{stem}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {req}\n" for req in requires)
    files = {**modules, f"{info}/METADATA": metadata,
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: autoagent-tests\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    encoded = {path: text.encode() for path, text in files.items()}
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in encoded.items()]
    encoded[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in encoded.items():
            archive.writestr(member, data)
    return path


@dataclass
class PackageIndex:
    """The index's URL (``.../simple/``) and the wheels fetched so far."""

    url: str
    folder: Path
    downloads: list[str] = field(default_factory=list)


def _normalize(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


@contextmanager
def serve_index(folder: Path) -> Iterator[PackageIndex]:
    """Serve every ``*.whl`` in ``folder`` as a simple index (a project page per
    distribution, links with sha256 fragments)."""
    index = PackageIndex("", folder)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        head = False

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not self.head:
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.head = True
            self.do_GET()

        def do_GET(self) -> None:
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            wheels = sorted(folder.glob("*.whl"))
            if parts == ["simple"]:
                names = sorted({_normalize(w.name.split("-")[0]) for w in wheels})
                links = "".join(f'<a href="/simple/{n}/">{n}</a>\n' for n in names)
                self._send(200, f"<html><body>{links}</body></html>".encode(), "text/html")
            elif len(parts) == 2 and parts[0] == "simple":
                mine = [w for w in wheels if _normalize(w.name.split("-")[0]) == parts[1]]
                if not mine:
                    self._send(404, b"not found", "text/plain")
                    return
                links = "".join(
                    f'<a href="/files/{html.escape(w.name)}#sha256='
                    f'{hashlib.sha256(w.read_bytes()).hexdigest()}">{html.escape(w.name)}</a>\n'
                    for w in mine)
                self._send(200, f"<html><body>{links}</body></html>".encode(), "text/html")
            elif len(parts) == 2 and parts[0] == "files" and (folder / parts[1]).is_file():
                if not self.head:
                    index.downloads.append(parts[1])
                self._send(200, (folder / parts[1]).read_bytes(), "application/octet-stream")
            else:
                self._send(404, b"not found", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    index.url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
