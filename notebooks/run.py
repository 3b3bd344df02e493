"""Run the notebooks top to bottom, as CI does, and say how long each took.

    python -m notebooks.run                       # every notebook, both languages
    python -m notebooks.run --language en 03      # the ones whose names start with 03
    python -m notebooks.run --out executed/       # also keep copies with their outputs

Each notebook runs in a fresh kernel that imports minigrad and models from this checkout
(PYTHONPATH is set to it) and works in a scratch folder of its own, so whatever a notebook
writes (weights, pictures) stays out of the repository. Two run at a time: a kernel spends
much of its start waiting, and the rest keeps one core busy. The stored notebooks keep no
outputs; the copies in --out do.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from notebooks.build import HERE, LANGUAGES

ROOT = HERE.parent
CELL_TIMEOUT = 600  # seconds; generous: the machines are shared and slow at busy hours
JOBS = 2  # notebooks at a time: one per core of the 2-core machines this runs on


@dataclass
class Run:
    """An executed notebook (with its outputs) and its wall time in seconds."""

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float


def kernel_environment() -> dict[str, str]:
    """This process's environment, with the checkout first on the kernel's import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def execute(path: Path, workdir: Path) -> Run:
    """Run every cell of the notebook at `path` in a fresh kernel whose working directory is
    `workdir`; raise nbclient's CellExecutionError at the first cell that fails."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        # ipykernel warns on every start that it talks over local TCP; nothing to act on.
        extra_arguments=["--log-level=ERROR"],
        shutdown_kernel="immediate",  # its work is done; a graceful stop only waits longer
    )
    start = time.perf_counter()
    client.execute(cwd=str(workdir), env=kernel_environment())
    return Run(path, nb, time.perf_counter() - start)


def execute_all(paths: Sequence[Path], workdir: Path, jobs: int = JOBS) -> Iterator[Run]:
    """Run the notebooks, `jobs` at a time, each in its own folder under `workdir`; yield
    their runs in the order of `paths`. The first failure is raised when its turn comes."""

    def run(path: Path) -> Run:
        folder = workdir / path.parent.name / path.stem
        folder.mkdir(parents=True)
        return execute(path, folder)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(run, paths)


def notebook_paths(languages: Sequence[str], prefixes: Sequence[str]) -> list[Path]:
    paths = [path for language in languages for path in sorted((HERE / language).glob("*.ipynb"))]
    return [path for path in paths if not prefixes or path.name.startswith(tuple(prefixes))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m notebooks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("names", nargs="*", help="run only notebooks whose names start so")
    parser.add_argument("--language", choices=LANGUAGES, action="append", help="default: both")
    parser.add_argument("--out", type=Path, help="write the executed notebooks here")
    parser.add_argument("--jobs", type=int, default=JOBS, help=f"at a time (default {JOBS})")
    args = parser.parse_args(argv)
    paths = notebook_paths(args.language or LANGUAGES, args.names)
    if not paths:
        parser.error(f"no notebook matches {args.names}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="minigrad-notebooks-") as workdir:
        for run in execute_all(paths, Path(workdir), max(args.jobs, 1)):
            print(f"{run.path.relative_to(ROOT)}: {run.seconds:.1f} s", flush=True)
            if args.out:
                target = args.out / run.path.parent.name / run.path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(run.notebook, target)
    print(f"{len(paths)} notebook(s) in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
