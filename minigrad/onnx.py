"""ONNX export: trace one forward and write each recorded op as ONNX nodes.

    minigrad.onnx.export(model, x_example, "model.onnx")

The trace is the engine's own graph walk (`minigrad.graph.topological_order`); each op is
written by the entry for it in its family's `ONNX` table (`minigrad/ops/<family>.py`), so
a new op adds its export beside its definition. Parameters become initializers named by
their paths (`layers.0.weight`), other leaves constants. Needs the `export` extra
(`pip install minigrad[export]`); the rest of minigrad never imports onnx.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.files import atomic_write
from minigrad.grad_mode import enable_grad
from minigrad.graph import topological_order
from minigrad.nn import Module
from minigrad.ops.base import ExportError, NotExportable, Op
from minigrad.tensor import Tensor

__all__ = ["BATCH", "OPSET", "ExportError", "OnnxGraph", "export", "onnx_entry"]

OPSET = 17  # ONNX 1.12 (2022) and later, every onnxruntime since 1.12, run it
BATCH = "batch"  # the name of the dynamic leading axis


def import_onnx() -> Any:
    """The onnx package, or an ImportError that says which extra to install."""
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            "minigrad.onnx needs the onnx package: pip install minigrad[export] "
            "(onnx, onnxruntime and safetensors)"
        ) from error
    return onnx


def onnx_entry(op: type[Op]) -> Callable[..., str] | NotExportable | None:
    """The op's entry in the `ONNX` table of the module that defines it (None: none)."""
    return getattr(sys.modules[op.__module__], "ONNX", {}).get(op.name)


class OnnxGraph:
    """The ONNX graph being written: what an op's export entry calls to add nodes.

    `dtype` is the floating dtype of the op being written, which Python numbers given
    to `constant` take; `op.inputs` (the traced tensors) give the input shapes.
    """

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.taken: set[str] = set()
        self.dtype = np.dtype(np.float32)
        self.prefix = ""

    @property
    def element_type(self) -> int:
        """The ONNX type of `dtype`, for Cast nodes."""
        return self.onnx.helper.np_dtype_to_tensor_dtype(self.dtype)

    def fresh(self, base: str) -> str:
        """A value name not used yet: `base`, or `base_1`, `base_2`, ..."""
        name, count = base, 0
        while name in self.taken:
            count += 1
            name = f"{base}_{count}"
        self.taken.add(name)
        return name

    def node(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        """Add one ONNX node on the named inputs ("" for a missing optional one); its
        output's name."""
        output = self.fresh(f"{self.prefix}{op_type}")
        self.nodes.append(
            self.onnx.helper.make_node(op_type, list(inputs), [output], name=output, **attributes)
        )
        return output

    def constant(self, value: Any, dtype: Any = None) -> str:
        """A Constant node holding `value`; a Python number takes the op's `dtype`."""
        if dtype is None and not isinstance(value, np.ndarray):
            dtype = self.dtype
        array = np.asarray(value, dtype=dtype)
        tensor = self.onnx.numpy_helper.from_array(array)
        return self.node("Constant", value=tensor)

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant: axes, shapes, pads and repeats are inputs in ONNX."""
        return self.constant(np.array([int(v) for v in values], dtype=np.int64))

    def initializer(self, name: str, array: np.ndarray) -> str:
        name = self.fresh(name)
        tensor = self.onnx.numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        return name

    def rename(self, old: str, new: str) -> bool:
        """Give the node output `old` the name `new` everywhere; False if no node made it."""
        makers = [node for node in self.nodes if old in node.output]
        if not makers:
            return False
        for node in self.nodes:
            node.input[:] = [new if name == old else name for name in node.input]
            node.output[:] = [new if name == old else name for name in node.output]
        self.taken.add(new)
        return True


def export(
    fn_or_module: Callable[..., Any],
    example_inputs: Any | Sequence[Any],
    path: str | os.PathLike[str],
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_batch: bool = True,
) -> Path:
    """Trace `fn_or_module(*example_inputs)` once and write it to `path` as an ONNX model.

    A Module is traced in eval mode (dropout off) and its parameters are written as
    initializers named by their paths. With `dynamic_batch`, the leading axis of every
    input and output as long as the first input's is named "batch" and may differ at run
    time: trace with a batch size no other axis has (not 1). The model passes
    `onnx.checker.check_model`, and is written atomically. Returns the path.
    """
    onnx = import_onnx()
    examples = example_inputs if isinstance(example_inputs, (list, tuple)) else [example_inputs]
    inputs = [_traced_input(value) for value in examples]
    outputs = _trace(fn_or_module, inputs)
    input_names = _names(input_names, len(inputs), "input")
    output_names = _names(output_names, len(outputs), "output")
    writer = _Writer(OnnxGraph(onnx), inputs, input_names, _parameter_names(fn_or_module))
    for tensor in topological_order(outputs):
        writer.write(tensor)
    writer.name_outputs(outputs, output_names)
    batch = inputs[0].shape[0] if dynamic_batch and inputs and inputs[0].ndim else None
    model = onnx.helper.make_model(
        onnx.helper.make_graph(
            writer.graph.nodes,
            "minigrad",
            [_value_info(onnx, name, t, batch) for t, name in zip(inputs, input_names)],
            [_value_info(onnx, name, t, batch) for t, name in zip(outputs, output_names)],
            writer.graph.initializers,
        ),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="minigrad",
    )
    onnx.checker.check_model(model, full_check=True)
    path = Path(path)
    with atomic_write(path) as out:
        out.write(model.SerializeToString())
    return path


class _Writer:
    """Writes traced tensors as ONNX values, each once: the inputs under their names, ops
    through their entries, leaves as initializers (trainable ones) or constants."""

    def __init__(
        self,
        graph: OnnxGraph,
        inputs: list[Tensor],
        input_names: list[str],
        parameters: dict[int, str],
    ) -> None:
        self.graph = graph
        self.values = {id(t): graph.fresh(name) for t, name in zip(inputs, input_names)}
        self.inputs = set(self.values.values())
        self.parameters = parameters
        self.written_ops: dict[int, str] = {}

    def value(self, tensor: Tensor) -> str:
        if id(tensor) not in self.values:  # a leaf: ops' outputs are written in order
            self.values[id(tensor)] = self.leaf(tensor)
        return self.values[id(tensor)]

    def leaf(self, tensor: Tensor) -> str:
        if tensor.requires_grad:
            name = self.parameters.get(id(tensor)) or tensor.name or "weight"
            return self.graph.initializer(name, tensor.data)
        return self.graph.constant(tensor.data)

    def name_outputs(self, outputs: list[Tensor], names: list[str]) -> None:
        """Give the outputs their names: the node that made one is renamed, and an output
        that is an input, a leaf or an earlier output gets an Identity node."""
        named: set[str] = set()
        for tensor, name in zip(outputs, names):
            value = self.value(tensor)
            if value in self.inputs or value in named or not self.graph.rename(value, name):
                self.graph.nodes.append(
                    self.graph.onnx.helper.make_node("Identity", [value], [name], name=name)
                )
            else:
                self.values[id(tensor)] = name
            named.add(name)

    def write(self, tensor: Tensor) -> None:
        op = tensor.op
        if id(op) in self.written_ops:  # a copy of a tensor already written
            self.values[id(tensor)] = self.written_ops[id(op)]
            return
        entry = onnx_entry(type(op))
        if entry is None:
            raise ExportError(
                f"export: op '{op.label}' has no ONNX entry; add one to the ONNX table of "
                f"{type(op).__module__} (or NotExportable(why))"
            )
        if isinstance(entry, NotExportable):
            raise ExportError(f"export: op '{op.label}' cannot be exported to ONNX: {entry.reason}")
        arguments = [self.value(parent) for parent in op.inputs]
        self.graph.dtype = tensor.dtype if tensor.dtype.kind == "f" else np.dtype(np.float32)
        # node names say where they came from: the module's path (the innermost scope is
        # the whole dotted path) and the op, as `layers.0/linear/MatMul`
        self.graph.prefix = f"{op.scope[-1]}/{op.name}/" if op.scope else f"{op.name}/"
        output = entry(self.graph, op, *arguments)
        self.values[id(tensor)] = self.written_ops[id(op)] = output


def _traced_input(value: Any) -> Tensor:
    """A fresh tensor holding an example input; floating ones require grad, so that every
    op on them is recorded."""
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    return Tensor.wrap(array, requires_grad=array.dtype.kind == "f")


def _trace(fn: Callable[..., Any], inputs: list[Tensor]) -> list[Tensor]:
    modules = list(fn.named_modules()) if isinstance(fn, Module) else []
    modes = [(module, module.training) for _, module in modules]
    for module, _ in modes:
        module.training = False
    try:
        with enable_grad():
            result = fn(*inputs)
    finally:
        for module, training in modes:
            module.training = training
    outputs = list(result) if isinstance(result, (list, tuple)) else [result]
    for position, output in enumerate(outputs):
        if not isinstance(output, Tensor):
            raise ExportError(
                f"export: output {position} of the traced function is a "
                f"{type(output).__name__}, not a Tensor; return Tensors (or a tuple of them)"
            )
    return outputs


def _parameter_names(fn: Any) -> dict[int, str]:
    if isinstance(fn, Module):
        return {id(parameter): name for name, parameter in fn.named_parameters()}
    return {}


def _names(given: Sequence[str] | None, count: int, base: str) -> list[str]:
    if given is None:
        return [base] if count == 1 else [f"{base}.{i}" for i in range(count)]
    if len(given) != count or len(set(given)) != count:
        raise ExportError(f"export: {count} distinct {base} name(s) needed, got {list(given)!r}")
    return list(given)


def _value_info(onnx: Any, name: str, tensor: Tensor, batch: int | None) -> Any:
    """An input's or output's type; the leading axis is BATCH where it has the batch size."""
    shape: list[Any] = list(tensor.shape)
    if batch is not None and shape and shape[0] == batch:
        shape[0] = BATCH
    element = onnx.helper.np_dtype_to_tensor_dtype(tensor.dtype)
    return onnx.helper.make_tensor_value_info(name, element, shape)
