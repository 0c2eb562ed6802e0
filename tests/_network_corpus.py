"""Files that are no style network, for the --network refusals (tests/test_network_files.py).

Each maker writes one file (or folder) at ``path`` and returns it; the keys of
``FOREIGN`` name them, the values are the words the refusal must say.
Keras models are tiny and saved with ``model.save``; nothing is stored in the
repository.

Example:

>>> import pathlib, tempfile
>>> text_file(pathlib.Path(tempfile.mkdtemp()) / "notes.keras").read_text()
'not a network'
"""

import zipfile

import numpy as np


def text_file(path):
    """A text file named like a network."""
    path.write_text("not a network")
    return path


def plain_zip(path):
    """A zip archive with no Keras model in it."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return path


def folder(path):
    """A folder named like a network."""
    path.mkdir()
    return path


def dense_model(path):
    """A saved keras.Sequential of one Dense layer."""
    import keras

    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(path)
    return path


def conv_model(path):
    """A saved model of one Conv2D that maps RGB images to RGB images: it would run on any photo."""
    import keras

    keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(3, 3, padding="same")]).save(path)
    return path


def style_transfer_model(path):
    """A saved StyleTransferModel (the optimisation of one image), tiny and with random VGG16 weights."""
    from nst_keras.model import StyleTransferModel

    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    model = StyleTransferModel(image, image, network="vgg16", weights=None)
    model.compile()
    model.save(path)
    return path


def bare_style_network(path):
    """A StyleNetwork saved by Keras alone, without the record nst-keras train writes."""
    from nst_keras.fast import StyleNetwork

    StyleNetwork(filters=4, residual_blocks=1).save(path)
    return path


def truncated_network(path):
    """The first half of a real network file."""
    from nst_keras.fast import StyleNetwork, save_network

    save_network(StyleNetwork(filters=4, residual_blocks=1), path, {"styles": ["wave.png"]})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# Maker name -> what the one-line refusal says the file is.
FOREIGN = {
    "text_file": "not a .keras archive",
    "plain_zip": "a zip archive without a Keras model",
    "folder": "it is a folder",
    "dense_model": "a Keras Sequential model of Dense layers",
    "conv_model": "a Keras Sequential model of Conv2D layers",
    "style_transfer_model": "a Keras StyleTransferModel model",
    "truncated_network": "not a .keras archive",
}
MAKERS = {name: globals()[name] for name in FOREIGN}
MAKERS["bare_style_network"] = bare_style_network  # ours, though without a record: taken
