"""L-BFGS as a Keras optimizer, so it runs inside ``model.fit`` with callbacks.

Gatys et al. (2015) and jcjohnson/neural-style optimise the image with
L-BFGS; at a few hundred steps it reaches a lower loss per step than Adam.
:class:`LBFGS` is a ``keras.optimizers.Optimizer`` whose whole state (the
curvature pairs, the previous iterate and gradient) lives in optimizer
variables, so it works in the compiled train step of any Keras model.

Example:

>>> from nst_keras.optimizers import LBFGS
>>> model.compile(optimizer=LBFGS(history_size=10))      # doctest: +SKIP
>>> model.fit(epochs=10, steps_per_epoch=50)             # doctest: +SKIP
"""

import keras
from keras import ops

from nst_keras import defaults

# Adam's second-moment decay. Keras' default 0.999 remembers the large
# gradients of the first steps for hundreds of steps, so later steps come out
# too small; 0.95 adapts within ~20 steps. At 512 px after 450 steps it ended
# lower than 0.999 and 0.99 and level with 0.9 (benchmarks/adam_settings.py).
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.95
ADAM_EPSILON = 1e-7
# Largest change of any pixel in one L-BFGS step (see LBFGS).
LBFGS_MAX_STEP = 0.1

# Curvature pairs with s.y below this are skipped: the update would not be
# positive definite (the loss is not convex) or s is too small to measure.
_CURVATURE_EPSILON = 1e-10


@keras.saving.register_keras_serializable(package="nst_keras")
class LBFGS(keras.optimizers.Optimizer):
    """Limited-memory BFGS without line search, as jcjohnson/neural-style runs it.

    Each step is ``x <- x - learning_rate * H g``, where ``H`` is the L-BFGS
    approximation of the inverse Hessian built by the two-loop recursion from
    the last ``history_size`` pairs ``s = x_t - x_{t-1}``,
    ``y = g_t - g_{t-1}``, scaled by ``s.y / y.y`` of the newest pair. The
    first step has no pairs yet and is a gradient step of length
    ``min(1, 1 / sum|g|) * learning_rate``, as in Torch's ``optim.lbfgs``.

    - No line search (jcjohnson's setting): one loss and gradient per step,
      so a ``fit`` step costs what an Adam step costs.
    - The pairs are formed on the next step from the stored previous iterate
      and gradient, so they use the iterates as they really are after Keras
      applied the variable's constraint (the [0, 1] clip of the image).
    - A pair with ``s.y <= 1e-10`` is skipped, keeping ``H`` positive definite.
    - No value changes by more than ``max_step`` in one step (the step is
      scaled down as a whole): without this, the [0, 1] clip can turn an
      early overshoot into a jump the curvature pairs never recover from.
    - The variable may be a batch of images ``[B, H, W, 3]``: each image gets
      its own pairs and scaling (the style loss is a sum over images, so they
      are independent problems and each gets the result it would get alone).
      Any other shape is one problem.

    Only one variable (the generated image) is supported.

    Args:
        learning_rate: step length along the L-BFGS direction; 1 (the
            default) is the quasi-Newton step.
        history_size: number of curvature pairs kept (memory: two copies of
            the image per pair).
        max_step: largest change of any value (pixel channel) in one step,
            per image; ``None`` for no cap.
        name: optimizer name.
        **kwargs: other ``keras.optimizers.Optimizer`` arguments.

    Example:

    >>> import numpy as np
    >>> from nst_keras.model import StyleTransferModel
    >>> image = np.random.rand(32, 32, 3).astype("float32")
    >>> model = StyleTransferModel(image, image, network="vgg16", weights=None)
    >>> model.compile(optimizer=LBFGS(history_size=5))
    >>> history = model.fit(epochs=1, steps_per_epoch=3, verbose=0)
    """

    def __init__(
        self,
        learning_rate=defaults.LBFGS_LEARNING_RATE,
        history_size=defaults.LBFGS_HISTORY_SIZE,
        max_step=LBFGS_MAX_STEP,
        name="lbfgs",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if int(history_size) != history_size or history_size < 1:
            raise ValueError(
                f"Expected `history_size` to be an integer >= 1. Received: history_size={history_size!r}"
            )
        self.history_size = int(history_size)
        if max_step is not None and not max_step > 0:
            raise ValueError(f"Expected `max_step` to be a number > 0 or None. Received: max_step={max_step!r}")
        self.max_step = None if max_step is None else float(max_step)

    def build(self, var_list):
        """Create the pair buffers and the previous iterate and gradient for one variable."""
        if self.built:
            return
        var_list = list(var_list)
        if len(var_list) != 1:
            raise ValueError(
                "Expected exactly one variable to optimise (the generated image): LBFGS keeps "
                f"one curvature history. Received: {len(var_list)} variables "
                f"{[v.name for v in var_list]}"
            )
        super().build(var_list)
        variable = var_list[0]
        shape = tuple(variable.shape)
        problems = shape[0] if len(shape) == 4 else 1
        self._problems = problems
        m = self.history_size
        self.s_history = self.add_variable((m,) + shape, dtype=variable.dtype, name="s_history")
        self.y_history = self.add_variable((m,) + shape, dtype=variable.dtype, name="y_history")
        # rho = 1 / s.y per pair and problem; 0 marks an empty slot, which the
        # two-loop recursion then skips.
        self.rho_history = self.add_variable((m, problems), dtype=variable.dtype, name="rho_history")
        self.gamma = self.add_variable((problems,), initializer="ones", dtype=variable.dtype, name="gamma")
        self.previous_variable = self.add_variable_from_reference(variable, name="previous_variable")
        self.previous_gradient = self.add_variable_from_reference(variable, name="previous_gradient")

    def _flat(self, value):
        return ops.reshape(value, (self._problems, -1))

    def update_step(self, gradient, variable, learning_rate):
        """One L-BFGS step on ``variable`` (the two-loop recursion, no line search)."""
        dtype = variable.dtype
        m = self.history_size
        g = self._flat(ops.cast(gradient, dtype))
        x = self._flat(ops.convert_to_tensor(variable))
        first = ops.equal(self.iterations, 0)

        # The pair from the previous step, measured at the clipped iterate.
        s = x - self._flat(self.previous_variable)
        y = g - self._flat(self.previous_gradient)
        sy = ops.sum(s * y, axis=1)
        yy = ops.sum(y * y, axis=1)
        accept = ops.logical_and(ops.logical_not(first), sy > _CURVATURE_EPSILON)  # [P]
        safe_sy = ops.where(accept, sy, 1.0)
        keep = ops.reshape(accept, (1, self._problems, 1))
        s_all = ops.reshape(self.s_history, (m, self._problems, -1))
        y_all = ops.reshape(self.y_history, (m, self._problems, -1))
        s_all = ops.where(keep, ops.concatenate([s_all[1:], s[None]], axis=0), s_all)
        y_all = ops.where(keep, ops.concatenate([y_all[1:], y[None]], axis=0), y_all)
        rho = ops.where(
            accept[None], ops.concatenate([self.rho_history[1:], (1.0 / safe_sy)[None]], axis=0), self.rho_history
        )
        gamma = ops.where(accept, sy / ops.where(accept, yy, 1.0), self.gamma)

        # Two-loop recursion, newest pair first; empty slots have rho = 0.
        q = g
        alphas = [None] * m
        for i in reversed(range(m)):
            alphas[i] = rho[i] * ops.sum(s_all[i] * q, axis=1)
            q = q - alphas[i][:, None] * y_all[i]
        r = gamma[:, None] * q
        for i in range(m):
            beta = rho[i] * ops.sum(y_all[i] * r, axis=1)
            r = r + (alphas[i] - beta)[:, None] * s_all[i]

        learning_rate = ops.cast(learning_rate, dtype)
        first_step = ops.minimum(1.0, 1.0 / (ops.sum(ops.abs(g), axis=1) + 1e-30)) * learning_rate
        step = ops.where(first, first_step, learning_rate)
        update = step[:, None] * r
        if self.max_step is not None:
            # Not in jcjohnson's L-BFGS: with the image clipped to [0, 1], an
            # overshooting step lands on the bounds, the pair (s, y) it leaves
            # misstates the curvature and the loss jumps 30-fold (measured at
            # 96 px); capping the largest pixel change prevents that.
            largest = ops.max(ops.abs(update), axis=1, keepdims=True)
            update = update * ops.minimum(1.0, self.max_step / (largest + 1e-30))
        new_x = x - update

        shape = ops.shape(variable)
        self.assign(self.s_history, ops.reshape(s_all, ops.shape(self.s_history)))
        self.assign(self.y_history, ops.reshape(y_all, ops.shape(self.y_history)))
        self.assign(self.rho_history, rho)
        self.assign(self.gamma, gamma)
        self.assign(self.previous_variable, variable)
        self.assign(self.previous_gradient, ops.reshape(g, shape))
        self.assign(variable, ops.reshape(new_x, shape))

    def get_config(self):
        config = super().get_config()
        config.update(history_size=self.history_size, max_step=self.max_step)
        return config


def get_optimizer(optimizer=None, learning_rate=None, history_size=None):
    """Return a Keras optimizer from a name or pass an instance through.

    Args:
        optimizer: ``"adam"`` (default, ``None``), ``"lbfgs"``, or a
            ``keras.optimizers.Optimizer`` instance (returned as is).
        learning_rate: ``None`` for the optimizer's own default
            (``defaults.LEARNING_RATE`` for Adam, ``defaults.LBFGS_LEARNING_RATE``
            for L-BFGS).
        history_size: L-BFGS pairs kept (``None``: ``defaults.LBFGS_HISTORY_SIZE``).

    Example:

    >>> type(get_optimizer("lbfgs")).__name__
    'LBFGS'
    >>> float(get_optimizer("adam").learning_rate)
    0.019999999552965164
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer
    name = "adam" if optimizer is None else str(optimizer).lower()
    if name == "adam":
        rate = defaults.LEARNING_RATE if learning_rate is None else learning_rate
        return keras.optimizers.Adam(learning_rate=rate, beta_2=ADAM_BETA_2)
    if name == "lbfgs":
        rate = defaults.LBFGS_LEARNING_RATE if learning_rate is None else learning_rate
        size = defaults.LBFGS_HISTORY_SIZE if history_size is None else history_size
        return LBFGS(learning_rate=rate, history_size=size)
    raise ValueError(
        f"Expected `optimizer` to be one of {defaults.OPTIMIZERS} or a keras.optimizers.Optimizer. "
        f"Received: optimizer={optimizer!r}"
    )
