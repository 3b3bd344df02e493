"""Pictures of computation graphs, and a step-by-step record of backward.

    from minigrad.viz import draw, to_dot, trace_backward
    draw(loss, path="graph.svg", show_values=True)   # svg, png or pdf by the extension
    trace = trace_backward(loss)                    # runs backward; print(trace) is a table
    to_dot(loss, trace=trace)                       # the picture with numbered steps

`python -m minigrad.viz --out DIR` draws the examples.
"""

from minigrad.viz.graph import STYLES, GraphvizNotFoundError, draw, render, to_dot
from minigrad.viz.trace import BackwardTrace, GradientSent, TraceStep, trace_backward

__all__ = [
    "STYLES",
    "BackwardTrace",
    "GradientSent",
    "GraphvizNotFoundError",
    "TraceStep",
    "draw",
    "render",
    "to_dot",
    "trace_backward",
]
