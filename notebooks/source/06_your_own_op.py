# Source of notebooks/zh/06_your_own_op.ipynb and notebooks/en/06_your_own_op.ipynb.
# Edit here, then run `python -m notebooks.build` (the format is described in notebooks/build.py).

# %% [markdown] zh
# # 6. 自己写一个算子：梯度确认，以及找出一个故意埋下的错误
#
# 书的第 5 章为每一层手写 `forward` 和 `backward`。minigrad 的每个运算（算子，op）也是这样定义的：一个 `Op` 的子类，`forward` 在 NumPy 数组上计算，`backward` 按链式法则把上游传来的梯度乘以局部导数。写错 `backward` 很容易，书的官方代码仓库里就有人报告过 `relu_grad` 的错误。
#
# 本篇写一个新的激活函数 swish（也叫 SiLU）：$\mathrm{swish}(x) = x\,\sigma(x)$，用 `gradcheck` 和 `check_op` 检查它；然后故意在 `backward` 里埋一个错误，看 `minigrad.testing.graphs()` 如何自己找出一个出错的式子，`check_nodes` 如何在计算图上把出错的算子涂成红色。
# %% [markdown] en
# # 6. Writing your own op: gradient checks, and finding a planted bug
#
# Chapter 5 of the book writes a `forward` and a `backward` for every layer. Each of minigrad's operations (ops) is defined the same way: a subclass of `Op`, whose `forward` computes on NumPy arrays and whose `backward` applies the chain rule, multiplying the gradient from upstream by the local derivative. A `backward` is easy to get wrong: the book's own repository has had a wrong `relu_grad` reported.
#
# This notebook writes a new activation, swish (also called SiLU): $\mathrm{swish}(x) = x\,\sigma(x)$, and checks it with `gradcheck` and `check_op`. Then it plants a bug in `backward` and watches `minigrad.testing.graphs()` find a failing expression by itself, and `check_nodes` paint the wrong op red in the graph.

# %%
import os

# One BLAS thread unless you choose otherwise: on a busy 2-core machine a second one only
# slows NumPy down. It has to be set before NumPy is imported.
if "OPENBLAS_NUM_THREADS" not in os.environ:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"

# %%
import numpy as np
from hypothesis import find, settings
from IPython.display import display

import minigrad
import minigrad.functional as F
from minigrad import GradcheckError, Tensor, check_nodes, gradcheck, locate_gradient_errors
from minigrad.ops import Op, Sigmoid
from minigrad.testing import check_op, graphs
from minigrad.viz import to_dot

# %% [markdown] zh
# `check_op` 和 `graphs()` 用 Hypothesis 随机生成测试数据。这里固定它的随机种子（`derandomize=True`），每次运行结果都一样；不在磁盘上保存例子（`database=None`）；也不限制每个例子的运行时间（`deadline=None`），因为这台机器和别人共用，时快时慢。
# %% [markdown] en
# `check_op` and `graphs()` draw their test data with Hypothesis. Its seed is fixed here (`derandomize=True`), so every run finds the same examples; it keeps no examples on disk (`database=None`); and it sets no time limit per example (`deadline=None`), since this machine is shared and its speed varies.

# %%
settings.register_profile("notebook", derandomize=True, database=None, deadline=None)
settings.load_profile("notebook")

# %% [markdown] zh
# ## 写一个算子
#
# $\mathrm{swish}(x) = x\,\sigma(x) = \frac{x}{1 + e^{-x}}$，它的导数是 $\sigma(x) + x\,\sigma(x)(1 - \sigma(x))$。
#
# - `name` 是算子的名字，计算图和出错信息里都用它。定义了 `name` 的子类会自动登记到 `minigrad.OPS` 里，`graphs()` 默认会用到所有登记过的算子。
# - `forward(self, x)` 的输入输出都是 NumPy 数组。
# - `backward(self, grad, out, x)` 拿到输出的梯度 `grad`、输出 `out` 和输入 `x`，对每个输入返回一个梯度。它要用数组和 `Tensor` 都有的运算来写（`*`、`+`、`@` 等），其余的用算子的 `call`（`SomeOp.call(...)`）：这里的 $\sigma(x)$ 写成 `Sigmoid.call(x)`，而不是 `1 / (1 + np.exp(-x))`，后面会看到为什么。
# %% [markdown] en
# ## Writing an op
#
# $\mathrm{swish}(x) = x\,\sigma(x) = \frac{x}{1 + e^{-x}}$, whose derivative is $\sigma(x) + x\,\sigma(x)(1 - \sigma(x))$.
#
# - `name` is the op's name in graphs and messages. A subclass with a `name` registers itself in `minigrad.OPS`, and `graphs()` uses every registered op by default.
# - `forward(self, x)` takes and returns NumPy arrays.
# - `backward(self, grad, out, x)` gets the output's gradient `grad`, the output `out` and the input `x`, and returns one gradient per input. It is written with what arrays and `Tensor`s share (`*`, `+`, `@`, ...) and `SomeOp.call(...)` for the rest: $\sigma(x)$ here is `Sigmoid.call(x)`, not `1 / (1 + np.exp(-x))`; we will see why.


# %%
class Swish(Op):
    """x * sigmoid(x), also called SiLU."""

    name = "swish"

    def forward(self, x):
        return x / (1 + np.exp(-x))

    def backward(self, grad, out, x):
        s = Sigmoid.call(x)
        return (grad * (s + x * s * (1 - s)),)


def swish(x):
    return Swish.apply(x)


x = Tensor(np.array([-2.0, -0.5, 0.0, 1.0, 3.0]), requires_grad=True, name="x")
y = swish(x)
y.sum().backward()
print(y)
print(x.grad)
print("swish" in minigrad.OPS)

# %% [markdown] zh
# ## 梯度确认：`gradcheck` 和 `check_op`
#
# `gradcheck(f, inputs)` 用中心差分检查 `f` 对每个输入的梯度，通过返回 `True`；`order=2` 再检查梯度的梯度（二阶导数，`backward(create_graph=True)`）。输入要用 float64：float32 下中心差分的误差太大。
# %% [markdown] en
# ## Gradient checks: `gradcheck` and `check_op`
#
# `gradcheck(f, inputs)` checks the gradient of `f` for each input against central differences and returns `True` when they agree; `order=2` checks the gradient of the gradient too (second derivatives, through `backward(create_graph=True)`). Inputs should be float64: in float32 central differences are too noisy.

# %%
print(gradcheck(swish, [x]))
print(gradcheck(lambda x: swish(x).sum(), [x], order=2))

# %% [markdown] zh
# `check_op(Swish)` 做的是内置算子都要通过的全套检查：在随机生成的各种形状的输入上做一阶和二阶的 `gradcheck`，检查梯度的形状、float32 的输入得到 float32 的输出和梯度、`no_grad()` 下什么都不记录。
# %% [markdown] en
# `check_op(Swish)` runs the whole set of checks every built-in op passes: first- and second-order `gradcheck` on drawn inputs of many shapes, gradient shapes, float32 in giving float32 out and float32 gradients, and nothing recorded under `no_grad()`.

# %%
print(check_op(Swish))

# %% [markdown] zh
# 为什么 `backward` 里不能用 `np.exp`？普通的 `backward()` 在 NumPy 数组上执行 `backward`，`np.exp` 没问题，所以一阶的 `gradcheck` 能通过；但 `backward(create_graph=True)` 要在 `Tensor` 上执行同一个 `backward`，把它也记录下来，`np.exp` 就不行了。`check_op` 会抓到这个问题：
# %% [markdown] en
# Why not `np.exp` inside `backward`? A plain `backward()` runs the rule on NumPy arrays, where `np.exp` works, so a first-order `gradcheck` passes; but `backward(create_graph=True)` runs the same rule on `Tensor`s, recording it, and there `np.exp` fails. `check_op` catches it:


# %%
class NumpySwish(Swish, register=False):
    def backward(self, grad, out, x):
        s = 1 / (1 + np.exp(-x))
        return (grad * (s + x * s * (1 - s)),)


print(gradcheck(lambda x: NumpySwish.apply(x), [x]))
try:
    check_op(NumpySwish)
except minigrad.OpError as error:
    print(f"{type(error).__name__}: {error}")

# %% [markdown] zh
# （`register=False`：这个有问题的版本不登记到 `minigrad.OPS`，不会替换掉正确的 swish。）
#
# ## 埋一个错误
#
# 现在故意写错 `backward`：把 $1 - \sigma(x)$ 写成了 $1 + \sigma(x)$。如果只在 $x = 0$ 处检查，这个错误发现不了：那里 $x\,\sigma(x)(\dots)$ 这一项等于 0，对错两个版本的导数都是 0.5。
# %% [markdown] en
# (`register=False`: this faulty version stays out of `minigrad.OPS`, so it does not replace the right swish.)
#
# ## Planting a bug
#
# Now a wrong `backward` on purpose: $1 + \sigma(x)$ where $1 - \sigma(x)$ belongs. Checked at $x = 0$ only, the bug goes unnoticed: there the term $x\,\sigma(x)(\dots)$ is 0, and both versions give the derivative 0.5.


# %%
class BadSwish(Swish, register=False):
    def backward(self, grad, out, x):
        s = Sigmoid.call(x)
        return (grad * (s + x * s * (1 + s)),)


def bad_swish(x):
    return BadSwish.apply(x)


at_zero = Tensor(np.array([0.0]), requires_grad=True, name="x")
print(gradcheck(bad_swish, [at_zero]))

# %% [markdown] zh
# ## `graphs()` 自己找出错误
#
# `minigrad.testing.graphs(ops=...)` 是一个 Hypothesis 策略：它用给定的算子随机拼出可微的式子，输入落在每个算子的定义域内，最后求和成一个标量。`hypothesis.find` 找一个满足条件的例子，这里的条件是“`gradcheck` 不通过”（`raise_exception=False` 让它返回结果而不是抛出错误）。找到之后，Hypothesis 会把它缩小到最简单的式子。打印出来是一段可以直接粘贴进测试的 Python 程序：
# %% [markdown] en
# ## `graphs()` finds it by itself
#
# `minigrad.testing.graphs(ops=...)` is a Hypothesis strategy: it builds random differentiable expressions from the given ops, with inputs inside each op's domain, summed into a scalar at the end. `hypothesis.find` looks for an example that meets a condition, here "`gradcheck` fails" (`raise_exception=False` makes it return the result instead of raising). Once it finds one, Hypothesis shrinks it to the simplest expression it can. Printed, it is a Python program to paste into a test:


# %%
def gradcheck_fails(graph):
    return not gradcheck(graph, graph.inputs(), raise_exception=False)


found = find(graphs(ops=["add", "mul", "tanh", BadSwish]), gradcheck_fails)
print(found)

# %% [markdown] zh
# Hypothesis 把出错的式子缩小到了最简单的样子：只剩一个 `BadSwish`，输入是一个数。它没法把这个数缩小到 0，因为在 0 处错误就藏起来了。（`# BadSwish: paste its definition here` 提醒我们，这个算子定义在笔记本里，粘贴进测试时要把它的定义一起带上。）运行这个式子，`gradcheck` 给出的报告说明了错在哪里：
# %% [markdown] en
# Hypothesis shrank the failing expression as far as it goes: a single `BadSwish` on a single number. It cannot shrink that number to 0, where the bug hides. (`# BadSwish: paste its definition here` is a reminder that the op is defined in this notebook, so a test needs its definition too.) Running the expression, `gradcheck` reports what is wrong:

# %%
try:
    gradcheck(found, found.inputs())
except GradcheckError as error:
    print(error)

# %% [markdown] zh
# 报告给出：哪个输入、哪个元素，自动微分的结果（analytic）和数值微分的结果（numeric）各是多少，误差多大。最后几行是判断的依据：用越来越小的 `h` 计算泰勒余项 $|f(x+h) - f(x) - h \cdot \mathrm{analytic}|$，梯度正确时它像 $h^2$ 一样减小，这里却像 $h$ 一样减小，说明是 `backward` 写错了，而不是数值误差。
#
# ## 在计算图上涂成红色
#
# `gradcheck` 只知道整个式子的梯度不对。`check_nodes(out)` 对计算图中的每个算子单独做梯度确认（用这个算子在前向传播时实际看到的输入），`to_dot(out, checks=...)` 把不通过的算子涂成红色并写上误差，通过的涂成绿色：
# %% [markdown] en
# The report names the input and the element, gives autograd's value (analytic) and the central difference (numeric), and the error. Its last lines give the verdict: the Taylor remainder $|f(x+h) - f(x) - h \cdot \mathrm{analytic}|$ for shrinking `h` falls like $h^2$ when the gradient is right, but here like $h$, so the `backward` rule is wrong, not the arithmetic noisy.
#
# ## Painted red in the graph
#
# `gradcheck` knows only that the whole expression's gradient is wrong. `check_nodes(out)` checks each op of the graph on its own (on the inputs it actually saw in the forward pass), and `to_dot(out, checks=...)` paints the ops that fail red, with their errors, and those that pass green:

# %%
out = found(*found.inputs())
checks = check_nodes(out)
for check in checks:
    print(check.op.name, "passed" if check.passed else "FAILED")
display(to_dot(out, checks=checks, show_values=True))

# %% [markdown] zh
# ## 在一个网络里找出它
#
# 在真正的网络里，出错的算子藏在很多正确的算子中间。把 `BadSwish` 当作一个两层网络的激活函数，`locate_gradient_errors(loss)` 只返回不通过的算子，这里正是 swish。每个模块（`module_scope`）在图里是一个虚线框：
# %% [markdown] en
# ## Finding it in a network
#
# In a real network the wrong op hides among many right ones. With `BadSwish` as the activation of a two-layer network, `locate_gradient_errors(loss)` returns only the ops that fail: the swish. Each module (`module_scope`) is a dashed box in the picture:

# %%
rng = np.random.default_rng(0)
images = Tensor(rng.random((4, 6)), name="x")
labels = np.array([0, 2, 1, 2])
W1 = Tensor(rng.standard_normal((6, 5)), requires_grad=True, name="fc1.weight")
b1 = Tensor(np.zeros(5), requires_grad=True, name="fc1.bias")
W2 = Tensor(rng.standard_normal((5, 3)), requires_grad=True, name="fc2.weight")
b2 = Tensor(np.zeros(3), requires_grad=True, name="fc2.bias")

with minigrad.module_scope("fc1"):
    hidden = F.linear(images, W1, b1)
activations = bad_swish(hidden)
with minigrad.module_scope("fc2"):
    scores = F.linear(activations, W2, b2)
loss = F.softmax_cross_entropy(scores, labels)
loss.name = "loss"

failures = locate_gradient_errors(loss)
for failure in failures:
    print(failure)
display(to_dot(loss, checks=failures))

# %% [markdown] zh
# 改正 `backward`（也就是上面的 `Swish`），同一个网络的每个算子都通过：
# %% [markdown] en
# With the `backward` fixed (the `Swish` above), every op of the same network passes:

# %%
activations = swish(hidden)
with minigrad.module_scope("fc2"):
    scores = F.linear(activations, W2, b2)
loss = F.softmax_cross_entropy(scores, labels)
print(locate_gradient_errors(loss))
print(all(check.passed for check in check_nodes(loss)))

# %% [markdown] zh
# 这个系列到这里告一段落。第 7 篇（书中第 7、8 章的卷积神经网络）等 minigrad 的卷积层完成后再补上。更多的细节见 README：梯度确认的选项和报告的各个字段、`graphs()` 的变异测试（每个内置算子的三种错误 `backward` 都能被找出来）、以及和 PyTorch 的比较。
# %% [markdown] en
# This is where the series stops for now. Notebook 7 (the convolutional networks of chapters 7 and 8) follows when minigrad's convolution layers land. The README has more: gradcheck's options and every field of its report, the mutation test of `graphs()` (three wrong `backward`s for every built-in op, all caught), and the comparison with PyTorch.
