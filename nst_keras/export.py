"""SavedModel export: the whole style transfer as one TensorFlow graph.

:func:`export_saved_model` writes a SavedModel that takes a content image and
a style image and returns the stylised image. The optimisation that
``StyleTransferModel.fit`` runs (VGG features, the losses of
:mod:`nst_keras.losses`, Keras' Adam update, the [0, 1] clip) runs inside the
graph as a ``tf.while_loop``, and the VGG weights are stored in the
SavedModel, so TF Serving, ``saved_model_cli`` or any TensorFlow program can
run it without this package.

Signatures ``serving_default`` and ``serve`` (the same function):

inputs
    ``content_image``, ``style_image``: uint8 ``[H, W, 3]`` RGB, each side in
    ``[MIN_SIDE, max_side]`` (``max_side`` is chosen at export, default
    :data:`MAX_SIDE`); the two sizes are independent. The output has the
    content image's size.

    Optional scalars, defaults chosen at export (stored in the SignatureDef's
    ``defaults``, so a request may leave them out): ``steps`` (int32 >= 0),
    ``content_weight``, ``style_weight``, ``total_variation_weight``,
    ``learning_rate`` (float32 >= 0) and ``seed`` (int64; only used by an
    export made with ``init="noise"``).
outputs
    ``generated_image``: uint8 ``[H, W, 3]``; ``loss``: float32 ``[steps]``,
    the total loss before each update (what ``fit`` logs as ``loss``).

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
>>> out = stylize(content_image=content, style_image=style, steps=tf.constant(100))  # doctest: +SKIP
>>> out["generated_image"].dtype                                     # doctest: +SKIP
tf.uint8
"""

import json
import os
import shutil
import uuid

import keras
import tensorflow as tf

import nst_keras
from nst_keras import settings as defaults
from nst_keras.features import FeatureExtractor
from nst_keras.losses import content_loss, gram_matrix, style_loss, total_variation_loss

# Same reasoning as nst_keras.images.MIN_SIDE: block5_conv1 sees the image
# halved four times, and a 32 px side still leaves it a 2x2 map.
MIN_SIDE = 32
# Memory grows with the pixels: VGG19 at 1024 x 1024 needs about 6 GB for the
# activations and their gradients. Raise it at export for bigger machines.
MAX_SIDE = 1024
STEPS = defaults.EPOCHS * defaults.STEPS_PER_EPOCH
INITS = ("content", "noise", "style")
SIGNATURE_KEYS = ("serving_default", "serve")
METADATA_FILE = os.path.join("assets.extra", "nst_keras.json")

# The Adam that StyleTransferModel.compile uses by default.
_BETA_1 = 0.9
_BETA_2 = defaults.ADAM_BETA_2
_EPSILON = 1e-7


def _check_non_negative(name, value):
    value = float(value)
    if not (value >= 0 and value != float("inf")):
        raise ValueError(f"Expected `{name}` to be a finite number >= 0. Received: {name}={value!r}")
    return value


class _Stylizer:
    """Builds the exported tf.function around one FeatureExtractor."""

    def __init__(self, extractor, style_layer_weights, init, max_side, settings):
        self.extractor = extractor
        self.style_layer_weights = style_layer_weights
        self.init = init
        self.max_side = max_side
        self.settings = settings

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

    def _losses(self, image, content_targets, style_targets, weights):
        # The same sum as StyleTransferModel.compute_losses.
        content_weight, style_weight, total_variation_weight = weights
        features = self.extractor(image)
        style = style_weight * style_loss(
            list(features["style"].values()), style_targets, self.style_layer_weights
        )
        content = content_weight * content_loss(list(features["content"].values()), content_targets)
        variation = total_variation_weight * total_variation_loss(image)
        return style + content + variation

    def _initial_image(self, content, style, seed):
        if self.init == "content":
            return content
        if self.init == "style":
            # As StyleTransferModel: bicubic resize to the content's size, clipped.
            resized = tf.image.resize(style, tf.shape(content)[1:3], method="bicubic")
            return tf.clip_by_value(resized, 0.0, 1.0)
        # Seeded like the model, but with TensorFlow's stateless generator, not numpy's.
        return tf.random.stateless_uniform(tf.shape(content), seed=tf.stack([seed, tf.constant(0, tf.int64)]))

    def stylize(self, content_image, style_image, steps, content_weight, style_weight,
                total_variation_weight, learning_rate, seed):
        checks = self._check_image(content_image, "content_image") + self._check_image(style_image, "style_image")
        checks.append(tf.debugging.assert_non_negative(steps, message="steps must be >= 0"))
        for name, value in (
            ("content_weight", content_weight),
            ("style_weight", style_weight),
            ("total_variation_weight", total_variation_weight),
            ("learning_rate", learning_rate),
        ):
            checks.append(tf.debugging.assert_non_negative(value, message=f"{name} must be >= 0"))
            checks.append(tf.debugging.assert_all_finite(value, message=f"{name} must be finite"))
        with tf.control_dependencies(checks):
            content = tf.cast(content_image, tf.float32)[None] / 255.0
            style = tf.cast(style_image, tf.float32)[None] / 255.0
        features = self.extractor(content)
        content_targets = [tf.cast(f, tf.float32) for f in features["content"].values()]
        style_targets = [gram_matrix(f) for f in self.extractor(style)["style"].values()]
        weights = (content_weight, style_weight, total_variation_weight)
        learning_rate = tf.cast(learning_rate, tf.float32)

        def step(iteration, image, m, v, history):
            with tf.GradientTape() as tape:
                tape.watch(image)
                loss = self._losses(image, content_targets, style_targets, weights)
                total = tf.reduce_sum(loss)
            gradient = tape.gradient(total, image)
            # keras.optimizers.Adam.update_step, operation for operation.
            local_step = tf.cast(iteration + 1, tf.float32)
            alpha = learning_rate * tf.sqrt(1 - tf.pow(_BETA_2, local_step)) / (1 - tf.pow(_BETA_1, local_step))
            m = m + (gradient - m) * (1 - _BETA_1)
            v = v + (tf.square(gradient) - v) * (1 - _BETA_2)
            image = image - (m * alpha) / (tf.sqrt(v) + _EPSILON)
            # StyleTransferModel's ClipToUnitInterval constraint.
            image = tf.clip_by_value(image, 0.0, 1.0)
            return iteration + 1, image, m, v, history.write(iteration, tf.reduce_mean(loss))

        image = self._initial_image(content, style, seed)
        zeros = tf.zeros_like(image)
        history = tf.TensorArray(tf.float32, size=steps, element_shape=[])
        _, image, _, _, history = tf.while_loop(
            lambda iteration, *_: iteration < steps,
            step,
            (tf.constant(0, tf.int32), image, zeros, zeros, history),
        )
        generated = tf.cast(tf.round(image[0] * 255.0), tf.uint8)
        return {"generated_image": generated, "loss": history.stack()}

    def function(self):
        """The tf.function whose Tensor defaults become the SignatureDef's defaults."""
        s = self.settings
        stylize = self.stylize

        def serve(
            content_image,
            style_image,
            steps=tf.constant(s["steps"], tf.int32),
            content_weight=tf.constant(s["content_weight"], tf.float32),
            style_weight=tf.constant(s["style_weight"], tf.float32),
            total_variation_weight=tf.constant(s["total_variation_weight"], tf.float32),
            learning_rate=tf.constant(s["learning_rate"], tf.float32),
            seed=tf.constant(s["seed"], tf.int64),
        ):
            return stylize(content_image, style_image, steps, content_weight, style_weight,
                           total_variation_weight, learning_rate, seed)

        scalar = tf.TensorSpec([], tf.float32)
        return tf.function(
            serve,
            input_signature=[
                tf.TensorSpec([None, None, 3], tf.uint8, name="content_image"),
                tf.TensorSpec([None, None, 3], tf.uint8, name="style_image"),
                tf.TensorSpec([], tf.int32, name="steps"),
                scalar, scalar, scalar, scalar,
                tf.TensorSpec([], tf.int64, name="seed"),
            ],
            autograph=False,
        )


def export_saved_model(
    path,
    *,
    network=defaults.NETWORK,
    weights="imagenet",
    style_layer_names=defaults.STYLE_LAYER_NAMES,
    content_layer_names=defaults.CONTENT_LAYER_NAMES,
    style_layer_weights=None,
    pooling=defaults.POOLING,
    content_weight=defaults.CONTENT_WEIGHT,
    style_weight=defaults.STYLE_WEIGHT,
    total_variation_weight=defaults.TOTAL_VARIATION_WEIGHT,
    learning_rate=defaults.LEARNING_RATE,
    steps=STEPS,
    seed=0,
    init=defaults.INIT,
    max_side=MAX_SIDE,
    feature_extractor=None,
    weights_description=None,
    overwrite=False,
):
    """Write a self-contained stylizer SavedModel to ``path``; return ``path``.

    The folder appears atomically (written beside it, then renamed), so a
    TF Serving instance watching the parent never loads a half-written
    version.

    Args:
        path: the SavedModel folder to create, e.g. ``models/stylizer/1``
            for TF Serving's ``MODEL_BASE_PATH/VERSION`` layout.
        network, weights, style_layer_names, content_layer_names, pooling: the
            VGG feature extractor, as :class:`~nst_keras.FeatureExtractor`
            takes them (``weights``: ``"imagenet"``, a ``.weights.h5`` path
            or ``None`` for random weights).
        style_layer_weights: one weight per style layer (default equal).
        content_weight, style_weight, total_variation_weight, learning_rate,
            steps, seed: the defaults of the signature's optional inputs.
        init: where the optimisation starts, fixed at export: ``"content"``,
            ``"style"`` (resized to the content's size) or ``"noise"``
            (uniform, from ``tf.random.stateless_uniform`` and the ``seed``
            input; not the same noise as the in-process model's numpy noise).
        max_side: the largest image side the export accepts.
        feature_extractor: an existing :class:`~nst_keras.FeatureExtractor`
            to export instead of building one (its network, weights, layers
            and pooling then override the arguments above).
        weights_description: text recorded in the export's metadata about
            which weights ran (default: ``weights`` itself).
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
    if init not in INITS:
        raise ValueError(f"Expected `init` to be one of {INITS}. Received: init={init!r}")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"Expected `steps` to be an integer >= 0. Received: steps={steps!r}")
    if int(max_side) != max_side or max_side < MIN_SIDE:
        raise ValueError(f"Expected `max_side` to be an integer >= {MIN_SIDE}. Received: max_side={max_side!r}")
    settings = {
        "steps": int(steps),
        "content_weight": _check_non_negative("content_weight", content_weight),
        "style_weight": _check_non_negative("style_weight", style_weight),
        "total_variation_weight": _check_non_negative("total_variation_weight", total_variation_weight),
        "learning_rate": _check_non_negative("learning_rate", learning_rate),
        "seed": int(seed),
    }
    if feature_extractor is None:
        feature_extractor = FeatureExtractor(
            network=network,
            weights=weights,
            style_layer_names=style_layer_names,
            content_layer_names=content_layer_names,
            pooling=pooling,
            dtype="float32",
        )
    extractor = feature_extractor
    count = len(extractor.style_layer_names)
    layer_weights = [1.0 / count] * count if style_layer_weights is None else [float(w) for w in style_layer_weights]
    if len(layer_weights) != count:
        raise ValueError(
            "Expected one weight per style layer. Received: "
            f"style_layer_weights={style_layer_weights} for {count} style layers"
        )

    stylizer = _Stylizer(extractor, layer_weights, init, int(max_side), settings)
    module = tf.Module()
    module.serve = stylizer.function()
    # Track the tf.Variables the traced graph reads, not the Keras layer or its
    # Keras variables: loading then needs no Keras class, and TF1-style loaders
    # (saved_model_cli run, TF Serving) find every variable initialised.
    module.vgg_variables = list(module.serve.get_concrete_function().variables)
    metadata = {
        "software": f"nst_keras {nst_keras.__version__}",
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "network": extractor.network,
        "weights": weights_description if weights_description is not None else str(extractor.weights_source),
        "style_layer_names": list(extractor.style_layer_names),
        "content_layer_names": list(extractor.content_layer_names),
        "style_layer_weights": layer_weights,
        "pooling": extractor.pooling,
        "init": init,
        "min_side": MIN_SIDE,
        "max_side": int(max_side),
        "signature_keys": list(SIGNATURE_KEYS),
        "defaults": settings,
    }

    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tf.saved_model.save(module, staging, signatures={key: module.serve for key in SIGNATURE_KEYS})
        os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
        with open(os.path.join(staging, METADATA_FILE), "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=2, sort_keys=True)
        _replace_folder(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _replace_folder(source, destination):
    if not os.path.lexists(destination):
        os.rename(source, destination)
        return
    retired = f"{source}.old"
    os.rename(destination, retired)
    try:
        os.rename(source, destination)
    except BaseException:
        os.rename(retired, destination)
        raise
    if os.path.isdir(retired) and not os.path.islink(retired):
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.remove(retired)


def read_metadata(path):
    """Return the settings recorded in an export (network, weights, defaults...).

    Reads ``assets.extra/nst_keras.json`` with the standard library only.

    Example:

    >>> read_metadata("stylizer/1")["network"]                # doctest: +SKIP
    'vgg16'
    """
    with open(os.path.join(os.fspath(path), METADATA_FILE), encoding="utf-8") as f:
        return json.load(f)
