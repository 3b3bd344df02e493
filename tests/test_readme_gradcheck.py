"""The README's "Gradient-check testing" section runs, and prints what it says it prints."""

import contextlib
import io
import re
from pathlib import Path

import pytest

from minigrad import OPS, GradcheckError

README = Path(__file__).resolve().parent.parent / "README.md"


def section_blocks():
    text = README.read_text(encoding="utf-8")
    start = text.index("## Gradient-check testing")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```(\w+)\n(.*?)```", text[start:end], flags=re.DOTALL)


def run(code, namespace):
    """What the block prints, or the error it raises, as a user would see it."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
    except GradcheckError as error:
        return f"GradcheckError: {error}\n"
    return printed.getvalue()


@pytest.fixture
def registry():
    """The README registers Cube; leave OPS as the other tests expect it."""
    saved = dict(OPS)
    yield
    OPS.clear()
    OPS.update(saved)


def test_readme_examples_run_and_print_the_reports_shown(registry):
    blocks = section_blocks()
    namespace = {"__name__": "readme"}
    compared = 0
    for (language, code), following in zip(blocks, blocks[1:] + [("", "")]):
        if language != "python":
            continue
        output = run(code, namespace)
        if output:
            assert following[0] == "text", f"this block prints but no output is shown:\n{code}"
            assert output == following[1]
            compared += 1
    assert compared == 2  # the planted bug's report and the localiser's
    namespace["test_gradients_of_random_expressions"]()
