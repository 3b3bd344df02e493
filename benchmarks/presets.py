"""Run full presets as a user would (`python -m models.train --preset NAME`) and report each
one's final test accuracy and total wall time, as a Markdown table for the README.

    python benchmarks/presets.py                    # default and book
    python benchmarks/presets.py nielsen best       # any presets, in order

Wall time is the whole process, from interpreter start to the last file written. Other
work on the machine slows it down: the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.mlp import PRESETS  # noqa: E402


def run_preset(name: str, out: Path) -> dict:
    """Train one preset in a fresh interpreter; its accuracy, epochs and times."""
    command = [sys.executable, "-m", "models.train", "--preset", name, "--out", str(out)]
    start = time.perf_counter()
    subprocess.run([*command, "--no-progress"], cwd=ROOT, check=True)
    wall = time.perf_counter() - start
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["history"]
    return {
        "preset": name,
        "test_accuracy": metrics["test_accuracy"],
        "epochs": len(history),
        "seconds_per_epoch": sum(row["train_seconds"] for row in history) / len(history),
        "wall_seconds": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", default=["default", "book"], choices=PRESETS)
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.presets:
            rows.append(run_preset(name, Path(scratch) / name))
    print("\n| preset | test accuracy | epochs | s / epoch (training) | total wall time |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| `{row['preset']}` | {row['test_accuracy']:.2%} | {row['epochs']} | "
            f"{row['seconds_per_epoch']:.1f} | {row['wall_seconds']:.0f} s |"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
