"""SavedModel export: the whole style transfer as one TensorFlow graph.

:func:`export_saved_model` writes a SavedModel that takes a content image and
a style image and returns the stylised image. The optimisation that
``StyleTransferModel.fit`` runs (VGG features, the losses of
:mod:`nst_keras.losses`, Keras' Adam update, the [0, 1] clip) runs inside the
graph as a ``tf.while_loop``, and the VGG weights are stored in the
SavedModel, so TF Serving, ``saved_model_cli`` or any TensorFlow program can
run it without this package.

Two signatures:

``serving_default``
    inputs ``content_image`` and ``style_image`` only: uint8 ``[H, W, 3]`` RGB,
    each side in ``[MIN_SIDE, max_side]`` (``max_side`` is chosen at export,
    default :data:`MAX_SIDE`); the two sizes are independent. Every other
    setting is the export's, baked in. This is what TF's Python loader
    (``signatures["serving_default"](content_image=..., style_image=...)``),
    ``saved_model_cli run`` and a TF Serving request with two inputs call.
``serve``
    the same two images plus every setting as a scalar input (all required
    in the SignatureDef; the restored ``serve`` method fills left-out ones
    from the export's defaults): ``steps`` (int32 >= 0), the weight of each
    term of the objective (:mod:`nst_keras.objective`: ``content_weight``,
    ``style_weight``, ``total_variation_weight``, and ``light_weight`` in an
    export made with a light weight above 0), ``learning_rate`` (float32
    >= 0) and ``seed`` (int64; only used by an export made with ``init="noise"``).

Both return ``generated_image``: uint8 ``[H, W, 3]`` of the content's size,
and ``loss``: float32 ``[steps]``, the total loss before each update (what
``fit`` logs as ``loss``).

With the same VGG weights, settings and number of steps it computes what
``StyleTransferModel(content, style, init="content")`` +
``compile()`` (its default Adam, at ``learning_rate``) + ``fit`` computes: the same
losses and the same Adam update, in another TensorFlow graph, so equal up to
float rounding. Tolerance: after a few steps no pixel differs by more than
1/255 (tested with 6 steps); over many steps rounding differences grow pixel
by pixel, because Adam turns even a tiny gradient into a full step, while the
loss stays the same (tested: within 3 % after 20 steps with ImageNet VGG16;
measured 0.05 %, single pixels up to 15/255 apart, mean 0.6/255).

Example:

>>> from nst_keras.export import export_saved_model
>>> export_saved_model("stylizer/1", network="vgg16", weights=None)  # doctest: +SKIP
'stylizer/1'
>>> import tensorflow as tf                                          # doctest: +SKIP
>>> stylize = tf.saved_model.load("stylizer/1").signatures["serving_default"]  # doctest: +SKIP
>>> out = stylize(content_image=content, style_image=style)          # doctest: +SKIP
>>> out["generated_image"].dtype                                     # doctest: +SKIP
tf.uint8
"""

import inspect
import json
import os
import shutil

import keras
import tensorflow as tf

from nst_keras import files, objective
from nst_keras.checks import NETWORK_INIT
from nst_keras.defaults import EXPORT_MAX_SIDE, EXPORT_METADATA_FILE, EXPORT_STEPS, LEARNING_RATE, MIN_SIDE
from nst_keras.features import FeatureExtractor
from nst_keras.initialization import initial_image
from nst_keras.optimizers import ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON
from nst_keras.provenance import provenance
from nst_keras.settings import LossSettings, RunSettings

MAX_SIDE = EXPORT_MAX_SIDE
STEPS = EXPORT_STEPS
SIGNATURE_KEYS = ("serving_default", "serve")
METADATA_FILE = EXPORT_METADATA_FILE


def scalar_inputs(terms):
    """The scalar inputs of the ``serve`` signature, in order, with their dtypes: one weight per term.

    Example:

    >>> list(scalar_inputs(objective.active_terms(LossSettings())))
    ['steps', 'content_weight', 'style_weight', 'total_variation_weight', 'learning_rate', 'seed']
    """
    weights = {term.weight: tf.float32 for term in terms}
    return {"steps": tf.int32, **weights, "learning_rate": tf.float32, "seed": tf.int64}


class _Stylizer:
    """Builds the exported tf.functions around one FeatureExtractor."""

    def __init__(self, extractor, loss_settings, max_side, defaults):
        self.extractor = extractor
        self.loss_settings = loss_settings
        self.terms = objective.active_terms(loss_settings)
        self.scalars = scalar_inputs(self.terms)
        self.max_side = max_side
        self.defaults = defaults

    def _check_image(self, image, name):
        sides = tf.shape(image)[:2]
        return [
            tf.debugging.assert_greater_equal(
                sides, MIN_SIDE, message=f"{name}: each side must be >= {MIN_SIDE} pixels"
            ),
            tf.debugging.assert_less_equal(
                sides, self.max_side,
                message=f"{name}: each side must be <= {self.max_side} pixels (the export's max_side)",
            ),
        ]

    def stylize(self, content_image, style_image, steps, learning_rate, seed, **weights):
        checks = self._check_image(content_image, "content_image") + self._check_image(style_image, "style_image")
        checks.append(tf.debugging.assert_non_negative(steps, message="steps must be >= 0"))
        for name, value in dict(weights, learning_rate=learning_rate).items():
            checks.append(tf.debugging.assert_non_negative(value, message=f"{name} must be >= 0"))
            checks.append(tf.debugging.assert_all_finite(value, message=f"{name} must be finite"))
        with tf.control_dependencies(checks):
            content = tf.cast(content_image, tf.float32)[None] / 255.0
            style = tf.cast(style_image, tf.float32)[None] / 255.0
        # The request's weights in place of the export's.
        settings = _WeightOverride(self.loss_settings, weights)
        context = objective.TargetContext.untiled(self.extractor, settings, content, [style])
        targets = objective.build_targets(self.terms, context)
        learning_rate = tf.cast(learning_rate, tf.float32)
        beta_1, beta_2 = ADAM_BETA_1, ADAM_BETA_2

        def step(iteration, image, m, v, history):
            with tf.GradientTape() as tape:
                tape.watch(image)
                loss = objective.weighted_losses(image, self.extractor(image), targets, settings, self.terms)["loss"]
                total = tf.reduce_sum(loss)
            gradient = tape.gradient(total, image)
            # keras.optimizers.Adam.update_step, operation for operation: a
            # Keras optimizer needs variables of a fixed shape, and the image
            # here takes each request's size.
            local_step = tf.cast(iteration + 1, tf.float32)
            alpha = learning_rate * tf.sqrt(1 - tf.pow(beta_2, local_step)) / (1 - tf.pow(beta_1, local_step))
            m = m + (gradient - m) * (1 - beta_1)
            v = v + (tf.square(gradient) - v) * (1 - beta_2)
            image = image - (m * alpha) / (tf.sqrt(v) + ADAM_EPSILON)
            # StyleTransferModel's ClipToUnitInterval constraint.
            image = tf.clip_by_value(image, 0.0, 1.0)
            return iteration + 1, image, m, v, history.write(iteration, tf.reduce_mean(loss))

        image = initial_image(self.loss_settings.init, content, style, seed)
        zeros = tf.zeros_like(image)
        history = tf.TensorArray(tf.float32, size=steps, element_shape=[])
        _, image, _, _, history = tf.while_loop(
            lambda iteration, *_: iteration < steps,
            step,
            (tf.constant(0, tf.int32), image, zeros, zeros, history),
        )
        generated = tf.cast(tf.round(image[0] * 255.0), tf.uint8)
        return {"generated_image": generated, "loss": history.stack()}

    def functions(self):
        """The two tf.functions: images only (settings baked in), and images plus every setting."""
        images = [
            tf.TensorSpec([None, None, 3], tf.uint8, name="content_image"),
            tf.TensorSpec([None, None, 3], tf.uint8, name="style_image"),
        ]
        scalars = [tf.TensorSpec([], dtype, name=name) for name, dtype in self.scalars.items()]
        baked = {name: tf.constant(self.defaults[name], dtype) for name, dtype in self.scalars.items()}
        stylize = self.stylize

        def serving_default(content_image, style_image):
            return stylize(content_image, style_image, **baked)

        # serve(content_image, style_image, steps=..., <one weight per term>=..., learning_rate=..., seed=...):
        # its parameters follow the table of terms, each defaulting to the export's value.
        def serve(*args, **kwargs):
            bound = serve.__signature__.bind(*args, **kwargs)
            bound.apply_defaults()
            return stylize(**bound.arguments)

        parameter = inspect.Parameter.POSITIONAL_OR_KEYWORD
        serve.__signature__ = inspect.Signature(
            [inspect.Parameter(name, parameter) for name in ("content_image", "style_image")]
            + [inspect.Parameter(name, parameter, default=value) for name, value in baked.items()])
        return (
            tf.function(serving_default, input_signature=images, autograph=False),
            tf.function(serve, input_signature=images + scalars, autograph=False),
        )


class _WeightOverride:
    """Loss settings whose weights are the request's tensors (the rest as exported)."""

    def __init__(self, settings, weights):
        self._settings = settings
        self._weights = weights

    def __getattr__(self, name):
        if name in self._weights:
            return self._weights[name]
        return getattr(self._settings, name)


def export_saved_model(
    path: str | os.PathLike,
    settings: LossSettings | None = None,
    *,
    network: str | None = None,
    weights: str | os.PathLike | None = "auto",
    learning_rate: float = LEARNING_RATE,
    steps: int = STEPS,
    max_side: int = MAX_SIDE,
    feature_extractor: FeatureExtractor | None = None,
    weights_description: str | None = None,
    overwrite: bool = False,
    **overrides,
) -> str:
    """Write a self-contained stylizer SavedModel to ``path``; return ``path``.

    The folder appears atomically (written beside it, then renamed), so a
    TF Serving instance watching the parent never loads a half-written
    version.

    Args:
        path: the SavedModel folder to create, e.g. ``models/stylizer/1``
            for TF Serving's ``MODEL_BASE_PATH/VERSION`` layout.
        settings: the loss settings (:class:`~nst_keras.settings.LossSettings`),
            given whole or as keyword ``overrides`` (``content_weight=0.3``).
            ``init`` is fixed at export: ``"content"``, ``"style"`` or
            ``"noise"`` (from the ``seed`` input, default ``seed`` or 0).
            The export takes one style image, so ``style_blend_weights`` must
            be left out.
        network, weights: the VGG feature extractor, as
            :class:`~nst_keras.StyleTransferModel` takes them.
        learning_rate, steps: Adam's step size and the number of steps,
            baked into ``serving_default`` and the defaults of ``serve``.
        max_side: the largest image side the export accepts.
        feature_extractor: an existing :class:`~nst_keras.FeatureExtractor`
            to export instead of building one (its network, weights, layers
            and pooling then override the settings').
        weights_description: text recorded in the export's metadata about
            which weights ran (default: the extractor's ``weights_source``).
        overwrite: replace ``path`` if it already exists.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        ValueError: a bad setting.

    Example:

    >>> export_saved_model("stylizer/1", network="vgg16", weights=None, steps=20)  # doctest: +SKIP
    'stylizer/1'
    """
    path = os.fspath(path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"Expected `path` not to exist (or overwrite=True). Received: path={path!r}")
    loss_settings = settings or LossSettings()
    if feature_extractor is not None:
        # The extractor's layers and pooling are the export's.
        overrides = dict(
            style_layer_names=tuple(feature_extractor.style_layer_names),
            content_layer_names=tuple(feature_extractor.content_layer_names),
            pooling=feature_extractor.pooling,
            **overrides,
        )
    loss_settings = loss_settings.replace(**overrides)
    if loss_settings.style_blend_weights is not None:
        raise ValueError(
            "Expected no `style_blend_weights`: the export takes one style image. "
            f"Received: style_blend_weights={list(loss_settings.style_blend_weights)}"
        )
    loss_settings.require_single_weights("the export stylises one image at a time")
    if loss_settings.init.startswith(NETWORK_INIT):
        raise ValueError("Expected `init` to be 'content', 'style' or 'noise': an export computes its start inside "
                         f"its graph. Received: init={loss_settings.init!r}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"Expected `steps` to be an integer >= 0. Received: steps={steps!r}")
    if int(max_side) != max_side or max_side < MIN_SIDE:
        raise ValueError(f"Expected `max_side` to be an integer >= {MIN_SIDE}. Received: max_side={max_side!r}")
    learning_rate = RunSettings(learning_rate=learning_rate).learning_rate  # checked like stylize's
    extractor = feature_extractor or FeatureExtractor.for_settings(
        loss_settings, network=network, weights=weights, dtype="float32"
    )
    loss_settings = loss_settings.replace(style_layer_weights=loss_settings.layer_weights)
    defaults = {
        "steps": int(steps),
        **{term.weight: term.weight_of(loss_settings) for term in objective.active_terms(loss_settings)},
        "learning_rate": learning_rate,
        "seed": 0 if loss_settings.seed is None else loss_settings.seed,
    }

    stylizer = _Stylizer(extractor, loss_settings, int(max_side), defaults)
    module = tf.Module()
    module.serving_default, module.serve = stylizer.functions()
    # Track the tf.Variables the traced graph reads, not the Keras layer or its
    # Keras variables: loading then needs no Keras class, and TF1-style loaders
    # (saved_model_cli run, TF Serving) find every variable initialised.
    module.vgg_variables = list(module.serve.get_concrete_function().variables)
    description = weights_description if weights_description is not None else str(extractor.weights_source)
    metadata = dict(
        provenance(extractor.network, description),
        keras=keras.__version__,
        tensorflow=tf.__version__,
        settings=loss_settings.to_dict(),
        min_side=MIN_SIDE,
        max_side=int(max_side),
        signature_keys=list(SIGNATURE_KEYS),
        defaults=defaults,
    )

    staging = files.temp_sibling(os.path.abspath(path))
    os.makedirs(os.path.dirname(staging), exist_ok=True)
    try:
        tf.saved_model.save(
            module, staging, signatures={"serving_default": module.serving_default, "serve": module.serve}
        )
        with files.atomic_write(os.path.join(staging, METADATA_FILE), "w") as f:
            json.dump(metadata, f, indent=2, sort_keys=True)
        files.replace_folder(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def read_metadata(path):
    """Return the settings recorded in an export (network, weights, defaults...).

    Reads ``assets.extra/nst_keras.json`` with the standard library only.

    Example:

    >>> read_metadata("stylizer/1")["network"]                # doctest: +SKIP
    'vgg16'
    """
    with open(os.path.join(os.fspath(path), METADATA_FILE), encoding="utf-8") as f:
        return json.load(f)
