"""StyleTransferModel: Gatys et al. style transfer as a Keras model trained with ``fit``."""

import dataclasses

import numpy as np
import keras
import tensorflow as tf
from keras import ops

from nst_keras import defaults, objective
from nst_keras.constraints import ClipToUnitInterval, image_constraint  # noqa: F401 (ClipToUnitInterval: public here)
from nst_keras.features import FeatureExtractor
from nst_keras.initialization import initial_image
from nst_keras.optimizers import get_optimizer
from nst_keras.regions import Regions
from nst_keras.settings import LossSettings
from nst_keras.tiling import TiledObjective
from nst_keras.tracking import LossTracking
from nst_keras.weights import ResolvedWeights

_LOSS = LossSettings()  # the defaults of the keyword arguments below


def _array(value):
    """An initializer that hands ``value`` over as it is.

    ``keras.initializers.Constant`` multiplies its value by ones: two more
    copies of the array, and at print size a content target is 0.4 GB.
    """
    return lambda shape, dtype=None: value


def _listed(value):
    """A checked setting as its config holds it: tuples as lists."""
    return list(value) if isinstance(value, tuple) else value


def _as_batch(image, argument):
    """Return a float32 ``[B, H, W, 3]`` numpy array in [0, 1] or raise ValueError."""
    array = np.asarray(image)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3 or 0 in array.shape:
        raise ValueError(
            f"Expected `{argument}` to be an RGB image [H, W, 3] or a batch [B, H, W, 3]. "
            f"Received: {argument} with shape {np.shape(image)}"
        )
    if array.dtype == np.uint8:
        return array.astype("float32") / 255.0
    array = array.astype("float32")
    if not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(
            f"Expected `{argument}` to hold values in [0, 1] (or to be uint8). Received: "
            f"{argument} with values in [{array.min()}, {array.max()}]"
        )
    return array


@keras.saving.register_keras_serializable(package="nst_keras")
class StyleTransferModel(LossTracking, keras.Model):
    """Neural style transfer whose one trainable weight is the generated image.

    The content and style targets are computed once, here, and kept as
    non-trainable weights; ``fit`` then optimises the image. Each step logs
    ``loss`` (the total) and its weighted parts ``style_loss``,
    ``content_loss`` and ``total_variation_loss``, as epoch means.

    Args:
        content_image: ``[H, W, 3]`` (or a batch ``[B, H, W, 3]`` optimised
            together) float in [0, 1] or uint8.
        style_image: one image or a list of images (any sizes) in [0, 1] or
            uint8. Several styles are blended by mixing their Gram matrices.
        image_shape: ``(B, H, W)``; only to rebuild a model without images, as
            ``from_config`` does before weights are loaded.
        network: ``"vgg19"``, ``"vgg16"`` or ``None`` (default: chosen with
            the weights, see ``weights``).
        weights: ``"auto"`` (default: VGG19 ImageNet when Keras has it or
            can download it, else the VGG16 ImageNet file that
            ``nst-keras weights fetch`` stored, with a warning; see
            :func:`nst_keras.weights.resolve_weights`), ``"imagenet"``
            (Keras' own download), a weights file (its network is read from
            the file), or ``None`` (random; tests).
        style_layer_names, content_layer_names: VGG layers used by the losses.
        style_layer_weights: one weight per style layer (default equal, sum
            1), or a preset name (``"equal"``, ``"fine"``).
        style_loss: the style statistic, ``"gram"`` or ``"wasserstein"``
            (:func:`nst_keras.losses.style_loss_of_statistics`).
        style_blend_weights: one weight per style image (default equal).
        content_weight, style_weight, total_variation_weight: loss weights;
            each a number, or a list with one weight per image of a batch.
        light_weight: weight of :func:`nst_keras.losses.light_loss`, which
            keeps the content's large-scale brightness (default 0: off).
        temporal_weight: and any other loss weight of ``LossSettings`` by name.
        target_inputs: arrays targets are built from, by name (``LossTerm.inputs``: ``previous_frame`` ...).
        init: start from the ``"content"`` image, seeded ``"noise"``, or the
            ``"style"`` image resized to the content's size.
        seed: seed for ``init="noise"``.
        pooling: ``"max"`` or ``"avg"``.
        tile_size: compute every step in tiles of at most this many pixels
            a side (:mod:`nst_keras.tiling`): the same losses and gradient,
            memory bounded by the tile instead of the image. ``fit`` then
            runs eagerly, tile after tile.
        regions: :class:`nst_keras.regions.Regions` (masks, label maps): style statistics per region, the
            photo kept where ``keep`` is 0 (:class:`~nst_keras.constraints.KeepPhoto`); sets ``guided_regions``.

    The defaults and checks of every loss setting are the fields of
    :class:`nst_keras.settings.LossSettings`, and ``get_config`` returns them.

    Example:

    >>> import numpy as np
    >>> content = np.random.rand(32, 32, 3).astype("float32")
    >>> style = np.random.rand(32, 32, 3).astype("float32")
    >>> model = StyleTransferModel(content, style, network="vgg16", weights=None)
    >>> model.compile()
    >>> history = model.fit(epochs=2, steps_per_epoch=3, verbose=0)
    >>> sorted(history.history)
    ['content_loss', 'loss', 'style_loss', 'total_variation_loss']
    """

    def __init__(
        self,
        content_image=None,
        style_image=None,
        *,
        image_shape=None,
        network=None,
        weights="auto",
        style_layer_names=_LOSS.style_layer_names,
        content_layer_names=_LOSS.content_layer_names,
        style_layer_weights=_LOSS.style_layer_weights,
        style_loss=_LOSS.style_loss,
        style_blend_weights=_LOSS.style_blend_weights,
        content_weight=_LOSS.content_weight,
        style_weight=_LOSS.style_weight,
        total_variation_weight=_LOSS.total_variation_weight,
        light_weight=_LOSS.light_weight,
        init=_LOSS.init,
        seed=_LOSS.seed,
        pooling=_LOSS.pooling,
        tile_size=None,
        guided_regions=_LOSS.guided_regions,
        regions=None,
        target_inputs=None,
        **kwargs,
    ):
        other_weights = {name: kwargs.pop(name) for name in LossSettings.weight_names() if name in kwargs}
        super().__init__(**kwargs)
        # === Config ===
        # Every loss setting is checked, and normalised, by its field in nst_keras.settings.
        self.loss_settings = LossSettings(
            style_layer_names=style_layer_names, content_layer_names=content_layer_names,
            style_layer_weights=style_layer_weights, style_loss=style_loss, style_blend_weights=style_blend_weights,
            content_weight=content_weight, style_weight=style_weight, total_variation_weight=total_variation_weight,
            light_weight=light_weight, init=init, seed=seed, pooling=pooling, **other_weights,
            guided_regions=regions.count if isinstance(regions, Regions) else guided_regions,
        )
        checked = self.loss_settings
        self.style_layer_names = list(checked.style_layer_names)
        self.content_layer_names = list(checked.content_layer_names)
        self.style_layer_weights = list(checked.layer_weights)
        self.style_loss = checked.style_loss
        self.style_blend_weights = _listed(checked.style_blend_weights)
        for name in checked.weight_names():
            setattr(self, name, _listed(getattr(checked, name)))
        self.init = checked.init
        self.seed = checked.seed
        self.pooling = checked.pooling
        if tile_size is not None and (isinstance(tile_size, bool) or int(tile_size) != tile_size or tile_size < 1):
            raise ValueError(f"Expected `tile_size` to be an integer >= 1 or None. Received: tile_size={tile_size!r}")
        self.tile_size = None if tile_size is None else int(tile_size)

        # === Images ===
        has_images = content_image is not None and style_image is not None
        if not has_images and image_shape is None:
            raise ValueError(
                "Expected `content_image` and `style_image`, or `image_shape` to rebuild a "
                f"model whose weights are loaded afterwards. Received: image_shape={image_shape}"
            )
        content = _as_batch(content_image, "content_image") if has_images else None
        if has_images:
            styles = style_image if isinstance(style_image, (list, tuple)) else [style_image]
            styles = [_as_batch(image, "style_image")[:1] for image in styles]
            image_shape = content.shape[:3]
        self.image_shape = tuple(int(d) for d in image_shape)
        for name in checked.weight_names():
            value = getattr(checked, name)
            if isinstance(value, tuple) and len(value) != self.image_shape[0]:
                raise ValueError(
                    f"Expected `{name}` to be a number or one weight per image ({self.image_shape[0]}). "
                    f"Received: {name}={list(value)}"
                )

        # === Layers and the objective ===
        self.feature_extractor = FeatureExtractor.for_settings(
            checked, network=network, weights=weights, dtype=self.dtype_policy
        )
        # The network and the weights' source as resolved ("auto" picks one).
        self.network = self.feature_extractor.network
        self.weights_source = self.feature_extractor.weights_source
        self.terms = objective.active_terms(checked)
        self.tiled_objective = None
        if self.tile_size is not None:
            self.tiled_objective = TiledObjective(self.feature_extractor, checked, self.tile_size, self.terms)
        if has_images:
            initial, targets = self._targets(content, styles, target_inputs, regions)
        else:
            initial, targets = self._empty_targets()
        self.keeps_photo = isinstance(regions, str) or getattr(regions, "keep", None) is not None
        constraint, initial = image_constraint(regions, content, initial, self._frozen)
        self.generated_image = self.add_weight(
            shape=self.image_shape + (3,),
            initializer=_array(initial),
            constraint=constraint,
            dtype="float32",
            name="generated_image",
        )
        # Frozen, in table order: that is their order in a saved .keras file.
        self.targets = {
            term.name: [self._frozen(value, f"{term.name}_target_{index}")
                        for index, value in enumerate(targets[term.name])]
            for term in self.terms
        }
        self.create_loss_trackers(objective.loss_names(self.terms))
        self.built = True

    def _frozen(self, value, name):
        return self.add_weight(
            shape=value.shape,
            initializer=_array(value),
            trainable=False,
            dtype="float32",
            name=name,
        )

    def _context(self, content, styles, target_inputs, regions=None):
        if set(target_inputs or {}) - {name for term in objective.TERMS for name in term.inputs}:
            raise ValueError(f"Expected `target_inputs` terms read. Received: target_inputs={sorted(target_inputs)}")
        inputs = {name: np.asarray(value, "float32") for name, value in (target_inputs or {}).items()}
        context = (objective.TargetContext.untiled(self.feature_extractor, self.loss_settings) if
                   self.tiled_objective is None else self.tiled_objective.target_context())
        guides = {} if regions is None else regions.context_arguments(content.shape)
        return dataclasses.replace(context, content=content, styles=tuple(styles), inputs=inputs, **guides)

    def _targets(self, content, styles, target_inputs=None, regions=None):
        targets = objective.build_targets(self.terms, self._context(content, styles, target_inputs, regions))
        arrays = {name: [ops.convert_to_numpy(ops.cast(t, "float32")) for t in values]
                  for name, values in targets.items()}
        return ops.convert_to_numpy(initial_image(self.init, content, styles[0], self.seed)), arrays

    def set_content(self, content_image, *, target_inputs=None, initial=None):
        """A new content image of the model's size: its targets rebuilt, the image restarted from ``initial``.

        The style targets, the optimizer and the traced step stay (a video's frames, one after the other).
        ``initial`` defaults to the content (noise for ``init="noise"``); ``target_inputs`` as in the constructor.

        >>> model.set_content(next_frame, initial=warped_previous_result)     # doctest: +SKIP
        """
        content = _as_batch(content_image, "content_image")
        context = self._context(content, (), target_inputs)
        for name, values in objective.build_targets(self.terms, context, from_style=False).items():
            for variable, value in zip(self.targets[name], values):
                variable.assign(ops.cast(value, "float32"))
        start = initial_image("noise" if self.init == "noise" else "content", content, None, self.seed)
        image = self.generated_image
        image.constraint.follow(content)  # where a mask keeps the photo, the new content's pixels
        image.assign(image.constraint(_as_batch(start if initial is None else initial, "initial")))

    def _empty_targets(self):
        spec = self.feature_extractor.compute_output_spec(keras.KerasTensor(self.image_shape + (3,), dtype="float32"))
        shapes = {group: {name: tuple(f.shape) for name, f in maps.items()} for group, maps in spec.items()}
        targets = {term.name: [np.zeros(shape, "float32")
                               for shape in term.target_shapes(self.image_shape, shapes, self.loss_settings)]
                   for term in self.terms}
        return np.zeros(self.image_shape + (3,), "float32"), targets

    @property
    def content_targets(self):
        """The content term's targets, one per content layer (``model.targets["content"]``)."""
        return self.targets.get("content", [])

    @property
    def style_targets(self):
        """The style term's targets, one per style layer (``model.targets["style"]``)."""
        return self.targets.get("style", [])

    def compute_losses(self, images=None):
        """Weighted losses of ``images`` (default: the generated image).

        Returns a dict of ``[B]`` float32 tensors: ``loss`` and its parts
        ``style_loss``, ``content_loss``, ``total_variation_loss`` (one per
        part of :mod:`nst_keras.objective`'s terms).

        Example:

        >>> losses = model.compute_losses()                    # doctest: +SKIP
        >>> float(losses["loss"][0])                           # doctest: +SKIP
        0.73
        """
        images = self.generated_image if images is None else images
        if self.tiled_objective is not None:
            return self.tiled_objective.losses(images, self.targets)
        return objective.weighted_losses(
            images, self.feature_extractor(images), self.targets, self.loss_settings, self.terms)

    def call(self, inputs=None):
        """Return the generated image batch ``[B, H, W, 3]`` (inputs are ignored)."""
        return ops.convert_to_tensor(self.generated_image)

    def compile(self, optimizer=None, **kwargs):
        """Configure training; the default optimizer is tuned for style transfer.

        The default is ``keras.optimizers.Adam(learning_rate=0.02,
        beta_2=0.95)`` (``defaults.LEARNING_RATE``, ``optimizers.ADAM_BETA_2``):
        pixels live in [0, 1], so a step of about 2 % of the range moves the
        image quickly without the speckle that larger steps leave, and the
        short second-moment memory keeps the steps from shrinking once the
        first large gradients are past. Any Keras optimizer works.

        Example:

        >>> model.compile(optimizer=keras.optimizers.SGD(1.0))  # doctest: +SKIP
        """
        if optimizer is None:
            optimizer = get_optimizer("adam")
        if self.tile_size is not None:
            # Tile after tile in Python: traced into one graph, the tiles'
            # activations could be alive at once and memory would not be bounded.
            kwargs.setdefault("run_eagerly", True)
        super().compile(optimizer=optimizer, **kwargs)
        # The image exists from __init__, so the optimizer's state can too:
        # a .keras archive then always holds it, even before the first step.
        self.optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        """Compile from :meth:`get_compile_config`; ``keras.models.load_model`` calls it.

        ``compile`` creates the optimizer's variables, so the Adam moments and
        iteration count saved in a ``.keras`` archive load into them and
        ``fit`` continues where it stopped.

        Example:

        >>> model.save("run.keras")                                # doctest: +SKIP
        >>> model = keras.models.load_model("run.keras")           # doctest: +SKIP
        >>> history = model.fit(epochs=5)                          # doctest: +SKIP
        """
        self.compile(**keras.saving.deserialize_keras_object(config))

    def train_step(self, data):
        if self.tiled_objective is not None:
            losses, gradient = self.tiled_objective.loss_and_gradient(self.generated_image, self.targets)
            # scale_loss is linear: the scaled loss's gradient is the scaled gradient.
            self.optimizer.apply([self.optimizer.scale_loss(gradient)], [self.generated_image])
            return self.track(losses)
        with tf.GradientTape() as tape:
            losses = self.compute_losses()
            # Summed over the batch so that each image gets the gradient it
            # would get alone; logged as the mean over the batch.
            total = ops.sum(losses["loss"])
            # Identity except under mixed_float16, where compile wraps the
            # optimizer in a LossScaleOptimizer that unscales the gradients.
            total = self.optimizer.scale_loss(total)
        gradients = tape.gradient(total, [self.generated_image])
        self.optimizer.apply(gradients, [self.generated_image])
        return self.track(losses)


    def fit(self, x=None, y=None, **kwargs):
        """Optimise the generated image; ``x`` is not needed.

        With no ``x``, each epoch is ``steps_per_epoch`` optimisation steps
        (default ``defaults.STEPS_PER_EPOCH``). Every other argument is
        ``keras.Model.fit``'s: ``epochs``, ``callbacks``, ``verbose``,
        ``initial_epoch``.

        Example:

        >>> history = model.fit(epochs=10, steps_per_epoch=50)  # doctest: +SKIP
        """
        if x is None:
            # Keras' data adapters need data to count steps; the steps read none of it.
            x = tf.data.Dataset.from_tensors(np.zeros((1,), "float32")).repeat()
            kwargs.setdefault("shuffle", False)
            if kwargs.get("steps_per_epoch") is None:
                kwargs["steps_per_epoch"] = defaults.STEPS_PER_EPOCH
            elif kwargs["steps_per_epoch"] < 1:
                # Keras reads 0 as "until the data ends", and this data never ends.
                raise ValueError(f"steps_per_epoch must be at least 1, not {kwargs['steps_per_epoch']}")
        return super().fit(x, y, **kwargs)

    def generated_image_array(self, index=0):
        """The generated image ``index`` of the batch as a float32 ``[H, W, 3]`` numpy array.

        Example:

        >>> image = model.generated_image_array()               # doctest: +SKIP
        >>> image.shape, image.dtype                            # doctest: +SKIP
        ((192, 256, 3), dtype('float32'))
        """
        return ops.convert_to_numpy(self.generated_image)[index]

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=list(self.image_shape),
            network=self.network,
            weights=self.feature_extractor.resolved_weights.weights,
            weights_source=self.weights_source,
            tile_size=self.tile_size,
            keeps_photo=self.keeps_photo,
        )
        config.update(
            style_layer_names=self.style_layer_names,
            content_layer_names=self.content_layer_names,
            style_layer_weights=self.style_layer_weights,
            style_loss=self.style_loss,
            style_blend_weights=self.style_blend_weights,
            **{name: getattr(self, name) for name in self.loss_settings.weight_names()},
            init=self.init,
            seed=self.seed,
            pooling=self.pooling,
            guided_regions=self.loss_settings.guided_regions,
        )
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild the model from :meth:`get_config`, with random VGG weights.

        ``config["weights"]`` (the file) and ``config["weights_source"]``
        (the sentence) only record where the VGG weights first came from: the VGG weights are weights of this model, so
        ``keras.models.load_model`` (or ``set_weights``) restores them with
        the image, the targets and the optimizer state, and loading never
        reads or downloads a weights file.

        Example:

        >>> clone = StyleTransferModel.from_config(model.get_config())  # doctest: +SKIP
        >>> clone.set_weights(model.get_weights())                      # doctest: +SKIP
        """
        config = dict(config)
        weights = config.pop("weights", None)
        source = config.pop("weights_source", weights)
        regions = "from_weights" if config.pop("keeps_photo", False) else None  # its image's bounds: weights
        model = cls(weights=None, regions=regions, **config)
        model.weights_source = source
        model.feature_extractor.weights_source = source
        model.feature_extractor.resolved_weights = ResolvedWeights(model.network, weights, source, None)
        return model
