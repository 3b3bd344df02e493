"""The README's Example and Ops code blocks run as printed and print what they say."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np

README = (Path(__file__).parents[1] / "README.md").read_text()


def python_blocks(section: str) -> list[str]:
    body = README.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_example_and_custom_op_run_and_print_what_the_comments_say():
    (example,) = python_blocks("Example")
    (custom_op,) = python_blocks("Ops")
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed):
        exec(example, namespace)
        # register=False: the README's op must not join the registry other tests enumerate.
        exec(custom_op.replace("(Op):", "(Op, register=False):"), namespace)
    promised = re.search(r"print\(loss\)\s+# (Tensor\([^,]+)", example).group(1)
    assert printed.getvalue().startswith(promised)
    assert namespace["W"].grad.shape == (3, 2) and namespace["b"].grad.shape == (2,)
    x = namespace["x"].data
    np.testing.assert_allclose(namespace["y"].data, np.log(np.cosh(x)), rtol=1e-6, atol=1e-12)
    namespace["y"].sum().backward()  # the rule runs on arrays, via Tanh.call
    np.testing.assert_allclose(namespace["x"].grad.data, np.tanh(x), rtol=1e-6)
