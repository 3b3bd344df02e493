# Source of notebooks/zh/04_nielsen_network.ipynb and notebooks/en/04_nielsen_network.ipynb.
# Edit here, then run `python -m notebooks.build` (the format is described in notebooks/build.py).

# %% [markdown] zh
# # 4. Nielsen 的网络，和一次反向传播的全过程
#
# Michael Nielsen 在《Neural Networks and Deep Learning》第 1、2 章写了一个 `network.py`：`Network([784, 30, 10])`，每一层都用 sigmoid，代价函数是二次代价函数（quadratic cost），小批量随机梯度下降，批大小 10，学习率 3.0。他的 `backprop` 函数手写了反向传播的四个方程。
#
# 这里用 minigrad 写同一个网络，形状和他的一样：权重 `w` 是 `randn(y, x)`，偏置 `b` 是 `randn(y, 1)`，输入是列向量（一列一张图像）。先训练一个 epoch，再拿一张图像，一步一步看 `backward()` 做了什么，并和 Nielsen 手写的反向传播对照。
# %% [markdown] en
# # 4. Nielsen's network, and one backward pass step by step
#
# In chapters 1 and 2 of *Neural Networks and Deep Learning*, Michael Nielsen writes `network.py`: `Network([784, 30, 10])`, sigmoid in every layer, the quadratic cost, and mini-batch stochastic gradient descent with batches of 10 and a learning rate of 3.0. His `backprop` function spells out the four equations of backpropagation by hand.
#
# Here is the same network in minigrad, with his shapes: weights `w` drawn as `randn(y, x)`, biases `b` as `randn(y, 1)`, inputs as column vectors (one image per column). We train it for an epoch, then take one image and follow `backward()` step by step, next to Nielsen's hand-written backprop.

# %%
import os

# One BLAS thread unless you choose otherwise: on a busy 2-core machine a second one only
# slows NumPy down. It has to be set before NumPy is imported.
if "OPENBLAS_NUM_THREADS" not in os.environ:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"

# %%
import time

import numpy as np
from IPython.display import display

import minigrad.functional as F
from minigrad import Tensor, no_grad
from minigrad.datasets import load_mnist
from minigrad.viz import to_dot, trace_backward

# %% [markdown] zh
# ## 数据
#
# Nielsen 把 MNIST 的 6 万张训练图像分成 5 万张训练数据和 1 万张验证数据，另有 1 万张测试数据。`load_mnist(validation=10000)` 做的是同样的划分，返回三组数据。二次代价函数要和 one-hot 的目标向量比较，所以把训练标签转成 one-hot 表示。
# %% [markdown] en
# ## The data
#
# Nielsen splits MNIST's 60,000 training images into 50,000 to train on and 10,000 for validation, and keeps the 10,000 test images. `load_mnist(validation=10000)` makes the same split and returns three pairs. The quadratic cost compares the output with a one-hot target vector, so the training labels become one-hot rows.

# %%
(x_train, t_train), (x_val, t_val), (x_test, t_test) = load_mnist(validation=10000)
y_train = np.eye(10, dtype=np.float32)[t_train]
print(x_train.shape, y_train.shape, x_val.shape, x_test.shape)

# %% [markdown] zh
# ## 网络
#
# 和 Nielsen 的代码一一对应：`feedforward` 是 $a \leftarrow \sigma(wa + b)$；`SGD` 每个 epoch 打乱训练数据、切成小批量；`update_mini_batch` 求梯度、更新参数；`evaluate` 数一数测试数据中答对了多少张。
#
# 不同之处只有两点。第一，Nielsen 在 `update_mini_batch` 里对批中的每张图像调用一次 `backprop`，再把梯度加起来；这里把整批图像排成矩阵的列（他在第 2 章末尾建议的“完全基于矩阵的方法”），一次 `backward()` 求出整批的梯度。第二，代价函数 `cost` 写了出来：$C = \frac{1}{2m}\sum_x \lVert a(x) - y(x) \rVert^2$，`F.mean_squared_error` 求的是 $\frac{1}{2}\sum \lVert a - y \rVert^2$，再除以批大小 $m$。他的更新 `w - (eta/len(mini_batch)) * nabla_w` 就是 `w - eta * w.grad`。
# %% [markdown] en
# ## The network
#
# It follows Nielsen's code line for line: `feedforward` is $a \leftarrow \sigma(wa + b)$; `SGD` shuffles the training data each epoch and cuts it into mini-batches; `update_mini_batch` takes the gradient and updates the parameters; `evaluate` counts the test images it gets right.
#
# Two things differ. First, Nielsen's `update_mini_batch` calls `backprop` once per image of the batch and adds the gradients up; here the batch's images are the columns of one matrix (the "fully matrix-based approach" he suggests at the end of chapter 2), and one `backward()` gives the whole batch's gradient. Second, the cost is written out as `cost`: $C = \frac{1}{2m}\sum_x \lVert a(x) - y(x) \rVert^2$, where `F.mean_squared_error` gives $\frac{1}{2}\sum \lVert a - y \rVert^2$, divided by the batch size $m$. His update `w - (eta/len(mini_batch)) * nabla_w` is then `w - eta * w.grad`.


# %%
class Network:
    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [
            Tensor(rng.standard_normal((y, 1)).astype(np.float32), requires_grad=True, name=f"b{i}")
            for i, y in enumerate(sizes[1:], start=1)
        ]
        self.weights = [
            Tensor(rng.standard_normal((y, x)).astype(np.float32), requires_grad=True, name=f"w{i}")
            for i, (x, y) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)
        ]
        self.rng = rng

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = (w @ a + b).sigmoid()
        return a

    def cost(self, x, y):
        m = x.shape[1]
        return F.mean_squared_error(self.feedforward(x), y) / m

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        x, y = training_data
        n = len(x)
        for j in range(epochs):
            start = time.perf_counter()
            order = self.rng.permutation(n)
            for k in range(0, n, mini_batch_size):
                batch = order[k : k + mini_batch_size]
                self.update_mini_batch(x[batch].T, y[batch].T, eta)
            seconds = time.perf_counter() - start
            if test_data:
                print(
                    f"Epoch {j}: {self.evaluate(test_data)} / {len(test_data[0])} ({seconds:.1f} s)"
                )
            else:
                print(f"Epoch {j} complete ({seconds:.1f} s)")

    def update_mini_batch(self, x, y, eta):
        self.cost(x, y).backward()
        for param in self.weights + self.biases:
            param.data -= eta * param.grad.data
            param.grad = None

    def evaluate(self, test_data):
        x, t = test_data
        with no_grad():
            a = self.feedforward(x.T)
        return int(np.sum(a.data.argmax(axis=0) == t))


# %% [markdown] zh
# ## 训练
#
# Nielsen 的设置：`net.SGD(training_data, 30, 10, 3.0, test_data=test_data)`。这里只跑 1 个 epoch（5,000 步），在这台机器上几秒钟。他的书里，第一个 epoch 之后大约答对 9,100 张，30 个 epoch 之后约 95%。
# %% [markdown] en
# ## Training
#
# Nielsen's settings: `net.SGD(training_data, 30, 10, 3.0, test_data=test_data)`. This runs 1 epoch only (5,000 steps), a few seconds on this machine. In his book, about 9,100 test digits are right after the first epoch, and about 95% after 30.

# %%
net = Network([784, 30, 10])
net.SGD((x_train, y_train), 1, 10, 3.0, test_data=(x_test, t_test))

# %% [markdown] zh
# 跑满 30 个 epoch 是一条命令：`python -m models.train --preset nielsen`（约 50 秒，测试数据上 94.85%）。
#
# ## 一次反向传播，一步一步看
#
# 拿一张训练图像 `x`（784×1 的列向量）和它的 one-hot 目标 `y`，把前向传播一步一步写出来，并给每个中间结果起 Nielsen 的名字：$z^1 = w^1 x + b^1$，$a^1 = \sigma(z^1)$，$z^2 = w^2 a^1 + b^2$，$a^2 = \sigma(z^2)$，代价 $C = \frac{1}{2}\lVert a^2 - y \rVert^2$。中间结果默认不保留梯度，`retain_grad()` 让 `z1` 和 `z2` 留下它们的梯度，等一下要和 Nielsen 的 $\delta$ 比较。
#
# `trace_backward(C)` 执行真正的 `C.backward()`，同时记下每一步：先处理最后记录的运算，每一行是一次链式法则，传出的梯度 = 上游梯度 × 局部导数。
# %% [markdown] en
# The full 30 epochs are one command: `python -m models.train --preset nielsen` (about 50 seconds, 94.85% on the test digits).
#
# ## One backward pass, step by step
#
# Take one training image `x` (a 784×1 column) and its one-hot target `y`, write the forward pass out step by step, and give each intermediate Nielsen's name: $z^1 = w^1 x + b^1$, $a^1 = \sigma(z^1)$, $z^2 = w^2 a^1 + b^2$, $a^2 = \sigma(z^2)$, and the cost $C = \frac{1}{2}\lVert a^2 - y \rVert^2$. Intermediates keep no gradient unless asked: `retain_grad()` makes `z1` and `z2` keep theirs, to compare with Nielsen's $\delta$ below.
#
# `trace_backward(C)` runs the real `C.backward()` and records every step: the op recorded last comes first, and each row is one use of the chain rule, grad sent = upstream grad × local derivative.

# %%
w1, w2 = net.weights
b1, b2 = net.biases
x = Tensor(x_train[:1].T, name="x")
y = Tensor(y_train[:1].T, name="y")

z1 = w1 @ x + b1
z1.name = "z1"
a1 = z1.sigmoid()
a1.name = "a1"
z2 = w2 @ a1 + b2
z2.name = "z2"
a2 = z2.sigmoid()
a2.name = "a2"
C = F.mean_squared_error(a2, y)
C.name = "C"
z1.retain_grad()
z2.retain_grad()

trace = trace_backward(C)
print(trace)

# %% [markdown] zh
# 同一个计算图画出来，边上红色的 `step n` 是反向传播的步骤编号（和上表的 step 一致），灰色的 `input 0`、`input 1` 说明这条边是算子的第几个输入，每个框里是数值和梯度的统计：
# %% [markdown] en
# The same graph as a picture: the red `step n` on the edges are the backward steps (the table's step column), the grey `input 0`, `input 1` say which input of the op an edge is, and each box holds statistics of its value and its gradient:

# %%
display(to_dot(C, trace=trace, show_values=True, rankdir="TB"))

# %% [markdown] zh
# ## 和 Nielsen 手写的反向传播对照
#
# Nielsen 的 `backprop(x, y)` 用四个方程求梯度：
#
# - (BP1) 输出层的误差 $\delta^L = (a^L - y) \odot \sigma'(z^L)$；
# - (BP2) 往回一层 $\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l)$；
# - (BP3) $\partial C / \partial b^l = \delta^l$；
# - (BP4) $\partial C / \partial w^l = \delta^l (a^{l-1})^T$。
#
# 用 NumPy 照他的代码算一遍（他的 `sigmoid_prime(z)` 是 $\sigma(z)(1 - \sigma(z))$），再和 minigrad 求出的梯度比较：
# %% [markdown] en
# ## Next to Nielsen's hand-written backprop
#
# Nielsen's `backprop(x, y)` takes the gradient with four equations:
#
# - (BP1) the output error $\delta^L = (a^L - y) \odot \sigma'(z^L)$;
# - (BP2) one layer back, $\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l)$;
# - (BP3) $\partial C / \partial b^l = \delta^l$;
# - (BP4) $\partial C / \partial w^l = \delta^l (a^{l-1})^T$.
#
# Computed with NumPy as his code does (his `sigmoid_prime(z)` is $\sigma(z)(1 - \sigma(z))$), next to the gradients minigrad found:


# %%
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


delta2 = (a2.data - y.data) * sigmoid_prime(z2.data)
nabla_b2 = delta2
nabla_w2 = delta2 @ a1.data.T
delta1 = (w2.data.T @ delta2) * sigmoid_prime(z1.data)
nabla_b1 = delta1
nabla_w1 = delta1 @ x.data.T

for name, by_hand, by_backward in [
    ("delta2 vs z2.grad", delta2, z2.grad),
    ("nabla_b2 vs b2.grad", nabla_b2, b2.grad),
    ("nabla_w2 vs w2.grad", nabla_w2, w2.grad),
    ("delta1 vs z1.grad", delta1, z1.grad),
    ("nabla_b1 vs b1.grad", nabla_b1, b1.grad),
    ("nabla_w1 vs w1.grad", nabla_w1, w1.grad),
]:
    print(f"{name:20} max |difference| = {np.abs(by_hand - by_backward.data).max():.2g}")

# %% [markdown] zh
# 完全一致（至多差 float32 的舍入误差）。上表中的 step 1～2 是 BP1：`mean_squared_error` 传出 $a^2 - y$，sigmoid 再乘以 $\sigma'(z^2)$；step 3 是 BP3（`b2` 得到 $\delta^2$）；step 4 是 BP4 和 BP2：`matmul` 把 $\delta^2$ 分别送给 `w2`（乘以 $(a^1)^T$）和 `a1`（乘以 $(w^2)^T$）。Nielsen 为每个网络手推的四个方程，正是 minigrad 对每个运算各用一次的链式法则。
#
# 算完之后把梯度清空，免得之后训练时被加进去。参数本身没有变，答对的数目还是一样：
# %% [markdown] en
# Identical, up to float32 rounding. Steps 1 and 2 of the table are BP1: `mean_squared_error` sends $a^2 - y$, and the sigmoid multiplies by $\sigma'(z^2)$; step 3 is BP3 (`b2` receives $\delta^2$); step 4 is BP4 and BP2: `matmul` sends $\delta^2$ to `w2` (times $(a^1)^T$) and to `a1` (times $(w^2)^T$). The four equations Nielsen derives for his network are the chain rule that minigrad applies once per op.
#
# Clear the gradients afterwards, so that they do not leak into further training. The parameters themselves did not change, nor does the count of right answers:

# %%
for param in net.weights + net.biases:
    param.grad = None
print(net.evaluate((x_test, t_test)), "/ 10000")

# %% [markdown] zh
# 下一篇换到书的第 3 章：用学好的权重对测试数据做批处理推理，看看识别错的数字长什么样。
# %% [markdown] en
# The next notebook goes back to chapter 3 of the book: batch inference with learned weights, and a look at the digits the network gets wrong.
