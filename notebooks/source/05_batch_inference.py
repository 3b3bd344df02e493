# Source of notebooks/zh/05_batch_inference.ipynb and notebooks/en/05_batch_inference.ipynb.
# Edit here, then run `python -m notebooks.build` (the format is described in notebooks/build.py).

# %% [markdown] zh
# # 5. 用学好的权重做批处理推理，看看认错的数字
#
# 书的第 3 章用已经学好的权重 `sample_weight.pkl` 对 MNIST 的测试数据做推理（神经网络的前向传播）：网络是 784-50-100-10，隐藏层用 sigmoid，输出层用 softmax，识别精度是 0.9352。先一张一张地推理，再 100 张一批地推理（批处理），后者快得多。
#
# 本篇照做一遍，然后看看网络认错了哪些数字。
# %% [markdown] en
# # 5. Batch inference with learned weights, and the digits it gets wrong
#
# Chapter 3 of the book runs already learned weights, `sample_weight.pkl`, on the MNIST test digits (inference: the network's forward pass). The network is 784-50-100-10, sigmoid in the hidden layers and softmax at the output, and it gets 0.9352 of the digits right. It goes one image at a time first, then 100 images at a time (a batch), which is much faster.
#
# This notebook does the same, then looks at the digits the network gets wrong.

# %%
import os

# One BLAS thread unless you choose otherwise: on a busy 2-core machine a second one only
# slows NumPy down. It has to be set before NumPy is imported.
if "OPENBLAS_NUM_THREADS" not in os.environ:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"

# %%
import sys
from pathlib import Path

# The models/ folder sits at the root of the clone, two folders up from this notebook and
# not in the installed package: like the book's scripts (sys.path.append(os.pardir)), put
# it on the import path.
sys.path.append(str(Path.cwd().resolve().parent.parent))

# %%
import time
from dataclasses import replace

import numpy as np
from IPython.display import Image, display

from minigrad import no_grad
from minigrad.datasets.mnist import load_mnist, save_digit_grid
from models.convert_weights import convert
from models.evaluate import format_confusion
from models.mlp import PRESETS, MnistMLP, confusion_matrix, evaluate
from models.train import train

# %% [markdown] zh
# ## 学好的权重
#
# 书里的权重是一个 pickle 文件，而读入 pickle 可能执行文件里的任意代码。如果你有书里的 `sample_weight.pkl`，把它放在这个笔记本旁边：下面用 `models.convert_weights` 把它转换成 `.npz`，转换时只允许重建 NumPy 数组，其他东西一律拒绝。
#
# 没有这个文件，就在这里训练一个同样的 784-50-100-10 网络（`book3` 预设）。照书用 SGD、`weight_init_std=0.01`，这个三层的 sigmoid 网络开头几千步几乎学不动，所以这里换成 Adam（学习率 0.001），训练 2 个 epoch（1,200 步），在这台机器上几秒钟。权重用书里的名字（`W1`～`W3`、`b1`～`b3`）存下来。
# %% [markdown] en
# ## The learned weights
#
# The book's weights are a pickle file, and reading a pickle can run any code the file contains. If you have the book's `sample_weight.pkl`, put it next to this notebook: `models.convert_weights` below turns it into an `.npz`, letting the pickle rebuild NumPy arrays and refusing anything else.
#
# Without that file, a network of the same shape, 784-50-100-10 (the `book3` preset), is trained here. With the book's SGD and `weight_init_std=0.01` this three-layer sigmoid network barely learns in its first few thousand steps, so it trains with Adam instead (learning rate 0.001), for 2 epochs (1,200 steps), a few seconds on this machine. The weights are saved under the book's names (`W1` to `W3`, `b1` to `b3`).

# %%
(x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=False)

book_pickle = Path("sample_weight.pkl")
if book_pickle.exists():
    weights_file = Path("sample_weight.npz")
    convert(book_pickle, weights_file)
    print(f"converted {book_pickle} to {weights_file}")
else:
    weights_file = Path("book3_weights.npz")
    preset = replace(PRESETS["book3"], optimizer="adam", lr=1e-3, steps=1200)
    splits = {"train": (x_train, t_train), "test": (x_test, t_test)}
    model, history = train(preset, splits, seed=0, progress=False)
    np.savez(weights_file, **model.book_params())
    print(f"trained here; weights saved to {weights_file}")

# %% [markdown] zh
# ## 书中的推理代码
#
# 和书一样：`get_data` 取测试数据，`init_network` 读入权重（书里是 `pickle.load`，这里是 `np.load(..., allow_pickle=False)`），`predict` 是三层的前向传播。
# %% [markdown] en
# ## The book's inference code
#
# As in the book: `get_data` gives the test data, `init_network` reads the weights (`pickle.load` in the book, `np.load(..., allow_pickle=False)` here), and `predict` is the three-layer forward pass.


# %%
def get_data():
    return x_test, t_test


def init_network():
    with np.load(weights_file, allow_pickle=False) as saved:
        return dict(saved)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(a):
    exp_a = np.exp(a - a.max(axis=-1, keepdims=True))
    return exp_a / exp_a.sum(axis=-1, keepdims=True)


def predict(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    return softmax(a3)


x, t = get_data()
network = init_network()
for key, value in network.items():
    print(key, value.shape)

# %% [markdown] zh
# 一张一张地推理：
# %% [markdown] en
# One image at a time:

# %%
start = time.perf_counter()
accuracy_cnt = 0
for i in range(len(x)):
    y = predict(network, x[i])
    p = np.argmax(y)
    if p == t[i]:
        accuracy_cnt += 1
one_by_one = time.perf_counter() - start

print("Accuracy:" + str(float(accuracy_cnt) / len(x)))
print(f"{one_by_one:.2f} s")

# %% [markdown] zh
# ## 批处理
#
# 一次输入 100 张图像，`x` 的形状是 (100, 784)，各层的形状依次是 (100, 784) → (100, 50) → (100, 100) → (100, 10)：输出的每一行是一张图像的结果，`argmax(axis=1)` 取出每一行最大值的位置。矩阵运算一次处理整批数据，比循环快得多。
# %% [markdown] en
# ## Batches
#
# Give it 100 images at once: `x` is (100, 784), and the layers go (100, 784) → (100, 50) → (100, 100) → (100, 10). Each output row is one image's result, and `argmax(axis=1)` finds the largest entry of each row. The matrix products handle the whole batch at once, much faster than the loop.

# %%
start = time.perf_counter()
batch_size = 100
accuracy_cnt = 0
for i in range(0, len(x), batch_size):
    x_batch = x[i : i + batch_size]
    y_batch = predict(network, x_batch)
    p = np.argmax(y_batch, axis=1)
    accuracy_cnt += np.sum(p == t[i : i + batch_size])
in_batches = time.perf_counter() - start

print("Accuracy:" + str(float(accuracy_cnt) / len(x)))
print(f"{in_batches:.3f} s, {one_by_one / in_batches:.0f} times faster than one by one")

# %% [markdown] zh
# ## 同样的推理，用 minigrad
#
# `MnistMLP(PRESETS["book3"])` 是同一个 784-50-100-10 的 sigmoid 网络，`load_weights` 能读书里名字的权重。推理时不需要梯度，放在 `no_grad()` 里，什么都不记录。输出的是 softmax 之前的得分：softmax 不改变大小顺序，所以推理时可以省略（书中 3.5.2 节）。10,000 张测试图像可以一批算完：
# %% [markdown] en
# ## The same inference in minigrad
#
# `MnistMLP(PRESETS["book3"])` is the same 784-50-100-10 sigmoid network, and `load_weights` reads weights under the book's names. Inference needs no gradient: inside `no_grad()` nothing is recorded. The outputs are the scores before the softmax, which does not change their order and can be left out at inference (section 3.5.2 of the book). All 10,000 test images fit in one batch:

# %%
model = MnistMLP(PRESETS["book3"]).load_weights(weights_file)
print(model)

start = time.perf_counter()
with no_grad():
    scores = model(x)
print(scores.shape, f"{time.perf_counter() - start:.3f} s")
print("Accuracy:", np.mean(scores.data.argmax(axis=1) == t))

# %% [markdown] zh
# `models.mlp.evaluate` 做的是同一件事：按批推理，给出平均损失、识别精度和每张图像的预测结果。
# %% [markdown] en
# `models.mlp.evaluate` does the same: inference in batches, returning the mean loss, the accuracy and each image's prediction.

# %%
result = evaluate(model, x, t, batch_size=100)
print(f"loss {result.loss:.4f}, accuracy {result.accuracy}")

# %% [markdown] zh
# ## 认错的数字
#
# 把预测错的测试图像找出来，画出前 20 张：`t` 是正确解，`y` 是网络的预测。`save_digit_grid` 把它们存成一张 PNG（书里的 `img_show` 要弹出窗口，这个在服务器上也能用），再用 `IPython.display.Image` 显示在这里。
# %% [markdown] en
# ## The digits it gets wrong
#
# Find the test images predicted wrong and show the first 20: `t` is the correct digit, `y` the network's guess. `save_digit_grid` writes them into a PNG (the book's `img_show` opens a window; this works on a server too), and `IPython.display.Image` shows it here.

# %%
predictions = result.predictions
wrong = np.flatnonzero(predictions != t)
print(f"{len(wrong)} of {len(t)} test digits are wrong")

save_digit_grid(
    "misclassified.png", x[wrong[:20]], t[wrong[:20]], predictions=predictions[wrong[:20]]
)
display(Image(filename="misclassified.png"))

# %% [markdown] zh
# 有些连人也会犹豫，有些则明显是网络的错。混淆矩阵按正确解（行）和预测（列）统计，最后一列是每个数字被认对的比例：
# %% [markdown] en
# Some would make a person hesitate too; others are plainly the network's mistakes. The confusion matrix counts them by correct digit (rows) and guess (columns); the last column is the share of each digit recognised:

# %%
matrix = confusion_matrix(t, predictions)
print(format_confusion(matrix))

off_diagonal = matrix - np.diag(np.diag(matrix))
true_digit, guess = np.unravel_index(off_diagonal.argmax(), matrix.shape)
print(f"most frequent mistake: {true_digit} taken for {guess}, {off_diagonal.max()} times")

# %% [markdown] zh
# 最后看看网络最有把握、却错了的那些：按 softmax 之后预测类别的概率从高到低排列。
# %% [markdown] en
# Last, the mistakes the network was surest of: sorted by the softmax probability of its guess, highest first.

# %%
probabilities = softmax(scores.data)
confidence = probabilities[wrong, predictions[wrong]]
surest = wrong[np.argsort(-confidence)[:10]]
print(np.round(np.sort(confidence)[::-1][:10], 3))

save_digit_grid("surest_mistakes.png", x[surest], t[surest], predictions=predictions[surest])
display(Image(filename="surest_mistakes.png"))

# %% [markdown] zh
# 书里说要把识别精度提高到 99% 以上，靠的是第 7、8 章的卷积神经网络；minigrad 的卷积层还在开发中，这个系列的第 7 篇会等它完成后补上。下一篇回到自动微分本身：自己写一个算子，检查它的梯度，再找出一个故意埋下的错误。
# %% [markdown] en
# The book promises to push the accuracy above 99% with the convolutional networks of chapters 7 and 8; minigrad's convolution layers are still being written, and a seventh notebook will follow when they land. The next one goes back to autograd itself: writing your own op, checking its gradient, and finding a planted bug.
