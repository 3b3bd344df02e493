"""The training and evaluation commands, on real MNIST digits (CI caches them first), and
runs stopped and resumed from their checkpoint."""

import dataclasses
import json
import os
import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from minigrad import replay
from minigrad.data import DataLoader
from minigrad.datasets.mnist import load_mnist
from minigrad.files import read_npz
from models import evaluate as evaluate_command
from models import train as train_command
from models.mlp import PRESETS, MnistMLP

RUN_FILES = {
    "checkpoint.npz",
    "weights.npz",
    "config.json",
    "metrics.json",
    "metrics.csv",
    "curves.png",
    "misclassified.png",
    "graph.svg",
    "graph_expanded.svg",
}


@pytest.fixture(scope="module")
def digits():
    (x_train, t_train), (x_test, t_test) = load_mnist()
    return {
        "train": (x_train[:5000], t_train[:5000].astype(np.int64)),
        "test": (x_test[:2000], t_test[:2000].astype(np.int64)),
    }


@pytest.fixture(scope="module")
def quick_run_and_renames(tmp_path_factory):
    """One `--quick` run of the command, shared by the tests that read what it wrote, and
    every path a temporary file was renamed onto while it ran."""
    folder = tmp_path_factory.mktemp("runs") / "quick"
    renamed = []
    replace = os.replace

    def recording_replace(source, destination):
        renamed.append(Path(destination))
        replace(source, destination)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", recording_replace)
        code = train_command.main(["--quick", "--no-progress", "--seed", "3", "--out", str(folder)])
    assert code == 0
    return folder, renamed


@pytest.fixture(scope="module")
def quick_run(quick_run_and_renames):
    return quick_run_and_renames[0]


def without_timings(history):
    return [{k: v for k, v in row.items() if not k.endswith("seconds")} for row in history]


def test_a_few_thousand_real_digits_train_past_89_percent(digits):
    preset = dataclasses.replace(PRESETS["default"], epochs=3, batch_size=50)
    _, history = train_command.train(preset, digits, seed=0, progress=False)
    assert history[-1]["test_accuracy"] > 0.89
    assert history[-1]["batch_loss"] < history[0]["batch_loss"]


def test_the_same_seed_gives_the_same_run_and_another_seed_does_not(digits):
    preset = dataclasses.replace(PRESETS["best"], epochs=1, batch_size=250)  # dropout too
    small = {name: (x[:1000], t[:1000]) for name, (x, t) in digits.items()}
    first_model, first = train_command.train(preset, small, seed=5, progress=False)
    second_model, second = train_command.train(preset, small, seed=5, progress=False)
    other_model, _ = train_command.train(preset, small, seed=6, progress=False)
    assert without_timings(first) == without_timings(second)
    for name, array in first_model.state_dict().items():
        np.testing.assert_array_equal(array, second_model.state_dict()[name], err_msg=name)
    assert not np.array_equal(first_model.layers[0].weight.data, other_model.layers[0].weight.data)


def test_a_step_budget_stops_mid_epoch(digits):
    preset = dataclasses.replace(PRESETS["book"], steps=75, batch_size=50)  # 100 batches/epoch
    small = {"train": digits["train"], "test": digits["test"]}
    _, history = train_command.train(preset, small, seed=0, progress=False)
    assert [row["steps"] for row in history] == [75]


def printed_numbers(lines):
    """Each epoch's line without its timing, and the final accuracy: what both paths share."""
    epochs = [line.rsplit(" | ", 1)[0] for line in lines if line.startswith("epoch ")]
    return epochs + [lines[-1].split(", ")[0]]


@pytest.mark.filterwarnings("error:replay:UserWarning")
@pytest.mark.parametrize("preset", ["default", "nielsen"])  # cross-entropy, quadratic cost
def test_replayed_and_eager_runs_print_the_same_numbers_and_save_the_same_weights(
    preset, tmp_path, capsys, monkeypatch
):
    traced_shapes = []

    def counting_replay(loss_fn):
        def counted(x, targets):
            traced_shapes.append(x.shape)
            return loss_fn(x, targets)

        return replay(counted)

    paths = {**train_command.STEP_PATHS, "replay": counting_replay}
    monkeypatch.setattr(train_command, "STEP_PATHS", paths)
    # The quick run's test checks the pictures; drawing them is most of a run's time.
    monkeypatch.setattr(train_command, "plot_curves", lambda path, history, preset_name: None)
    monkeypatch.setattr(
        train_command, "plot_misclassified", lambda path, x, t, predicted, preset_name: False
    )
    printed = {}
    for name, options in (("replay", []), ("eager", ["--eager"])):
        argv = ["--quick", "--no-progress", "--preset", preset, "--out", str(tmp_path / name)]
        assert train_command.main(argv + options) == 0
        printed[name] = capsys.readouterr().out.splitlines()
    assert printed["replay"][1] == "step: replay (the graph repeats every batch)"
    assert printed["eager"][1] == "step: eager (--eager)"
    # The step's Python runs only while replay traces it, at most twice per batch shape:
    # every other batch of the epoch was replayed, not run eagerly.
    assert traced_shapes and max(Counter(traced_shapes).values()) <= 2
    assert printed_numbers(printed["replay"]) == printed_numbers(printed["eager"])
    histories = [
        without_timings(json.loads((tmp_path / name / "metrics.json").read_text())["history"])
        for name in printed
    ]
    assert histories[0] == histories[1]
    replayed, eager = (np.load(tmp_path / name / "weights.npz") for name in printed)
    assert replayed.files == eager.files
    for name in eager.files:
        assert replayed[name].dtype == eager[name].dtype
        np.testing.assert_array_equal(replayed[name], eager[name], err_msg=name)


def test_presets_with_dropout_or_batch_norm_step_eagerly_and_the_others_replay():
    for name, preset in PRESETS.items():
        path = train_command.choose_step(preset)
        assert path.name == ("eager" if preset.dropout or name == "convnet" else "replay"), name
    assert str(train_command.choose_step(PRESETS["convnet"])) == (
        "step: eager (BatchNorm updates its running statistics outside the graph)"
    )
    assert str(train_command.choose_step(PRESETS["best"])) == (
        "step: eager (dropout draws new masks each batch)"
    )
    assert train_command.choose_step(PRESETS["default"], eager=True).name == "eager"


def test_quick_run_writes_every_file_and_no_temporary_one(quick_run):
    assert set(os.listdir(quick_run)) == RUN_FILES
    for name in ("curves.png", "misclassified.png"):
        assert (quick_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"layers.0.weight" in (quick_run / "graph_expanded.svg").read_bytes()
    metrics = json.loads((quick_run / "metrics.json").read_text())
    (row,) = metrics["history"]
    assert row["test_accuracy"] == metrics["test_accuracy"]
    assert np.sum(metrics["confusion_matrix"]) == train_command.QUICK_TEST
    config = json.loads((quick_run / "config.json").read_text())
    assert (config["preset"], config["seed"], config["settings"]["epochs"]) == ("default", 3, 1)
    assert config["step"] == "replay"


def history_of(splits, epochs=3):
    """Made-up metrics rows with the keys a run records."""
    rows = []
    for epoch in range(1, epochs + 1):
        row = {"epoch": epoch, "batch_loss": 1 / epoch}
        for place, name in enumerate(splits):
            row[f"{name}_loss"] = 0.5 / epoch + place
            row[f"{name}_accuracy"] = 0.9 + epoch / 100 - place / 1000
        rows.append(row)
    return rows


def line_colours(figure):
    """{label: the set of colours its lines have, over every panel}."""
    colours = {}
    for axes in figure.axes:
        for line in axes.get_lines():
            colours.setdefault(line.get_label(), set()).add(line.get_color())
    return colours


def test_curves_keep_one_colour_per_split_in_every_panel_and_preset_and_name_the_preset():
    nielsen = line_colours(train_command.curves_figure(history_of(("train", "val", "test")), "n"))
    default = line_colours(train_command.curves_figure(history_of(("train", "test")), "d"))
    assert set(nielsen) == {"batches (running)", "train", "val", "test"}
    assert all(len(colours) == 1 for colours in nielsen.values()), nielsen
    assert len(set().union(*nielsen.values())) == 4  # four splits, four colours
    assert default == {name: nielsen[name] for name in default}  # and the same in each preset
    history = history_of(("train", "val", "test"))
    history[-1]["test_accuracy"] = 0.9183
    figure = train_command.curves_figure(history, "nielsen")
    assert figure.get_suptitle() == "nielsen: test accuracy 91.83% after 3 epoch(s)"


def test_the_run_pictures_say_what_they_show(quick_run):
    from matplotlib.image import imread

    graph = (quick_run / "graph.svg").read_text()
    assert "default: one training step on 4 digits, one box per layer" in graph
    assert ">labels<" in graph and ">images<" in graph  # the step's inputs, named
    assert "input 0" in graph and "input 1" in graph  # the logits and labels into the loss
    expanded = (quick_run / "graph_expanded.svg").read_text()
    assert "default: one training step on 4 digits, every op" in expanded
    height, width, _ = imread(quick_run / "misclassified.png").shape
    assert height > width / 2  # 4 rows of 10 digits, with the title above and the key below


def test_nielsens_graph_names_the_one_hot_labels(tmp_path, digits):
    model = MnistMLP(PRESETS["nielsen"], rng=0)
    x, t = digits["train"]
    (graph, _) = train_command.draw_graphs(tmp_path, model, x, t, "nielsen")
    assert ">labels, one&#45;hot<" in graph.read_text()  # Graphviz writes - as &#45;


def test_every_file_of_the_run_is_written_whole_then_renamed_into_place(quick_run_and_renames):
    folder, renamed = quick_run_and_renames
    assert sorted(path.name for path in renamed if path.parent == folder) == sorted(RUN_FILES)


def test_evaluate_gives_the_same_report_for_any_batch_size(quick_run, capsys):
    reports = []
    for batch_size in ("10000", "64"):
        assert evaluate_command.main([str(quick_run), "--batch-size", batch_size]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[1].startswith("test accuracy 0.")
        reports.append([lines[1].split(", batch size")[0]] + lines[2:])
    assert reports[0] == reports[1]
    assert len(reports[0]) == 12  # accuracy line, header, one row per digit


def test_evaluate_explains_weights_of_the_wrong_shape(quick_run, capsys):
    assert evaluate_command.main([str(quick_run / "weights.npz"), "--preset", "book3"]) == 1
    error = capsys.readouterr().err
    assert "weights.npz does not fit the book3 network" in error
    assert "layers.0.weight has shape (784, 512), the model needs (784, 50)" in error
    assert "Pass the --preset the weights were trained with (one of: nielsen, book" in error


def test_evaluate_explains_a_truncated_weights_file(quick_run, tmp_path, capsys):
    weights = (quick_run / "weights.npz").read_bytes()
    (tmp_path / "weights.npz").write_bytes(weights[: len(weights) // 2])
    (tmp_path / "config.json").write_bytes((quick_run / "config.json").read_bytes())
    assert evaluate_command.main([str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert f"error: {tmp_path / 'weights.npz'} is truncated or corrupt" in error
    assert "Replace it with a complete copy" in error


def test_evaluate_refuses_a_pickle_dressed_as_npz(tmp_path, capsys):
    fake = tmp_path / "weights.npz"
    fake.write_bytes(pickle.dumps({"W1": np.zeros((784, 50))}))
    assert evaluate_command.main([str(fake), "--preset", "book"]) == 1
    assert "is a pickle, not an .npz file" in capsys.readouterr().err


def test_evaluate_asks_for_a_preset_when_no_config_says_which(tmp_path, capsys):
    (tmp_path / "w.npz").write_bytes(b"")
    assert evaluate_command.main([str(tmp_path / "w.npz")]) == 1
    assert "pass --preset" in capsys.readouterr().err


def test_unknown_preset_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit) as caught:
        train_command.main(["--preset", "resnet"])
    assert caught.value.code == 2
    assert "invalid choice: 'resnet'" in capsys.readouterr().err


def test_unwritable_output_folder_fails_before_loading_data(tmp_path, capsys, monkeypatch):
    def no_data(*args):
        raise AssertionError("loaded data before checking the output folder")

    monkeypatch.setattr(train_command, "load_splits", no_data)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert train_command.main(["--quick", "--out", str(blocker / "run")]) == 1
    assert "cannot write to the output folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "option, value",
    [("--lr", "inf"), ("--lr", "nan"), ("--lr", "-0.1"), ("--lr", "0"), ("--epochs", "0")],
)
def test_options_that_cannot_train_are_refused(option, value, capsys):
    with pytest.raises(SystemExit) as caught:
        train_command.parse_args([option, value])
    assert caught.value.code == 2
    assert f"argument {option}: must be" in capsys.readouterr().err


def test_epochs_option_replaces_the_books_iteration_budget():
    args = train_command.parse_args(["--preset", "book", "--epochs", "2", "--lr", "0.5"])
    preset = train_command.resolve_preset(args)
    assert (preset.epochs, preset.steps, preset.lr) == (2, None, 0.5)


# ----- checkpoints and --resume -------------------------------------------------------------------
def test_the_checkpoint_holds_all_the_next_epoch_needs(quick_run):
    checkpoint = read_npz(quick_run / "checkpoint.npz")  # without pickle
    progress = json.loads(checkpoint.pop("progress").tobytes())
    weights = np.load(quick_run / "weights.npz")
    for name in weights.files:
        np.testing.assert_array_equal(checkpoint[f"model.{name}"], weights[name])
    assert checkpoint["optimizer.type.Adam"] == 1
    assert checkpoint["optimizer.state.0.m"].shape == weights["layers.0.weight"].shape
    assert checkpoint["optimizer.state.0.step"] == checkpoint["schedule.steps"] == 24
    assert checkpoint["schedule.type.CosineLR"] == 1
    metrics = json.loads((quick_run / "metrics.json").read_text())
    assert progress["epoch"] == 1 and progress["history"] == metrics["history"]
    assert progress["config"] == json.loads((quick_run / "config.json").read_text())
    assert set(progress["rng"]) == {"model", "shuffle"}
    assert progress["rng"]["shuffle"]["bit_generator"] == "PCG64"


# Small presets for the resume tests. Two follow schedules that do not depend on the run's
# length, so a run can be lengthened: a replayed step with Adam, and dropout (an eager step)
# with momentum. The third has dropout and a cosine schedule.
SMALL = (784, 128, 64, 10)
RESUME_PRESETS = {
    "adam-step": dataclasses.replace(PRESETS["default"], schedule="step", lr_gamma=0.5),
    "dropout-step": dataclasses.replace(
        PRESETS["best"],
        sizes=SMALL,
        optimizer="sgd",
        lr=0.05,
        momentum=0.9,
        schedule="step",
        lr_gamma=0.5,
    ),
    "dropout-cosine": dataclasses.replace(PRESETS["best"], sizes=SMALL),
}


@pytest.fixture
def curves_drawn(monkeypatch):
    """The epochs of each run's curves.png; no picture is drawn, as they take most of a
    quick run's time (the quick run's test checks them)."""
    for name, preset in RESUME_PRESETS.items():
        monkeypatch.setitem(PRESETS, name, preset)
    drawn = []
    monkeypatch.setattr(
        train_command,
        "plot_curves",
        lambda path, history, preset_name: drawn.append([row["epoch"] for row in history]),
    )
    monkeypatch.setattr(
        train_command, "plot_misclassified", lambda path, x, t, predicted, preset_name: False
    )
    monkeypatch.setattr(train_command, "draw_graphs", lambda folder, model, x, t, preset_name: [])
    return drawn


def command_output(argv, capsys):
    assert train_command.main(argv) == 0
    return capsys.readouterr().out.splitlines()


def assert_same_arrays(first, second, file):
    assert sorted(first) == sorted(second), file
    for name, array in first.items():
        assert array.dtype == second[name].dtype, f"{file}: {name}"
        np.testing.assert_array_equal(array, second[name], err_msg=f"{file}: {name}")


def assert_same_run(first, second):
    """Two run folders hold the same history (timings aside), bit-identical weights, and
    checkpoints of the same weights, optimizer state, schedule and generator states."""
    histories = [
        without_timings(json.loads((folder / "metrics.json").read_text())["history"])
        for folder in (first, second)
    ]
    assert histories[0] == histories[1]
    assert_same_arrays(*(read_npz(folder / "weights.npz") for folder in (first, second)), "weights")
    checkpoints = [read_npz(folder / "checkpoint.npz") for folder in (first, second)]
    generators = [json.loads(arrays.pop("progress").tobytes())["rng"] for arrays in checkpoints]
    assert generators[0] == generators[1]
    assert_same_arrays(*checkpoints, "checkpoint")


@pytest.mark.filterwarnings("error:replay:UserWarning")
@pytest.mark.parametrize("preset, step", [("adam-step", "replay"), ("dropout-step", "eager")])
def test_a_run_resumed_with_more_epochs_is_the_run_of_them_all(
    preset, step, tmp_path, capsys, curves_drawn
):
    quick = ["--quick", "--no-progress", "--preset", preset]
    uninterrupted = command_output(
        quick + ["--epochs", "3", "--out", str(tmp_path / "full")], capsys
    )
    stopped = command_output(quick + ["--epochs", "2", "--out", str(tmp_path / "resumed")], capsys)
    resumed = command_output(
        ["--no-progress", "--resume", str(tmp_path / "resumed"), "--epochs", "3"], capsys
    )
    assert uninterrupted[1] == resumed[1] and resumed[1].startswith(f"step: {step} ")
    assert resumed[2] == f"resuming {tmp_path / 'resumed'} after epoch 2/3"
    assert printed_numbers(resumed) == printed_numbers(uninterrupted)
    # The stopped run's own lines differ only in its length: "epoch 1/2" for "epoch 1/3".
    assert [line.replace("/2 ", "/3 ", 1) for line in printed_numbers(stopped)[:2]] == (
        printed_numbers(uninterrupted)[:2]
    )
    assert_same_run(tmp_path / "full", tmp_path / "resumed")
    assert curves_drawn == [[1, 2, 3], [1, 2], [1, 2, 3]]
    config = json.loads((tmp_path / "resumed" / "config.json").read_text())
    assert config["settings"]["epochs"] == 3
    assert config["resumed"] == [
        f"python -m models.train --no-progress --resume {tmp_path / 'resumed'} --epochs 3"
    ]


def ctrl_c_in_epoch(epoch, batches=5):
    """A DataLoader that raises KeyboardInterrupt `batches` batches into `epoch`, as Ctrl-C."""

    class Interrupted(DataLoader):
        epochs_started = 0

        def __iter__(self):
            self.epochs_started += 1
            for number, batch in enumerate(super().__iter__()):
                if (self.epochs_started, number) == (epoch, batches):
                    raise KeyboardInterrupt
                yield batch

    return Interrupted


@pytest.mark.filterwarnings("error:replay:UserWarning")
@pytest.mark.parametrize("preset, step", [("default", "replay"), ("dropout-cosine", "eager")])
def test_a_run_stopped_by_ctrl_c_resumes_as_if_it_had_never_stopped(
    preset, step, tmp_path, capsys, monkeypatch, curves_drawn
):
    quick = ["--quick", "--no-progress", "--preset", preset, "--epochs", "3"]
    uninterrupted = command_output(quick + ["--out", str(tmp_path / "full")], capsys)
    with monkeypatch.context() as patch:
        patch.setattr(train_command, "DataLoader", ctrl_c_in_epoch(3))
        with pytest.raises(KeyboardInterrupt):
            train_command.main(quick + ["--out", str(tmp_path / "stopped")])
    assert os.listdir(tmp_path / "stopped") == ["checkpoint.npz"]  # of epoch 2
    capsys.readouterr()
    resumed = command_output(["--no-progress", "--resume", str(tmp_path / "stopped")], capsys)
    assert resumed[1].startswith(f"step: {step} ")
    assert printed_numbers(resumed) == printed_numbers(uninterrupted)
    assert_same_run(tmp_path / "full", tmp_path / "stopped")
    assert curves_drawn[-1] == [1, 2, 3]


def test_resume_refuses_other_settings_and_a_finished_run(quick_run, tmp_path, capsys):
    before = sorted(os.listdir(quick_run))
    cases = [
        (
            ["--lr", "0.01", "--seed", "3", "--preset", "book"],
            f"error: --resume: {quick_run} was started with other settings: --preset book (the "
            "run has default); --lr 0.01 (the run has 0.001). Resume it without these "
            "options, or start a new run with them",
        ),
        (
            ["--epochs", "2"],
            f"error: --resume: {quick_run} follows a cosine schedule planned over 1 epoch(s); "
            "over 2 its rates would differ from the first epoch on. Resume it without "
            "--epochs, or start a new run with --epochs 2",
        ),
        (
            [],
            f"error: --resume: {quick_run} has run 1 epoch(s), which leaves none of its 1 to "
            "train; its cosine schedule ended there, so start a new run to train longer",
        ),
        (["--eager", "--quick"], "--eager (the run replays its step)"),
    ]
    for options, message in cases:
        assert train_command.main(["--resume", str(quick_run), *options]) == 1
        assert message in capsys.readouterr().err
    assert sorted(os.listdir(quick_run)) == before
    with pytest.raises(SystemExit):
        train_command.main(["--resume", str(quick_run), "--out", str(tmp_path)])
    assert "argument --out: not allowed with argument --resume" in capsys.readouterr().err


def test_resume_explains_a_missing_or_damaged_checkpoint(quick_run, tmp_path, capsys):
    assert train_command.main(["--resume", str(tmp_path / "nowhere")]) == 1
    assert f"error: --resume: there is no run folder {tmp_path / 'nowhere'}" in (
        capsys.readouterr().err
    )
    assert train_command.main(["--resume", str(tmp_path)]) == 1
    assert f"{tmp_path} has no checkpoint.npz; a run saves one after each epoch" in (
        capsys.readouterr().err
    )
    checkpoint = (quick_run / "checkpoint.npz").read_bytes()
    (tmp_path / "checkpoint.npz").write_bytes(checkpoint[: len(checkpoint) // 2])
    assert train_command.main(["--resume", str(tmp_path)]) == 1
    assert "checkpoint.npz is truncated or corrupt" in capsys.readouterr().err


# ----- conv nets ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def images():
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False)
    return {
        "train": (x_train[:5000], t_train[:5000].astype(np.int64)),
        "test": (x_test[:1000], t_test[:1000].astype(np.int64)),
    }


def test_three_hundred_simple_convnet_steps_on_real_digits_pass_90_percent(images):
    preset = dataclasses.replace(PRESETS["simple_convnet"], epochs=3, batch_size=50)
    _, history = train_command.train(preset, images, seed=0, progress=False)
    assert history[-1]["steps"] == 300
    assert history[-1]["test_accuracy"] >= 0.90
    assert history[-1]["batch_loss"] < history[0]["batch_loss"]


def test_batch_norm_running_statistics_train_and_go_into_the_checkpoint(images):
    small = {name: (x[:500], t[:500]) for name, (x, t) in images.items()}
    preset = dataclasses.replace(PRESETS["convnet"], epochs=1)
    trainer = train_command.Trainer(
        preset, small, seed=0, progress=False, path=train_command.choose_step(preset)
    )
    trainer.run()
    saved = trainer.state_dicts()["model"]
    assert not np.allclose(saved["norm1.running_mean"], 0)
    np.testing.assert_array_equal(saved["norm2.running_var"], trainer.model.norm2.running_var.data)


def test_a_quick_simple_convnet_run_also_draws_its_filters(tmp_path, capsys):
    folder = tmp_path / "simple"
    argv = ["--preset", "simple_convnet", "--quick", "--no-progress", "--out", str(folder)]
    assert train_command.main(argv) == 0
    assert set(os.listdir(folder)) == RUN_FILES | {"filters.png"}
    assert (folder / "filters.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    graph = (folder / "graph.svg").read_text()
    for layer in ("conv", "pool", "flatten", "affine1", "affine2"):
        assert f">{layer}</text>" in graph, layer
    assert "conv.weight" in (folder / "graph_expanded.svg").read_text()
    assert evaluate_command.main([str(folder)]) == 0  # the network named by config.json
    assert f"{folder / 'weights.npz'} as simple_convnet (simple_convnet)\ntest accuracy" in (
        capsys.readouterr().out
    )
