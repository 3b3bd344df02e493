"""minigrad.files: writes that are whole or absent, and `.npz` reads that never unpickle."""

import os
import pickle
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from npz_damage import header_spans, set_encrypted_flag

from minigrad import files, nn
from minigrad.files import NpzError, atomic_path, atomic_write, read_npz

needs_flock = pytest.mark.skipif(files.fcntl is None, reason="leftovers are swept with flock")


class PlantsFile:
    """Unpickling this creates a file: the proof that a pickle ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def saved_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


# ----- atomic writes ----------------------------------------------------------------------------
def test_atomic_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "weights.npz"
    target.write_bytes(b"old")
    with atomic_write(target) as out:
        out.write(b"new contents")
    assert target.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["weights.npz"]


@pytest.mark.parametrize("interruption", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_no_temporary_one(tmp_path, interruption):
    target = tmp_path / "weights.npz"
    target.write_bytes(b"old")
    with pytest.raises(type(interruption)):
        with atomic_write(target) as out:
            out.write(b"half a file")
            raise interruption
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["weights.npz"]


def test_the_data_reaches_the_disk_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.fstat(fd).st_size))
        real_fsync(fd)

    def replace(source, destination):
        events.append(("replace", os.path.basename(destination)))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with atomic_write(tmp_path / "metrics.json") as out:
        out.write(b"0123456789")
    assert events == [("fsync", 10), ("replace", "metrics.json")]


def test_the_temporary_path_is_hidden_beside_the_target_and_keeps_its_suffix(tmp_path):
    with atomic_path(tmp_path / "curves.png") as temporary:
        assert temporary.parent == tmp_path
        assert temporary.name.startswith(".") and temporary.suffix == ".png"
        temporary.write_bytes(b"png")  # matplotlib picks the format from the suffix
    assert os.listdir(tmp_path) == ["curves.png"]


def test_a_written_file_is_readable_by_others_as_the_umask_allows(tmp_path):
    previous = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "mnist.npz") as out:
            out.write(b"shared")
    finally:
        os.umask(previous)
    assert (tmp_path / "mnist.npz").stat().st_mode & 0o777 == 0o644


@needs_flock
def test_a_killed_writers_leftover_is_removed_by_the_next_write_of_that_file(tmp_path):
    leftover = ".weights-partial-0123456789ab.npz"  # what a writer killed mid-write leaves
    others = [
        ".weights-partial-0123456789ab.png",  # another file's temporary name
        ".weights2-partial-0123456789ab.npz",
        ".weights-partial-notes.npz",  # not the helper's pattern
    ]
    for name in [leftover, *others]:
        (tmp_path / name).write_bytes(b"half")
    with atomic_write(tmp_path / "weights.npz") as out:
        out.write(b"whole")
    assert sorted(os.listdir(tmp_path)) == sorted(["weights.npz", *others])


# Saves a model, stopping once every byte is in the temporary file and only fsync and the
# rename are left: the moment a SIGKILL does the most harm.
STALLED_SAVE = """
import os, sys, time
from minigrad import nn

def stall(descriptor):
    print("written", flush=True)
    time.sleep(120)

os.fsync = stall
nn.Linear(3, 2, rng=1).save(sys.argv[1])
"""


@needs_flock
def test_a_save_killed_with_sigkill_keeps_the_old_file_and_the_next_save_leaves_nothing(tmp_path):
    target = tmp_path / "weights.npz"
    nn.Linear(3, 2, rng=0).save(target)
    before = target.read_bytes()
    environment = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    saver = subprocess.Popen(
        [sys.executable, "-c", STALLED_SAVE, str(target)],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert saver.stdout.readline() == "written\n"
    finally:
        saver.send_signal(signal.SIGKILL)
        saver.wait(timeout=60)
        saver.stdout.close()
    assert saver.returncode == -signal.SIGKILL
    assert target.read_bytes() == before, "the killed save reached the file"
    (leftover,) = [name for name in os.listdir(tmp_path) if name != "weights.npz"]
    assert re.fullmatch(r"\.weights-partial-[0-9a-f]{12}\.npz", leftover)
    nn.Linear(3, 2, rng=2).save(target)
    assert os.listdir(tmp_path) == ["weights.npz"]
    np.testing.assert_array_equal(
        nn.Linear(3, 2).load(target).weight.data, nn.Linear(3, 2, rng=2).weight.data
    )


def test_a_write_still_going_on_keeps_its_temporary_file_through_another_write(tmp_path):
    target = tmp_path / "mnist.npz"
    with atomic_path(target) as slow:  # a writer that is still at work, as another process
        slow.write_bytes(b"first half")
        with atomic_write(target) as out:
            out.write(b"the quick one")
        assert target.read_bytes() == b"the quick one"
        assert slow.read_bytes() == b"first half", "a live write was taken for a leftover"
        slow.write_bytes(b"first, complete")
    assert target.read_bytes() == b"first, complete"
    assert os.listdir(tmp_path) == ["mnist.npz"]


@needs_flock
def test_a_temporary_file_swept_before_its_writer_locked_it_is_made_again(tmp_path, monkeypatch):
    real = files.fcntl
    swept = []

    class SweptFirst:
        """flock, after another write's sweep removed the file a moment before the lock."""

        LOCK_EX, LOCK_NB = real.LOCK_EX, real.LOCK_NB

        def flock(self, descriptor, operation):
            if not swept:
                (temporary,) = tmp_path.iterdir()
                temporary.unlink()
                swept.append(temporary)
            real.flock(descriptor, operation)

    monkeypatch.setattr(files, "fcntl", SweptFirst())
    target = tmp_path / "weights.npz"
    with atomic_path(target) as slow:
        slow.write_bytes(b"slow")
        with atomic_write(target) as out:  # its sweep must see the slow write's file locked
            out.write(b"quick")
        assert slow.read_bytes() == b"slow"
    assert swept and target.read_bytes() == b"slow"
    assert os.listdir(tmp_path) == ["weights.npz"]


# ----- reading .npz without pickle --------------------------------------------------------------
def test_read_npz_gives_back_what_was_saved(tmp_path):
    arrays = {"layers.0.weight": np.arange(6.0).reshape(2, 3), "t": np.arange(3, dtype=np.uint8)}
    loaded = read_npz(saved_npz(tmp_path / "a.npz", **arrays))
    assert loaded.keys() == arrays.keys()
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype


@pytest.mark.parametrize("kept", [0.5, 0.9, 0.99])
def test_a_truncated_npz_is_named_as_such(tmp_path, kept):
    path = saved_npz(tmp_path / "weights.npz", w=np.ones((50, 50)), b=np.zeros(50))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * kept)])
    with pytest.raises(NpzError, match=r"weights\.npz is truncated or corrupt .* copy it again"):
        read_npz(path)


def test_damaged_bytes_inside_an_npz_are_named_as_such(tmp_path):
    path = saved_npz(tmp_path / "weights.npz", w=np.ones((50, 50)))
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(NpzError, match="is truncated or corrupt"):
        read_npz(path)


def test_a_flipped_encrypted_flag_is_named_as_damage_not_a_bare_runtime_error(tmp_path):
    path = saved_npz(tmp_path / "weights.npz", w=np.ones((5, 5)), b=np.zeros(5))
    set_encrypted_flag(path)
    named = re.escape(str(path))
    with pytest.raises(NpzError, match=rf"{named} is truncated or corrupt \(.*encrypted.*copy it"):
        read_npz(path)


def test_a_member_whose_bytes_are_gone_is_named_as_damage(tmp_path):
    path = saved_npz(tmp_path / "weights.npz", w=np.ones(5), b=np.zeros(5))
    with zipfile.ZipFile(path) as archive:
        second = archive.infolist()[1].header_offset
    data = bytearray(path.read_bytes())
    data[second : second + 4] = bytes(4)  # the directory still lists it; its header is gone
    path.write_bytes(bytes(data))
    with pytest.raises(NpzError, match=r"weights\.npz is truncated or corrupt"):
        read_npz(path)


@given(st.data())
def test_one_flipped_bit_in_any_zip_header_loads_or_raises_npz_error(tmp_path_factory, data):
    path = saved_npz(tmp_path_factory.mktemp("npz") / "a.npz", w=np.ones(4), t=np.arange(3))
    spans = header_spans(path)
    span = data.draw(st.sampled_from(spans), label="header")
    offset, bit = data.draw(st.sampled_from(span), label="byte"), data.draw(st.integers(0, 7))
    damaged = bytearray(path.read_bytes())
    damaged[offset] ^= 1 << bit
    path.write_bytes(bytes(damaged))
    try:
        arrays = read_npz(path)
    except NpzError as error:
        assert str(path) in str(error)
    else:  # a bit zipfile does not check (a date, a version) changes nothing that is read
        np.testing.assert_array_equal(arrays["w"], np.ones(4))


def test_a_pickle_is_refused_without_being_run(tmp_path):
    marker = tmp_path / "pickle-ran"
    path = tmp_path / "weights.npz"
    path.write_bytes(pickle.dumps({"W1": PlantsFile(marker)}))
    with pytest.raises(NpzError, match=r"is a pickle, not an \.npz file.*models\.convert_weights"):
        read_npz(path)
    assert not marker.exists()


def test_object_arrays_in_an_npz_are_refused_without_being_run(tmp_path):
    marker = tmp_path / "pickle-ran"
    path = saved_npz(tmp_path / "weights.npz", w=np.array([PlantsFile(marker)], dtype=object))
    with pytest.raises(NpzError, match="cannot be read without pickle"):
        read_npz(path)
    assert not marker.exists()


def test_a_bare_npy_and_other_files_are_not_npz(tmp_path):
    bare = tmp_path / "bare.npy"
    np.save(bare, np.zeros(2))
    with pytest.raises(NpzError, match=r"\.npy file holding one unnamed array"):
        read_npz(bare)
    for name, content in (("empty.npz", b""), ("config.json", b'{"preset": "default"}')):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(NpzError, match=rf"{name} is not an \.npz file"):
            read_npz(tmp_path / name)


def test_a_member_that_is_not_an_array_is_refused(tmp_path):
    path = saved_npz(tmp_path / "weights.npz", w=np.ones(2))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.txt", "trained on a Tuesday")
    with pytest.raises(NpzError, match=r"weights\.npz: member 'notes\.txt' is not a NumPy array"):
        read_npz(path)


@pytest.mark.parametrize(
    "values",
    [np.array(["a", "b"]), np.array(["2020-01-01"], "datetime64[D]"), np.zeros(2, "i4,f4")],
    ids=["text", "dates", "records"],
)
def test_arrays_of_anything_but_numbers_are_refused(tmp_path, values):
    path = saved_npz(tmp_path / "weights.npz", w=values)
    with pytest.raises(NpzError, match=r"weights\.npz: 'w' holds .* values, not numbers") as caught:
        read_npz(path)
    assert str(values.dtype) in str(caught.value)


def test_errors_are_value_errors_and_a_missing_file_is_file_not_found(tmp_path):
    assert issubclass(NpzError, ValueError)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        read_npz(tmp_path / "missing.npz")
