import keras
import numpy as np
import pytest

from nst_keras import images
from nst_keras.callbacks import BestImage, ImageCheckpoint, TensorBoardImage
from nst_keras.model import StyleTransferModel


@pytest.fixture
def model(tiny_content, tiny_style):
    model = StyleTransferModel(tiny_content, tiny_style, network="vgg16", weights=None)
    model.compile()
    return model


def drive(callback, model, logs_by_epoch, epochs=None):
    """Run a callback through a fake training loop: no fit, just the hooks."""
    callback.set_model(model)
    callback.set_params({"epochs": epochs or len(logs_by_epoch), "steps": 1, "verbose": 0})
    callback.on_train_begin()
    for epoch, logs in enumerate(logs_by_epoch):
        model.generated_image.assign(np.full(model.generated_image.shape, epoch / 10, "float32"))
        callback.on_epoch_end(epoch, logs)
    callback.on_train_end()


def test_image_checkpoint_formats_like_model_checkpoint(model, tmp_path):
    callback = ImageCheckpoint(str(tmp_path / "out" / "{epoch:04d}-{loss:.2f}.png"), save_freq=2)
    drive(callback, model, [{"loss": 3.0}, {"loss": 2.0}, {"loss": 1.5}, {"loss": 1.0}, {"loss": 0.5}])
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    # Every second epoch, plus the last one.
    assert names == ["0002-2.00.png", "0004-1.00.png", "0005-0.50.png"]
    saved = images.load_image(str(tmp_path / "out" / "0004-1.00.png"))
    assert saved.shape == (32, 48, 3)
    np.testing.assert_allclose(saved, 0.3, atol=1 / 255)


def test_image_checkpoint_metadata(model, tmp_path):
    callback = ImageCheckpoint(str(tmp_path / "{epoch}.png"), metadata={"network": "vgg16"})
    drive(callback, model, [{"loss": 1.0}])
    assert images.read_metadata(str(tmp_path / "1.png"))["network"] == "vgg16"


def test_image_checkpoint_rejects_bad_frequency():
    with pytest.raises(ValueError, match="save_freq"):
        ImageCheckpoint("x.png", save_freq=0)


def test_best_image_keeps_lowest_loss_and_restores(model, tmp_path):
    callback = BestImage(monitor="loss", filepath=str(tmp_path / "best.png"))
    drive(callback, model, [{"loss": 3.0}, {"loss": 1.0}, {"loss": 2.0}, {"loss": float("nan")}])
    assert callback.best_epoch == 2 and callback.best == 1.0
    # The epoch-1 image (value 0.1) is back in the model and on disk.
    np.testing.assert_allclose(model.generated_image_array(), 0.1, atol=1e-6)
    np.testing.assert_allclose(images.load_image(str(tmp_path / "best.png")), 0.1, atol=1 / 255)


def test_best_image_holds_only_the_image(model):
    callback = BestImage()
    drive(callback, model, [{"loss": 1.0}])
    assert callback.best_image.shape == tuple(model.generated_image.shape)
    assert callback.best_image.nbytes < 0.01 * sum(np.prod(w.shape) * 4 for w in model.weights)


def test_best_image_max_mode(model):
    callback = BestImage(monitor="score", mode="max", restore=False)
    drive(callback, model, [{"score": 1.0}, {"score": 5.0}, {"score": 2.0}])
    assert callback.best_epoch == 2
    np.testing.assert_allclose(model.generated_image_array(), 0.2, atol=1e-6)


def test_tensorboard_image_writes_event_file(model, tmp_path):
    callback = TensorBoardImage(str(tmp_path / "logs"))
    drive(callback, model, [{"loss": 1.0}, {"loss": 0.5}])
    events = list((tmp_path / "logs" / "images").glob("events.out.tfevents.*"))
    assert len(events) == 1
    import tensorflow as tf

    values = [
        (event.step, value.tag)
        for record in tf.data.TFRecordDataset(str(events[0]))
        for event in [tf.compat.v1.Event.FromString(record.numpy())]
        for value in event.summary.value
    ]
    assert values == [(1, "generated_image"), (2, "generated_image")]


def test_callbacks_in_a_real_fit(model, tmp_path):
    callbacks = [
        ImageCheckpoint(str(tmp_path / "{epoch}.png")),
        BestImage(filepath=str(tmp_path / "best.png")),
        keras.callbacks.EarlyStopping(monitor="loss", patience=5),
    ]
    model.fit(epochs=2, steps_per_epoch=2, callbacks=callbacks, verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.png", "2.png", "best.png"]


def test_best_image_starts_afresh_on_another_model(model, tiny_style, tmp_path):
    # A coarse-to-fine run fits one model per scale: a coarser scale's image
    # (another shape, another loss scale) must never be "best" for the next.
    callback = BestImage(filepath=str(tmp_path / "best.png"))
    drive(callback, model, [{"loss": 0.1}])
    finer = StyleTransferModel(np.zeros((64, 96, 3), "float32"), tiny_style, network="vgg16", weights=None)
    drive(callback, finer, [{"loss": 5.0}, {"loss": 4.0}])
    assert callback.best_epoch == 2 and callback.best == 4.0
    assert callback.best_image.shape == (1, 64, 96, 3)
    np.testing.assert_allclose(finer.generated_image_array(), 0.1, atol=1e-6)
    assert images.load_image(str(tmp_path / "best.png")).shape == (64, 96, 3)


def test_best_image_continues_across_fit_calls_on_one_model(model):
    callback = BestImage()
    drive(callback, model, [{"loss": 1.0}, {"loss": 0.5}])
    drive(callback, model, [{"loss": 0.7}])
    # The second fit found nothing better: the first fit's epoch-2 image stays.
    assert callback.best == 0.5 and callback.best_epoch == 2
    np.testing.assert_allclose(model.generated_image_array(), 0.1, atol=1e-6)


def test_best_image_through_coarse_to_fine_stylize(tiny_content, tiny_style):
    from nst_keras.stylize import stylize

    callback = BestImage()
    result = stylize(tiny_content, tiny_style, network="vgg16", weights=None, scales=[24, 48],
                     epochs=2, steps_per_epoch=2, callbacks=[callback])
    assert callback.best_image.shape[1:3] == result.image.shape[:2] == (32, 48)
