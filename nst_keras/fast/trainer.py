"""Training a style network with ``model.fit``: the trainer model and a preview callback.

:class:`StyleNetworkTrainer` wraps a :class:`~nst_keras.fast.StyleNetwork`
and a frozen VGG :class:`~nst_keras.FeatureExtractor`. Its ``train_step``
stylises a batch of photos, scores the results with the same table of loss
terms as :class:`~nst_keras.StyleTransferModel` (:mod:`nst_keras.objective`:
the targets built from the content, each photo's own, every step; those built
from the style images once) and updates the style network only. ``fit``
takes a ``tf.data`` pipeline of photos such as :func:`~nst_keras.fast.photo_dataset`.

Example:

>>> import numpy as np, tensorflow as tf
>>> photos = tf.data.Dataset.from_tensors(np.random.rand(2, 32, 32, 3).astype("float32")).repeat()
>>> trainer = StyleNetworkTrainer(StyleNetwork(filters=8, residual_blocks=1), np.random.rand(32, 32, 3),
...                               network="vgg16", weights=None, style_layer_names=["block1_conv1"],
...                               content_layer_names=["block2_conv2"])
>>> trainer.compile()
>>> history = trainer.fit(photos, epochs=1, steps_per_epoch=2, verbose=0)
>>> sorted(history.history)
['content_loss', 'loss', 'style_loss', 'total_variation_loss']
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from nst_keras import images, objective
from nst_keras.defaults import NETWORK_LEARNING_RATE
from nst_keras.fast.network import StyleNetwork, _as_images, stylize_with_network
from nst_keras.fast.photos import PhotoError, PhotoReport
from nst_keras.features import FeatureExtractor
from nst_keras.settings import LossSettings
from nst_keras.tracking import LossTracking

# The loss settings that apply to a style network (init and seed do not:
# there is no image being optimised).
_LOSS_NAMES = tuple(name for name in LossSettings.names() if name not in ("init", "seed"))
# from_config's placeholder for the style image: the Gram matrices are
# weights, restored by load_model or set_weights.
_FROM_WEIGHTS = "from_weights"


def training_optimizer(learning_rate: float = NETWORK_LEARNING_RATE, cosine_steps: int | None = None) -> keras.optimizers.Adam:
    """Adam for a style network: at a constant ``learning_rate``, or decaying to 0 along a cosine over ``cosine_steps``.

    Johnson et al. keep the rate constant over 40,000 steps. A short
    training stops far earlier, while the steps' noise still shakes the
    weights; decaying the rate to 0 at the last step lets it end on
    settled weights (Loshchilov & Hutter 2017, "SGDR"). Over 400 steps
    on a CPU the two schedules ended at the same loss within the runs'
    noise. The step count lives in the optimizer's state, so a run
    resumed by ``BackupAndRestore`` continues along the same curve.

    Example:

    >>> adam = training_optimizer(1e-3, cosine_steps=100)
    >>> round(float(adam.learning_rate), 6)
    0.001
    >>> _ = adam.iterations.assign(100)
    >>> float(adam.learning_rate)
    0.0
    """
    if cosine_steps is None:
        return keras.optimizers.Adam(learning_rate)
    if isinstance(cosine_steps, bool) or not isinstance(cosine_steps, int) or cosine_steps < 1:
        raise ValueError(f"Expected `cosine_steps` to be an integer >= 1 or None. Received: cosine_steps={cosine_steps!r}")
    return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, cosine_steps))


@keras.saving.register_keras_serializable(package="nst_keras")
class StyleNetworkTrainer(LossTracking, keras.Model):
    """Trains a :class:`StyleNetwork` with ``fit``: for one style, a blend, or each of several styles.

    Each step logs ``loss`` (the total) and its weighted parts
    ``style_loss``, ``content_loss`` and ``total_variation_loss``, the same
    names as :class:`~nst_keras.StyleTransferModel`; ``validation_data``
    logs them with ``val_``. Only the style network's weights are trained.
    Calling the trainer (or ``predict``) runs the style network.

    Args:
        style_network: the :class:`StyleNetwork` to train (default
            ``StyleNetwork()``).
        style_image: ``[H, W, 3]`` in [0, 1] or uint8, or a list of images
            blended by their Gram matrices. For a network of several
            ``styles``: one image per style, and each photo of a step is
            trained on a style drawn at random (validation takes them in
            turn), as Dumoulin et al. (2017). Load them at about the training
            size: the texture's scale in the results follows it.
        network, weights: the VGG feature extractor, as
            :class:`~nst_keras.StyleTransferModel` takes them.
        **kwargs: the loss settings by name (``style_layer_names``,
            ``content_layer_names``, ``style_layer_weights``,
            ``style_blend_weights``, ``content_weight``, ``style_weight``,
            ``total_variation_weight``, ``pooling``), with the defaults and
            checks of :class:`nst_keras.settings.LossSettings`; and
            ``keras.Model`` arguments: ``dtype`` (e.g. ``"mixed_bfloat16"``)
            is the VGG's policy, the losses stay float32.

    Example:

    >>> trainer = StyleNetworkTrainer(StyleNetwork(), style, network="vgg16",   # doctest: +SKIP
    ...                               weights="vgg16_imagenet_notop.weights.h5")
    >>> trainer.compile()                                                     # doctest: +SKIP
    >>> trainer.fit(photo_dataset("photos/"), epochs=4, steps_per_epoch=500)  # doctest: +SKIP
    """

    def __init__(
        self,
        style_network: keras.Model | None = None,
        style_image=None,
        *,
        network=None,
        weights="auto",
        **kwargs,
    ):
        loss_kwargs = {name: kwargs.pop(name) for name in _LOSS_NAMES if name in kwargs}
        super().__init__(**kwargs)
        checked = LossSettings(**loss_kwargs)
        checked.require_single_weights("every photo of a batch is trained alike")
        for name in _LOSS_NAMES:
            value = getattr(checked, name)
            setattr(self, name, list(value) if isinstance(value, tuple) else value)
        self.style_layer_weights = list(checked.layer_weights)
        if style_image is None:
            raise ValueError("Expected `style_image`: an [H, W, 3] image or a list of them. Received: style_image=None")
        self.style_network = StyleNetwork() if style_network is None else style_network
        self.feature_extractor = FeatureExtractor.for_settings(
            checked, network=network, weights=weights, dtype=self.dtype_policy
        )
        self.network = self.feature_extractor.network
        self.weights_source = self.feature_extractor.weights_source
        self.styles = getattr(self.style_network, "styles", 1)
        self.loss_settings = checked
        self.terms = objective.active_terms(checked)
        if isinstance(style_image, str) and style_image == _FROM_WEIGHTS:
            targets = self._empty_style_targets()
        else:
            targets = self._style_targets(style_image)
        # The targets from the style images, in table order; a network of
        # several styles holds one per style ([styles, ...]).
        self.targets = {
            name: [self.add_weight(shape=t.shape, initializer=keras.initializers.Constant(t), trainable=False,
                                   dtype="float32", name=f"{name}_target_{index}") for index, t in enumerate(values)]
            for name, values in targets.items()
        }
        self.create_loss_trackers(objective.loss_names(self.terms))
        self.built = True

    @property
    def style_targets(self):
        """The style term's targets, one per style layer (``trainer.targets["style"]``)."""
        return self.targets.get("style", [])

    def _style_terms(self):
        return [term for term in self.terms if term.from_style]

    def _style_targets(self, style_image):
        """Targets from the style images per term: ``[1, ...]`` (one style or a blend), or ``[styles, ...]``."""
        images = style_image if isinstance(style_image, (list, tuple)) else [style_image]
        images = [_as_images(image, "style_image")[0][:1] for image in images]

        def built(styles):
            context = objective.TargetContext.untiled(self.feature_extractor, self.loss_settings, styles=styles)
            targets = objective.build_targets(self._style_terms(), context)
            return {name: [ops.convert_to_numpy(t) for t in values] for name, values in targets.items()}

        if self.styles == 1:
            return built(images)
        if len(images) != self.styles or self.style_blend_weights is not None:
            raise ValueError(
                f"Expected one style image per style of the network ({self.styles}) and no "
                f"`style_blend_weights` (blends are chosen at inference). Received: {len(images)} style images, "
                f"style_blend_weights={self.style_blend_weights}"
            )
        per_style = [built([image]) for image in images]
        return {name: [np.concatenate([one[name][index] for one in per_style]) for index in range(len(values))]
                for name, values in per_style[0].items()}

    def _empty_style_targets(self):
        spec = self._feature_spec()
        shapes = {group: {name: tuple(f.shape) for name, f in maps.items()} for group, maps in spec.items()}
        return {term.name: [np.zeros((self.styles,) + tuple(shape)[1:], "float32")
                            for shape in term.target_shapes((1, 64, 64), shapes, self.loss_settings)]
                for term in self._style_terms()}

    def _feature_spec(self):
        return self.feature_extractor.compute_output_spec(keras.KerasTensor((1, 64, 64, 3), dtype="float32"))

    def call(self, inputs, training=False):
        return self.style_network(inputs, training=training)

    def compile(self, optimizer: keras.optimizers.Optimizer | None = None, **kwargs) -> None:
        """Configure training; the default optimizer is :func:`training_optimizer`: Adam at 1e-3, as Johnson et al.

        The optimizer's variables are created here, so ``BackupAndRestore``
        and ``load_model`` restore its state before the first step.

        Example:

        >>> trainer.compile(optimizer=keras.optimizers.Adam(3e-4))   # doctest: +SKIP
        """
        if optimizer is None:
            optimizer = training_optimizer()
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.style_network.trainable_variables)

    def compile_from_config(self, config):
        """Compile from the saved compile config; ``keras.models.load_model`` calls it.

        ``compile`` creates the optimizer's variables, so the saved Adam
        moments and step count load into them and ``fit`` continues.

        Example:

        >>> trainer = keras.models.load_model("trainer.keras")    # doctest: +SKIP
        """
        self.compile(**keras.saving.deserialize_keras_object(config))

    def compute_losses(self, photos, training: bool = False) -> dict:
        """Stylise ``photos`` and return the weighted losses, one ``[B]`` float32 tensor each.

        Returns a dict with ``loss``, ``style_loss``, ``content_loss`` and
        ``total_variation_loss``.

        Example:

        >>> losses = trainer.compute_losses(photos)        # doctest: +SKIP
        >>> float(ops.mean(losses["loss"]))                # doctest: +SKIP
        1.93
        """
        photos = ops.convert_to_tensor(photos, "float32")
        indices = self._style_indices(photos, False)
        return self._scored(photos, self._content_targets(photos, indices), training, indices)

    def _style_indices(self, photos, random):
        """Which style each photo is trained on: random in training, in turn in validation; None for one style."""
        if self.styles == 1:
            return None
        count = tf.shape(photos)[:1]
        if random:
            return tf.random.uniform(count, 0, self.styles, dtype=tf.int32)
        return tf.range(count[0]) % self.styles

    def _content_targets(self, photos, indices):
        # The targets built from the content: each photo is its own. A target
        # may also be built from what the network makes of other images
        # (`generate`). Targets, never differentiated.
        context = objective.TargetContext.untiled(self.feature_extractor, self.loss_settings, photos,
                                                  generate=lambda images: self._generated(images, False, indices))
        targets = objective.build_targets(self.terms, context, from_style=False)
        return {name: [ops.stop_gradient(ops.cast(t, "float32")) for t in values] for name, values in targets.items()}

    def _generated(self, photos, training, indices):
        if indices is None:
            return self.style_network(photos, training=training)
        return self.style_network({"images": photos, "style": tf.one_hot(indices, self.styles)}, training=training)

    def _scored(self, photos, content_targets, training, indices):
        targets = dict(content_targets)
        generated = self._generated(photos, training, indices)
        if indices is None:
            targets.update(self.targets)
        else:
            targets.update({name: [tf.gather(t, indices) for t in values] for name, values in self.targets.items()})
        return objective.weighted_losses(
            generated, self.feature_extractor(generated), targets, self.loss_settings, self.terms)

    @staticmethod
    def _photos(data):
        while isinstance(data, (tuple, list)):
            data = data[0]
        return ops.convert_to_tensor(data, "float32")

    def train_step(self, data):
        return self.track(self.update(self._photos(data)))

    def update(self, photos) -> dict:
        """One training step on a batch of ``photos``: update the style network; return the losses, ``[B]`` each.

        ``train_step`` (``fit``) and the multi-worker loop
        (:func:`nst_keras.fast.distributed.fit_across_workers`) both call it.

        Example:

        >>> losses = trainer.update(photos)              # doctest: +SKIP
        >>> sorted(losses)                               # doctest: +SKIP
        ['content_loss', 'loss', 'style_loss', 'total_variation_loss']
        """
        photos = ops.convert_to_tensor(photos, "float32")
        indices = self._style_indices(photos, True)
        # Computed before the tape starts: nothing to record there.
        content_targets = self._content_targets(photos, indices)
        variables = self.style_network.trainable_variables
        with tf.GradientTape() as tape:
            losses = self._scored(photos, content_targets, True, indices)
            # The mean over the global batch: under a tf.distribute strategy
            # each replica sees 1/N of it and the optimizer sums the replicas.
            total = ops.mean(losses["loss"]) / tf.distribute.get_strategy().num_replicas_in_sync
            # Identity except under mixed_float16 (LossScaleOptimizer).
            total = self.optimizer.scale_loss(total)
        gradients = tape.gradient(total, variables)
        self.optimizer.apply(gradients, variables)
        return losses

    def test_step(self, data):
        return self.track(self.compute_losses(self._photos(data)))

    def fit(self, x=None, y=None, **kwargs) -> keras.callbacks.History:
        """``keras.Model.fit`` over a ``tf.data`` pipeline of photo batches (already shuffled).

        ``x`` yields float32 ``[B, H, W, 3]`` batches in [0, 1] (or tuples
        whose first item is one); ``y`` is not used. An endless pipeline
        (``repeat()``) needs ``steps_per_epoch``. When the pipeline of
        :func:`~nst_keras.fast.photo_dataset` runs out of decodable photos,
        ``fit`` raises :class:`~nst_keras.fast.photos.PhotoError` at the end
        of that epoch, before the other callbacks see it (no backup or
        checkpoint of the short epoch).

        Under a ``MultiWorkerMirroredStrategy`` of several processes, where
        Keras' ``fit`` fails, it runs
        :func:`~nst_keras.fast.distributed.fit_across_workers` instead (``x``
        may then be a function of an input context; callbacks run on the chief).

        Example:

        >>> history = trainer.fit(photo_dataset("photos/"), epochs=2, steps_per_epoch=100)  # doctest: +SKIP
        """
        from nst_keras.fast import distributed

        if distributed.is_multi_worker(self.distribute_strategy):
            return distributed.fit_across_workers(self, x, **kwargs)
        # A tf.data pipeline shuffles itself; Keras warns about its own flag.
        kwargs.setdefault("shuffle", False)
        report = getattr(x, "report", None)
        if isinstance(report, PhotoReport):
            kwargs["callbacks"] = [_EndOfPhotos(report)] + list(kwargs.get("callbacks") or [])
        return super().fit(x, y, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            style_network=keras.saving.serialize_keras_object(self.style_network),
            network=self.network,
            weights=self.weights_source,
        )
        config.update({name: getattr(self, name) for name in _LOSS_NAMES})
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild the trainer from :meth:`get_config`, with random VGG weights and zero style targets.

        The VGG weights and the style's Gram matrices are weights of the
        trainer, so ``keras.models.load_model`` (or ``set_weights``) restores
        them with the network and the optimizer state; no weights file or
        style image is read.

        Example:

        >>> clone = StyleNetworkTrainer.from_config(trainer.get_config())  # doctest: +SKIP
        >>> clone.set_weights(trainer.get_weights())                       # doctest: +SKIP
        """
        config = dict(config)
        source = config.pop("weights", None)
        network = keras.saving.deserialize_keras_object(config.pop("style_network"))
        trainer = cls(network, _FROM_WEIGHTS, weights=None, **config)
        trainer.weights_source = source
        return trainer


class _EndOfPhotos(keras.callbacks.Callback):
    """Ends ``fit`` with :class:`PhotoError` at the end of the epoch in which the photo pipeline ran out."""

    def __init__(self, report):
        super().__init__()
        self.report = report

    def on_epoch_end(self, epoch, logs=None):
        if self.report.exhausted:
            raise PhotoError(self.report.exhausted)


class StylePreview(keras.callbacks.Callback):
    """Stylise fixed photos with the network being trained and save them every ``save_freq`` epochs.

    ``filepath`` is formatted like ``ModelCheckpoint``'s,
    ``filepath.format(epoch=epoch + 1, index=i, **logs)``: ``{index}``
    numbers the photos and is required when there are several. Works with a
    :class:`StyleNetworkTrainer` or a bare style network as the model.

    Args:
        photos: a list of ``[H, W, 3]`` images (float in [0, 1] or uint8)
            or image paths, or one ``[B, H, W, 3]`` batch.
        filepath: file name template; the format follows the extension.
        save_freq: save every this many epochs (the last epoch is saved too).
        size: long side for photos given as paths (default: their own size).
        style: for a network of several styles, the style index or blend
            weights to preview (see :func:`~nst_keras.fast.network.style_weights`).

    Attributes:
        saved: the paths written so far.

    Example:

    >>> import numpy as np
    >>> preview = StylePreview([np.zeros((32, 32, 3))], "previews/{epoch:02d}.png")
    >>> StylePreview([np.zeros((8, 8, 3))] * 2, "previews/{epoch:02d}.png")
    Traceback (most recent call last):
    ...
    ValueError: Expected `filepath` to contain '{index}' to name each of the 2 photos. Received: filepath='previews/{epoch:02d}.png'
    """

    def __init__(self, photos, filepath: str, save_freq: int = 1, size: int | None = None, style=None):
        super().__init__()
        if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1:
            raise ValueError(f"Expected `save_freq` to be an integer >= 1. Received: save_freq={save_freq!r}")
        if isinstance(photos, np.ndarray) and photos.ndim == 4:
            photos = list(photos)
        elif not isinstance(photos, (list, tuple)):
            photos = [photos]
        self.photos = [images.load_image(p, size) if isinstance(p, (str, bytes)) or hasattr(p, "__fspath__")
                       else np.asarray(p) for p in photos]
        self.filepath = str(filepath)
        if len(self.photos) > 1 and "{index" not in self.filepath:
            raise ValueError(
                f"Expected `filepath` to contain '{{index}}' to name each of the {len(self.photos)} photos. "
                f"Received: filepath={self.filepath!r}"
            )
        self.save_freq = save_freq
        self.style = style
        self.saved = []

    def on_epoch_end(self, epoch, logs=None):
        epochs = (self.params or {}).get("epochs")
        if (epoch + 1) % self.save_freq and epoch + 1 != epochs:
            return
        network = getattr(self.model, "style_network", self.model)
        for index, photo in enumerate(self.photos):
            path = self.filepath.format(epoch=epoch + 1, index=index, **(logs or {}))
            images.save_image(path, stylize_with_network(network, photo, style=self.style))
            self.saved.append(path)
