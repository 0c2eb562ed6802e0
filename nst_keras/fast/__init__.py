"""Feed-forward style networks: train once per style with ``fit``, then one forward pass per image.

Johnson, Alahi & Fei-Fei (2016) train an image transformation network with
the perceptual losses of Gatys et al.; with instance normalisation (Ulyanov
et al. 2016) it stylises a photo in one pass instead of hundreds of
optimisation steps.

- :class:`StyleNetwork`: the network, any image size in and out; one style,
  or several with conditional instance normalisation (Dumoulin et al. 2017)
  and blends of them at inference.
- :class:`StyleNetworkTrainer`: the Keras model whose ``fit`` trains it
  against a frozen VGG; :class:`StylePreview` saves previews while it trains;
  :func:`training_optimizer` is its Adam, constant or cosine-decayed;
  :class:`TrainingClock` estimates the training's time from its first steps.
- :func:`photo_dataset` / :func:`tfds_photo_dataset`: the training photos as
  ``tf.data`` pipelines of random crops; :func:`procedural_dataset`: images
  the project draws itself (dead leaves, plus crops of paintings), for
  networks that owe nothing to photos.
- :func:`stylize_with_network` and :func:`export_network` (a SavedModel that
  needs neither Keras nor nst_keras) to use the result; :func:`in_precision`
  runs a trained network in bfloat16 where the hardware has it.
- :func:`save_network`, :func:`load_network`, :func:`network_info`: the
  network file (:mod:`nst_keras.fast.files`).
- :class:`AtomicBackupAndRestore`: ``BackupAndRestore`` whose backups a full
  disk or a crash cannot spoil (:mod:`nst_keras.fast.backup`).

Example:

>>> from nst_keras.fast import StyleNetwork, StyleNetworkTrainer, photo_dataset
>>> style = nst_keras.load_image("wave.jpg", 256)                          # doctest: +SKIP
>>> trainer = StyleNetworkTrainer(StyleNetwork(), style, network="vgg16",  # doctest: +SKIP
...                               weights="vgg16_imagenet_notop.weights.h5")
>>> trainer.compile()                                                      # doctest: +SKIP
>>> trainer.fit(photo_dataset("photos/"), epochs=10, steps_per_epoch=200)  # doctest: +SKIP
>>> export_network(trainer.style_network, "models/wave/1")                 # doctest: +SKIP
'models/wave/1'
"""

from nst_keras.lazy import lazy_exports

_EXPORTS = {
    "AtomicBackupAndRestore": "nst_keras.fast.backup",
    "BackupError": "nst_keras.fast.backup",
    "NetworkFileError": "nst_keras.fast.files",
    "PhotoError": "nst_keras.fast.photos",
    "PhotoReport": "nst_keras.fast.photos",
    "StyleNetwork": "nst_keras.fast.network",
    "StyleNetworkTrainer": "nst_keras.fast.trainer",
    "StylePreview": "nst_keras.fast.trainer",
    "TrainingClock": "nst_keras.fast.timing",
    "export_network": "nst_keras.fast.export",
    "in_precision": "nst_keras.fast.network",
    "load_network": "nst_keras.fast.files",
    "network_info": "nst_keras.fast.files",
    "photo_dataset": "nst_keras.fast.data",
    "procedural_dataset": "nst_keras.fast.procedural",
    "save_network": "nst_keras.fast.files",
    "style_map": "nst_keras.masks",
    "style_weights": "nst_keras.fast.network",
    "stylize_with_network": "nst_keras.fast.network",
    "tfds_photo_dataset": "nst_keras.fast.data",
    "training_optimizer": "nst_keras.fast.trainer",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
