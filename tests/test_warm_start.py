"""--init network:NETWORK.keras: the optimisation starts from a style network's result."""

import numpy as np
import pytest

from nst_keras import cli
from nst_keras.export import export_saved_model
from nst_keras.fast import StyleNetwork, stylize_with_network
from nst_keras.fast.files import save_network
from nst_keras.model import StyleTransferModel
from nst_keras.settings import LossSettings
from nst_keras.stylize import stylize

LAYERS = dict(style_layer_names=["block1_conv1"], content_layer_names=["block2_conv2"])


@pytest.fixture(scope="module")
def network_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "tiny.keras"
    network = StyleNetwork(filters=4, residual_blocks=1)
    save_network(network, str(path), {"styles": ["tiny.png"]})
    return str(path), network


@pytest.fixture
def images():
    rng = np.random.default_rng(3)
    return rng.random((40, 48, 3), dtype=np.float32), rng.random((32, 32, 3), dtype=np.float32)


def test_the_first_image_is_the_networks_output(network_file, images):
    path, network = network_file
    content, style = images
    model = StyleTransferModel(content, style, network="vgg16", weights=None, init=f"network:{path}", **LAYERS)
    expected = stylize_with_network(network, content)
    np.testing.assert_allclose(model.generated_image_array(), expected, atol=1e-6)
    assert not np.allclose(expected, content, atol=0.05)  # it is not the photo


def test_stylize_starts_its_first_scale_from_the_network(network_file, images, monkeypatch):
    path, _ = network_file
    content, style = images
    result = stylize(content, style, network="vgg16", weights=None, init=f"network:{path}", scales=[24, 48],
                     epochs=1, steps_per_epoch=1, **LAYERS)
    assert result.image.shape == content.shape and result.settings.loss.init == f"network:{path}"


def test_init_names_a_network_file_or_is_refused_before_tensorflow(tmp_path, images, capsys):
    assert LossSettings(init="network:x.keras").init == "network:x.keras"
    with pytest.raises(ValueError, match="network:NETWORK.keras"):
        LossSettings(init="network:")
    content = tmp_path / "c.png"
    from nst_keras.images import save_image

    save_image(str(content), images[0])
    code = cli.main(["stylize", str(content), str(content), "-o", str(tmp_path / "o.png"),
                     "--init", f"network:{tmp_path / 'missing.keras'}"])
    err = capsys.readouterr().err
    assert code == 2 and f"--init network:{tmp_path / 'missing.keras'}: no such file" in err
    assert not (tmp_path / "o.png").exists()


def test_an_export_cannot_start_from_a_network(network_file, tmp_path):
    with pytest.raises(ValueError, match="computes its start inside its graph"):
        export_saved_model(tmp_path / "x", network="vgg16", weights=None, init=f"network:{network_file[0]}")
