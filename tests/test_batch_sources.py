"""Content records from folders and TFDS splits (nst_keras.batch.sources)."""

import numpy as np
import pytest

from nst_keras import batch, image_sources, images
from nst_keras.batch import sources
from nst_keras.settings import ImageSettings

try:
    from ._batch_corpus import BAD, GOOD, messy_folder, style, write_animation, write_image  # noqa: F401
except ImportError:
    from _batch_corpus import BAD, GOOD, messy_folder, style, write_animation, write_image  # noqa: F401


def every_style(name, outputs):
    return list(range(len(outputs)))


def test_folder_records_are_named_and_bad_files_are_data(tmp_path, messy_folder, style):
    write_animation(messy_folder / "anim.gif")
    plan = batch.plan_directory(messy_folder, [style], tmp_path / "out")
    records = list(sources.folder_records(plan, ImageSettings(size=32), every_style))
    by_name = {record.name: record for record in records}
    assert sorted(by_name) == sorted(GOOD + list(BAD) + ["anim.gif"])
    assert [record.name for record in records[:2]] == ["dangling.jpg", "loop.jpg"]   # known before decoding
    for name, reason in BAD.items():
        assert not by_name[name].ok and reason in by_name[name].error and by_name[name].pixels is None
    for name in GOOD:
        record = by_name[name]
        assert record.ok and record.shape == (32, 40, 3) and record.pixels.dtype == np.float32
        assert record.outputs == (str(tmp_path / "out" / f"{name}__wave.png"),) and record.pending == (0,)
        assert record.seconds > 0 and record.notes == ()
    assert by_name["anim.gif"].notes == (images.ANIMATED_NOTE,)


def test_pending_decides_what_is_decoded(tmp_path, rng, style):
    for name in ("a.png", "b.png"):
        write_image(tmp_path / "photos" / name, rng)
    plan = batch.plan_directory(tmp_path / "photos", [style], tmp_path / "out")
    records = list(sources.folder_records(plan, ImageSettings(size=32), lambda name, outputs: [0] * (name == "b.png")))
    assert [record.name for record in records] == ["b.png"]


def test_batch_size_brings_one_working_size_together(tmp_path, rng, style):
    for name, size in (("a.png", (40, 32)), ("b.png", (32, 40)), ("c.png", (40, 32))):
        write_image(tmp_path / "photos" / name, rng, size)
    plan = batch.plan_directory(tmp_path / "photos", [style], tmp_path / "out")
    records = sources.folder_records(plan, ImageSettings(size=32), every_style, batch_size=2)
    assert [record.name for record in records] == ["a.png", "c.png", "b.png"]


def test_stale_temporary_files_of_pending_outputs_are_removed(tmp_path):
    (tmp_path / ".a.png.0123456789ab.tmp").write_bytes(b"partial")
    (tmp_path / ".other.png.0123456789ab.tmp").write_bytes(b"someone else's")
    sources.remove_stale_temp_files([str(tmp_path / "a.png")])
    assert [p.name for p in tmp_path.iterdir()] == [".other.png.0123456789ab.tmp"]


def test_tfds_examples_are_decoded_in_memory(tmp_path, style, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    seen = []
    decode_image = images.decode_image

    def spy(source, *args, **kwargs):
        seen.append(type(source))
        return decode_image(source, *args, **kwargs)

    with tfds.testing.mock_data(num_examples=3, policy=tfds.testing.MockPolicy.USE_CODE):
        plan = batch.plan_tfds("tf_flowers:train", [style], tmp_path / "out")
        monkeypatch.setattr(images, "decode_image", spy)
        monkeypatch.setattr(image_sources, "_open_readable", lambda path: pytest.fail(f"a file was read: {path}"))
        records = list(sources.tfds_records(plan, ImageSettings(size=32), every_style))
    assert [record.name for record in records] == ["0000000", "0000001", "0000002"]
    assert [(record.error, min(record.shape[:2]) >= 32) for record in records] == [(None, True)] * 3
    assert seen == [bytes] * 3
    assert list(tmp_path.iterdir()) == [tmp_path / "styles"]       # nothing written


def test_decode_never_raises_for_a_bad_image():
    pixels, error, notes, seconds = sources.decode(b"", ImageSettings(size=32))
    assert pixels.shape == (0, 0, 3) and error == "empty file" and notes == "" and seconds >= 0
