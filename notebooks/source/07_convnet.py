# Source of notebooks/zh/07_convnet.ipynb and notebooks/en/07_convnet.ipynb.
# Edit here, then run `python -m notebooks.build` (the format is described in notebooks/build.py).

# %% [markdown] zh
# # 7. 卷积神经网络：im2col、卷积层和池化层，训练、可视化、导出
#
# 书的第 7 章用卷积神经网络（CNN）把 MNIST 的识别精度提高到 99% 左右。它的 `Convolution` 层先用 `im2col` 把图像里每个滤波器要看的小块展开成矩阵的一行，再做一次矩阵乘法；`Pooling` 层取每个窗口的最大值。
#
# minigrad 里这些都是登记过的算子：`F.im2col`、`F.conv2d`、`F.max_pool2d`，前向和反向写在一起，反向也用 minigrad 自己的算子写成，所以还能再求一次导数。本篇先在很小的图像上看清 im2col 和卷积做了什么，用 `gradcheck` 检查卷积的梯度（一阶和二阶），再用 `nn.Conv2d`、`nn.MaxPool2d` 搭一个小的 SimpleConvNet，训练几百步，看学到的滤波器和计算图，最后把它导出成 ONNX，用 onnxruntime 运行。
# %% [markdown] en
# # 7. Convolutional networks: im2col, conv and pooling layers, training, pictures, export
#
# Chapter 7 of the book raises MNIST accuracy to about 99% with a convolutional network (CNN). Its `Convolution` layer first unrolls, with `im2col`, each patch of the image a filter looks at into one row of a matrix, then does one matrix product; its `Pooling` layer keeps the largest value of each window.
#
# In minigrad these are registered ops: `F.im2col`, `F.conv2d`, `F.max_pool2d`, each with its forward and backward side by side, and the backward written with minigrad's own ops, so it can be differentiated again. This notebook first looks at what im2col and a convolution do on tiny images, checks the convolution's gradient with `gradcheck` (first and second order), then builds a small SimpleConvNet from `nn.Conv2d` and `nn.MaxPool2d`, trains it for a few hundred steps, looks at its learned filters and its graph, and finally exports it to ONNX and runs it in onnxruntime.

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
import onnxruntime
from IPython.display import SVG, display

import minigrad.functional as F
import minigrad.onnx
from minigrad import Tensor, gradcheck, nn, no_grad, optim
from minigrad.data import DataLoader
from minigrad.datasets import load_mnist
from minigrad.viz import to_dot

# %% [markdown] zh
# ## im2col：把卷积变成一次矩阵乘法
#
# 一张 1 通道、4x4 的图像，滤波器 3x3，步幅 1，不填充：输出是 2x2，共 4 个位置。`im2col` 把每个位置看到的 3x3 小块展开成 9 个数，得到形状 (N, C*3*3, 输出位置数) 的矩阵（和 PyTorch 的 `unfold` 一样，书里的 `im2col` 是它的转置）。
# %% [markdown] en
# ## im2col: a convolution as one matrix product
#
# One image with 1 channel, 4x4, a 3x3 filter, stride 1, no padding: the output is 2x2, 4 positions. `im2col` unrolls the 3x3 patch each position sees into 9 numbers, giving a matrix of shape (N, C*3*3, number of positions) (as PyTorch's `unfold`; the book's `im2col` is its transpose).

# %%
image = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
columns = F.im2col(Tensor(image), kernel=3)
print(image[0, 0])
print(columns.shape)
print(columns.data[0])

# %% [markdown] zh
# 每一列就是一个位置的小块。卷积就是滤波器（展开成一行）乘以这个矩阵，再加上偏置。下面用 `im2col` 和 `@` 自己算一遍，和 `F.conv2d` 比较：两者相同。
# %% [markdown] en
# Each column is the patch of one position. A convolution is the filters (each unrolled into a row) times this matrix, plus the bias. Below we compute it ourselves with `im2col` and `@`, and compare with `F.conv2d`: they agree.

# %%
rng = np.random.default_rng(0)
images = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)  # N=2, C=3, 6x6
weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)  # 4 filters (FN, C, FH, FW)
bias = rng.standard_normal(4).astype(np.float32)

by_hand = weight.reshape(4, -1) @ F.im2col(Tensor(images), kernel=3).data  # (N, 4, 16)
by_hand = by_hand.reshape(2, 4, 4, 4) + bias.reshape(1, 4, 1, 1)
fused = F.conv2d(Tensor(images), Tensor(weight), Tensor(bias)).data
print(fused.shape, np.allclose(by_hand, fused, atol=1e-5))

# %% [markdown] zh
# ## 检查卷积和池化的梯度
#
# `gradcheck` 用中心差分检查反向传播算出的梯度。`order=2` 还检查梯度的梯度：因为 `conv2d` 的反向是用 `im2col`、`col2im` 和矩阵乘法这些算子写的，它本身也能求导。用 float64 的小数据，差分才准确。
# %% [markdown] en
# ## Checking the gradients of conv and pooling
#
# `gradcheck` checks the gradients backpropagation computes against central differences. `order=2` also checks the gradients of the gradients: `conv2d`'s backward is written with ops (`im2col`, `col2im`, matrix products), so it can itself be differentiated. Small float64 data keeps the differences accurate.

# %%
x = Tensor(rng.standard_normal((2, 2, 5, 5)), requires_grad=True)
w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
b = Tensor(rng.standard_normal(3), requires_grad=True)


def conv(x, w, b):
    return F.conv2d(x, w, b, stride=2, padding=1)


print("conv2d, first and second order:", gradcheck(conv, [x, w, b], order=2))
print("max_pool2d:", gradcheck(lambda x: F.max_pool2d(x, 2), [x]))

# %% [markdown] zh
# ## 一个小的 SimpleConvNet
#
# 书里的 SimpleConvNet 是：卷积（30 个 5x5 滤波器）→ ReLU → 2x2 最大池化 → 全连接 100 → ReLU → 全连接 10。这里为了几分钟内跑完，只用 8 个滤波器、隐藏层 50，在 10,000 张训练图像上训练 2 轮。`load_mnist(flatten=False)` 给出 (N, 1, 28, 28) 的图像。`nn.Flatten` 和书的 `Affine` 一样，按 (C, H, W) 的顺序展平。
# %% [markdown] en
# ## A small SimpleConvNet
#
# The book's SimpleConvNet is: convolution (30 filters of 5x5) → ReLU → 2x2 max pooling → affine 100 → ReLU → affine 10. To finish in a few minutes, this one has 8 filters and a hidden layer of 50, and trains for 2 epochs on 10,000 training images. `load_mnist(flatten=False)` gives images shaped (N, 1, 28, 28). `nn.Flatten` flattens in (C, H, W) order, as the book's `Affine` does.

# %%
(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=False)
x_train, t_train = x_train[:10_000], t_train[:10_000]
print(x_train.shape, x_train.dtype, t_train.shape)


class SmallConvNet(nn.Module):
    def __init__(self, filters=8, hidden=50, rng=0):
        rng = np.random.default_rng(rng)
        self.conv = nn.Conv2d(1, filters, 5, rng=rng)  # (N, 1, 28, 28) -> (N, 8, 24, 24)
        self.pool = nn.MaxPool2d(2)  # -> (N, 8, 12, 12)
        self.flatten = nn.Flatten()  # -> (N, 8 * 12 * 12)
        self.affine1 = nn.Linear(filters * 12 * 12, hidden, rng=rng)
        self.affine2 = nn.Linear(hidden, 10, rng=rng)

    def forward(self, x):
        h = self.flatten(self.pool(self.conv(x).relu()))
        return self.affine2(self.affine1(h).relu())


model = SmallConvNet()
print([(name, p.shape) for name, p in model.named_parameters()])

# %%
optimizer = optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(x_train, t_train, batch_size=100, shuffle=True, seed=0)


def predict(model, images, batch_size=1000):
    """The digit each image is taken for, a batch at a time, without recording a graph."""
    with no_grad():
        scores = [model(images[i : i + batch_size]).data for i in range(0, len(images), batch_size)]
    return np.concatenate(scores).argmax(axis=1)


start = time.perf_counter()
for epoch in range(2):
    for images, labels in loader:
        loss = F.softmax_cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    accuracy = (predict(model, x_test) == t_test).mean()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy:.2%}")
print(f"{time.perf_counter() - start:.0f} s")

# %% [markdown] zh
# ## 学到的滤波器
#
# 书里把第一层的滤波器画成灰度小图：训练前是随机的噪声，训练后各自对不同方向的笔画有反应（这个小网络只训练了 2 轮，书里 20 轮的图更清楚）。`python -m models.train --preset simple_convnet` 训练书里的完整网络，并把这张图存为 `filters.png`。
# %% [markdown] en
# ## The learned filters
#
# The book draws the first layer's filters as small gray images: random noise before training, after it each responds to strokes of its own direction (this small net trained for 2 epochs; the book's 20 give a clearer picture). `python -m models.train --preset simple_convnet` trains the book's full network and saves this picture as `filters.png`.

# %%
filters = model.conv.weight.data[:, 0]
figure, axes = plt.subplots(1, len(filters), figsize=(len(filters) * 1.2, 1.6))
for number, (ax, kernel) in enumerate(zip(axes, filters)):
    ax.imshow(kernel, cmap="gray_r", interpolation="nearest")
    ax.set_title(f"filter {number}", fontsize=8)
    ax.axis("off")
figure.suptitle("first conv layer after training (dark: positive weights)")
plt.show()

# %% [markdown] zh
# ## 计算图
#
# 一个训练步在 4 张图像上的计算图，每一层一个框：
# %% [markdown] en
# ## The graph
#
# The graph of one training step on 4 images, one box per layer:

# %%
loss = F.softmax_cross_entropy(
    model(Tensor(x_test[:4], name="images")), Tensor(t_test[:4], name="labels")
)
display(SVG(to_dot(loss, title="one training step on 4 digits").pipe(format="svg")))

# %% [markdown] zh
# ## 导出成 ONNX，用 onnxruntime 运行
#
# `minigrad.onnx.export` 沿着计算图把每个算子写成 ONNX 节点，参数按它们的路径命名（`conv.weight`）。导出的模型在 onnxruntime 里对每张测试图像给出和 minigrad 相同的预测（需要 `pip install minigrad[export]`）。
# %% [markdown] en
# ## Export to ONNX, run in onnxruntime
#
# `minigrad.onnx.export` writes each op of the graph as ONNX nodes, parameters named by their paths (`conv.weight`). In onnxruntime the exported model predicts every test digit as minigrad does (this needs `pip install minigrad[export]`).

# %%
minigrad.onnx.export(
    model, x_test[:7], "small_convnet.onnx", input_names=["images"], output_names=["scores"]
)
session = onnxruntime.InferenceSession("small_convnet.onnx", providers=["CPUExecutionProvider"])
theirs = session.run(["scores"], {"images": x_test})[0].argmax(axis=1)
ours = predict(model, x_test)
print("predictions that differ:", int((theirs != ours).sum()), "of", len(ours))
os.remove("small_convnet.onnx")

# %% [markdown] zh
# ## 书里的完整网络
#
# 在仓库根目录运行 `python -m models.train --preset simple_convnet`（书的第 7 章，20 轮）或 `--preset deep_convnet`（第 8 章），或者我们自己设计的 `--preset convnet`。README 的 MNIST 一节列出了在这台 2 核机器上得到的精度和时间。书里学好的权重 `params.pkl` 可以用 `python -m models.convert_weights params.pkl` 转换，再用 `python -m models.evaluate params.npz --preset simple_convnet` 评估。
# %% [markdown] en
# ## The book's full networks
#
# From the root of the clone, run `python -m models.train --preset simple_convnet` (the book's chapter 7, 20 epochs) or `--preset deep_convnet` (chapter 8), or our own `--preset convnet`. The README's MNIST section lists the accuracy and time they reach on this 2-core machine. The book's learned weights, `params.pkl`, convert with `python -m models.convert_weights params.pkl` and evaluate with `python -m models.evaluate params.npz --preset simple_convnet`.
