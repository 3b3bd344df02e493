# Source of notebooks/zh/03_two_layer_net.ipynb and notebooks/en/03_two_layer_net.ipynb.
# Edit here, then run `python -m notebooks.build` (the format is described in notebooks/build.py).

# %% [markdown] zh
# # 3. 书里的两层神经网络 TwoLayerNet：误差反向传播法、计算图、梯度确认
#
# 书中 4.5 节的 `TwoLayerNet`（784-50-10，sigmoid，softmax，交叉熵误差）用数值微分求梯度，训练起来非常慢：有读者跑了 17 个小时。第 5 章改用误差反向传播法，每一层都要手写 `backward`。这里用 minigrad 的张量写同一个网络：参数还是 `W1, b1, W2, b2`，`predict`、`loss`、`accuracy` 的写法和书一样，梯度则由 `backward()` 求出。
#
# 本篇：
#
# 1. 写出 TwoLayerNet；
# 2. 画出它的计算图；
# 3. 梯度确认（gradient check）：照书比较数值微分和误差反向传播法的结果，再用 `minigrad.gradcheck` 检查整个网络；
# 4. 用书里的设置（`weight_init_std=0.01`、学习率 0.1、批大小 100）训练一小会儿，显示训练数据和测试数据的识别精度，并画出损失函数的变化。
# %% [markdown] en
# # 3. The book's TwoLayerNet: backpropagation, its graph, and a gradient check
#
# The `TwoLayerNet` of section 4.5 (784-50-10, sigmoid, softmax, cross-entropy) takes its gradients by numerical differentiation, which makes training very slow: one reader's run took 17 hours. Chapter 5 switches to backpropagation, with a hand-written `backward` for every layer. Here the same network is written with minigrad tensors: the parameters are still `W1, b1, W2, b2`, and `predict`, `loss` and `accuracy` read as in the book, but the gradients come from `backward()`.
#
# In this notebook:
#
# 1. TwoLayerNet, written out;
# 2. its computation graph, drawn;
# 3. a gradient check: the book's comparison of numerical and backpropagated gradients, then `minigrad.gradcheck` on the whole network;
# 4. a short training run with the book's settings (`weight_init_std=0.01`, learning rate 0.1, batch size 100), printing train and test accuracy and plotting the loss.

# %%
import os

# One BLAS thread unless you choose otherwise: on a busy 2-core machine a second one only
# slows NumPy down. It has to be set before NumPy is imported.
if "OPENBLAS_NUM_THREADS" not in os.environ:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

import minigrad
import minigrad.functional as F
from minigrad import Tensor, gradcheck, no_grad
from minigrad.datasets import load_mnist
from minigrad.viz import to_dot

# %% [markdown] zh
# ## TwoLayerNet
#
# 和书一样，`params` 是一个字典，存放 `W1, b1, W2, b2`；区别只是每个参数是一个 `requires_grad=True` 的 `Tensor`。`predict` 写成一个单独的函数 `two_layer_net(x, W1, b1, W2, b2)`，后面做梯度确认时要用到。
#
# 书里的参数是 `np.random.randn` 生成的 float64。minigrad 和 PyTorch 一样默认用 float32，速度快一倍左右，所以这里加了一个 `dtype` 参数：训练用 float32，梯度确认用 float64。
# %% [markdown] en
# ## TwoLayerNet
#
# As in the book, `params` is a dict holding `W1, b1, W2, b2`; the only difference is that each parameter is a `Tensor` with `requires_grad=True`. `predict` calls a function of its own, `two_layer_net(x, W1, b1, W2, b2)`, which the gradient check will need.
#
# The book's parameters come from `np.random.randn`, in float64. minigrad, like PyTorch, works in float32, about twice as fast, so there is a `dtype` argument: float32 to train, float64 for the gradient check.


# %%
def two_layer_net(x, W1, b1, W2, b2):
    a1 = x @ W1 + b1
    z1 = a1.sigmoid()
    a2 = z1 @ W2 + b2
    return a2.softmax(axis=1)


class TwoLayerNet:
    def __init__(
        self, input_size, hidden_size, output_size, weight_init_std=0.01, dtype=np.float32, seed=0
    ):
        rng = np.random.default_rng(seed)
        shapes = {
            "W1": (input_size, hidden_size),
            "b1": (hidden_size,),
            "W2": (hidden_size, output_size),
            "b2": (output_size,),
        }
        self.params = {}
        for name, shape in shapes.items():
            value = (
                weight_init_std * rng.standard_normal(shape) if name[0] == "W" else np.zeros(shape)
            )
            self.params[name] = Tensor(value.astype(dtype), requires_grad=True, name=name)

    def predict(self, x):
        return two_layer_net(x, **self.params)

    def loss(self, x, t):
        y = self.predict(x)
        return F.cross_entropy_error(y, t)

    def accuracy(self, x, t):
        with no_grad():
            y = self.predict(x).data.argmax(axis=1)
        return np.mean(y == t.argmax(axis=1))

    def numerical_gradient(self, x, t):
        return {
            name: minigrad.numerical_gradient(lambda W: self.loss(x, t), param)
            for name, param in self.params.items()
        }

    def gradient(self, x, t):
        for param in self.params.values():
            param.grad = None
        self.loss(x, t).backward()
        return {name: param.grad.data for name, param in self.params.items()}


# %% [markdown] zh
# `gradient` 就是书里第 5 章的误差反向传播法：书中要手写 `Affine`、`Sigmoid`、`SoftmaxWithLoss` 各层的 `backward`，这里一个 `backward()` 就够了。
#
# 读入数据（one-hot 标签，和书一样），做一个网络，看看各参数的形状：
# %% [markdown] en
# `gradient` is chapter 5's backpropagation: where the book writes a `backward` for its `Affine`, `Sigmoid` and `SoftmaxWithLoss` layers, one `backward()` does it here.
#
# Load the data (one-hot labels, as in the book), make a network, and look at the parameters' shapes:

# %%
(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
for name, param in network.params.items():
    print(name, param.shape, param.dtype)

# %% [markdown] zh
# ## 计算图
#
# 书里让读者想象的计算图，minigrad 可以画出来。`to_dot(loss)` 返回一个 graphviz 图，在笔记本里直接显示。先对 4 张图像做一次前向和反向传播，`show_values=True` 在每个框里标出数值的最小值、平均值、最大值和范数，以及（参数的）梯度。方框是张量，椭圆是运算；蓝色的 `x` 和 `t` 是输入，不需要梯度；黄色的是参数。`rankdir="TB"` 让图从上往下画。
# %% [markdown] en
# ## The computation graph
#
# The graph the book asks its readers to imagine, minigrad draws. `to_dot(loss)` returns a graphviz graph, which a notebook shows inline. One forward and backward pass on 4 images first; `show_values=True` writes the min, mean, max and norm of each value into its box, and of each parameter's gradient. Boxes are tensors, ellipses ops; the blue `x` and `t` are inputs, which need no gradient, and the yellow boxes are parameters. `rankdir="TB"` draws it from top to bottom.

# %%
x_small = Tensor(x_train[:4], name="x")
t_small = Tensor(t_train[:4], name="t")
loss = network.loss(x_small, t_small)
loss.name = "loss"
loss.backward()
display(to_dot(loss, show_values=True, rankdir="TB"))

# %% [markdown] zh
# 从上往下读：`x @ W1 + b1`、sigmoid、`@ W2 + b2`、softmax，然后是书里的 `cross_entropy_error`：加上 `1e-7`、取对数、乘以 `t`、求和、取负、除以批大小。误差反向传播法就是沿着这张图从下往上，对每个运算用一次链式法则。
# %% [markdown] en
# Read it from the top: `x @ W1 + b1`, sigmoid, `@ W2 + b2`, softmax, then the book's `cross_entropy_error`: add `1e-7`, take the log, multiply by `t`, sum, negate, divide by the batch size. Backpropagation walks this graph from the bottom up, applying the chain rule once per op.

# %% [markdown] zh
# ## 梯度确认
#
# 书中 5.7.3 节用数值微分的结果确认误差反向传播法的实现是否正确：用 3 张图像，比较两种梯度的平均绝对误差。对 784-50-10 的网络，数值微分要算 159,020 次损失，在一台 2 核的机器上要半分钟左右，所以这里把隐藏层缩小到 5 个神经元，并用 float64（数值微分在 float32 下误差太大）：
# %% [markdown] en
# Section 5.7.3 of the book checks its backpropagation against numerical gradients: on 3 images, it prints the mean absolute difference between the two. For the 784-50-10 network a numerical gradient evaluates the loss 159,020 times, about half a minute on a 2-core machine, so the hidden layer shrinks to 5 neurons here, in float64 (in float32 central differences are too noisy):

# %%
small = TwoLayerNet(input_size=784, hidden_size=5, output_size=10, dtype=np.float64)
x_batch = x_train[:3].astype(np.float64)
t_batch = t_train[:3]

start = time.perf_counter()
grad_numerical = small.numerical_gradient(x_batch, t_batch)
numerical_seconds = time.perf_counter() - start
start = time.perf_counter()
grad_backprop = small.gradient(x_batch, t_batch)
backprop_seconds = time.perf_counter() - start

for key in ("W1", "b1", "W2", "b2"):
    diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
    print(key + ":" + str(diff))
print(f"numerical gradient: {numerical_seconds:.1f} s, backward: {1000 * backprop_seconds:.1f} ms")

# %% [markdown] zh
# 误差都非常小（书中的结果在 `1e-10` 到 `1e-13` 之间），说明梯度是对的。不过这种确认只打印一个平均值：出了错，也不知道错在哪个元素、错了多少、是噪声还是真的写错了。
#
# `minigrad.gradcheck(f, inputs)` 把它做成了一个检查：逐个比较数值微分和自动微分，通过时返回 `True`，不通过时抛出 `GradcheckError`，指出是哪个输入的哪个元素、两种梯度各是多少（第 6 篇会故意埋一个错误来看看）。`mode="fast"` 只比较两个投影（一个沿随机方向，一个沿自动微分的梯度方向），所以整个 784-50-10 的网络、100 张图像也只要几毫秒。
#
# 注意：`gradcheck` 会把参数复制成 float64 再传给 `f`，所以 `f` 必须用传给它的参数计算。书里的写法 `lambda W: net.loss(x, t)` 不用它的参数 `W`，在这里不能用：
# %% [markdown] en
# All tiny (the book's are between `1e-10` and `1e-13`): the gradients are right. But this check only prints a mean: when something is wrong, it does not say which element, by how much, or whether it is noise or a real mistake.
#
# `minigrad.gradcheck(f, inputs)` makes it a check: it compares numerical and automatic gradients, returns `True` when they agree, and otherwise raises `GradcheckError`, naming the input and the element and giving both values (notebook 6 plants a bug to show one). `mode="fast"` compares two projections only (along a random direction, and along autograd's gradient), so the whole 784-50-10 network on 100 images takes milliseconds.
#
# Note that `gradcheck` passes float64 copies of the parameters to `f`, so `f` must compute from the parameters it is given. The book's `lambda W: net.loss(x, t)` ignores its `W` and cannot be used here:

# %%
x_check = x_train[:100].astype(np.float64)
t_check = t_train[:100]


def loss_of_params(W1, b1, W2, b2):
    return F.cross_entropy_error(two_layer_net(x_check, W1, b1, W2, b2), t_check)


full_network = TwoLayerNet(784, 50, 10, dtype=np.float64)
start = time.perf_counter()
print(gradcheck(loss_of_params, list(full_network.params.values()), mode="fast"))
print(f"{1000 * (time.perf_counter() - start):.0f} ms")

# %% [markdown] zh
# ## 训练
#
# 书里的 `train_neuralnet.py`：每一步随机抽 100 张图像，求梯度，按学习率 0.1 更新参数，记录损失；每个 epoch（600 步，看完一遍 6 万张训练数据）计算一次训练数据和测试数据的识别精度。书里跑 10,000 步；这里只跑 2 个 epoch，1,200 步，在这台机器上几秒钟。更新参数时改的是 `.data`，这一步不需要记录计算图。
# %% [markdown] en
# ## Training
#
# The book's `train_neuralnet.py`: each step draws 100 random images, takes the gradient, updates the parameters with a learning rate of 0.1, and records the loss; after each epoch (600 steps, one pass over the 60,000 training images) it measures the accuracy on the training and the test data. The book runs 10,000 steps; this runs 2 epochs, 1,200 steps, a few seconds on this machine. The update changes `.data`, which records no graph.

# %%
network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
rng = np.random.default_rng(0)

iters_num = 1200
train_size = x_train.shape[0]
batch_size = 100
learning_rate = 0.1
iter_per_epoch = max(train_size // batch_size, 1)

train_loss_list = []
train_acc_list = []
test_acc_list = []

start = time.perf_counter()
for i in range(iters_num + 1):
    if i % iter_per_epoch == 0:
        train_acc = network.accuracy(x_train, t_train)
        test_acc = network.accuracy(x_test, t_test)
        train_acc_list.append(train_acc)
        test_acc_list.append(test_acc)
        print(f"step {i:4d} | train acc, test acc | {train_acc:.4f}, {test_acc:.4f}")
    if i == iters_num:
        break
    batch_mask = rng.choice(train_size, batch_size)
    x_batch = x_train[batch_mask]
    t_batch = t_train[batch_mask]

    grad = network.gradient(x_batch, t_batch)
    for key in ("W1", "b1", "W2", "b2"):
        network.params[key].data -= learning_rate * grad[key]

    loss = network.loss(x_batch, t_batch)
    train_loss_list.append(loss.item())
print(f"{iters_num} steps in {time.perf_counter() - start:.0f} s")

# %% [markdown] zh
# 损失函数的值随步数下降，训练数据和测试数据的识别精度一起上升，两者几乎没有差距，说明没有过拟合（书中图 4-12）：
# %% [markdown] en
# The loss falls step by step, and the accuracy on the training and the test data rises together, with almost no gap between them: no overfitting (the book's figure 4-12):

# %%
figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
loss_ax.plot(train_loss_list, linewidth=0.5)
loss_ax.set_xlabel("iteration")
loss_ax.set_ylabel("loss")
epochs = np.arange(len(train_acc_list))
acc_ax.plot(epochs, train_acc_list, "o-", label="train acc")
acc_ax.plot(epochs, test_acc_list, "s--", label="test acc")
acc_ax.set_xlabel("epoch")
acc_ax.set_xticks(epochs)
acc_ax.set_ylabel("accuracy")
acc_ax.set_ylim(0, 1.0)
acc_ax.legend(loc="lower right")
plt.show()

# %% [markdown] zh
# 继续训练，识别精度还会上升：跑满书里的 10,000 步，测试数据上约为 94.8%。这样的完整训练在命令行里是一条命令：`python -m models.train --preset book`（2 核的机器上大约 10 秒，94.77%）。
#
# 下一篇是 Nielsen 的网络：同样的思路，换成二次代价函数，并一步一步看 `backward()` 做了什么。
# %% [markdown] en
# More training raises the accuracy further: the book's full 10,000 steps reach about 94.8% on the test digits. That full run is one command, `python -m models.train --preset book` (about 10 seconds on a 2-core machine, 94.77%).
#
# Next comes Nielsen's network: the same idea with a quadratic cost, and a step-by-step look at what `backward()` does.
