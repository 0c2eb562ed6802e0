"""SavedModel export and .keras save / load / continue-fit.

Tolerance of the export against the in-process optimisation (another graph,
so equal up to float rounding): after 6 steps with tiny random VGG weights no
uint8 pixel differs by more than 1; after 20 steps with ImageNet VGG16 the
final loss is within 3 % (pixel differences grow over many steps).
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from nst_keras.cli import build_parser, main
from nst_keras.export import MAX_SIDE, MIN_SIDE, export_saved_model, read_metadata
from nst_keras.features import FeatureExtractor
from nst_keras.model import StyleTransferModel

STEPS = 6
# (content shape, style shape): two different sizes, content and style differing.
SIZES = [((32, 48, 3), (40, 36, 3)), ((48, 40, 3), (64, 32, 3))]
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")


def _uint8_image(rng, shape):
    return (rng.random(shape) * 255).astype(np.uint8)


def _reference(content, style, steps, **kwargs):
    """The in-process optimisation the export must reproduce."""
    keras.utils.set_random_seed(0)  # the same random VGG weights for every model
    model = StyleTransferModel(content, style, network="vgg16", weights=None, **kwargs)
    model.compile()  # the default Adam, which the export runs
    history = model.fit(epochs=1, steps_per_epoch=steps, verbose=0)
    return model, history


def _as_uint8(image):
    return np.round(np.asarray(image) * 255.0).astype(np.uint8)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One tiny export and the references it is checked against, shared by the tests."""
    rng = np.random.default_rng(0)
    cases = []
    for content_shape, style_shape in SIZES:
        content, style = _uint8_image(rng, content_shape), _uint8_image(rng, style_shape)
        model, history = _reference(content, style, STEPS)
        cases.append(dict(content=content, style=style, model=model, history=history))
    first, second = (case["model"].feature_extractor for case in cases)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    path = str(tmp_path_factory.mktemp("export") / "stylizer" / "1")
    export_saved_model(path, feature_extractor=first, steps=STEPS)
    return path, cases


def _run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


try:
    from ._without_nst_keras import PREAMBLE
except ImportError:
    from _without_nst_keras import PREAMBLE

_LOAD_WITHOUT_NST_KERAS = PREAMBLE + textwrap.dedent(
    """

    export, inputs, output = sys.argv[1:4]
    loaded = tf.saved_model.load(export)
    stylize = loaded.signatures["serving_default"]
    serve = loaded.signatures["serve"]
    data = np.load(inputs)
    results = {}
    for index in range(len(data.files) // 2):
        content = tf.constant(data[f"content_{index}"])
        style = tf.constant(data[f"style_{index}"])
        # The default signature takes the two images alone; the export's
        # settings (STEPS steps here) are baked in.
        out = stylize(content_image=content, style_image=style)
        results[f"image_{index}"] = out["generated_image"].numpy()
        results[f"loss_{index}"] = out["loss"].numpy()
        full = serve(
            content_image=content,
            style_image=style,
            steps=tf.constant(data["steps"]),
            content_weight=tf.constant(0.15),
            style_weight=tf.constant(1.0),
            total_variation_weight=tf.constant(1.0),
            learning_rate=tf.constant(0.02),
            seed=tf.constant(0, tf.int64),
        )
        assert np.array_equal(full["generated_image"].numpy(), results[f"image_{index}"])
    assert "nst_keras" not in sys.modules
    np.savez(output, **results)
    print("keras imported:", "keras" in sys.modules)
    """
)


@pytest.mark.slow
def test_export_runs_without_nst_keras_and_equals_fit(exported, tmp_path):
    path, cases = exported
    inputs = tmp_path / "inputs.npz"
    arrays = {"steps": np.int32(STEPS)}
    for index, case in enumerate(cases):
        arrays[f"content_{index}"], arrays[f"style_{index}"] = case["content"], case["style"]
    np.savez(inputs, **arrays)
    outputs = tmp_path / "outputs.npz"
    script = tmp_path / "load.py"
    script.write_text(_LOAD_WITHOUT_NST_KERAS)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # Run from tmp_path so that the repository is not on sys.path either.
    _run([sys.executable, str(script), path, str(inputs), str(outputs)], cwd=tmp_path, env=env)
    results = np.load(outputs)
    for index, case in enumerate(cases):
        image = results[f"image_{index}"]
        assert image.dtype == np.uint8 and image.shape == case["content"].shape
        expected = _as_uint8(case["model"].generated_image_array())
        assert np.abs(image.astype(int) - expected).max() <= 1
        losses = results[f"loss_{index}"]
        assert losses.shape == (STEPS,)
        # fit logs the mean over the epoch of the loss before each update.
        np.testing.assert_allclose(losses.mean(), case["history"].history["loss"][-1], rtol=1e-4)
        assert not np.array_equal(image, case["content"])


def test_loaded_export_defaults_and_serve(exported):
    path, cases = exported
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"serving_default", "serve"}
    case = cases[0]
    # `serve` fills the optional inputs from the export's defaults (steps=STEPS).
    out = loaded.serve(content_image=tf.constant(case["content"]), style_image=tf.constant(case["style"]))
    expected = _as_uint8(case["model"].generated_image_array())
    assert np.abs(out["generated_image"].numpy().astype(int) - expected).max() <= 1
    short = loaded.serve(
        content_image=tf.constant(case["content"]), style_image=tf.constant(case["style"]), steps=tf.constant(0)
    )
    np.testing.assert_array_equal(short["generated_image"].numpy(), case["content"])
    assert short["loss"].shape == (0,)


def test_signature_defaults_and_metadata(exported):
    from tensorflow.core.protobuf import saved_model_pb2

    path, _ = exported
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    signatures = saved.meta_graphs[0].signature_def
    # What TF Serving reads: the default signature needs the two images only.
    assert set(signatures["serving_default"].inputs) == {"content_image", "style_image"}
    assert set(signatures["serve"].inputs) == {
        "content_image", "style_image", "steps", "content_weight", "style_weight",
        "total_variation_weight", "learning_rate", "seed",
    }
    for key in ("serving_default", "serve"):
        assert set(signatures[key].outputs) == {"generated_image", "loss"}
    metadata = read_metadata(path)
    assert metadata["network"] == "vgg16"
    assert metadata["defaults"]["steps"] == STEPS
    assert (metadata["min_side"], metadata["max_side"]) == (MIN_SIDE, MAX_SIDE)


def test_export_refuses_out_of_range_images(exported):
    path, cases = exported
    loaded = tf.saved_model.load(path)  # keep it: its variables die with it
    serve = loaded.serve
    small = np.zeros((MIN_SIDE - 1, 40, 3), np.uint8)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"content_image: each side must be >= {MIN_SIDE}"):
        serve(content_image=tf.constant(small), style_image=tf.constant(cases[0]["style"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="learning_rate must be >= 0"):
        serve(content_image=tf.constant(cases[0]["content"]), style_image=tf.constant(cases[0]["style"]),
              learning_rate=tf.constant(-1.0))


@pytest.mark.slow
def test_saved_model_cli_show_and_run(exported, tmp_path):
    path, cases = exported
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    shown = _run([SAVED_MODEL_CLI, "show", "--all", "--dir", path], env=env).stdout
    for key in ("serving_default", "serve"):
        assert f"signature_def['{key}']" in shown
    for name in ("content_image", "style_image", "steps", "content_weight", "style_weight",
                 "total_variation_weight", "learning_rate", "seed", "generated_image", "loss"):
        assert f"['{name}']" in shown
    np.save(tmp_path / "content.npy", cases[1]["content"])
    np.save(tmp_path / "style.npy", cases[1]["style"])
    # The default signature: the two images, the export's own settings.
    _run([SAVED_MODEL_CLI, "run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
          "--inputs", f"content_image={tmp_path / 'content.npy'};style_image={tmp_path / 'style.npy'}",
          "--outdir", str(tmp_path / "out")], env=env)
    image = np.load(tmp_path / "out" / "generated_image.npy")
    expected = _as_uint8(cases[1]["model"].generated_image_array())
    assert np.abs(image.astype(int) - expected).max() <= 1
    assert np.load(tmp_path / "out" / "loss.npy").shape == (STEPS,)


@pytest.mark.parametrize("init", ["noise", "style"])
def test_other_inits(init, tmp_path, rng):
    content, style = _uint8_image(rng, (32, 40, 3)), _uint8_image(rng, (48, 32, 3))
    extractor = FeatureExtractor(network="vgg16", weights=None, style_layer_names=["block1_conv1"],
                                 content_layer_names=["block2_conv1"])
    path = export_saved_model(tmp_path / "e", feature_extractor=extractor, init=init, steps=0)
    loaded = tf.saved_model.load(path)
    serve = loaded.serve
    first = serve(content_image=tf.constant(content), style_image=tf.constant(style))["generated_image"].numpy()
    assert first.shape == content.shape
    if init == "noise":
        again = serve(content_image=tf.constant(content), style_image=tf.constant(style))["generated_image"]
        other = serve(content_image=tf.constant(content), style_image=tf.constant(style), seed=tf.constant(1, tf.int64))
        np.testing.assert_array_equal(first, again.numpy())
        assert not np.array_equal(first, other["generated_image"].numpy())
        assert abs(first.mean() - 127.5) < 10
    else:
        keras.utils.set_random_seed(0)
        model = StyleTransferModel(content, style, network="vgg16", weights=None, init="style")
        assert np.abs(first.astype(int) - _as_uint8(model.generated_image_array())).max() <= 1


def test_export_refuses_existing_path_and_bad_settings(tmp_path):
    extractor = FeatureExtractor(network="vgg16", weights=None, style_layer_names=["block1_conv1"],
                                 content_layer_names=["block1_conv2"])
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="overwrite"):
        export_saved_model(tmp_path / "taken", feature_extractor=extractor)
    for kwargs, message in [
        (dict(init="zeros"), "init"),
        (dict(steps=-1), "steps"),
        (dict(learning_rate=float("nan")), "learning_rate"),
        (dict(max_side=8), "max_side"),
        (dict(style_layer_weights=[1.0, 2.0]), "style_layer_weights"),
    ]:
        with pytest.raises(ValueError, match=message):
            export_saved_model(tmp_path / "new", feature_extractor=extractor, **kwargs)
    assert not (tmp_path / "new").exists()
    path = export_saved_model(tmp_path / "taken", feature_extractor=extractor, overwrite=True, steps=1)
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert sorted(os.listdir(tmp_path)) == ["taken"]  # no staging folders left behind


def test_cli_export(tmp_path, capsys):
    output = tmp_path / "stylizer" / "1"
    argv = ["export", str(output), "--model", "vgg16", "--weights", "none", "--steps", "3",
            "--content-weight", "0.5", "--max-side", "256"]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().err
    metadata = read_metadata(output)
    assert metadata["defaults"]["steps"] == 3 and metadata["defaults"]["content_weight"] == 0.5
    assert metadata["max_side"] == 256
    assert metadata["weights"].startswith("random")
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    help_text = build_parser()._subparsers._group_actions[0].choices["export"].format_help()
    assert f"default {MAX_SIDE}" in help_text and f"smallest is {MIN_SIDE}" in help_text


@pytest.mark.slow
def test_export_lowers_loss_like_fit(vgg16_weights, tmp_path, rng):
    # Real VGG16 features: the export and fit optimise the same loss the same way.
    steps = 20
    content = _as_uint8(np.tile(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], (64, 1, 3)))
    style = _uint8_image(rng, (48, 64, 3))
    model = StyleTransferModel(content, style, network="vgg16", weights=vgg16_weights)
    before = float(model.compute_losses()["loss"][0])
    model.compile()
    model.fit(epochs=1, steps_per_epoch=steps, verbose=0)
    fitted = float(model.compute_losses()["loss"][0])
    path = export_saved_model(tmp_path / "e", feature_extractor=model.feature_extractor, steps=steps)
    loaded = tf.saved_model.load(path)
    out = loaded.serve(content_image=tf.constant(content), style_image=tf.constant(style))
    exported = float(model.compute_losses(out["generated_image"].numpy()[None].astype("float32") / 255.0)["loss"][0])
    losses = out["loss"].numpy()
    np.testing.assert_allclose(losses[0], before, rtol=1e-4)
    assert fitted < 0.7 * before
    assert exported == pytest.approx(fitted, rel=0.03)


def test_keras_save_load_continue_fit(tiny_content, tiny_style, tmp_path):
    keras.utils.set_random_seed(0)
    model = StyleTransferModel(tiny_content, tiny_style, network="vgg16", weights=None, init="noise", seed=2)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03))
    model.fit(epochs=1, steps_per_epoch=3, verbose=0)
    path = str(tmp_path / "run.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, StyleTransferModel)
    for a, b in zip(model.weights, loaded.weights, strict=True):
        assert a.path == b.path
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert int(loaded.optimizer.iterations) == 3
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.03)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    loaded.fit(epochs=1, steps_per_epoch=4, verbose=0)

    keras.utils.set_random_seed(0)
    straight = StyleTransferModel(tiny_content, tiny_style, network="vgg16", weights=None, init="noise", seed=2)
    straight.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03))
    straight.fit(epochs=1, steps_per_epoch=7, verbose=0)
    np.testing.assert_allclose(loaded.generated_image_array(), straight.generated_image_array(), atol=1e-5)


def test_load_never_reads_the_weights_file(vgg16_weights, tmp_path, tiny_content, tiny_style):
    # The VGG weights travel in the .keras archive: the file the model was
    # built from may be gone when it is loaded.
    weights = tmp_path / "vgg16.weights.h5"
    weights.symlink_to(vgg16_weights)
    model = StyleTransferModel(tiny_content, tiny_style, network="vgg16", weights=str(weights))
    model.compile()
    model.save(tmp_path / "run.keras")
    weights.unlink()
    loaded = keras.models.load_model(tmp_path / "run.keras")
    assert loaded.get_config()["weights"] == str(weights)
    for a, b in zip(model.feature_extractor.get_weights(), loaded.feature_extractor.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_feature_extractor_config_round_trip():
    extractor = FeatureExtractor(network="vgg16", weights=None, pooling="avg", content_layer_names=["block3_conv2"])
    extractor.weights_source = "/no/such/file.weights.h5"  # as if built from a file since deleted
    clone = FeatureExtractor.from_config(extractor.get_config())
    assert clone.get_config() == extractor.get_config()
    clone.set_weights(extractor.get_weights())
    images = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(clone(images)["content"]["block3_conv2"]),
        keras.ops.convert_to_numpy(extractor(images)["content"]["block3_conv2"]),
        rtol=1e-6,
    )
