"""Photo pipelines: random crops of any photo, bad files skipped and reported once."""

import keras
import numpy as np
import pytest
from PIL import Image

from nst_keras.fast import PhotoError, PhotoReport, StyleNetwork, StyleNetworkTrainer, photo_dataset, tfds_photo_dataset


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    # Landscape, portrait, square and one smaller than the crop (it is enlarged).
    for name, (height, width) in {"a.png": (40, 60), "b.jpg": (70, 36), "c.png": (48, 48), "d.jpg": (20, 50)}.items():
        Image.fromarray((rng.random((height, width, 3)) * 255).astype("uint8")).save(tmp_path / name)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("not a photo")
    return tmp_path


def test_batches_of_random_crops_and_bad_files_reported_once(folder):
    report = PhotoReport()
    dataset = photo_dataset(folder, size=32, batch_size=3, seed=0, report=report)
    assert dataset.report is report
    batches = [b.numpy() for b in dataset.take(8)]  # 24 crops: several passes over 4 good files
    assert all(b.shape == (3, 32, 32, 3) and b.dtype == np.float32 for b in batches)
    assert min(b.min() for b in batches) >= 0.0 and max(b.max() for b in batches) <= 1.0
    assert report.files == 6
    assert sorted((p.split("/")[-1], reason) for p, reason in report.skipped) == [
        ("empty.jpg", "empty file"), ("notes.jpg", "not an image (unrecognised format)")]
    assert [(p.split("/")[-1], note) for p, note in report.notes] == [
        ("d.jpg", "50x20 px: enlarged 1.6x for the 32 px crops")]


def test_one_pass_without_repeat(folder):
    dataset = photo_dataset(folder, size=16, batch_size=2, repeat=False, shuffle=False, flip=False)
    assert sum(1 for _ in dataset) == 2  # 4 good files, full batches of 2


def test_a_list_of_files_and_one_file(folder):
    files = [folder / "a.png", str(folder / "b.jpg")]
    assert next(iter(photo_dataset(files, size=24, batch_size=2))).shape == (2, 24, 24, 3)
    assert next(iter(photo_dataset(folder / "c.png", size=24, batch_size=1))).shape == (1, 24, 24, 3)


def test_no_usable_file_is_refused_before_any_decoding(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("x")
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(PhotoError) as caught:
        photo_dataset(tmp_path, size=16, batch_size=1)
    assert str(caught.value) == (
        f"{tmp_path}: no photo to train on: dot.png: 1x1 px: too small for the 16 px crops (they would enlarge it "
        "16x; at most 4x); empty.jpg: empty file; notes.jpg: not an image (unrecognised format)")


def test_photos_that_stop_decoding_end_the_pipeline_instead_of_failing_it(folder):
    dataset = photo_dataset(folder, size=16, batch_size=1)
    for name in ("a.png", "b.jpg", "c.png", "d.jpg"):
        (folder / name).write_bytes(b"gone")
    assert list(dataset) == []  # endless while the photos decode; ends when a whole pass fails
    assert dataset.report.exhausted == "none of the 4 photo files could be decoded any more"


@pytest.mark.parametrize("kwargs, message", [
    (dict(size=0), "Received: size=0"),
    (dict(batch_size=1.5), "Received: batch_size=1.5"),
    (dict(scale_range=(0.5, 1.0)), "Received: scale_range=(0.5, 1.0)"),
])
def test_bad_arguments_are_refused(folder, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        photo_dataset(folder, **kwargs)


def test_an_empty_folder_or_a_missing_path_is_refused(tmp_path):
    with pytest.raises(PhotoError, match="no image files in the folder"):
        photo_dataset(tmp_path)
    with pytest.raises(ValueError, match="which does not exist"):
        photo_dataset(tmp_path / "missing")


@pytest.mark.slow
def test_training_on_a_folder_with_bad_files(folder):
    keras.utils.set_random_seed(0)
    trainer = StyleNetworkTrainer(
        StyleNetwork(filters=4, residual_blocks=1), np.random.default_rng(0).random((32, 32, 3)),
        network="vgg16", weights=None, style_layer_names=["block1_conv1"], content_layer_names=["block1_conv2"],
    )
    trainer.compile()
    dataset = photo_dataset(folder, size=32, batch_size=2, seed=0)
    history = trainer.fit(dataset, epochs=2, steps_per_epoch=3, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert len(dataset.report.skipped) == 2


def test_tfds_pipeline_on_mock_data():
    tfds = pytest.importorskip(
        "tensorflow_datasets", reason="tensorflow_datasets is not installed, and no TFDS dataset is available offline")
    # mock_data fills the dataset's own feature spec with random examples: no download.
    with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
        dataset = tfds_photo_dataset("tf_flowers", size=24, batch_size=2, seed=0)
        batches = [b.numpy() for b in dataset.take(4)]
    assert all(b.shape == (2, 24, 24, 3) and b.dtype == np.float32 for b in batches)
    assert min(b.min() for b in batches) >= 0.0 and max(b.max() for b in batches) <= 1.0


@pytest.mark.slow
def test_fit_stops_with_a_photo_error_when_the_photos_run_out(folder):
    keras.utils.set_random_seed(0)
    trainer = StyleNetworkTrainer(
        StyleNetwork(filters=4, residual_blocks=1), np.random.default_rng(0).random((32, 32, 3)),
        network="vgg16", weights=None, style_layer_names=["block1_conv1"], content_layer_names=["block1_conv2"],
    )
    trainer.compile()
    dataset = photo_dataset(folder, size=32, batch_size=1, seed=0)
    ended = []

    class Break(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ended.append(epoch)
            for name in ("a.png", "b.jpg", "c.png", "d.jpg"):
                (folder / name).write_bytes(b"gone")

    with pytest.raises(PhotoError, match="none of the 4 photo files could be decoded any more"):
        trainer.fit(dataset, epochs=4, steps_per_epoch=2, verbose=0, callbacks=[Break()])
    # Crops decoded before may fill another epoch; the short epoch reaches no callback after the check.
    assert 1 <= len(ended) < 4
