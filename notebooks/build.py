"""Write notebooks/zh/*.ipynb and notebooks/en/*.ipynb from notebooks/source/*.py.

    python -m notebooks.build           # write both languages, outputs stripped
    python -m notebooks.build --check   # exit 1 if a stored notebook differs from its source

A source is plain Python split into cells by `# %%` lines. `# %%` starts a code cell, which
both notebooks get, so their code is the same by construction. `# %% [markdown] zh` starts
the Chinese text of a markdown cell, and the `# %% [markdown] en` right after it the English
text of the same cell; their lines are comments (`# ` and then the markdown).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "source"
LANGUAGES = ("zh", "en")
MARKER = re.compile(r"# %%(?: \[markdown\] (?P<language>\w+))?")
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class SourceError(ValueError):
    """A notebook source that cannot be built; the message names the file and line."""


@dataclass
class Cell:
    """One cell of a source: code (language None) or one language's markdown text."""

    language: str | None
    text: str
    line: int  # where its marker is, for messages


def parse(path: Path) -> list[Cell]:
    """The cells of a source, in order; lines before the first marker are a comment."""
    cells: list[Cell] = []
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("# %%"):
            body.append(line)
            continue
        marker = MARKER.fullmatch(line.rstrip())
        if marker is None or marker["language"] not in (None, *LANGUAGES):
            raise SourceError(
                f"{path}:{number}: unknown cell marker {line!r}; write '# %%' for code or "
                f"'# %% [markdown] zh' followed by '# %% [markdown] en' for text"
            )
        if cells:
            cells[-1].text = cell_text(path, cells[-1], body)
        body = []
        cells.append(Cell(marker["language"], "", number))
    if cells:
        cells[-1].text = cell_text(path, cells[-1], body)
    check_pairs(path, cells)
    return cells


def cell_text(path: Path, cell: Cell, lines: list[str]) -> str:
    """Code as written, or markdown with each line's comment prefix taken off."""
    if cell.language is not None:
        markdown = []
        for offset, line in enumerate(lines, start=1):
            if line and line != "#" and not line.startswith("# "):
                raise SourceError(
                    f"{path}:{cell.line + offset}: a markdown line must be a comment "
                    f"('# ' and the text, or '#' for a blank line), got {line!r}"
                )
            markdown.append(line[2:])
        lines = markdown
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        raise SourceError(f"{path}:{cell.line}: empty cell; remove its marker")
    return text


def check_pairs(path: Path, cells: list[Cell]) -> None:
    """Every text comes in both languages: a zh cell, then the en cell of the same text."""
    for index, cell in enumerate(cells):
        following = cells[index + 1].language if index + 1 < len(cells) else None
        previous = cells[index - 1].language if index else None
        if cell.language == "zh" and following != "en":
            raise SourceError(f"{path}:{cell.line}: this zh text has no en cell right after it")
        if cell.language == "en" and previous != "zh":
            raise SourceError(f"{path}:{cell.line}: this en text has no zh cell right before it")


def notebook(cells: list[Cell], language: str) -> nbformat.NotebookNode:
    """One language's notebook: every code cell, and that language's text; no outputs.

    Cell ids are their positions, so a build writes the same bytes every time, and a code
    cell has the same id in both languages.
    """
    chosen = [cell for cell in cells if cell.language in (None, language)]
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}}
    )
    for number, cell in enumerate(chosen, start=1):
        new_cell = (
            nbformat.v4.new_code_cell if cell.language is None else nbformat.v4.new_markdown_cell
        )
        nb.cells.append(new_cell(cell.text, id=f"cell-{number:02d}"))
    nbformat.validate(nb)
    return nb


def sources() -> list[Path]:
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def built() -> dict[Path, str]:
    """What each stored notebook should hold, by its path."""
    texts = {}
    for source in sources():
        cells = parse(source)
        for language in LANGUAGES:
            path = HERE / language / f"{source.stem}.ipynb"
            texts[path] = nbformat.writes(notebook(cells, language)) + "\n"
    return texts


def stored() -> list[Path]:
    return sorted(path for language in LANGUAGES for path in (HERE / language).glob("*.ipynb"))


def stale() -> list[str]:
    """Stored notebooks that differ from their sources, are missing, or have no source."""
    expected = built()
    problems = [
        f"{path.relative_to(HERE.parent)}: "
        + ("missing" if not path.exists() else "differs from its source")
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    problems += [
        f"{path.relative_to(HERE.parent)}: has no source in notebooks/source/"
        for path in stored()
        if path not in expected
    ]
    return problems


def write() -> list[Path]:
    """Write every notebook from its source and remove those whose source is gone."""
    expected = built()
    for path in stored():
        if path not in expected:
            path.unlink()
    for path, text in expected.items():
        path.parent.mkdir(exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return list(expected)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m notebooks.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="only report notebooks that are out of date"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale()
            for problem in problems:
                print(problem)
            if problems:
                print("run: python -m notebooks.build")
            return 1 if problems else 0
        for path in write():
            print(path.relative_to(HERE.parent))
    except SourceError as error:
        print(f"python -m notebooks.build: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
