"""Check autograd gradients against central differences, and say exactly where they differ.

`gradcheck` compares the analytic Jacobian of every output with respect to every input
that requires grad against a numeric one computed in float64. A mismatch raises
`GradcheckError`, whose `.report` names the function, input, output, worst element,
both values, the errors and the eps used.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.tensor import Tensor, gradients, no_grad

# Defaults by the dtype the user passed in (the check itself always runs in float64).
DEFAULT_EPS = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-6}
DEFAULT_ATOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 1e-4}
DEFAULT_RTOL = {np.dtype(np.float64): 1e-3, np.dtype(np.float32): 1e-2}


@dataclass
class GradcheckReport:
    """The worst mismatch between analytic and numeric gradients for one input/output pair."""

    function: str
    input_index: int
    input_name: str | None
    output_index: int
    input_element: tuple[int, ...]
    output_element: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    eps: float

    def __str__(self) -> str:
        name = f" '{self.input_name}'" if self.input_name else ""
        return (
            f"gradient of {self.function} is wrong for input {self.input_index}{name}, "
            f"output {self.output_index}:\n"
            f"  worst element: d out{list(self.output_element)} / d in{list(self.input_element)}\n"
            f"  analytic {self.analytic:.6g}  numeric {self.numeric:.6g}\n"
            f"  abs error {self.abs_error:.3g}  rel error {self.rel_error:.3g}"
            f"  (eps {self.eps:.3g})"
        )


@dataclass
class GradcheckResult:
    """Everything a check found; true when every gradient matched."""

    passed: bool
    failures: list[GradcheckReport] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed


class GradcheckError(AssertionError):
    """Raised by `gradcheck` on a mismatch; `.report` holds the worst one."""

    def __init__(self, report: GradcheckReport, result: GradcheckResult) -> None:
        super().__init__(str(report))
        self.report = report
        self.result = result


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _function_name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def promote(inputs: Sequence[Tensor], caller: str) -> list[Tensor]:
    """float64 leaf copies of the inputs (warning when float32 is promoted)."""
    if any(t.dtype == np.float32 for t in inputs):
        warnings.warn(
            f"{caller}: float32 inputs are promoted to float64 for the check, since "
            "central differences in float32 are too noisy to judge a gradient",
            stacklevel=3,
        )
    return [
        Tensor(
            t.data.astype(np.float64) if t.dtype.kind == "f" else t.data,
            requires_grad=t.requires_grad,
            name=t.name,
        )
        for t in inputs
    ]


def _outputs(fn: Callable, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
    return tuple(out for out in _as_tuple(fn(*inputs)) if out.dtype.kind == "f")


def analytic_jacobians(fn: Callable, inputs: Sequence[Tensor]) -> dict[tuple[int, int], np.ndarray]:
    """{(input, output): J} from autograd, J of shape output.shape + input.shape."""
    outputs = _outputs(fn, inputs)
    wanted = [i for i, t in enumerate(inputs) if t.requires_grad]
    jacobians = {
        (i, o): np.zeros(out.shape + inputs[i].shape)
        for o, out in enumerate(outputs)
        for i in wanted
    }
    for o, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for element in np.ndindex(out.shape):
            seed = np.zeros(out.shape)
            seed[element] = 1
            found = gradients(out, [inputs[i] for i in wanted], grad=seed, retain_graph=True)
            for i, grad in zip(wanted, found):
                if grad is not None:
                    jacobians[(i, o)][element] = grad.data
    return jacobians


def step_sizes(array: np.ndarray, eps: float) -> np.ndarray:
    """eps scaled to each element's magnitude, so large entries get a relative step."""
    return eps * np.maximum(1.0, np.abs(array))


def numeric_jacobians(
    fn: Callable, inputs: Sequence[Tensor], eps: float
) -> dict[tuple[int, int], np.ndarray]:
    """{(input, output): J} by central differences, one input element at a time."""
    with no_grad():
        outputs = _outputs(fn, inputs)
        jacobians = {}
        for i, tensor in enumerate(inputs):
            if not tensor.requires_grad:
                continue
            steps = step_sizes(tensor.data, eps)
            for o, out in enumerate(outputs):
                jacobians[(i, o)] = np.zeros(out.shape + tensor.shape)
            for element in np.ndindex(tensor.shape):
                original = tensor.data[element]
                tensor.data[element] = original + steps[element]
                plus = [out.data.copy() for out in _outputs(fn, inputs)]
                tensor.data[element] = original - steps[element]
                minus = [out.data.copy() for out in _outputs(fn, inputs)]
                tensor.data[element] = original
                for o in range(len(outputs)):
                    jacobians[(i, o)][(...,) + element] = (plus[o] - minus[o]) / (
                        2 * steps[element]
                    )
    return jacobians


def compare(
    function: str,
    inputs: Sequence[Tensor],
    analytic: dict,
    numeric: dict,
    eps: float,
    atol: float,
    rtol: float,
) -> list[GradcheckReport]:
    """A report for each input/output pair whose Jacobians differ beyond atol + rtol*|numeric|."""
    failures = []
    for (i, o), expected in numeric.items():
        actual = analytic[(i, o)]
        error = np.abs(actual - expected)
        excess = error / (atol + rtol * np.abs(expected))
        if not np.all(excess <= 1):  # also catches NaN
            worst = np.unravel_index(
                np.nanargmax(np.where(np.isnan(excess), np.inf, excess)), excess.shape
            )
            out_ndim = expected.ndim - inputs[i].ndim
            failures.append(
                GradcheckReport(
                    function=function,
                    input_index=i,
                    input_name=inputs[i].name,
                    output_index=o,
                    input_element=tuple(int(k) for k in worst[out_ndim:]),
                    output_element=tuple(int(k) for k in worst[:out_ndim]),
                    analytic=float(actual[worst]),
                    numeric=float(expected[worst]),
                    abs_error=float(error[worst]),
                    rel_error=float(error[worst] / max(abs(expected[worst]), 1e-12)),
                    eps=eps,
                )
            )
    return failures


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    raise_exception: bool = True,
) -> bool | GradcheckResult:
    """Compare fn's autograd Jacobians with central differences, for every input that
    requires grad and every floating output.

    Defaults: eps 1e-6 (scaled by max(1, |x|) per element); atol 1e-5 and rtol 1e-3 for
    float64 inputs, atol 1e-4 and rtol 1e-2 for float32 ones. Returns True on success,
    raises `GradcheckError` on a mismatch; with raise_exception=False returns a
    `GradcheckResult` instead.
    """
    original = list(_as_tuple(inputs))
    dtype = next((t.dtype for t in original if t.dtype.kind == "f"), np.dtype(np.float64))
    eps = DEFAULT_EPS.get(dtype, 1e-6) if eps is None else eps
    atol = DEFAULT_ATOL.get(dtype, 1e-5) if atol is None else atol
    rtol = DEFAULT_RTOL.get(dtype, 1e-3) if rtol is None else rtol
    checked = promote(original, "gradcheck")
    analytic = analytic_jacobians(fn, checked)
    numeric = numeric_jacobians(fn, checked, eps)
    failures = compare(_function_name(fn), checked, analytic, numeric, eps, atol, rtol)
    result = GradcheckResult(passed=not failures, failures=failures)
    if not raise_exception:
        return result
    if failures:
        raise GradcheckError(max(failures, key=lambda r: r.abs_error), result)
    return True


def numerical_gradient(f: Callable[[Any], Any], x: Any, eps: float | None = None) -> np.ndarray:
    """The seeds' central difference: d f / d x for scalar f, element by element.

    `x` (an array or a Tensor) is perturbed in place and restored, so `f` may ignore its
    argument, as the book's `lambda W: net.loss(x, t)` does. eps defaults to 1e-4 for
    float32 data (the book's h) and 1e-6 for float64.
    """
    array = x.data if isinstance(x, Tensor) else x
    eps = (1e-4 if array.dtype == np.float32 else 1e-6) if eps is None else eps
    grad = np.zeros(array.shape, dtype=np.float64)
    with no_grad():
        for element in np.ndindex(array.shape):
            original = array[element]
            array[element] = original + eps
            plus = float(_scalar(f(x)))
            array[element] = original - eps
            minus = float(_scalar(f(x)))
            array[element] = original
            grad[element] = (plus - minus) / (2 * eps)
    return grad


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, Tensor) else value


def jacobian(fn: Callable[..., Tensor], x: Tensor) -> np.ndarray:
    """Autograd Jacobian of fn at x, shaped fn(x).shape + x.shape."""
    leaf = Tensor(x.data, requires_grad=True, name=x.name)
    return analytic_jacobians(fn, [leaf])[(0, 0)]


def numerical_jacobian(fn: Callable[..., Tensor], x: Tensor, eps: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of fn at x (in float64), shaped fn(x).shape + x.shape."""
    leaf = promote([Tensor(x.data, requires_grad=True, name=x.name)], "numerical_jacobian")[0]
    return numeric_jacobians(fn, [leaf], eps)[(0, 0)]
