"""XOR from scratch: the autograd demo — a two-layer network learns XOR (`python examples/xor.py`).

A single perceptron cannot separate XOR; one hidden layer with a non-linearity can. Every
gradient below comes from rosenblatt's reverse-mode autograd.
"""

from __future__ import annotations

import rosenblatt as rb


def main() -> None:
    rb.manual_seed(0)
    x = rb.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = rb.tensor([[0.0], [1.0], [1.0], [0.0]])
    W1 = (rb.randn(2, 8) * 1.0).requires_grad_()
    b1 = rb.zeros(8, requires_grad=True)
    W2 = (rb.randn(8, 1) * 0.5).requires_grad_()
    b2 = rb.zeros(1, requires_grad=True)
    params = [W1, b1, W2, b2]
    for step in range(2001):
        h = (x @ W1 + b1).clip(min=0)                 # ReLU hidden layer
        p = 1 / (1 + (-(h @ W2 + b2)).exp())          # sigmoid output
        loss = ((p - y) ** 2).mean()                   # mean squared error
        loss.backward()                                # reverse-mode autograd
        with rb.no_grad():
            for w in params:
                w.sub_(0.5 * w.grad)                   # gradient descent step
                w.grad = None
        if step % 500 == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    print("XOR predictions:", [round(v, 3) for v in p.detach().numpy().ravel().tolist()])


if __name__ == "__main__":
    main()
