"""SavedModel export of a trained style network: one forward pass per request.

:func:`export_network` writes a SavedModel that TF Serving,
``saved_model_cli`` or ``tf.saved_model.load`` runs without nst_keras
installed: the traced graph holds only TensorFlow operations, and the
network's weights are stored as plain ``tf.Variable`` objects, so loading
needs no Keras class.

Signatures:

``serving_default``
    input ``image``: uint8 ``[H, W, 3]`` RGB, each side in
    ``[MIN_SIDE, max_side]``; output ``stylized_image``: uint8 ``[H, W, 3]``,
    the same size. Another shape (a batch ``[1, H, W, 3]``) fails the
    request with "Shape of tensor image [...] is not compatible with expected
    shape [?,?,3]".
``serve_batch``
    input ``images``: uint8 ``[N, H, W, 3]``; output ``stylized_images``:
    uint8 ``[N, H, W, 3]``.

A network of several styles (``StyleNetwork(styles=S)``) takes one more
input in each: ``style``, an int32 scalar index in ``[0, S)``, in
``serving_default``; ``style_weights``, float32 ``[N, S]`` (a one-hot row
or any blend, each row summing to 1), in ``serve_batch``.

Example:

>>> export_network(network, "models/wave/1")                                    # doctest: +SKIP
'models/wave/1'
>>> import tensorflow as tf                                                      # doctest: +SKIP
>>> run = tf.saved_model.load("models/wave/1").signatures["serving_default"]     # doctest: +SKIP
>>> run(image=tf.zeros((300, 400, 3), tf.uint8))["stylized_image"].shape         # doctest: +SKIP
TensorShape([300, 400, 3])
"""

import json
import os
import shutil

import keras
import tensorflow as tf

from nst_keras import files
from nst_keras.defaults import EXPORT_METADATA_FILE as METADATA_FILE
from nst_keras.defaults import MIN_SIDE as SMALLEST_MAX_SIDE
from nst_keras.defaults import NETWORK_EXPORT_MAX_SIDE
from nst_keras.fast.network import MIN_SIDE

# A 4096 x 4096 image through the default network (32 filters) needs about
# 10 GB of activations; raise it at export for bigger machines.
MAX_SIDE = NETWORK_EXPORT_MAX_SIDE
SIGNATURE_KEYS = ("serving_default", "serve_batch")


def _stylize_uint8(network, images, max_side, style=None):
    sides = tf.shape(images)[1:3]
    checks = [
        tf.debugging.assert_greater_equal(sides, MIN_SIDE, message=f"each side must be >= {MIN_SIDE} pixels"),
        tf.debugging.assert_less_equal(
            sides, max_side, message=f"each side must be <= {max_side} pixels (the export's max_side)"
        ),
    ]
    with tf.control_dependencies(checks):
        batch = tf.cast(images, tf.float32) / 255.0
    inputs = batch if style is None else {"images": batch, "style": style}
    stylized = tf.cast(network(inputs, training=False), tf.float32)
    return tf.cast(tf.round(tf.clip_by_value(stylized, 0.0, 1.0) * 255.0), tf.uint8)


def _one_image(image):
    """``image`` when it is ``[H, W, 3]``; any other shape fails the request in one clear error.

    A loaded signature does not check the shapes it declares; EnsureShape checks
    the tensor that arrives.
    """
    return tf.ensure_shape(image, [None, None, 3], name="image_must_be_H_W_3_use_serve_batch_for_N_H_W_3")


def export_network(network: keras.Model, path, *, max_side: int = MAX_SIDE, overwrite: bool = False,
                   metadata: dict | None = None) -> str:
    """Write ``network`` as a self-contained SavedModel at ``path``; return ``path``.

    The folder appears atomically (written beside it, then renamed), so a TF
    Serving instance watching the parent never loads a half-written version.
    ``assets.extra/nst_keras.json`` records the network's config, the sizes
    accepted and ``metadata``.

    Args:
        network: a trained :class:`~nst_keras.fast.StyleNetwork` (or its
            :class:`~nst_keras.fast.StyleNetworkTrainer`, whose network is taken).
        path: the SavedModel folder to create, e.g. ``models/wave/1`` for TF
            Serving's ``MODEL_BASE_PATH/VERSION`` layout.
        max_side: the largest image side accepted (at least
            :data:`nst_keras.defaults.MIN_SIDE`, as the optimising export).
        overwrite: replace ``path`` if it exists.
        metadata: JSON-serialisable facts to record (the style's name, the
            weights that trained it...).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        ValueError: ``max_side`` below :data:`nst_keras.defaults.MIN_SIDE`.

    Example:

    >>> export_network(network, "models/wave/1", metadata={"style": "wave.jpg"})  # doctest: +SKIP
    'models/wave/1'
    """
    path = os.fspath(path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"Expected `path` not to exist (or overwrite=True). Received: path={path!r}")
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < SMALLEST_MAX_SIDE:
        raise ValueError(
            f"Expected `max_side` to be an integer >= {SMALLEST_MAX_SIDE}. Received: max_side={max_side!r}")
    network = getattr(network, "style_network", network)
    styles = getattr(network, "styles", 1)
    image_spec = tf.TensorSpec([None, None, 3], tf.uint8, name="image")
    images_spec = tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")
    module = tf.Module()
    if styles == 1:
        module.serving_default = tf.function(
            lambda image: {"stylized_image": _stylize_uint8(network, _one_image(image)[None], max_side)[0]},
            input_signature=[image_spec], autograph=False,
        )
        module.serve_batch = tf.function(
            lambda images: {"stylized_images": _stylize_uint8(network, images, max_side)},
            input_signature=[images_spec], autograph=False,
        )
    else:
        def serving_default(image, style):
            check = tf.debugging.assert_less(style, styles, message=f"style must be an index in [0, {styles})")
            with tf.control_dependencies([check, tf.debugging.assert_non_negative(style)]):
                weights = tf.one_hot(style[None], styles)
            return {"stylized_image": _stylize_uint8(network, _one_image(image)[None], max_side, weights)[0]}

        def serve_batch(images, style_weights):
            return {"stylized_images": _stylize_uint8(network, images, max_side, style_weights)}

        module.serving_default = tf.function(
            serving_default, input_signature=[image_spec, tf.TensorSpec([], tf.int32, name="style")], autograph=False,
        )
        module.serve_batch = tf.function(
            serve_batch, input_signature=[images_spec, tf.TensorSpec([None, styles], tf.float32, name="style_weights")],
            autograph=False,
        )
    # Track the tf.Variables the traced graphs read, not the Keras model:
    # loading then needs no Keras class (as nst_keras.export does).
    module.network_variables = list(module.serving_default.get_concrete_function().variables)
    record = dict(
        keras=keras.__version__,
        tensorflow=tf.__version__,
        network=network.get_config() if hasattr(network, "get_config") else type(network).__name__,
        min_side=MIN_SIDE,
        max_side=max_side,
        styles=styles,
        signature_keys=list(SIGNATURE_KEYS),
        metadata=dict(metadata or {}),
    )
    staging = files.temp_sibling(os.path.abspath(path))
    os.makedirs(os.path.dirname(staging), exist_ok=True)
    try:
        tf.saved_model.save(
            module, staging,
            signatures={"serving_default": module.serving_default, "serve_batch": module.serve_batch},
        )
        with files.atomic_write(os.path.join(staging, METADATA_FILE), "w") as f:
            json.dump(record, f, indent=2, sort_keys=True, default=str)
        files.replace_folder(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path
