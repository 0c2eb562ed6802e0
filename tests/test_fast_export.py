"""export_network: a SavedModel that runs without nst_keras and matches the Keras network."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from nst_keras.fast import StyleNetwork, export_network, stylize_with_network
from nst_keras.fast.export import METADATA_FILE

try:
    from ._without_nst_keras import PREAMBLE
except ImportError:
    from _without_nst_keras import PREAMBLE

_LOAD_WITHOUT_NST_KERAS = PREAMBLE + textwrap.dedent(
    """

    export, inputs, output = sys.argv[1:4]
    loaded = tf.saved_model.load(export)
    one = loaded.signatures["serving_default"]
    batch = loaded.signatures["serve_batch"]
    data = np.load(inputs)
    results = {}
    for key in data.files:
        results[key] = one(image=tf.constant(data[key]))["stylized_image"].numpy()
        results[key + "_batch"] = batch(images=tf.constant(data[key][None]))["stylized_images"].numpy()[0]
    try:
        one(image=tf.zeros((3, 40, 3), tf.uint8))
        results["too_small"] = np.array(False)
    except tf.errors.InvalidArgumentError as error:
        results["too_small"] = np.array(">= 5 pixels" in str(error))
    assert "nst_keras" not in sys.modules
    np.savez(output, **results)
    """
)


@pytest.mark.slow
def test_export_runs_without_nst_keras_and_matches_keras(tmp_path):
    keras.utils.set_random_seed(0)
    network = StyleNetwork(filters=8, residual_blocks=1)
    path = export_network(network, tmp_path / "wave" / "1", metadata={"style": "wave.jpg"})
    assert os.path.isdir(path)
    rng = np.random.default_rng(0)
    images = {"small": (rng.random((23, 31, 3)) * 255).astype("uint8"),
              "odd": (rng.random((45, 18, 3)) * 255).astype("uint8")}
    np.savez(tmp_path / "inputs.npz", **images)
    script = tmp_path / "load.py"
    script.write_text(_LOAD_WITHOUT_NST_KERAS)
    result = subprocess.run([sys.executable, str(script), path, str(tmp_path / "inputs.npz"),
                             str(tmp_path / "out.npz")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    assert bool(out["too_small"])
    for key, image in images.items():
        expected = np.round(stylize_with_network(network, image) * 255.0)
        for exported in (out[key], out[key + "_batch"]):
            assert exported.dtype == np.uint8 and exported.shape == image.shape
            # Tolerance: one uint8 level (float rounding between two graphs at a .5 boundary).
            assert np.max(np.abs(exported.astype(float) - expected)) <= 1
    metadata = json.loads((tmp_path / "wave" / "1" / METADATA_FILE).read_text())
    assert metadata["network"]["filters"] == 8 and metadata["metadata"] == {"style": "wave.jpg"}


def test_export_refuses_an_existing_path_and_bad_max_side(tmp_path):
    network = StyleNetwork(filters=4, residual_blocks=0)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_network(network, tmp_path)
    with pytest.raises(ValueError, match="Received: max_side=2"):
        export_network(network, tmp_path / "new", max_side=2)
    assert not (tmp_path / "new").exists()


def test_export_of_several_styles_takes_a_style_index_or_blend(tmp_path):
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    network = StyleNetwork(filters=4, residual_blocks=1, styles=2)
    for weight in network.weights:
        if weight.path.endswith("_style/beta"):
            weight.assign(np.arange(2, dtype="float32")[:, None] * np.ones(weight.shape, "float32"))
    loaded = tf.saved_model.load(export_network(network, tmp_path / "two"))
    image = (np.random.default_rng(0).random((13, 22, 3)) * 255).astype("uint8")
    for style in (0, 1):
        out = loaded.signatures["serving_default"](image=tf.constant(image), style=tf.constant(style))
        expected = np.round(stylize_with_network(network, image, style=style) * 255.0)
        assert np.max(np.abs(out["stylized_image"].numpy().astype(float) - expected)) <= 1
    blend = tf.constant([[0.5, 0.5]], tf.float32)
    out = loaded.signatures["serve_batch"](images=tf.constant(image[None]), style_weights=blend)
    expected = np.round(stylize_with_network(network, image, style=[1, 1]) * 255.0)
    assert np.max(np.abs(out["stylized_images"].numpy()[0].astype(float) - expected)) <= 1
    with pytest.raises(tf.errors.InvalidArgumentError, match="style must be an index"):
        loaded.signatures["serving_default"](image=tf.constant(image), style=tf.constant(2))


def test_a_max_side_below_the_smallest_image_is_refused(tmp_path, capsys):
    from nst_keras import cli, defaults

    network = StyleNetwork(filters=4, residual_blocks=0)
    with pytest.raises(ValueError, match=f"integer >= {defaults.MIN_SIDE}. Received: max_side=10"):
        export_network(network, tmp_path / "new", max_side=10)
    assert cli.main(["export", str(tmp_path / "cli"), "--network", "wave.keras", "--max-side", "10"]) == 2
    assert capsys.readouterr().err == f"nst-keras: error: --max-side 10: the smallest is {defaults.MIN_SIDE}\n"
    assert not (tmp_path / "new").exists() and not (tmp_path / "cli").exists()


def test_serving_default_refuses_a_batch_in_one_clear_error(tmp_path):
    import tensorflow as tf

    loaded = tf.saved_model.load(export_network(StyleNetwork(filters=4, residual_blocks=0), tmp_path / "one"))
    image = np.zeros((1, 40, 48, 3), np.uint8)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image \[1,40,48,3\] is not compatible with expected "
                                                             r"shape \[\?,\?,3\]"):
        loaded.signatures["serving_default"](image=tf.constant(image))
    assert loaded.signatures["serve_batch"](images=tf.constant(image))["stylized_images"].shape == (1, 40, 48, 3)
