"""The seed tutorials' own training loops, transcribed from ../shared/seeds/ for timing.

Kept as the tutorials wrote them (layout, helper functions, dictionaries, the cost computed
every iteration), including tutorial 000's use of ``dW2`` in its backward pass: these are the
baselines glassnet is measured against, not code glassnet uses.
"""

import numpy as np


# --------------------------------------------------------------------------- tutorial 000
def _sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def _relu(Z):
    return np.maximum(0, Z)


def _prime_relu(Z):
    return np.heaviside(Z, 0)


def _forward_000(X, W1, b1, W2, b2):
    Z1 = np.dot(W1, X.T) + b1
    A1 = _relu(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = _sigmoid(Z2)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def _loss_000(A2, y):
    data_size = y.shape[1]
    return (-1 / data_size) * (np.dot(y, np.log(A2).T) + np.dot(1 - y, np.log(1 - A2).T))


def _backward_000(fp, X, Y):
    A2, Z1, A1 = fp["A2"], fp["Z1"], fp["A1"]
    data_size = Y.shape[1]
    dZ2 = A2 - Y
    dW2 = np.dot(dZ2, A1.T) / data_size
    db2 = np.sum(dZ2, axis=1) / data_size
    dZ1 = np.dot(dW2.T, dZ2) * _prime_relu(Z1)
    dW1 = np.dot(dZ1, X) / data_size
    db1 = np.sum(dZ1, axis=1) / data_size
    db1 = np.reshape(db1, (db1.shape[0], 1))
    return {"dZ2": dZ2, "dW2": dW2, "db2": db2, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def moons_loop(X, y, epochs, learning_rate=0.003):
    """Tutorial 000's one_hidden_layer_model (2-5-1), without its every-1000 print."""
    y = np.reshape(y, (1, y.shape[0]))
    np.random.seed(0)
    W1 = np.random.randn(5, X.shape[1]) / np.sqrt(X.shape[1])
    b1 = np.zeros((5, 1))
    W2 = np.random.randn(1, 5) / np.sqrt(5)
    b2 = np.zeros((1, 1))
    loss_history = []
    for i in range(epochs):
        fp = _forward_000(X, W1, b1, W2, b2)
        loss = _loss_000(fp["A2"], y)
        grads = _backward_000(fp, X, y)
        W1 -= learning_rate * grads["dW1"]
        b1 -= learning_rate * grads["db1"]
        W2 -= learning_rate * grads["dW2"]
        b2 -= learning_rate * grads["db2"]
        if i % 1000 == 0:
            loss_history.append(loss)


# --------------------------------------------------------------------------- tutorial 001
def circles_loop(X, y, iterations, learning_rate=0.01, layers_dims=(2, 10, 5, 1)):
    """Tutorial 001's model(): init_weights, forward_propagation, compute_loss, accuracy,
    back_propagation, update_parameters, every iteration."""
    y = y.reshape((y.shape[0], 1))
    np.random.seed(4)
    params = {}
    for l in range(1, len(layers_dims)):  # noqa: E741
        params["W" + str(l)] = np.random.randn(layers_dims[l - 1], layers_dims[l])
        params["b" + str(l)] = np.zeros((1, layers_dims[l]))
    costs = []
    for i in range(iterations):
        W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
        z1 = np.dot(X, W1) + b1
        a1 = _relu(z1)
        z2 = np.dot(a1, W2) + b2
        a2 = _relu(z2)
        z3 = np.dot(a2, W3) + b3
        a3 = 1.0 / (1.0 + np.exp(-z3))
        m = y.shape[0]
        logprobs = np.multiply(-np.log(a3), y) + np.multiply(-np.log(1 - a3), (1 - y))
        cost = 1. / m * np.nansum(logprobs)
        acc = sum(y == np.round(a3)) / len(y)  # noqa: F841
        m = X.shape[0]
        dz3 = 1. / m * (a3 - y)
        dW3 = np.dot(a2.T, dz3)
        db3 = np.sum(dz3, axis=0, keepdims=True)
        da2 = np.dot(dz3, W3.T)
        dz2 = np.multiply(da2, np.int64(a2 > 0))
        dW2 = np.dot(a1.T, dz2)
        db2 = np.sum(dz2, axis=0, keepdims=True)
        da1 = np.dot(dz2, W2.T)
        dz1 = np.multiply(da1, np.int64(a1 > 0))
        dW1 = np.dot(X.T, dz1)
        db1 = np.sum(dz1, axis=0, keepdims=True)
        grads = {"dW3": dW3, "db3": db3, "dW2": dW2, "db2": db2, "dW1": dW1, "db1": db1}
        for k in range(len(params) // 2):
            params["W" + str(k + 1)] = params["W" + str(k + 1)] - learning_rate * grads[
                "dW" + str(k + 1)]
            params["b" + str(k + 1)] = params["b" + str(k + 1)] - learning_rate * grads[
                "db" + str(k + 1)]
        if i % 1000 == 0:
            costs.append(cost)


# --------------------------------------------------------------------------- tutorial 002
def _linear_activation_forward(A_prev, W, b, activation):
    Z = W.dot(A_prev) + b
    A = _sigmoid(Z) if activation == "sigmoid" else _relu(Z)
    return A, ((A_prev, W, b), Z)


def _linear_activation_backward(dA, cache, activation):
    (A_prev, W, b), Z = cache
    if activation == "relu":
        dZ = np.array(dA, copy=True)
        dZ[Z <= 0] = 0
    else:
        s = 1 / (1 + np.exp(-Z))
        dZ = dA * s * (1 - s)
    m = A_prev.shape[1]
    dW = 1. / m * np.dot(dZ, A_prev.T)
    db = 1. / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def cats_loop(X, Y, layers_dims, num_iterations, learning_rate=0.0075):
    """Tutorial 002's L_layer_model with randn / sqrt(n) initialisation."""
    X, Y = X.T, Y.reshape(1, -1)
    np.random.seed(1)
    parameters = {}
    L = len(layers_dims)
    for l in range(1, L):  # noqa: E741
        parameters["W" + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) / \
            np.sqrt(layers_dims[l - 1])
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
    costs = []
    for i in range(num_iterations):
        caches, A = [], X
        n_layers = len(parameters) // 2
        for l in range(1, n_layers):  # noqa: E741
            A, cache = _linear_activation_forward(A, parameters["W" + str(l)],
                                                  parameters["b" + str(l)], "relu")
            caches.append(cache)
        AL, cache = _linear_activation_forward(A, parameters["W" + str(n_layers)],
                                               parameters["b" + str(n_layers)], "sigmoid")
        caches.append(cache)
        m = Y.shape[1]
        cost = np.squeeze((1. / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y,
                                                                         np.log(1 - AL).T)))
        grads = {}
        dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
        grads["dA" + str(n_layers - 1)], grads["dW" + str(n_layers)], grads[
            "db" + str(n_layers)] = _linear_activation_backward(dAL, caches[-1], "sigmoid")
        for l in reversed(range(n_layers - 1)):  # noqa: E741
            dA_prev, dW, db = _linear_activation_backward(grads["dA" + str(l + 1)], caches[l],
                                                          "relu")
            grads["dA" + str(l)], grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = \
                dA_prev, dW, db
        for l in range(n_layers):  # noqa: E741
            parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate * \
                grads["dW" + str(l + 1)]
            parameters["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate * \
                grads["db" + str(l + 1)]
        if i % 100 == 0:
            costs.append(cost)
