"""Plans: sharding, output names per content, refusals before any work (nst_keras.batch.plan)."""

import pytest

from nst_keras import batch, images

try:
    from ._batch_corpus import messy_folder, style, write_image  # noqa: F401 (fixtures)
except ImportError:
    from _batch_corpus import messy_folder, style, write_image  # noqa: F401 (fixtures)


def test_shard_split_is_complete_and_disjoint(tmp_path, rng, style):
    root = tmp_path / "many"
    for index in range(11):
        write_image(root / f"{index:02d}.png", rng, (8, 8))
    full = batch.plan_directory(root, [style], tmp_path / "out")
    names = [item.name for item in full.contents]
    assert names == sorted(names) and len(names) == 11
    for count in (1, 2, 3, 4, 11, 12):
        shards = [batch.plan_directory(root, [style], tmp_path / "out", shard=f"{i}/{count}") for i in range(count)]
        parts = [[item.name for item in plan.contents] for plan in shards]
        assert sorted(sum(parts, [])) == names                    # complete, nothing twice
        assert all(part == names[i::count] for i, part in enumerate(parts))
    assert [item.name for item in batch.plan_directory(root, [style], tmp_path / "out", shard=(1, 4)).contents] \
        == names[1::4]
    for bad in ["2/2", "-1/2", "1", "a/b", "0/0"]:
        with pytest.raises(batch.BatchError, match=r"^Expected `shard` .* Received: shard="):
            batch.parse_shard(bad)
    with pytest.raises(batch.BatchError):
        batch.plan_directory(root, [style], tmp_path / "out", shard=(3, 3))


def test_plan_names_every_output_and_keeps_discovery_errors(tmp_path, messy_folder, style):
    plan = batch.plan_directory(messy_folder, [style], tmp_path / "out", output_format="webp")
    items = {item.name: item for item in plan.contents}
    assert items["a.jpg"].outputs == (str(tmp_path / "out" / "a.jpg__wave.webp"),)
    assert items["dangling.jpg"].error == "broken symbolic link"
    assert plan.total_outputs == len(plan.contents) == plan.found and plan.tfds is None
    assert str(messy_folder / "a.jpg") in plan.inputs


def test_refusals_name_the_parameter(tmp_path, messy_folder, style):
    out = tmp_path / "out"
    bogus = tmp_path / "bogus.jpg"
    bogus.write_text("no")
    with pytest.raises(batch.BatchError, match="no such folder"):
        batch.plan_directory(tmp_path / "nope", [style], out)
    with pytest.raises(batch.BatchError, match=r"Expected at least one style image"):
        batch.plan_directory(messy_folder, [], out)
    with pytest.raises(images.ImageError, match="bogus.jpg: not an image"):
        batch.plan_directory(messy_folder, [str(bogus)], out)
    with pytest.raises(batch.BatchError, match="is the content folder"):
        batch.plan_directory(messy_folder, [style], messy_folder)
    with pytest.raises(batch.BatchError, match=r"Received: output_format='gif'"):
        batch.plan_directory(messy_folder, [style], out, output_format="gif")
    (tmp_path / "file").write_text("x")
    with pytest.raises(batch.BatchError, match="exists and is not a folder"):
        batch.plan_directory(messy_folder, [style], tmp_path / "file")
    with pytest.raises(batch.BatchError, match="is not a directory"):
        batch.plan_directory(messy_folder, [style], tmp_path / "file" / "deeper")
    with pytest.raises(batch.BatchError, match=r"Expected `dataset` .* Received: dataset=' '"):
        batch.parse_tfds_name(" ")
    assert not out.exists()


def test_a_single_style_path_is_accepted(tmp_path, messy_folder, style):
    assert batch.plan_directory(messy_folder, style, tmp_path / "out").labels == ["wave"]


def test_tfds_plan_counts_and_names(tmp_path, style):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
        plan = batch.plan_tfds("tf_flowers:train", [style], tmp_path / "out", shard="1/2")
        assert plan.source == "tfds:tf_flowers:train"
        assert plan.tfds.image_key == "image" and plan.tfds.split == "train"
        assert plan.outputs_for("0000003") == (str(tmp_path / "out" / "0000003__wave.png"),)
        with pytest.raises(batch.BatchError, match=r"\['image'\]. Received: image_key='photo'"):
            batch.plan_tfds("tf_flowers", [style], tmp_path / "out", image_key="photo")


def test_a_network_plan_names_outputs_after_the_network(tmp_path, rng, style):
    root = tmp_path / "photos"
    write_image(root / "a.png", rng, (8, 8))
    network = tmp_path / "starry.keras"
    network.write_bytes(b"PK")
    plan = batch.plan_directory(root, [], tmp_path / "out", network=network)
    assert plan.styles == [str(network)] and plan.labels == ["starry"]
    assert plan.contents[0].outputs == (str(tmp_path / "out" / "a.png__starry.png"),)
    with pytest.raises(batch.BatchError, match="no such network file"):
        batch.plan_directory(root, [], tmp_path / "out", network=tmp_path / "missing.keras")
    with pytest.raises(batch.BatchError, match="Expected no style images with a network"):
        batch.plan_directory(root, [style], tmp_path / "out", network=network)
