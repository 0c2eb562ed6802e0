"""Running plans: settings, outputs, the caller's Keras state, clean messages (nst_keras.batch.runner)."""

import json
import logging
import warnings

import numpy as np
import pytest
from PIL import Image

from nst_keras import batch, images
from nst_keras.batch import runner
from nst_keras.settings import ImageSettings, StylizeSettings

try:
    from ._batch_corpus import TINY_SETTINGS, random_vgg16_file, style, write_animation, write_image  # noqa: F401
except ImportError:
    from _batch_corpus import TINY_SETTINGS, random_vgg16_file, style, write_animation, write_image  # noqa: F401


class FakeModel:
    def compute_losses(self, generated):
        return {"loss": np.full(len(generated), 0.5, np.float32)}


@pytest.fixture
def fake_stylize(monkeypatch):
    """Replace stylize() by one that returns the content: these tests are about the driver, not VGG."""
    import nst_keras.stylize

    calls = []

    def stylize(contents, style_image, settings=None, *, network=None, weights="auto", callbacks=(), verbose=0):
        calls.append(dict(settings=settings, network=network, weights=weights, shape=contents.shape,
                          style_shape=style_image.shape))
        return nst_keras.stylize.StylizeResult(image=contents, history=None, model=FakeModel(), settings=settings)

    monkeypatch.setattr(nst_keras.stylize, "stylize", stylize)
    return calls


@pytest.fixture
def photos(tmp_path, rng):
    for name in ("a.png", "b.png"):
        write_image(tmp_path / "photos" / name, rng)
    return tmp_path / "photos"


def test_settings_objects_and_flat_names_reach_stylize(tmp_path, photos, style, fake_stylize):
    settings = StylizeSettings.from_kwargs(epochs=1, steps_per_epoch=2, style_weight=3.0)
    report = batch.stylize_directory(photos, [style], tmp_path / "out", settings, ImageSettings(size=32),
                                     network="vgg16", weights=None, style_scale=0.5, content_weight=0.2)
    assert report.summary() == "2 done, 0 failed, 0 skipped"
    call = fake_stylize[0]
    assert call["settings"].run.epochs == 1 and call["settings"].loss.style_weight == 3.0
    assert call["settings"].loss.content_weight == 0.2
    assert call["network"] == "vgg16" and call["weights"] is None
    assert call["shape"] == (1, 32, 40, 3) and call["style_shape"] == (32, 32, 3)   # style at 0.5 x 40, at least 32
    recorded = report.settings
    assert recorded["size"] == 32 and recorded["style_scale"] == 0.5 and recorded["epochs"] == 1
    assert recorded["network"] == "vgg16" and recorded["weights"].startswith("random") and recorded["batch_size"] == 1
    assert recorded["learning_rate"] == 0.02                                   # resolved: what ran
    json.dumps(report.to_dict())
    metadata = images.read_metadata(report.done[0].output)
    assert metadata["network"] == "vgg16" and metadata["Software"].startswith("nst_keras ")
    assert metadata["content_image"] == "a.png" and metadata["style_image"] == "wave.jpg"
    assert json.loads(metadata["settings"])["style_weight"] == 3.0


def test_bad_settings_are_refused_before_any_work(tmp_path, photos, style, fake_stylize):
    plan = batch.plan_directory(photos, [style], tmp_path / "out")
    with pytest.raises(TypeError, match=r"Received: colour=1"):
        batch.run_batch(plan, colour=1, weights=None)
    with pytest.raises(ValueError, match=r"Received: epochs=0"):
        batch.run_batch(plan, epochs=0, weights=None)
    with pytest.raises(ValueError, match=r"Received: style_blend_weights=\[1.0\]"):
        batch.run_batch(plan, style_blend_weights=[1], weights=None)
    with pytest.raises(ValueError, match=r"Received: batch_size=0"):
        batch.run_batch(plan, batch_size=0, weights=None)
    with pytest.raises(TypeError, match=r"Expected `settings` to be a StylizeSettings"):
        batch.run_batch(plan, {"epochs": 1}, weights=None)
    with pytest.raises(TypeError, match=r"Expected `image_settings` to be an ImageSettings"):
        batch.run_batch(plan, None, {"size": 32}, weights=None)
    assert fake_stylize == [] and not (tmp_path / "out").exists()


def test_outputs_never_escape_or_overwrite_inputs(tmp_path, rng, style, fake_stylize):
    root = tmp_path / "root"
    content = root / "photos"
    write_image(content / "photos" / "a.jpg", rng)
    write_image(content / "a.jpg__wave.png", rng)      # exactly where photos/a.jpg's output would go
    write_image(content / "sub" / "b.png", rng)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "sub").symlink_to(elsewhere, target_is_directory=True)   # a link in the output folder leading out
    before = (content / "a.jpg__wave.png").read_bytes()
    report = batch.stylize_directory(content, [style], root, recursive=True, overwrite=True, **TINY_SETTINGS)
    reasons = {item.content: item.reason for item in report.failed}
    assert "is an input file" in reasons["photos/a.jpg"]
    assert "outside" in reasons["sub/b.png"]
    assert [item.content for item in report.done] == ["a.jpg__wave.png"]
    assert (content / "a.jpg__wave.png").read_bytes() == before
    assert list(elsewhere.iterdir()) == []


def test_fail_fast_stops_at_the_first_failure(tmp_path, photos, style, fake_stylize):
    (photos / "0.png").write_bytes(b"")
    report = batch.stylize_directory(photos, [style], tmp_path / "out", fail_fast=True, **TINY_SETTINGS)
    assert report.stopped_early and report.summary() == "0 done, 1 failed, 0 skipped" and fake_stylize == []


def test_ctrl_c_keeps_what_is_finished(tmp_path, photos, style, fake_stylize, monkeypatch):
    import nst_keras.stylize

    write_image(photos / "c.png", np.random.default_rng(1))
    fake = nst_keras.stylize.stylize

    def interrupted_second(*args, **kwargs):
        if len(fake_stylize) == 1:
            raise KeyboardInterrupt
        return fake(*args, **kwargs)

    monkeypatch.setattr(nst_keras.stylize, "stylize", interrupted_second)
    seen = []
    report = batch.stylize_directory(photos, [style], tmp_path / "out", on_progress=seen.append, **TINY_SETTINGS)
    assert report.interrupted and report.summary() == "1 done, 0 failed, 0 skipped"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png__wave.png"]
    assert seen[-1].event == "end"


def test_batch_size_gives_each_image_its_one_at_a_time_result(tmp_path, rng, style, random_vgg16_file):
    content = tmp_path / "photos"
    for name in ("a.png", "b.png", "c.png"):
        write_image(content / name, rng)
    write_image(content / "tall.png", rng, (32, 40))         # another size: its own bucket
    settings = dict(size=32, network="vgg16", weights=random_vgg16_file, epochs=1, steps_per_epoch=3)
    seen = []
    together = batch.stylize_directory(content, [style], tmp_path / "b3", batch_size=3,
                                       on_progress=lambda p: seen.append(p), **settings)
    alone = batch.stylize_directory(content, [style], tmp_path / "b1", **settings)
    assert together.summary() == alone.summary() == "4 done, 0 failed, 0 skipped"
    groups = [p.contents for p in seen if p.event == "stylizing"]
    assert groups == [["a.png", "b.png", "c.png"], ["tall.png"]]
    assert seen[0].event == "start" and seen[-1].event == "end"
    # Adam is elementwise and the batch loss a sum: the float results agree to
    # 2e-4 (tests/test_model.py), so the 8-bit files differ by at most one level.
    for one, other in zip(together.done, alone.done):
        a = np.asarray(Image.open(one.output), np.int16)
        b = np.asarray(Image.open(other.output), np.int16)
        assert np.abs(a - b).max() <= 1
        assert set(one.losses) == {"loss", "style_loss", "content_loss", "total_variation_loss"}
        for key, value in one.losses.items():
            assert value == pytest.approx(other.losses[key], rel=1e-3, abs=1e-6)


def test_the_callers_keras_model_still_works_afterwards(tmp_path, photos, style):
    import keras

    policy = keras.config.dtype_policy().name
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="mine")])
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    before = model.predict(x, verbose=0)
    report = batch.stylize_directory(photos, [style], tmp_path / "out", size=32, network="vgg16", weights=None,
                                     epochs=1, steps_per_epoch=1)
    assert report.summary() == "2 done, 0 failed, 0 skipped"
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    assert model.get_layer("mine").built and keras.config.dtype_policy().name == policy


def test_a_run_speaks_in_one_line_messages(tmp_path, rng, style, capfd):
    content = tmp_path / "photos"
    write_image(content / "a.png", rng)
    write_image(content / "b.png", rng, (32, 44))
    write_animation(content / "anim.gif")
    (content / "bad.jpg").write_text("not a picture")
    events = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = batch.stylize_directory(content, [style], tmp_path / "out", on_progress=events.append,
                                         **TINY_SETTINGS)
    assert report.summary() == "3 done, 1 failed, 0 skipped"
    # DeprecationWarnings are hidden by Python's default filters; anything else would print.
    shown = [f"{w.filename}: {w.message}" for w in caught if not issubclass(w.category, DeprecationWarning)]
    assert shown == []
    captured = capfd.readouterr()
    for text in (captured.out, captured.err):
        assert "retracing" not in text and "ImageError" not in text and "Traceback" not in text
        assert not any(".py:" in line and line.split(".py:")[1][:1].isdigit() for line in text.splitlines()), text
    notes = [event.message for event in events if event.event == "warning"]
    assert notes == [f"anim.gif: {images.ANIMATED_NOTE}"]
    items = {item.content: item for item in report.items}
    assert items["anim.gif"].warnings == [images.ANIMATED_NOTE] and items["anim.gif"].status == "done"
    assert items["bad.jpg"].reason == "not an image (unrecognised format)"


def test_retracing_notes_are_dropped_during_a_run_only():
    logger = logging.getLogger("tensorflow")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Keep()
    logger.addHandler(handler)
    try:
        with runner._quiet_retracing():
            logger.warning("5 out of the last 5 calls to <function f> triggered tf.function retracing. Tracing...")
            logger.warning("something else")
        logger.warning("after: triggered tf.function retracing")
    finally:
        logger.removeHandler(handler)
    assert records == ["something else", "after: triggered tf.function retracing"]


def test_a_style_network_stylises_same_sizes_in_one_batch(tmp_path, rng):
    from nst_keras.fast import StyleNetwork, stylize_with_network

    for name, size in (("a.png", (20, 16)), ("b.png", (20, 16)), ("c.png", (12, 20))):
        write_image(tmp_path / "photos" / name, rng, size)
    network_file = tmp_path / "net.keras"
    network_file.write_bytes(b"PK")
    network = StyleNetwork(filters=4, residual_blocks=1, styles=2)
    calls = []

    class Counting:
        styles = 2

        def predict_on_batch(self, batch):
            calls.append(len(batch["images"]))
            return network.predict_on_batch(batch)

    plan = batch.plan_directory(tmp_path / "photos", [], tmp_path / "out", network=network_file)
    report = batch.run_batch(plan, style_network=Counting(), style=1, batch_size=4, size=20)
    assert report.summary() == "3 done, 0 failed, 0 skipped" and sorted(calls) == [1, 2]
    assert report.settings["style"] == 1 and not report.done[0].losses
    saved = images.load_image(tmp_path / "out" / "c.png__net.png")
    expected = stylize_with_network(network, images.load_image(tmp_path / "photos" / "c.png", 20), style=1)
    assert saved.shape == expected.shape and np.max(np.abs(saved - expected)) <= 1 / 255 + 1e-6
    with pytest.raises(ValueError, match="style"):
        batch.run_batch(plan, style_network=Counting(), style=2)
