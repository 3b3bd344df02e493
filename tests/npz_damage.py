"""Damage done to `.npz` files by hand, at the places the zip format keeps its bookkeeping."""

from __future__ import annotations

import zipfile
from pathlib import Path

END_OF_DIRECTORY = b"PK\x05\x06"
DIRECTORY_ENTRY = b"PK\x01\x02"
ENCRYPTED = 0x01  # bit 0 of the general-purpose flags


def central_directory_offset(data: bytes) -> int:
    """Where the central directory starts, as its end-of-directory record says."""
    end = data.rindex(END_OF_DIRECTORY)
    return int.from_bytes(data[end + 16 : end + 20], "little")


def set_encrypted_flag(path: Path) -> None:
    """Flip on the "encrypted" bit of the first member's flags in the central directory:
    one bit, as a bad disk or a bad copy might, and the archive claims a password."""
    data = bytearray(path.read_bytes())
    entry = central_directory_offset(data)
    assert data[entry : entry + 4] == DIRECTORY_ENTRY
    data[entry + 8] |= ENCRYPTED  # the flags are the 2 bytes after the signature and 2 versions
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.infolist()[0].flag_bits & ENCRYPTED, "the flag zipfile reads was not hit"


def header_spans(path: Path) -> list[range]:
    """The byte ranges of every local header, the central directory and its end record:
    the bytes a flipped bit breaks the archive's structure in, not just a member's data."""
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        starts = [info.header_offset for info in archive.infolist()]
    spans = []
    for start in starts:  # 30 fixed bytes, then the name and the extra field (zip64 sizes)
        name_length = int.from_bytes(data[start + 26 : start + 28], "little")
        extra_length = int.from_bytes(data[start + 28 : start + 30], "little")
        spans.append(range(start, start + 30 + name_length + extra_length))
    spans.append(range(central_directory_offset(data), len(data)))
    return spans
