"""Files written whole or not at all, and weights files read without pickle.

Weights, the MNIST cache, graph pictures, digit grids and the training command's run folder
all go through these helpers, so every file minigrad writes survives a crash (a killed
write's leftover is swept by the next write) and no file it reads can run code: a bad one
raises NpzError (or SafetensorsFileError). Weights are `.npz` or, by extension,
`.safetensors` (the `export` extra's safetensors package, NumPy API), which PyTorch and
Hugging Face read too.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

try:
    import fcntl
except ImportError:  # Windows has no flock: there a killed writer's leftover is not swept
    fcntl = None

__all__ = [
    "SAFETENSORS",
    "NpzError",
    "SafetensorsFileError",
    "atomic_path",
    "atomic_write",
    "read_npz",
    "read_safetensors",
    "read_weights",
    "write_safetensors",
    "write_weights",
]

PICKLE_START = b"\x80"  # the PROTO opcode that begins every pickle of protocol 2 or later
PARTIAL = "partial"  # in every temporary name, so a leftover is recognisable by eye and by code
NUMBER_KINDS = "biufc"  # dtype kinds read_npz accepts: no text, records, dates or objects
SAFETENSORS = ".safetensors"  # the extension that picks the format


class NpzError(ValueError):
    """A file that is not a readable, pickle-free `.npz` of numbers; the message names the
    file, what is wrong with it and what to do. `read_npz` raises it for every bad file."""


def file_path(caller: str, path: Any) -> Path:
    """`path` as a Path; None, numbers and open files are refused, naming `caller`."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{caller}: path must be a str or a pathlib.Path, got {path!r:.60}")
    return Path(path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside `path` to write to, renamed onto `path` if the block succeeds.

    Readers see the old file or the whole new one, never a half-written one, even after a
    crash: the data is flushed to disk (fsync) before the rename. A failure or Ctrl-C
    leaves nothing behind. The temporary name keeps the suffix, because matplotlib and
    graphviz choose the format from it, and is made like any new file (not mkstemp's
    private 0600), so a shared folder stays readable under the user's umask.

    A writer killed outright (SIGKILL, power cut) cannot clean up: its temporary file,
    `.<stem>-partial-<12 hex digits><suffix>`, is removed by the next successful write of
    the same `path`. Each writer holds a lock on its temporary file while it writes, so
    the temporary file of a write still going on in another process is left alone.
    """
    path = file_path("atomic_path", path)
    temporary, lock = _create_locked(path)
    try:
        yield temporary
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        if lock is not None:
            os.close(lock)
    _remove_leftovers(path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file to write `path` through, replacing it only once complete (see
    `atomic_path`): `with atomic_write(path) as out: np.savez(out, **arrays)`."""
    with atomic_path(path) as temporary, open(temporary, "wb") as out:
        yield out


def _create_locked(path: Path) -> tuple[Path, int | None]:
    """A new, empty temporary file beside `path`, and the descriptor holding its lock until
    it is closed or the process dies (None without flock: Windows cannot rename an open file).
    """
    while True:
        temporary = path.with_name(f".{path.stem}-{PARTIAL}-{secrets.token_hex(6)}{path.suffix}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        if fcntl is None:
            os.close(descriptor)
            return temporary, None
        with contextlib.suppress(OSError):  # a file system without locks: leftovers stay there
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        if _still_named(temporary, descriptor):
            return temporary, descriptor
        os.close(descriptor)  # another write's sweep took it before the lock was held


def _still_named(temporary: Path, descriptor: int) -> bool:
    try:
        return os.path.samestat(os.stat(temporary), os.fstat(descriptor))
    except FileNotFoundError:
        return False


def _remove_leftovers(path: Path) -> None:
    """Remove the temporary files of earlier writes of `path` whose writer died."""
    if fcntl is None:
        return
    stem, suffix = re.escape(path.stem), re.escape(path.suffix)
    leftover = re.compile(rf"\.{stem}-{PARTIAL}-[0-9a-f]{{12}}{suffix}")
    for name in os.listdir(path.parent):
        if leftover.fullmatch(name):
            _remove_if_abandoned(path.parent / name)


def _remove_if_abandoned(candidate: Path) -> None:
    """Remove `candidate` if no writer holds its lock. The lock is kept until it is gone, so
    a writer that created it a moment ago finds it gone once locked and starts over."""
    try:
        descriptor = os.open(candidate, os.O_RDWR)
    except OSError:
        return  # removed meanwhile, or another user's
    try:
        with contextlib.suppress(OSError):  # a live writer holds it, or locks are not supported
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            candidate.unlink(missing_ok=True)
    finally:
        os.close(descriptor)


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array in an `.npz` file, read with `allow_pickle=False`: a file cannot run code.

    A missing file raises FileNotFoundError, as `open` does. Anything else that is not a
    plain `.npz` of numeric arrays raises NpzError, naming the file, what is wrong with it
    and what to do: a pickle or other non-`.npz` file, a bare `.npy`, a truncated or
    corrupt archive (a cut-short file, a damaged directory, flag or checksum, a member whose
    bytes are gone), an object array (which only pickle can load), a member that is not an
    array, or an array of text, records or dates rather than numbers.
    """
    path = file_path("read_npz", path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:  # neither a zip archive nor an .npy
        raise _not_npz(path) from error
    except (zipfile.BadZipFile, NotImplementedError) as error:  # a bad zip directory
        raise _damaged(path, error) from error
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise NpzError(
            f"{path} is an .npy file holding one unnamed array; an .npz of named arrays is "
            "needed (write it with np.savez(path, name=array, ...))"
        )
    with loaded:
        try:
            arrays = {name: loaded[name] for name in loaded.files}
        except Exception as error:  # damaged bytes fail zipfile or numpy's parser in many ways
            if not _intact(loaded.zip):
                raise _damaged(path, error) from error
            if isinstance(error, ValueError):  # intact bytes: an array that needs pickle
                raise NpzError(
                    f"{path} holds an array that cannot be read without pickle ({error}). "
                    "Object arrays are refused, since loading them can run code; save numbers."
                ) from error
            raise
    for name, array in arrays.items():
        _check_numbers(path, name, array)
    return arrays


def _check_numbers(path: Path, name: str, array: object) -> None:
    if not isinstance(array, np.ndarray):  # NpzFile hands back the raw bytes of a non-.npy
        raise NpzError(
            f"{path}: member {name!r} is not a NumPy array; an .npz holds only arrays "
            "(write it with np.savez(path, name=array, ...))"
        )
    if array.dtype.kind not in NUMBER_KINDS:
        raise NpzError(
            f"{path}: {name!r} holds {array.dtype} values, not numbers; save it as numbers "
            "(np.savez(path, name=array.astype(np.float32), ...))"
        )


def _not_npz(path: Path) -> NpzError:
    with open(path, "rb") as file:
        if file.read(1) == PICKLE_START:
            return NpzError(
                f"{path} is a pickle, not an .npz file. It was not unpickled, since that can run "
                "code; turn pickled NumPy arrays into an .npz with `python -m "
                f"models.convert_weights {path}`."
            )
    return NpzError(
        f"{path} is not an .npz file (a zip archive of arrays, as np.savez writes); check "
        "that this is the file you meant."
    )


def _intact(archive: zipfile.ZipFile) -> bool:
    """Whether every member's bytes still match the checksum stored beside them."""
    try:
        return archive.testzip() is None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
        # A damaged header can also claim a zip feature minigrad never writes: encryption
        # (a RuntimeError asking for the password) or an unknown compression method.
        return False


def _damaged(path: Path, error: Exception) -> NpzError:
    return NpzError(
        f"{path} is truncated or corrupt ({error}): it was cut short or damaged after it was "
        "written. Replace it with a complete copy: write it again or copy it again."
    )


# ----- weights: .npz or .safetensors, by extension ----------------------------------------------
class SafetensorsFileError(ValueError):
    """A file that is not a readable `.safetensors` of numbers; the message names the file."""


def write_weights(
    path: str | os.PathLike[str],
    arrays: Mapping[str, np.ndarray],
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write named arrays atomically: `.safetensors` (with string `metadata` in its header)
    by extension, else `.npz`, which has no place for metadata."""
    path = Path(path)
    if path.suffix == SAFETENSORS:
        return write_safetensors(path, arrays, metadata)
    if metadata:
        raise ValueError(
            f"{path}: an .npz file has no place for metadata; save to a {SAFETENSORS} file"
        )
    with atomic_write(path) as out:
        np.savez(out, **arrays)
    return path


def read_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The arrays of a `.safetensors` file (by extension) or an `.npz`, read without pickle."""
    if Path(path).suffix == SAFETENSORS:
        return read_safetensors(path)[0]
    return read_npz(path)


def write_safetensors(
    path: str | os.PathLike[str],
    arrays: Mapping[str, np.ndarray],
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write named arrays as a `.safetensors` file, atomically; `metadata` maps strings
    to strings (the header has room for nothing else)."""
    numpy_api = _safetensors().numpy
    if metadata is not None and not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
    ):
        raise TypeError(f"{path}: safetensors metadata maps strings to strings, got {metadata!r}")
    # the format stores C-ordered bytes; np.require keeps a 0-d array 0-d
    contiguous = {name: np.require(array, requirements="C") for name, array in arrays.items()}
    data = numpy_api.save(contiguous, metadata=dict(metadata) if metadata else None)
    path = Path(path)
    with atomic_write(path) as out:
        out.write(data)
    return path


def read_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays of a `.safetensors` file and its metadata ({} if none). The format holds
    no code to run; a file that is not one raises SafetensorsFileError."""
    safetensors = _safetensors()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with safetensors.safe_open(str(path), framework="numpy") as opened:
            metadata = opened.metadata() or {}
            arrays = {name: opened.get_tensor(name) for name in opened.keys()}
    except Exception as error:  # the Rust reader raises a bare SafetensorError (an Exception)
        raise SafetensorsFileError(
            f"{path} is not a readable {SAFETENSORS} file ({error}): it may be cut short, "
            "damaged, or another format; write it again"
        ) from error
    for name, array in arrays.items():
        if array.dtype.kind not in NUMBER_KINDS:
            raise SafetensorsFileError(f"{path}: {name!r} holds {array.dtype} values, not numbers")
    return arrays, metadata


def _safetensors():
    try:
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            f"{SAFETENSORS} files need the safetensors package: pip install minigrad[export]"
        ) from error
    return safetensors
