"""Check autograd gradients against central differences, and say exactly where they differ.

`gradcheck` compares the analytic Jacobian of every output with respect to every input
that requires grad against a numeric one computed in float64. A mismatch raises
`GradcheckError`, whose `.report` names the function, input, output, worst element,
both values, the errors, the eps used, and whether the mismatch shrinks like eps^2 as
eps shrinks (numerical noise) or not (a wrong backward rule).

Defaults, by the dtype of the inputs the user passed (the check itself runs in float64):

| dtype   | eps  | atol | rtol |
|---------|------|------|------|
| float64 | 1e-6 | 1e-5 | 1e-3 |
| float32 | 1e-6 | 1e-4 | 1e-2 |

eps is scaled per element: an element x is moved by eps * max(1, |x|).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.autograd import gradients
from minigrad.checks import check_count, check_flag, check_positive, check_range
from minigrad.grad_mode import enable_grad, no_grad
from minigrad.graph import topological_order
from minigrad.tensor import Tensor

DEFAULT_EPS = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-6}
DEFAULT_ATOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 1e-4}
DEFAULT_RTOL = {np.dtype(np.float64): 1e-3, np.dtype(np.float32): 1e-2}

# An (input, output) pair whose Jacobian would hold more entries than this is compared
# through a random projection of the output instead (the input is still checked element
# by element), so checking a layer of an MLP does not need gigabytes.
JACOBIAN_LIMIT = 1_000_000
# After a fast-mode mismatch, an input with more elements than this is searched by
# bisection (about 4 log2(n) evaluations) instead of element by element (2n evaluations).
BISECT_ABOVE = 4096
# Steps (relative to max(1, |x|)) of the Taylor-remainder check on the worst element.
TAYLOR_STEPS = (1e-2, 1e-3, 1e-4)
MODES = ("full", "fast")


@dataclass
class GradcheckReport:
    """The worst mismatch between analytic and numeric gradients for one input/output pair.

    `taylor` lists (h, |f(x + h) - f(x) - h * analytic|) for shrinking steps h along the
    worst element; `remainder_order` is the power p in remainder ~ h^p measured at the
    smallest steps: about 2 when the analytic gradient is right (the mismatch is numerical
    noise), about 1 when it is wrong, None when the remainder is at rounding level.
    With `output_projected`, the output was contracted with a random vector first (the
    pair was too large for a full Jacobian), so `output_element` is empty. With `bisected`,
    a fast-mode mismatch on a large input was narrowed down to this element by halving,
    so other elements may be wrong too (fewer evaluations than comparing every one).
    """

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
    atol: float | None = None
    rtol: float | None = None
    order: int = 1
    output_projected: bool = False
    taylor: tuple[tuple[float, float], ...] = ()
    remainder_order: float | None = None
    bisected: bool = False

    @property
    def converges(self) -> bool | None:
        """True when the mismatch is noise (the remainder falls like h^2), False when the
        analytic gradient is wrong; None when no Taylor check ran."""
        if not self.taylor:
            return None
        return self.remainder_order is None or self.remainder_order > 1.5

    def __str__(self) -> str:
        name = f" '{self.input_name}'" if self.input_name else ""
        what = "gradient" if self.order == 1 else "second derivative (gradient of the gradient)"
        output = (
            f"output {self.output_index}"
            if self.order == 1
            else f"the gradient w.r.t. input {self.output_index}"
        )
        out_element = "v . out" if self.output_projected else f"out{list(self.output_element)}"
        tolerance = "" if self.atol is None else f", atol {self.atol:.3g}, rtol {self.rtol:.3g}"
        lines = [
            f"{what} of {self.function} is wrong for input {self.input_index}{name}, {output}:",
            f"  worst element (furthest past the tolerance): d {out_element} / d "
            f"in{list(self.input_element)}",
            f"  analytic {self.analytic:.6g}  numeric {self.numeric:.6g}",
            f"  abs error {self.abs_error:.3g}  rel error {self.rel_error:.3g}"
            f"  (eps {self.eps:.3g}{tolerance})",
        ]
        if self.output_projected:
            lines.append("  (output contracted with a random vector v: the pair is too large)")
        if self.bisected:
            lines.append("  (found by bisection of a fast-mode mismatch, not by comparing all)")
        if self.taylor:
            lines.append(self._taylor_line())
        return "\n".join(lines)

    def _taylor_line(self) -> str:
        steps = ", ".join(f"{h:.0e}" for h, _ in self.taylor)
        remainders = ", ".join(f"{r:.2g}" for _, r in self.taylor)
        head = f"  Taylor remainder |f(x+h) - f(x) - h*analytic| for h = {steps}: {remainders}"
        if not all(math.isfinite(r) for _, r in self.taylor):
            return f"{head}\n  is not finite: the function is not finite near this point"
        if self.remainder_order is None:
            return f"{head}\n  is at rounding level: the analytic value is consistent"
        power = f"  falls like h^{self.remainder_order:.2f}"
        if self.converges:
            return (
                f"{head}\n{power}, as a right gradient's does: the mismatch is numerical noise\n"
                "  (try another eps or looser tolerances)"
            )
        return (
            f"{head}\n{power}, not h^2: the backward rule is wrong\n"
            "  (or the function is not differentiable there)"
        )


@dataclass
class GradcheckResult:
    """Everything a check found; true when every gradient matched."""

    passed: bool
    failures: list[GradcheckReport] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def worst(self) -> GradcheckReport | None:
        return max(self.failures, key=lambda r: r.abs_error, default=None)


class GradcheckError(AssertionError):
    """Raised by `gradcheck` on a mismatch; `.report` holds the worst one, `.result` all."""

    def __init__(self, report: GradcheckReport, result: GradcheckResult) -> None:
        more = len(result.failures) - 1
        suffix = f"\n({more} more failing input/output pair{'s' * (more > 1)})" if more else ""
        super().__init__(str(report) + suffix)
        self.report = report
        self.result = result


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def function_name(fn: Callable) -> str:
    """How reports name a checked function: its qualified name, else its type's name."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _as_tensors(inputs: Tensor | Sequence[Any]) -> list[Tensor]:
    tensors = []
    for position, value in enumerate(_as_tuple(inputs)):
        if isinstance(value, Tensor):
            tensors.append(value)
        elif isinstance(value, np.ndarray):
            tensors.append(Tensor(value, requires_grad=value.dtype.kind == "f"))
        else:
            raise TypeError(
                f"gradcheck: input {position} is a {type(value).__name__}; pass Tensors "
                "(those with requires_grad=True are checked) or NumPy arrays"
            )
    return tensors


def float64_leaves(inputs: Sequence[Tensor]) -> list[Tensor]:
    """Leaf copies of the inputs, floating ones in float64: what a check perturbs, so the
    user's tensors, and any graph they belong to, are left alone."""
    return [
        Tensor(
            t.data.astype(np.float64) if t.dtype.kind == "f" else t.data.copy(),
            requires_grad=t.requires_grad,
            name=t.name,
        )
        for t in inputs
    ]


def _warn_if_float32(inputs: Sequence[Tensor], caller: str) -> None:
    if any(t.dtype == np.float32 for t in inputs):
        warnings.warn(
            f"{caller}: float32 inputs are promoted to float64 for the check, since "
            "central differences in float32 are too noisy to judge a gradient",
            stacklevel=3,
        )


def require_mode(mode: str, modes: Sequence[str], caller: str) -> None:
    """Refuse a mode the caller does not have, rather than quietly running another one."""
    if mode not in modes:
        raise ValueError(f"{caller}: mode must be one of {tuple(modes)}, got {mode!r}")


def _outputs(fn: Callable, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
    """fn's floating outputs (integer ones, such as predicted labels, have no gradient)."""
    outputs = _as_tuple(fn(*inputs))
    for position, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(
                f"gradcheck: {function_name(fn)} must return a Tensor or a tuple of Tensors; "
                f"output {position} is a {type(out).__name__}"
            )
    return tuple(out for out in outputs if out.dtype.kind == "f")


def step_sizes(array: np.ndarray, eps: float) -> np.ndarray:
    """eps scaled to each element's magnitude, so large entries get a relative step."""
    return eps * np.maximum(1.0, np.abs(array))


def _one_hot_seeds(shape: tuple[int, ...]) -> Iterator[np.ndarray]:
    for k in range(int(np.prod(shape))):
        seed = np.zeros(shape)
        seed.flat[k] = 1.0
        yield seed


def _unit(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    vector = rng.standard_normal(shape)
    return vector / max(float(np.linalg.norm(vector)), 1e-300)


@dataclass
class Checker:
    """One gradient check of `fn` at `inputs` (float64 leaves), in full or fast mode.

    `ignore` maps an input index to a boolean mask of elements to leave out (the
    localiser uses it for elements that sit on a kink of an op).
    """

    fn: Callable
    inputs: list[Tensor]
    function: str
    eps: float
    atol: float
    rtol: float
    order: int = 1
    seed: int = 0
    ignore: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def wanted(self) -> list[int]:
        return [i for i, t in enumerate(self.inputs) if t.requires_grad]

    def values(self) -> list[np.ndarray]:
        with no_grad():
            return [out.data.astype(np.float64) for out in _outputs(self.fn, self.inputs)]

    def recorded(self) -> tuple[Tensor, ...]:
        """fn's outputs with their graph (recorded even inside the caller's no_grad())."""
        with enable_grad():
            return _outputs(self.fn, self.inputs)

    def run(self, mode: str) -> list[GradcheckReport]:
        outputs = self.recorded()
        # A second-order check may meet a gradient that is constant (no path) by right.
        if self.order == 1 and not _reaches_an_input(outputs, self.inputs):
            raise ValueError(_no_path_message(self.function))
        if mode == "full":
            return self.full(outputs)
        suspects = self.fast_suspects(outputs)
        large = [(i, o) for i, o in suspects if self.inputs[i].size > BISECT_ABOVE]
        small = [pair for pair in suspects if pair not in large]
        reports = self.full(outputs, small) if small else []
        return reports + [r for i, o in large if (r := self.bisect(outputs, i, o)) is not None]

    # ----- fast mode: two projections per input/output pair --------------------------------
    def fast_suspects(self, outputs: tuple[Tensor, ...]) -> list[tuple[int, int]]:
        """(input, output) pairs where v . J u differs, for a random unit v and two
        directions u per input: a random one, and the analytic gradient's own direction.

        Along the analytic gradient, a scaled, sign-flipped or permuted rule shows up in
        full, whatever the input's size; the random direction also sees a gradient that is
        wrongly zero. Costs one forward and one backward per output, plus four forwards per
        input.
        """
        rng = np.random.default_rng(self.seed)
        v = [_unit(rng, out.shape) for out in outputs]
        vjps = self._vector_jacobian_products(outputs, v)
        suspects = set()
        for i in self.wanted:
            tensor = self.inputs[i]
            along = sum(vjps[(i, o)] for o in range(len(outputs)))
            directions = [_unit(rng, tensor.shape)]
            if np.linalg.norm(along) > 0:
                directions.append(along / np.linalg.norm(along))
            for direction in directions:
                direction = direction * np.maximum(1.0, np.abs(tensor.data))
                if i in self.ignore:
                    direction[self.ignore[i]] = 0.0
                plus = self._shifted(i, self.eps * direction)
                minus = self._shifted(i, -self.eps * direction)
                for o, v_o in enumerate(v):
                    analytic = float(np.sum(vjps[(i, o)] * direction))
                    numeric = float(np.sum(v_o * (plus[o] - minus[o]))) / (2 * self.eps)
                    if not abs(analytic - numeric) <= self.atol + self.rtol * abs(numeric):
                        suspects.add((i, o))
        return sorted(suspects)

    def _vector_jacobian_products(self, outputs, v) -> dict[tuple[int, int], np.ndarray]:
        """{(input, output): J^T v} from one backward per output."""
        products = {
            (i, o): np.zeros(self.inputs[i].shape) for i in self.wanted for o in range(len(v))
        }
        for o, out in enumerate(outputs):
            if not out.requires_grad:
                continue
            found = gradients(
                out, [self.inputs[i] for i in self.wanted], grad=v[o], retain_graph=True
            )
            for i, grad in zip(self.wanted, found):
                if grad is not None:
                    products[(i, o)] = grad.data.astype(np.float64)
        return products

    def _shifted(self, i: int, shift: np.ndarray) -> list[np.ndarray]:
        tensor = self.inputs[i]
        original = tensor.data
        tensor.data = original + shift
        try:
            return self.values()
        finally:
            tensor.data = original

    def bisect(self, outputs: tuple[Tensor, ...], i: int, o: int) -> GradcheckReport | None:
        """Narrow a mismatch of v . J u down to one element of input i by halving the set
        of elements u moves, then compare that element on its own."""
        rng = np.random.default_rng(self.seed + 3)
        tensor, out = self.inputs[i], outputs[o]
        v = _unit(rng, out.shape)
        analytic = self.analytic_rows(out, i, v)
        scale = np.maximum(1.0, np.abs(tensor.data))
        directions = [rng.standard_normal(tensor.shape) * scale, analytic[0] * scale]
        skipped = self.ignore.get(i, np.zeros(tensor.shape, dtype=bool))
        candidates = np.flatnonzero(~skipped)
        while len(candidates) > 1:
            halves = np.array_split(candidates, 2)
            excess = [
                max(self._excess_along(i, o, v, analytic[0], d, half) for d in directions)
                for half in halves
            ]
            candidates = halves[int(np.argmax(excess))]
        element = _unravel(int(candidates[0]), tensor.shape)
        # Numeric rows equal to the analytic ones except at that element: only it is judged.
        numeric = analytic.copy()
        numeric[(0,) + element] = self.numeric_rows(i, {o: v}, {o: out.shape}, [element])[o][
            (0,) + element
        ]
        report = self.compare(i, o, analytic, numeric, out.shape, v)
        if report is not None:
            report.bisected = True
        return report

    def _excess_along(self, i, o, v, analytic, direction, elements) -> float:
        """How far v . J d misses its tolerance, for d = direction on `elements` only."""
        restricted = np.zeros(direction.shape)
        restricted.flat[elements] = direction.flat[elements]
        if not restricted.any():
            return 0.0
        restricted /= np.linalg.norm(restricted)
        plus = self._shifted(i, self.eps * restricted)[o]
        minus = self._shifted(i, -self.eps * restricted)[o]
        numeric = float(np.sum(v * (plus - minus))) / (2 * self.eps)
        error = abs(float(np.sum(analytic * restricted)) - numeric)
        return error / (self.atol + self.rtol * abs(numeric)) if np.isfinite(error) else np.inf

    # ----- full mode: every element --------------------------------------------------------
    def full(
        self, outputs: tuple[Tensor, ...], pairs: list[tuple[int, int]] | None = None
    ) -> list[GradcheckReport]:
        """Compare element by element (all pairs, or only `pairs`)."""
        if pairs is None:
            pairs = [(i, o) for i in self.wanted for o in range(len(outputs))]
        rng = np.random.default_rng(self.seed + 1)
        projections = {}
        for o in sorted({o for _, o in pairs}):
            widest = max(self.inputs[i].size for i, paired in pairs if paired == o)
            too_large = outputs[o].size * widest > JACOBIAN_LIMIT
            projections[o] = _unit(rng, outputs[o].shape) if too_large else None
        failures = []
        for i in sorted({i for i, _ in pairs}):
            wanted_outputs = {o: projections[o] for ii, o in pairs if ii == i}
            numeric = self.numeric_rows(
                i, wanted_outputs, {o: outputs[o].shape for o in wanted_outputs}
            )
            for o, projection in wanted_outputs.items():
                analytic = self.analytic_rows(outputs[o], i, projection)
                report = self.compare(i, o, analytic, numeric[o], outputs[o].shape, projection)
                if report is not None:
                    failures.append(report)
        return failures

    def analytic_rows(self, out: Tensor, i: int, projection: np.ndarray | None) -> np.ndarray:
        """Rows of d out / d input i: one per output element, or one for v . out."""
        seeds = [projection] if projection is not None else _one_hot_seeds(out.shape)
        rows = np.zeros((1 if projection is not None else out.size,) + self.inputs[i].shape)
        if not out.requires_grad:
            return rows
        for k, seed in enumerate(seeds):
            (grad,) = gradients(out, [self.inputs[i]], grad=seed, retain_graph=True)
            if grad is not None:
                rows[k] = grad.data
        return rows

    def numeric_rows(
        self,
        i: int,
        projections: dict[int, np.ndarray | None],
        shapes: dict[int, tuple[int, ...]],
        elements: list | None = None,
    ) -> dict:
        """Central-difference rows for input i (at every element, or only at `elements`),
        for every output in `projections`."""
        tensor = self.inputs[i]
        steps = step_sizes(tensor.data, self.eps)
        rows = {
            o: np.zeros((1 if v is not None else int(np.prod(shapes[o])),) + tensor.shape)
            for o, v in projections.items()
        }
        for element in np.ndindex(tensor.shape) if elements is None else elements:
            original = tensor.data[element]
            tensor.data[element] = original + steps[element]
            plus = self.values()
            tensor.data[element] = original - steps[element]
            minus = self.values()
            tensor.data[element] = original
            for o, v in projections.items():
                slope = (plus[o] - minus[o]) / (2 * steps[element])
                rows[o][(slice(None),) + element] = (
                    slope.reshape(-1) if v is None else np.sum(v * slope)
                )
        return rows

    def compare(self, i, o, analytic, numeric, out_shape, projection) -> GradcheckReport | None:
        error = np.abs(analytic - numeric)
        tolerance = self.atol + self.rtol * np.abs(numeric)
        excess = error / np.maximum(tolerance, np.finfo(np.float64).tiny)
        excess = np.where(np.isnan(excess), np.inf, excess)
        if i in self.ignore:
            excess[:, self.ignore[i]] = 0.0
        if np.all(excess <= 1):
            return None
        worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
        row, element = int(worst[0]), tuple(int(k) for k in worst[1:])
        seed = (
            projection
            if projection is not None
            else np.eye(1, error.shape[0], row).reshape(out_shape)
        )
        value = self.values()[o]
        taylor = self.taylor(i, o, element, seed, value, float(analytic[worst]))
        return GradcheckReport(
            function=self.function,
            input_index=i,
            input_name=self.inputs[i].name,
            output_index=o,
            input_element=element,
            output_element=() if projection is not None else _unravel(row, out_shape),
            analytic=float(analytic[worst]),
            numeric=float(numeric[worst]),
            abs_error=float(error[worst]),
            rel_error=float(error[worst] / max(abs(float(numeric[worst])), 1e-12)),
            eps=self.eps,
            atol=self.atol,
            rtol=self.rtol,
            order=self.order,
            output_projected=projection is not None,
            taylor=taylor,
            remainder_order=remainder_order(
                taylor, 1e-12 * max(1.0, float(np.sum(np.abs(seed * value))))
            ),
        )

    def taylor(self, i, o, element, seed, value, analytic) -> tuple[tuple[float, float], ...]:
        """|f(x + h e) - f(x) - h * analytic| along the worst element, for shrinking h."""
        tensor = self.inputs[i]
        scale = max(1.0, abs(float(tensor.data[element])))
        base = float(np.sum(seed * value))
        remainders = []
        for step in TAYLOR_STEPS:
            shift = np.zeros(tensor.shape)
            shift[element] = step * scale
            moved = float(np.sum(seed * self._shifted(i, shift)[o]))
            remainders.append((step * scale, abs(moved - base - step * scale * analytic)))
        return tuple(remainders)


def _reaches_an_input(outputs: Sequence[Tensor], inputs: Sequence[Tensor]) -> bool:
    """Whether some output was computed, through recorded ops, from an input being checked.

    The graph answers this, not the numbers: an op applied to an input links the two even
    where the gradient is zero, so a genuinely zero gradient is still checked.
    """
    wanted = {id(t) for t in inputs if t.requires_grad}
    for out in outputs:
        if id(out) in wanted:
            return True
        if out.op is not None and any(
            id(parent) in wanted for node in topological_order(out) for parent in node.op.inputs
        ):
            return True
    return False


def _no_path_message(function: str) -> str:
    return (
        f"gradcheck: no output of {function} depends on the inputs it was given. gradcheck "
        "calls fn with float64 copies of the inputs, so fn must compute from its arguments "
        "with minigrad ops, e.g. lambda W1, b1: loss(x, W1, b1), not from tensors it closes "
        "over, as lambda *ps: net.loss(x, t) does. (Judged from the recorded graph: with no "
        "path from an input to an output, both gradients would be zero and any backward "
        "would pass.)"
    )


def _unravel(index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(k) for k in np.unravel_index(index, shape)) if shape else ()


def remainder_order(taylor: Sequence[tuple[float, float]], floor: float) -> float | None:
    """The power p in remainder ~ h^p, from the two smallest steps above rounding level."""
    above = [(h, r) for h, r in taylor if r > floor]
    if len(above) < 2:
        return None
    (h1, r1), (h2, r2) = above[-2], above[-1]
    return math.log(r1 / r2) / math.log(h1 / h2)


def gradient_function(fn: Callable, inputs: Sequence[Tensor], seed: int) -> Callable:
    """x -> sum over outputs of J(x)^T v (v random, fixed): what order-2 checks differentiate.

    Its own gradient comes from backward through backward (`create_graph=True`).
    """
    wanted = [i for i, t in enumerate(inputs) if t.requires_grad]
    rng = np.random.default_rng(seed + 2)
    with no_grad():
        cotangents = [rng.standard_normal(out.shape) for out in _outputs(fn, inputs)]

    def gradient_of(*xs: Tensor) -> tuple[Tensor, ...]:
        totals: list[Tensor | None] = [None] * len(wanted)
        with enable_grad():
            for out, v in zip(_outputs(fn, xs), cotangents):
                if not out.requires_grad:
                    continue
                found = gradients(out, [xs[i] for i in wanted], grad=v, create_graph=True)
                totals = [
                    g if total is None else (total if g is None else total + g)
                    for total, g in zip(totals, found)
                ]
        return tuple(
            Tensor.wrap(np.zeros(xs[i].shape)) if total is None else total
            for i, total in zip(wanted, totals)
        )

    gradient_of.__qualname__ = function_name(fn)
    return gradient_of


def run_check(
    fn: Callable,
    inputs: list[Tensor],
    *,
    eps: float,
    atol: float,
    rtol: float,
    mode: str = "full",
    order: int = 1,
    seed: int = 0,
    function: str | None = None,
    ignore: dict[int, np.ndarray] | None = None,
) -> GradcheckResult:
    """The check itself, on float64 leaves: first order, then (order=2) the gradient's."""
    name = function or function_name(fn)
    check = Checker(fn, inputs, name, eps, atol, rtol, seed=seed, ignore=ignore or {})
    failures = check.run(mode)
    if not failures and order == 2:
        wanted = check.wanted
        second = Checker(
            gradient_function(fn, inputs, seed), inputs, name, eps, atol, rtol, order=2, seed=seed
        )
        failures = second.run(mode)
        for report in failures:
            report.output_index = wanted[report.output_index]
    return GradcheckResult(passed=not failures, failures=failures)


def check_options(fn: Any, eps: Any, atol: Any, rtol: Any) -> None:
    """A callable fn, a step eps > 0 (0 divides by 0) and tolerances >= 0, or None for
    the dtype's defaults."""
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be a function, got {fn!r:.60}")
    if eps is not None:
        check_positive("gradcheck", "eps", eps)
    for name, value in (("atol", atol), ("rtol", rtol)):
        if value is not None:
            check_range("gradcheck", name, value, 0.0, math.inf)


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    *,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    mode: str = "full",
    order: int = 1,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool | GradcheckResult:
    """Compare fn's autograd gradients with central differences, for every input that
    requires grad and every floating output (fn returns a Tensor or a tuple of them).

    mode="full" compares every Jacobian entry; mode="fast" compares two projections
    v . J u per input/output pair (a random u, and u along the analytic gradient: four
    evaluations of fn per input), and on a mismatch falls back to the full comparison of
    the failing pairs (bisection for inputs over BISECT_ABOVE elements) so the report
    still says where. order=2 then checks the gradient of the gradient (through
    create_graph=True). Defaults for eps, atol and rtol depend on the inputs' dtype
    (module docstring); `seed` fixes the random projections.

    Returns True on success, raises `GradcheckError` on a mismatch; with
    raise_exception=False returns a `GradcheckResult` instead (true when it passed).
    """
    require_mode(mode, MODES, "gradcheck")
    check_count("gradcheck", "order", order, 1)
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")
    check_options(fn, eps, atol, rtol)
    check_flag("gradcheck", "raise_exception", raise_exception)
    check_count("gradcheck", "seed", seed, 0)
    original = _as_tensors(inputs)
    if not any(t.requires_grad for t in original):
        raise ValueError(
            f"gradcheck: no input of {function_name(fn)} has requires_grad=True, so there is "
            "nothing to check; create the inputs with Tensor(..., requires_grad=True)"
        )
    for position, tensor in enumerate(original):
        if tensor.dtype.kind == "f" and not np.all(np.isfinite(tensor.data)):
            where = _unravel(int(np.flatnonzero(~np.isfinite(tensor.data))[0]), tensor.shape)
            raise ValueError(
                f"gradcheck: input {position} of {function_name(fn)} holds "
                f"{tensor.data[where]} at {list(where)}; central differences need finite "
                "inputs, so check at a point where every input is finite"
            )
    dtype = next((t.dtype for t in original if t.dtype.kind == "f"), np.dtype(np.float64))
    _warn_if_float32(original, "gradcheck")
    result = run_check(
        fn,
        float64_leaves(original),
        eps=DEFAULT_EPS.get(dtype, 1e-6) if eps is None else eps,
        atol=DEFAULT_ATOL.get(dtype, 1e-5) if atol is None else atol,
        rtol=DEFAULT_RTOL.get(dtype, 1e-3) if rtol is None else rtol,
        mode=mode,
        order=order,
        seed=seed,
    )
    if not raise_exception:
        return result
    if not result.passed:
        raise GradcheckError(result.worst, result)
    return True


def numerical_gradient(f: Callable[[Any], Any], x: Any, eps: float | None = None) -> np.ndarray:
    """The seeds' central difference: d f / d x for scalar f, element by element.

    `x` (a floating array or Tensor) is perturbed in place and restored, even when `f`
    raises, so `f` may ignore its argument, as the book's `lambda W: net.loss(x, t)` does.
    eps defaults to 1e-4 for float32 data (the book's h) and 1e-6 for float64.
    """
    array = x.data if isinstance(x, Tensor) else x
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        what = f"{array.dtype} data" if isinstance(array, np.ndarray) else f"a {type(x).__name__}"
        raise TypeError(
            f"numerical_gradient: x is {what}, but it is moved in place by a small eps, so it "
            "must be a floating array or Tensor (integers truncate the step): pass "
            "np.array([3.0, 4.0]), not np.array([3, 4])"
        )
    eps = (1e-4 if array.dtype == np.float32 else 1e-6) if eps is None else eps
    grad = np.zeros(array.shape, dtype=np.float64)
    with no_grad():
        for element in np.ndindex(array.shape):
            original = array[element]
            try:
                array[element] = original + eps
                plus = float(_scalar(f(x)))
                array[element] = original - eps
                minus = float(_scalar(f(x)))
            finally:
                array[element] = original
            grad[element] = (plus - minus) / (2 * eps)
    return grad


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, Tensor) else value


def jacobian(fn: Callable[..., Tensor], x: Tensor) -> np.ndarray:
    """Autograd Jacobian of fn at x, shaped fn(x).shape + x.shape."""
    leaf = Tensor(x.data, requires_grad=True, name=x.name)
    out = fn(leaf)
    if not out.requires_grad or out.size == 0 or leaf.size == 0:
        return np.zeros(out.shape + leaf.shape)
    rows = [
        gradients(out, [leaf], grad=seed, retain_graph=True)[0]
        for seed in _one_hot_seeds(out.shape)
    ]
    stacked = np.stack([np.zeros(leaf.shape) if g is None else g.data for g in rows])
    return stacked.reshape(out.shape + leaf.shape)


def numerical_jacobian(fn: Callable[..., Tensor], x: Tensor, eps: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of fn at x (in float64), shaped fn(x).shape + x.shape."""
    _warn_if_float32([x], "numerical_jacobian")
    (leaf,) = float64_leaves([Tensor(x.data, requires_grad=True, name=x.name)])
    check = Checker(fn, [leaf], function_name(fn), eps, 0.0, 0.0)
    out_shape = check.values()[0].shape
    rows = check.numeric_rows(0, {0: None}, {0: out_shape})[0]
    return rows.reshape(out_shape + leaf.shape)
