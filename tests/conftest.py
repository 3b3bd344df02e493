"""Hypothesis runs from a fixed profile: derandomized, no example database, no deadline
(the machines are shared and noisy), so CI sees the same examples every run."""

import os
import sys

# One BLAS thread, as the model commands use: a second one spins against other work on
# a 2-core machine and makes the suite slower, not faster.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", parent=settings.get_profile("ci"), derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter):
    """How many calls the bad-input suite tried per area (tests/test_bad_input.py)."""
    suite = sys.modules.get("test_bad_input")
    tried = getattr(suite, "TRIED", None)
    if not tried:
        return
    terminalreporter.section("bad-input cases tried")
    for area, count in sorted(tried.items()):
        terminalreporter.write_line(f"{area:<28}{count:>6}")
    terminalreporter.write_line(f"{'total':<28}{sum(tried.values()):>6}")
