# Source of notebooks/zh/02_numerical_gradient_and_descent.ipynb and its en/ twin.
# Edit here, then run `python -m notebooks.build` (the format is described in notebooks/build.py).

# %% [markdown] zh
# # 2. 数值微分、梯度下降法，然后交给自动微分
#
# 本篇对应书的第 4.3～4.4 节：先照书用数值微分（中心差分，`h = 1e-4`）求导数和梯度，用梯度下降法求 $f(x_0, x_1) = x_0^2 + x_1^2$ 的最小值；然后用 minigrad 的自动微分（`backward()`）做同样的事，比较两者的结果和速度。最后是书里的 `simpleNet`，它的梯度用两种方法各求一次。
# %% [markdown] en
# # 2. Numerical gradients, gradient descent, then autograd
#
# This notebook follows sections 4.3 and 4.4 of the book: derivatives and gradients by numerical differentiation (central differences, `h = 1e-4`), and gradient descent to the minimum of $f(x_0, x_1) = x_0^2 + x_1^2$; then the same with minigrad's automatic differentiation (`backward()`), comparing the answers and the speed. Last comes the book's `simpleNet`, whose gradient we find both ways.

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

import minigrad
import minigrad.functional as F
from minigrad import Tensor, optim

# %% [markdown] zh
# ## 数值微分
#
# 导数是函数在某一点的变化率。书里用中心差分 $\frac{f(x+h) - f(x-h)}{2h}$ 来近似，`h` 取 `1e-4`：太小会因为舍入误差算不准（书中的例子：`np.float32(1e-50)` 就变成了 0）。对 $f(x) = 0.01x^2 + 0.1x$，真正的导数是 $0.02x + 0.1$，在 $x = 5$ 和 $x = 10$ 处分别是 0.2 和 0.3。
# %% [markdown] en
# ## Numerical differentiation
#
# A derivative is a function's rate of change at a point. The book approximates it by the central difference $\frac{f(x+h) - f(x-h)}{2h}$ with `h = 1e-4`: a smaller one loses the answer to rounding (the book's example: `np.float32(1e-50)` is 0). For $f(x) = 0.01x^2 + 0.1x$ the true derivative is $0.02x + 0.1$: 0.2 at $x = 5$ and 0.3 at $x = 10$.


# %%
def numerical_diff(f, x):
    h = 1e-4
    return (f(x + h) - f(x - h)) / (2 * h)


def function_1(x):
    return 0.01 * x**2 + 0.1 * x


print(numerical_diff(function_1, 5), numerical_diff(function_1, 10))

# %% [markdown] zh
# 结果很接近，但不是精确的 0.2 和 0.3。用这个导数画出 $x = 5$ 处的切线（书中图 4-7）：
# %% [markdown] en
# Close, but not exactly 0.2 and 0.3. The tangent at $x = 5$ drawn with it (the book's figure 4-7):

# %%
xs = np.arange(0.0, 20.0, 0.1)
slope = numerical_diff(function_1, 5)
figure, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(xs, function_1(xs), label="f(x)")
ax.plot(xs, function_1(5) + slope * (xs - 5), "--", label="tangent at x = 5")
ax.set_xlabel("x")
ax.set_ylabel("f(x)")
ax.legend()
plt.show()

# %% [markdown] zh
# minigrad 不用差分，而是记录下计算的每一步（一个计算图），再用链式法则从后往前求导。把 `x` 做成 `requires_grad=True` 的 `Tensor`，调用 `backward()`，`x.grad` 里就是导数，而且是精确值：
# %% [markdown] en
# minigrad takes no differences. It records each step of the computation (a graph) and applies the chain rule from the end back to the start. Make `x` a `Tensor` with `requires_grad=True`, call `backward()`, and `x.grad` holds the derivative, exactly:

# %%
for value in (5.0, 10.0):
    x = Tensor(np.array(value), requires_grad=True, name="x")
    y = function_1(x)
    y.backward()
    print(x.grad)

# %% [markdown] zh
# ## 梯度
#
# 对多个变量，把每个变量的偏导数汇总成一个向量，就是梯度。书里的 `numerical_gradient` 对 `x` 的每个元素各做一次中心差分：
# %% [markdown] en
# ## Gradients
#
# With several variables, the partial derivatives together make a vector: the gradient. The book's `numerical_gradient` takes a central difference for each element of `x` in turn:


# %%
def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp_val = x[idx]
        x[idx] = tmp_val + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
    return grad


for point in ([3.0, 4.0], [0.0, 2.0], [3.0, 0.0]):
    print(point, numerical_gradient(function_2, np.array(point)))

# %% [markdown] zh
# minigrad 里也有同名的 `minigrad.numerical_gradient(f, x)`，做的是同样的事（任意形状的数组都可以，`f` 出错时也会把 `x` 恢复原样）。它的结果和真正的梯度 $(2x_0, 2x_1)$ 差一点点：
# %% [markdown] en
# minigrad has a `minigrad.numerical_gradient(f, x)` of its own that does the same (for arrays of any shape, and it restores `x` even if `f` raises). Its answer is a hair away from the true gradient $(2x_0, 2x_1)$:

# %%
numeric = minigrad.numerical_gradient(function_2, np.array([3.0, 4.0]))
print(numeric, numeric - [6.0, 8.0])

# %% [markdown] zh
# 梯度指向函数值增加最快的方向，负梯度指向减小最快的方向。在网格上的每一点画出负梯度（书中图 4-9），箭头都指向最小值 (0, 0)：
# %% [markdown] en
# The gradient points where the function grows fastest; minus the gradient points where it falls fastest. Minus the gradient at each point of a grid (the book's figure 4-9) points towards the minimum at (0, 0):

# %%
grid = np.arange(-2.0, 2.5, 0.25)
X0, X1 = np.meshgrid(grid, grid)
points = np.stack([X0.ravel(), X1.ravel()])
gradients = np.array([numerical_gradient(function_2, point.copy()) for point in points.T]).T

figure, ax = plt.subplots(figsize=(4.5, 4.5))
ax.quiver(points[0], points[1], -gradients[0], -gradients[1], angles="xy", color="#666666")
ax.set_xlabel("x0")
ax.set_ylabel("x1")
ax.set_aspect("equal")
plt.show()

# %% [markdown] zh
# ## 梯度下降法
#
# 从某一点出发，沿负梯度方向走一小步，再重新求梯度，如此反复：$x \leftarrow x - \eta \frac{\partial f}{\partial x}$，$\eta$ 是学习率。书里从 (-3.0, 4.0) 出发，学习率 0.1，走 100 步：
# %% [markdown] en
# ## Gradient descent
#
# From a starting point, take a small step along minus the gradient, find the gradient again, and repeat: $x \leftarrow x - \eta \frac{\partial f}{\partial x}$, where $\eta$ is the learning rate. The book starts from (-3.0, 4.0) with a learning rate of 0.1 and takes 100 steps:


# %%
def gradient_descent(f, init_x, lr=0.01, step_num=100):
    x = np.array(init_x, dtype=np.float64)
    history = [x.copy()]
    for _ in range(step_num):
        x -= lr * numerical_gradient(f, x)
        history.append(x.copy())
    return x, np.array(history)


x, history = gradient_descent(function_2, [-3.0, 4.0], lr=0.1, step_num=100)
print(x)

# %% [markdown] zh
# 结果非常接近最小值 (0, 0)。把走过的路画出来（书中图 4-10）：
# %% [markdown] en
# Very close to the minimum at (0, 0). The path it took (the book's figure 4-10):

# %%
figure, ax = plt.subplots(figsize=(4.5, 4.5))
ax.plot(history[:, 0], history[:, 1], "o", markersize=3)
ax.plot([-5, 5], [0, 0], "--b", linewidth=0.5)
ax.plot([0, 0], [-5, 5], "--b", linewidth=0.5)
ax.set_xlim(-3.5, 3.5)
ax.set_ylim(-4.5, 4.5)
ax.set_xlabel("x0")
ax.set_ylabel("x1")
plt.show()

# %% [markdown] zh
# 学习率这样的参数叫超参数，需要人来设定。太大会发散，太小几乎不动（书中的两个例子）：
# %% [markdown] en
# A setting like the learning rate is a hyperparameter: someone has to choose it. Too large, and the walk diverges; too small, and it hardly moves (the book's two examples):

# %%
print(gradient_descent(function_2, [-3.0, 4.0], lr=10.0)[0])
print(gradient_descent(function_2, [-3.0, 4.0], lr=1e-10)[0])

# %% [markdown] zh
# ## 同样的事，用自动微分
#
# 把 `numerical_gradient` 换成 `backward()`：每一步先算出 $f(x)$（这时 minigrad 记下了计算图），再 `backward()`，`x.grad` 就是梯度。更新参数只改 `x.data`，不需要记录；每一步之后把 `x.grad` 清空，因为梯度会在多次 `backward()` 之间累加。
# %% [markdown] en
# ## The same with autograd
#
# Replace `numerical_gradient` with `backward()`: each step computes $f(x)$ (minigrad records its graph), calls `backward()`, and `x.grad` is the gradient. The update changes `x.data` only, which records nothing. After each step `x.grad` is cleared, because gradients add up across `backward()` calls.


# %%
def gradient_descent_autograd(f, init_x, lr=0.01, step_num=100):
    x = Tensor(np.array(init_x, dtype=np.float64), requires_grad=True, name="x")
    for _ in range(step_num):
        f(x).backward()
        x.data -= lr * x.grad.data
        x.grad = None
    return x.data


print(gradient_descent_autograd(function_2, [-3.0, 4.0], lr=0.1, step_num=100))

# %% [markdown] zh
# 结果和数值微分版一样接近 (0, 0)。这一步在训练神经网络时天天要写，所以 minigrad 把它写成了优化器：`optim.SGD` 的 `zero_grad()` 清空梯度，`step()` 更新参数（和 PyTorch 的用法一样）：
# %% [markdown] en
# As close to (0, 0) as the numerical version. Training a network repeats this step endlessly, so minigrad has it as an optimizer: `optim.SGD`'s `zero_grad()` clears the gradients and `step()` updates the parameters (as in PyTorch):

# %%
x = Tensor(np.array([-3.0, 4.0]), requires_grad=True, name="x")
optimizer = optim.SGD([x], lr=0.1)
for _ in range(100):
    optimizer.zero_grad()
    function_2(x).backward()
    optimizer.step()
print(x.data)

# %% [markdown] zh
# ## 两种梯度，精度和速度
#
# 在 (3, 4) 处，自动微分给出精确的 (6, 8)；数值微分有 `1e-12` 左右的误差。`minigrad.grad(f)` 是求梯度的函数式写法：它返回一个新函数，算出 `f` 对其参数的梯度。
# %% [markdown] en
# ## Two gradients: accuracy and speed
#
# At (3, 4), autograd gives exactly (6, 8); the numerical gradient is off by about `1e-12`. `minigrad.grad(f)` is the functional way to say it: it returns a new function, which computes the gradient of `f` with respect to its argument.

# %%
point = np.array([3.0, 4.0])
print(minigrad.grad(function_2)(Tensor(point)))
print(numerical_gradient(function_2, point.copy()) - [6.0, 8.0])

# %% [markdown] zh
# 速度的差别更大。数值微分每个参数要算两次函数，自动微分不管有多少参数，都只要一次前向加一次反向。对一个 1000 个元素的 $f(x) = \sum x_i^2$：
# %% [markdown] en
# The speed differs even more. The numerical gradient evaluates the function twice per parameter; autograd needs one forward and one backward pass, however many parameters there are. For $f(x) = \sum x_i^2$ over 1,000 elements:


# %%
def sum_of_squares(x):
    return (x * x).sum()


values = np.linspace(-1.0, 1.0, 1000)

start = time.perf_counter()
numeric = minigrad.numerical_gradient(sum_of_squares, values.copy())
numeric_seconds = time.perf_counter() - start

start = time.perf_counter()
x = Tensor(values, requires_grad=True)
sum_of_squares(x).backward()
autograd_seconds = time.perf_counter() - start

print(f"same gradient: {np.allclose(numeric, x.grad.data)}")
print(
    f"numerical: 2,000 evaluations; autograd: 1 forward + 1 backward, "
    f"{numeric_seconds / autograd_seconds:.0f} times faster here"
)

# %% [markdown] zh
# 一个 784-50-10 的网络有 79,510 个参数，数值微分每一步就要算 159,020 次损失。这就是为什么有读者用数值微分训练 TwoLayerNet 花了 17 个小时。
#
# ## 神经网络的梯度：书里的 `simpleNet`
#
# 书中 4.4.2 节的 `simpleNet` 只有一个 2×3 的权重 `W`：`predict` 算 `x @ W`，`loss` 是 softmax 之后的交叉熵误差。这里用书里印出来的那组 `W`，所以结果可以和书对照。`W` 是 `Tensor`，`minigrad.numerical_gradient` 可以像书一样写成 `lambda W: net.loss(x, t)`（它会就地改动 `net.W` 再改回来）：
# %% [markdown] en
# A 784-50-10 network has 79,510 parameters: a numerical gradient evaluates its loss 159,020 times per step. That is why training TwoLayerNet on numerical gradients took one reader 17 hours.
#
# ## A network's gradient: the book's `simpleNet`
#
# The `simpleNet` of section 4.4.2 has a single 2×3 weight `W`: `predict` computes `x @ W` and `loss` is the cross-entropy after a softmax. This `W` is the one printed in the book, so the numbers can be compared with it. `W` is a `Tensor`, and `minigrad.numerical_gradient` takes the book's `lambda W: net.loss(x, t)` (it changes `net.W` in place, then restores it):


# %%
class SimpleNet:
    def __init__(self):
        weights = [[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]]
        self.W = Tensor(np.array(weights), requires_grad=True, name="W")

    def predict(self, x):
        return Tensor(x) @ self.W

    def loss(self, x, t):
        z = self.predict(x)
        y = F.softmax(z)
        return F.cross_entropy_error(y, t)


net = SimpleNet()
x = np.array([0.6, 0.9])
t = np.array([0, 0, 1])
print(net.predict(x))
print(net.loss(x, t))

dW_numeric = minigrad.numerical_gradient(lambda W: net.loss(x, t), net.W)
print(dW_numeric)

# %% [markdown] zh
# 和书上的一样：损失约 0.928，梯度的第一行约为 [0.219, 0.144, -0.363]。用 `backward()` 求同一个梯度：
# %% [markdown] en
# As in the book: a loss of about 0.928, and a gradient whose first row is about [0.219, 0.144, -0.363]. The same gradient by `backward()`:

# %%
net.loss(x, t).backward()
print(net.W.grad)
print(np.abs(net.W.grad.data - dW_numeric).max())

# %% [markdown] zh
# 两者相差不到 `1e-8`。下一篇把这一切用到书里的两层神经网络上：用误差反向传播法（`backward()`）训练它，画出它的计算图，并用 `gradcheck` 检查它的梯度。
# %% [markdown] en
# They agree to better than `1e-8`. The next notebook takes all this to the book's two-layer network: trained by backpropagation (`backward()`), its graph drawn, and its gradients checked with `gradcheck`.
