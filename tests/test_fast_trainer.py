"""StyleNetworkTrainer: fit lowers the loss, stock callbacks, resume, previews, MirroredStrategy."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nst_keras.fast import StyleNetwork, StyleNetworkTrainer, StylePreview, training_optimizer

# Shallow layers keep the random VGG16 cheap at 32 px.
TINY = dict(network="vgg16", weights=None, style_layer_names=["block1_conv1", "block2_conv1"],
            content_layer_names=["block2_conv2"])


def tiny_trainer(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    style = np.random.default_rng(seed).random((32, 32, 3), dtype=np.float32)
    return StyleNetworkTrainer(StyleNetwork(filters=8, residual_blocks=1), style, **TINY, **kwargs)


def photos(count=16, size=32, batch_size=4, seed=0):
    data = np.random.default_rng(seed + 1).random((count, size, size, 3), dtype=np.float32)
    return tf.data.Dataset.from_tensor_slices(data).shuffle(count, seed=seed).repeat().batch(batch_size)


@pytest.mark.slow
def test_fit_lowers_the_loss_and_logs_validation():
    trainer = tiny_trainer()
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2))
    validation = tf.data.Dataset.from_tensor_slices(np.random.default_rng(9).random((4, 32, 32, 3), "float32")).batch(4)
    history = trainer.fit(photos(), epochs=5, steps_per_epoch=5, validation_data=validation, verbose=0).history
    assert set(history) == {f"{prefix}{name}" for prefix in ("", "val_")
                            for name in ("loss", "style_loss", "content_loss", "total_variation_loss")}
    assert all(np.isfinite(v) for values in history.values() for v in values)
    # Measured: 6.7 -> 0.8 in 25 steps; a wide margin for other seeds and CPUs.
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history["val_loss"][-1] < history["val_loss"][0]


def test_bad_settings_are_refused_at_construction():
    with pytest.raises(ValueError, match="Received: style_image=None"):
        StyleNetworkTrainer(StyleNetwork(filters=4, residual_blocks=0), None, **TINY)
    with pytest.raises(ValueError, match="content_weight"):
        tiny_trainer(content_weight=-1.0)
    with pytest.raises(ValueError, match="style_layer_weights"):
        tiny_trainer(style_layer_weights=[1.0])


@pytest.mark.slow
def test_stock_callbacks_keras_file_and_frozen_vgg(tmp_path):
    trainer = tiny_trainer()
    assert {id(v) for v in trainer.trainable_variables} == {id(v) for v in trainer.style_network.trainable_variables}
    vgg_before = [w.copy() for w in trainer.feature_extractor.get_weights()]
    targets_before = [keras.ops.convert_to_numpy(t) for t in trainer.style_targets]
    trainer.compile()
    checkpoint = str(tmp_path / "trainer.keras")
    callbacks = [
        keras.callbacks.ModelCheckpoint(checkpoint, monitor="loss"),
        keras.callbacks.EarlyStopping(monitor="loss", patience=5),
        keras.callbacks.TensorBoard(str(tmp_path / "logs")),
    ]
    trainer.fit(photos(), epochs=2, steps_per_epoch=2, callbacks=callbacks, verbose=0)
    assert os.listdir(tmp_path / "logs")
    for before, after in zip(vgg_before, trainer.feature_extractor.get_weights()):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(targets_before, trainer.style_targets):
        np.testing.assert_array_equal(before, keras.ops.convert_to_numpy(after))
    loaded = keras.models.load_model(checkpoint)
    assert isinstance(loaded, StyleNetworkTrainer) and isinstance(loaded.style_network, StyleNetwork)
    assert int(loaded.optimizer.iterations) == 4
    batch = np.random.default_rng(3).random((2, 20, 28, 3), dtype=np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(batch)), keras.ops.convert_to_numpy(trainer(batch)))
    for a, b in zip(loaded.style_targets, trainer.style_targets):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert loaded.get_config()["content_weight"] == trainer.content_weight


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("interrupted")


class _Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.iterations_at_start, self.weights_at_start = [], None, None

    def on_train_begin(self, logs=None):
        self.iterations_at_start = int(self.model.optimizer.iterations)
        self.rate_at_start = float(self.model.optimizer.learning_rate)
        self.weights_at_start = self.model.style_network.get_weights()

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.mark.slow
def test_backup_and_restore_resumes_after_an_interruption(tmp_path):
    backup_dir = str(tmp_path / "backup")
    trainer = tiny_trainer()
    trainer.compile()
    with pytest.raises(RuntimeError, match="interrupted"):
        trainer.fit(photos(), epochs=4, steps_per_epoch=3, verbose=0,
                    callbacks=[keras.callbacks.BackupAndRestore(backup_dir), _Interrupt()])
    saved = trainer.style_network.get_weights()

    resumed = tiny_trainer(seed=1)  # different initial weights: the backup must replace them
    resumed.compile()
    record = _Record()
    resumed.fit(photos(), epochs=4, steps_per_epoch=3, verbose=0,
                callbacks=[keras.callbacks.BackupAndRestore(backup_dir), record])
    assert record.epochs == [2, 3]
    assert record.iterations_at_start == 6
    for a, b in zip(record.weights_at_start, saved):
        np.testing.assert_array_equal(a, b)
    assert int(resumed.optimizer.iterations) == 12


@pytest.mark.slow
def test_cosine_decay_resumes_on_its_curve_and_ends_at_zero(tmp_path):
    backup_dir = str(tmp_path / "backup")
    trainer = tiny_trainer()
    trainer.compile(optimizer=training_optimizer(1e-2, cosine_steps=12))
    assert float(trainer.optimizer.learning_rate) == pytest.approx(1e-2)
    with pytest.raises(RuntimeError, match="interrupted"):
        trainer.fit(photos(), epochs=4, steps_per_epoch=3, verbose=0,
                    callbacks=[keras.callbacks.BackupAndRestore(backup_dir), _Interrupt()])
    resumed = tiny_trainer(seed=1)
    resumed.compile(optimizer=training_optimizer(1e-2, cosine_steps=12))
    record = _Record()
    resumed.fit(photos(), epochs=4, steps_per_epoch=3, verbose=0,
                callbacks=[keras.callbacks.BackupAndRestore(backup_dir), record])
    # Half way along the cosine when it resumed (step 6 of 12), at 0 after the last step.
    assert record.iterations_at_start == 6
    assert record.rate_at_start == pytest.approx(0.5e-2, rel=1e-4)
    assert float(resumed.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)


def test_training_optimizer_refuses_a_bad_step_count():
    with pytest.raises(ValueError, match="Received: cosine_steps=0"):
        training_optimizer(cosine_steps=0)


def test_style_preview_saves_stylised_photos(tmp_path):
    trainer = tiny_trainer()
    trainer.compile()
    path = tmp_path / "photo.png"
    Image.fromarray(np.full((36, 40, 3), 128, np.uint8)).save(path)
    preview = StylePreview([np.random.default_rng(0).random((20, 20, 3)), str(path)],
                           str(tmp_path / "preview_{epoch:02d}_{index}.png"), save_freq=2)
    trainer.fit(photos(), epochs=3, steps_per_epoch=1, callbacks=[preview], verbose=0)
    names = sorted(os.path.basename(p) for p in preview.saved)
    # Every second epoch, and the last one.
    assert names == ["preview_02_0.png", "preview_02_1.png", "preview_03_0.png", "preview_03_1.png"]
    assert Image.open(tmp_path / "preview_03_1.png").size == (40, 36)


def test_style_preview_refuses_bad_arguments():
    with pytest.raises(ValueError, match="Received: save_freq=0"):
        StylePreview([np.zeros((8, 8, 3))], "p.png", save_freq=0)


_MIRRORED = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    import keras
    from nst_keras.fast import StyleNetwork, StyleNetworkTrainer

    tiny = dict(network="vgg16", weights=None, style_layer_names=["block1_conv1", "block2_conv1"],
                content_layer_names=["block2_conv2"])
    style = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    batch = np.random.default_rng(1).random((4, 32, 32, 3), dtype=np.float32)
    data = tf.data.Dataset.from_tensors(batch).repeat()

    def make():
        keras.utils.set_random_seed(0)
        trainer = StyleNetworkTrainer(StyleNetwork(filters=8, residual_blocks=1), style, **tiny)
        trainer.compile(optimizer=keras.optimizers.SGD(0.1))  # SGD: a wrong gradient scale would show
        return trainer

    single = make()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = make()
    mirrored.set_weights(single.get_weights())
    logs = {}
    for name, trainer in (("single", single), ("mirrored", mirrored)):
        logs[name] = trainer.fit(data, epochs=1, steps_per_epoch=2, verbose=0).history["loss"][0]
    difference = max(float(np.max(np.abs(a - b))) for a, b in
                     zip(single.style_network.get_weights(), mirrored.style_network.get_weights()))
    moved = max(float(np.max(np.abs(a - b))) for a, b in
                zip(single.style_network.get_weights(), make().style_network.get_weights()))
    json.dump(dict(replicas=strategy.num_replicas_in_sync, difference=difference, moved=moved, **logs),
              open(sys.argv[1], "w"))
    """
)


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpu_devices_matches_one_device(tmp_path):
    # Logical devices must be configured before TensorFlow starts: a fresh process.
    out = tmp_path / "result.json"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, "-c", _MIRRORED, str(out)], capture_output=True, text=True,
                            timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["replicas"] == 2
    assert figures["moved"] > 1e-3  # the two SGD steps did change the weights...
    assert figures["difference"] < 1e-3 * figures["moved"] + 1e-5  # ...identically on one and two devices
    assert figures["mirrored"] == pytest.approx(figures["single"], rel=1e-4)


@pytest.mark.slow
def test_one_network_learns_several_styles():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    dark, bright = rng.random((32, 32, 3)) * 0.2, 0.8 + rng.random((32, 32, 3)) * 0.2
    trainer = StyleNetworkTrainer(StyleNetwork(filters=8, residual_blocks=1, styles=2), [dark, bright], **TINY)
    assert [tuple(t.shape)[0] for t in trainer.style_targets] == [2, 2]
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = trainer.fit(photos(), epochs=4, steps_per_epoch=5, verbose=0).history
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    from nst_keras.fast import stylize_with_network

    photo = rng.random((24, 24, 3)).astype("float32")
    means = [stylize_with_network(trainer.style_network, photo, style=s).mean() for s in (0, [1, 1], 1)]
    assert means[0] < means[1] < means[2]  # dark style, the blend, bright style


def test_several_styles_need_one_image_each():
    network = StyleNetwork(filters=4, residual_blocks=0, styles=2)
    with pytest.raises(ValueError, match="one style image per style"):
        StyleNetworkTrainer(network, [np.zeros((32, 32, 3))], **TINY)
    with pytest.raises(ValueError, match="style_blend_weights"):
        StyleNetworkTrainer(network, [np.zeros((32, 32, 3))] * 2, style_blend_weights=[1, 2], **TINY)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_vgg_with_float32_losses(policy):
    trainer = tiny_trainer(dtype=policy)
    trainer.compile()
    assert trainer.feature_extractor.compute_dtype == policy.split("_")[1]
    assert trainer.style_network.compute_dtype == "float32"
    history = trainer.fit(photos(count=4, batch_size=2), epochs=1, steps_per_epoch=2, verbose=0).history
    assert np.isfinite(history["loss"][0])
    losses = trainer.compute_losses(np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32))
    assert all(value.dtype == "float32" for value in losses.values())
