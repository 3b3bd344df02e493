# Source of notebooks/zh/01_losses_and_mnist.ipynb and notebooks/en/01_losses_and_mnist.ipynb.
# Edit here, then run `python -m notebooks.build` (the format is described in notebooks/build.py).

# %% [markdown] zh
# # 1. 损失函数、one-hot 标签与小批量
#
# 这是一组跟着教程走的笔记本。minigrad 的用户大多读过《深度学习入门：基于 Python 的理论与实现》（斋藤康毅）和 Michael Nielsen 的《Neural Networks and Deep Learning》，这里的每个网络都照着书里的写法来，只是用 minigrad 的张量（`Tensor`）写成：梯度由 `backward()` 算出，不用再手推。
#
# 本篇对应书的第 3、4 章：
#
# - 书里的两个损失函数 `mean_squared_error`（均方误差）和 `cross_entropy_error`（交叉熵误差），先照书用 NumPy 写，再看 minigrad 里的同名函数；
# - 用 `load_mnist` 读入 MNIST 手写数字；
# - 小批量（mini-batch）版的交叉熵误差：监督数据既可以是 one-hot 表示，也可以是标签。
#
# 整个系列：1 损失函数与 MNIST · 2 数值微分与梯度下降法 · 3 两层神经网络 TwoLayerNet · 4 Nielsen 的网络 · 5 批处理推理 · 6 自己写一个算子。
# %% [markdown] en
# # 1. Loss functions, one-hot labels and mini-batches
#
# This series follows the tutorials minigrad's users come from: Saito Koki's *Deep Learning from Scratch* and Michael Nielsen's *Neural Networks and Deep Learning*. Each network is written the way the books write it, but with minigrad tensors (`Tensor`), so the gradients come from `backward()` instead of being derived by hand.
#
# This notebook follows chapters 3 and 4 of the book:
#
# - the book's two loss functions, `mean_squared_error` and `cross_entropy_error`, first in NumPy as in the book, then minigrad's functions of the same names;
# - the MNIST digits, read with `load_mnist`;
# - the mini-batch version of cross-entropy, whose targets may be one-hot rows or labels.
#
# The series: 1 losses and MNIST · 2 numerical gradients and gradient descent · 3 the book's TwoLayerNet · 4 Nielsen's network · 5 batch inference · 6 writing your own op.

# %%
import os

# One BLAS thread unless you choose otherwise: on a busy 2-core machine a second one only
# slows NumPy down. It has to be set before NumPy is imported.
if "OPENBLAS_NUM_THREADS" not in os.environ:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"

# %%
import matplotlib.pyplot as plt
import numpy as np

import minigrad.functional as F
from minigrad import Tensor
from minigrad.datasets import load_mnist

# %% [markdown] zh
# ## 均方误差
#
# 书中第一个损失函数是均方误差 $E = \frac{1}{2}\sum_k (y_k - t_k)^2$，其中 $y$ 是神经网络的输出（softmax 之后的概率），$t$ 是监督数据。下面是书里的例子：正确解是数字“2”，`t` 用 one-hot 表示（只有正确解的位置为 1，其余为 0）；`y` 认为“2”的概率最高，`y_wrong` 认为是“7”。
# %% [markdown] en
# ## Mean squared error
#
# The book's first loss is the mean squared error $E = \frac{1}{2}\sum_k (y_k - t_k)^2$, where $y$ is the network's output (probabilities, after softmax) and $t$ the target. The book's example: the correct digit is 2, so `t` is one-hot (1 at the correct digit, 0 elsewhere); `y` gives 2 the highest probability, `y_wrong` gives it to 7.


# %%
def mean_squared_error(y, t):
    return 0.5 * np.sum((y - t) ** 2)


t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
y_wrong = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])

print(mean_squared_error(y, t), mean_squared_error(y_wrong, t))

# %% [markdown] zh
# 输出越接近监督数据，损失越小。minigrad 的 `F.mean_squared_error` 算的是同一个式子（`reduction="sum"` 是默认值，和书一致：只求和，不除以任何数），输入可以是 `Tensor`：
# %% [markdown] en
# The closer the output is to the target, the smaller the loss. minigrad's `F.mean_squared_error` computes the same formula (the default `reduction="sum"` matches the book: a sum, divided by nothing), on tensors:

# %%
print(F.mean_squared_error(Tensor(y), t), F.mean_squared_error(Tensor(y_wrong), t))

# %% [markdown] zh
# 不同的是，minigrad 会记下这个计算，所以可以直接求梯度。对 $y$ 求导得到 $\partial E / \partial y_k = y_k - t_k$，`backward()` 给出的正是这个：
# %% [markdown] en
# The difference: minigrad records the computation, so the gradient is one call away. Differentiating by $y$ gives $\partial E / \partial y_k = y_k - t_k$, which is what `backward()` finds:

# %%
y_tensor = Tensor(y, requires_grad=True, name="y")
loss = F.mean_squared_error(y_tensor, t)
loss.backward()
print(y_tensor.grad)
print(y - t)

# %% [markdown] zh
# ## 交叉熵误差
#
# 第二个损失函数是交叉熵误差 $E = -\sum_k t_k \log y_k$。因为 $t$ 是 one-hot 表示，它其实只看正确解那一项：$-\log y_2$。书里加了一个很小的 `delta`，避免出现 `log(0)`（负无穷大）。
# %% [markdown] en
# ## Cross-entropy error
#
# The second loss is the cross-entropy error $E = -\sum_k t_k \log y_k$. With a one-hot $t$ only the correct digit's term counts: $-\log y_2$. The book adds a tiny `delta` so that `log(0)` (minus infinity) cannot happen.


# %%
def cross_entropy_error(y, t):
    delta = 1e-7
    return -np.sum(t * np.log(y + delta))


print(cross_entropy_error(y, t), cross_entropy_error(y_wrong, t))
print(F.cross_entropy_error(Tensor(y), t).item(), F.cross_entropy_error(Tensor(y_wrong), t).item())

# %% [markdown] zh
# minigrad 的 `F.cross_entropy_error` 和书里的一样（同样加上 `1e-7`），结果相同。
#
# ## MNIST 数据集
#
# `load_mnist` 的用法和书里的一样：`normalize=True` 把像素值缩放到 0.0～1.0，`flatten=True` 把每张图像展开成 784 个数，`one_hot_label=True` 把标签变成 one-hot 表示。第一次运行时它会下载并校验数据，之后从本地缓存读取（见 README 的“MNIST 数据”一节）。
# %% [markdown] en
# minigrad's `F.cross_entropy_error` is the book's (with the same `1e-7`), and gives the same numbers.
#
# ## The MNIST data
#
# `load_mnist` is called as in the book: `normalize=True` scales the pixels to 0.0 to 1.0, `flatten=True` makes each image a row of 784 numbers, and `one_hot_label=True` gives one-hot labels. The first call downloads and verifies the data; later calls read the local cache (see "MNIST data" in the README).

# %%
(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

print(x_train.shape, t_train.shape)
print(x_test.shape, t_test.shape)
print(t_train[0])

# %% [markdown] zh
# 书里用 PIL 的 `img_show` 弹出一个窗口显示图像；在笔记本里，用 matplotlib 直接显示在下面。每张图像上方是它的标签（one-hot 的 `argmax`）：
# %% [markdown] en
# The book opens a window with PIL's `img_show`; in a notebook matplotlib draws the digits right here. Above each digit is its label (the `argmax` of its one-hot row):

# %%
figure, axes = plt.subplots(1, 10, figsize=(10, 1.5))
for ax, image, label in zip(axes, x_train[:10], t_train[:10]):
    ax.imshow(image.reshape(28, 28), cmap="gray")
    ax.set_title(int(label.argmax()))
    ax.axis("off")
plt.show()

# %% [markdown] zh
# ## 小批量学习
#
# 训练数据有 6 万张，每一步都用全部数据计算损失太慢了。书中的做法是每次随机抽出一小批（mini-batch），比如 10 张，用它们的平均损失近似整体的损失。书里写的是 `np.random.choice(train_size, batch_size)`；这里用带种子的随机数生成器，每次运行抽到的都是同一批，输出也就一样。
# %% [markdown] en
# ## Mini-batch learning
#
# There are 60,000 training images: computing the loss over all of them at every step is too slow. The book draws a small random batch instead, say 10 images, and takes their mean loss as an estimate of the whole. The book writes `np.random.choice(train_size, batch_size)`; a seeded generator draws the same batch on every run, so the outputs below do not change.

# %%
train_size = x_train.shape[0]
batch_size = 10
rng = np.random.default_rng(0)
batch_mask = rng.choice(train_size, batch_size)
x_batch = x_train[batch_mask]
t_batch = t_train[batch_mask]

print(batch_mask)
print(x_batch.shape, t_batch.shape)

# %% [markdown] zh
# 小批量版的交叉熵误差要除以批的大小，求出平均每个数据的损失。监督数据可以是 one-hot 表示（`t` 的形状为 (10, 10)），也可以直接是标签（形状为 (10,)，比如 `[2, 7, 0, ...]`）。标签版只需要取出每一行正确解位置的输出：`y[np.arange(batch_size), t]`。
#
# 为了有一个输出 `y`，这里先用一个随机权重 `W` 做一个“网络”：`y = softmax(x @ W)`。书里的 `softmax` 先减去最大值，防止溢出。
# %% [markdown] en
# The batch version divides by the batch size, to get the mean loss per image. Its targets may be one-hot rows (`t` shaped (10, 10)) or labels (shaped (10,), such as `[2, 7, 0, ...]`). With labels it takes each row's output at the correct digit: `y[np.arange(batch_size), t]`.
#
# To have an output `y`, a "network" with random weights `W` stands in: `y = softmax(x @ W)`. The book's `softmax` subtracts the maximum first, so that nothing overflows.


# %%
def softmax(a):
    a = a - a.max(axis=-1, keepdims=True)
    return np.exp(a) / np.exp(a).sum(axis=-1, keepdims=True)


def cross_entropy_error_batch(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    batch_size = y.shape[0]
    if t.ndim == 2:
        return -np.sum(t * np.log(y + 1e-7)) / batch_size
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


W = 0.01 * rng.standard_normal((784, 10))
y_batch = softmax(x_batch @ W)
labels = t_batch.argmax(axis=1)

print(labels)
print(cross_entropy_error_batch(y_batch, t_batch), cross_entropy_error_batch(y_batch, labels))

# %% [markdown] zh
# 随机权重的输出接近均匀分布（每类约 0.1），所以损失接近 $-\log 0.1 \approx 2.30$。minigrad 的 `F.cross_entropy_error` 同样接受这两种监督数据：
# %% [markdown] en
# Random weights give outputs close to uniform (about 0.1 per digit), so the loss is close to $-\log 0.1 \approx 2.30$. minigrad's `F.cross_entropy_error` takes both kinds of target as well:

# %%
print(F.cross_entropy_error(Tensor(y_batch), t_batch).item())
print(F.cross_entropy_error(Tensor(y_batch), labels).item())

# %% [markdown] zh
# ## 训练时用 `F.softmax_cross_entropy`
#
# 训练时，minigrad 推荐把 softmax 和交叉熵误差合成一步：`F.softmax_cross_entropy(scores, t)`，输入是 softmax 之前的得分（scores），同样接受 one-hot 或标签，并对批取平均。它在数值上更稳定（得分很大时也不会溢出），也更快。它的值和上面相同（只差书里那个 `1e-7`）：
# %% [markdown] en
# ## Training with `F.softmax_cross_entropy`
#
# To train, minigrad fuses softmax and cross-entropy into one step: `F.softmax_cross_entropy(scores, t)` takes the scores before the softmax, one-hot rows or labels, and averages over the batch. It is stable (large scores do not overflow) and faster. Its value is the one above (up to the book's `1e-7`):

# %%
scores = Tensor(x_batch @ W, requires_grad=True, name="scores")
loss = F.softmax_cross_entropy(scores, labels)
print(loss.item())

# %% [markdown] zh
# 书的第 5 章会推导出：softmax 加交叉熵误差，对得分的梯度正好是 $(y - t)$ 除以批的大小。用 `backward()` 验证一下：
# %% [markdown] en
# Chapter 5 of the book derives that the gradient of softmax followed by cross-entropy, with respect to the scores, is $(y - t)$ divided by the batch size. `backward()` confirms it:

# %%
loss.backward()
print(np.abs(scores.grad.data - (y_batch - t_batch) / batch_size).max())

# %% [markdown] zh
# ## 为什么用损失，而不用识别精度
#
# 书中 4.2.5 节解释了为什么要设定损失函数：识别精度只在某个数据从“错”变成“对”时才跳一下，稍微改动一个参数，它几乎总是不变，导数几乎处处为 0，参数就无从学起。损失函数则随参数连续变化。把 `W` 的一个元素改动一点点，看看两者：
# %% [markdown] en
# ## Why a loss, not the accuracy
#
# Section 4.2.5 of the book explains why we train on a loss: the accuracy changes only when an image flips from wrong to right, so a small change of one parameter almost never moves it. Its derivative is 0 almost everywhere, and the parameters could not learn from it. The loss changes smoothly with the parameters. Nudge one element of `W` and watch both:


# %%
def accuracy(W):
    return np.mean(softmax(x_batch @ W).argmax(axis=1) == labels)


W_nudged = W.copy()
W_nudged[400, 3] += 0.01

print(accuracy(W), accuracy(W_nudged))
print(cross_entropy_error_batch(softmax(x_batch @ W), labels))
print(cross_entropy_error_batch(softmax(x_batch @ W_nudged), labels))

# %% [markdown] zh
# 识别精度没有变，损失却变了：正是这个变化（梯度）告诉我们参数该往哪个方向调。下一篇用数值微分求出梯度，再用梯度下降法让损失变小，最后换成 minigrad 的自动微分。
# %% [markdown] en
# The accuracy did not move; the loss did. That change, the gradient, says which way to move the parameters. The next notebook finds gradients by numerical differentiation, walks downhill with gradient descent, and then lets minigrad's autograd do it.
