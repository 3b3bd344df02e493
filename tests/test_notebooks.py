"""The notebook series: every notebook is built from its source and stored without outputs,
the Chinese and English notebooks share their code, and each runs top to bottom in a fresh
kernel in minutes (`python -m notebooks.run` runs them the same way)."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SERIES = [
    "01_losses_and_mnist",
    "02_numerical_gradient_and_descent",
    "03_two_layer_net",
    "04_nielsen_network",
    "05_batch_inference",
    "06_your_own_op",
    "07_convnet",
]
LANGUAGES = ("zh", "en")
PATHS = [NOTEBOOKS / language / f"{name}.ipynb" for name in SERIES for language in LANGUAGES]
TIME_LIMIT = 300  # seconds per notebook: "runnable top to bottom in minutes on 2 cores"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
PICTURES = ("image/png", "image/svg+xml")


def need_notebook_tools() -> None:
    """Fail, not skip, without the tools: CI installs them, and a skip would hide that."""
    for module in ("nbformat", "nbclient", "ipykernel"):
        try:
            __import__(module)
        except ImportError:
            pytest.fail(f"{module} is not installed: pip install -e '.[notebooks]'")


def cells(path: Path, kind: str) -> list[dict]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [cell for cell in notebook["cells"] if cell["cell_type"] == kind]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_series_has_its_sources_and_both_languages():
    assert sorted(path.stem for path in (NOTEBOOKS / "source").glob("[0-9]*.py")) == SERIES
    for language in LANGUAGES:
        assert sorted(path.stem for path in (NOTEBOOKS / language).glob("*.ipynb")) == SERIES


def test_stored_notebooks_are_what_their_sources_build():
    need_notebook_tools()
    from notebooks import build

    assert build.stale() == [], "stored notebooks are out of date: python -m notebooks.build"


def test_a_text_without_its_translation_is_refused(tmp_path):
    need_notebook_tools()
    from notebooks.build import SourceError, parse

    source_file = tmp_path / "99_draft.py"
    source_file.write_text("# %% [markdown] zh\n# 只有中文\n\n# %%\nprint(1)\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"99_draft.py:1: this zh text has no en cell"):
        parse(source_file)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_stored_notebooks_keep_no_outputs(path):
    for cell in cells(path, "code"):
        assert cell["outputs"] == [] and cell["execution_count"] is None, source(cell)[:80]


@pytest.mark.parametrize("name", SERIES)
def test_chinese_and_english_share_their_code(name):
    zh, en = (NOTEBOOKS / language / f"{name}.ipynb" for language in LANGUAGES)
    assert [source(cell) for cell in cells(zh, "code")] == [
        source(cell) for cell in cells(en, "code")
    ]
    zh_texts, en_texts = cells(zh, "markdown"), cells(en, "markdown")
    assert len(zh_texts) == len(en_texts)
    for zh_text, en_text in zip(zh_texts, en_texts):
        assert CHINESE.search(source(zh_text)), f"not translated: {source(zh_text)[:80]}"
        assert not CHINESE.search(source(en_text)), f"Chinese in en/: {source(en_text)[:80]}"


@pytest.mark.parametrize("name", SERIES)
def test_both_languages_run_top_to_bottom(name, tmp_path, capsys, record_property):
    """The zh and en notebooks run side by side, each in a fresh kernel and folder."""
    need_notebook_tools()
    from notebooks.run import execute_all

    paths = [NOTEBOOKS / language / f"{name}.ipynb" for language in LANGUAGES]
    for run in execute_all(paths, tmp_path):  # raises CellExecutionError at a failing cell
        record_property(run.path.parent.name, round(run.seconds, 1))
        with capsys.disabled():
            print(f"\n{run.path.relative_to(ROOT)}: {run.seconds:.1f} s", end="")
        outputs = [
            output
            for cell in run.notebook.cells
            if cell.cell_type == "code"
            for output in cell.outputs
        ]
        warnings = [output.text for output in outputs if output.get("name") == "stderr"]
        assert not warnings, f"{run.path.name} printed to stderr:\n{''.join(warnings)}"
        assert any(kind in output.get("data", {}) for output in outputs for kind in PICTURES)
        assert run.seconds < TIME_LIMIT
