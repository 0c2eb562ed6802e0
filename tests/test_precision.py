"""--precision: how 'auto' decides, that the policy reaches the convolutions, and quality kept."""

import sys

import keras
import numpy as np
import pytest
from keras import ops

from nst_keras import cli, precision, settings
from nst_keras.model import StyleTransferModel
from nst_keras.stylize import stylize

# A Sapphire Rapids flags line, cut down, and an AVX2-only EPYC's.
SAPPHIRE_RAPIDS = "fpu sse2 avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile"
ZEN4 = "fpu sse2 avx avx2 avx512f avx512_bf16"
AMX_ONLY = "fpu sse2 avx avx2 amx_bf16 amx_tile"
AVX2_ONLY = "fpu sse2 avx avx2 fma"


@pytest.fixture
def fake_cpu(tmp_path, monkeypatch):
    """Point precision at a fake /proc/cpuinfo with the given flags, on a machine without a GPU."""

    def install(flags, platform="linux"):
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Fake CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
        monkeypatch.setattr(precision, "_CPUINFO", str(cpuinfo))
        monkeypatch.setattr(precision, "gpu_compute_capability", lambda: None)
        monkeypatch.setattr(sys, "platform", platform)

    return install


@pytest.mark.parametrize(
    "flags, expected",
    [(SAPPHIRE_RAPIDS, "mixed_bfloat16"), (ZEN4, "mixed_bfloat16"), (AMX_ONLY, "mixed_bfloat16"),
     (AVX2_ONLY, "float32")],
)
def test_auto_follows_the_cpu_flags(fake_cpu, flags, expected):
    fake_cpu(flags)
    assert precision.resolve_precision("auto") == expected


def test_auto_is_float32_off_linux_and_without_cpuinfo(fake_cpu, monkeypatch, tmp_path):
    fake_cpu(SAPPHIRE_RAPIDS, platform="darwin")
    assert precision.cpu_flags() == set()
    assert precision.resolve_precision("auto") == "float32"
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(precision, "_CPUINFO", str(tmp_path / "missing"))
    assert precision.resolve_precision("auto") == "float32"


@pytest.mark.parametrize("capability, expected", [((8, 0), "mixed_bfloat16"), ((9, 0), "mixed_bfloat16"),
                                                  ((7, 5), "float32"), ((0, 0), "float32")])
def test_auto_on_a_gpu_follows_its_compute_capability_not_the_cpu(fake_cpu, monkeypatch, capability, expected):
    fake_cpu(SAPPHIRE_RAPIDS if expected == "float32" else AVX2_ONLY)
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: capability)
    assert precision.resolve_precision("auto") == expected


def test_explicit_precisions_pass_through_and_bad_ones_are_refused():
    for name in ("float32", "mixed_bfloat16", "mixed_float16"):
        assert precision.resolve_precision(name) == name
    with pytest.raises(ValueError, match="Received: precision='bfloat16'"):
        precision.resolve_precision("bfloat16")
    with pytest.raises(ValueError, match="precision"):
        stylize(np.zeros((32, 32, 3), "float32"), np.zeros((32, 32, 3), "float32"), weights=None,
                network="vgg16", precision="half")


def test_cli_flag_maps_to_stylize_argument():
    parse = cli.build_parser().parse_args
    args = parse(["stylize", "c.jpg", "s.jpg", "-o", "o.png"])
    assert args.precision == settings.PRECISION
    assert cli.stylize_settings(args).run.precision == settings.PRECISION
    args = parse(["stylize", "c.jpg", "s.jpg", "-o", "o.png", "--precision", "mixed_bfloat16"])
    assert cli.stylize_settings(args).run.precision == "mixed_bfloat16"
    with pytest.raises(SystemExit):
        parse(["stylize", "c.jpg", "s.jpg", "-o", "o.png", "--precision", "float64"])


def test_precision_reaches_the_convolutions_and_losses_stay_float32(tiny_content, tiny_style):
    result = stylize(tiny_content, tiny_style, network="vgg16", weights=None, epochs=1, steps_per_epoch=2,
                     precision="mixed_bfloat16")
    model = result.model
    assert model.dtype_policy.name == "mixed_bfloat16"
    convolutions = [layer for layer in model.feature_extractor._vgg.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convolutions and all(layer.compute_dtype == "bfloat16" for layer in convolutions)
    assert all(layer.kernel.dtype == "float32" for layer in convolutions)  # weights kept in float32
    features = model.feature_extractor(model.generated_image)
    assert all(f.dtype == "bfloat16" for f in features["style"].values())
    assert model.generated_image.dtype == "float32"
    assert all(ops.convert_to_numpy(t).dtype == np.float32 for t in model.style_targets + model.content_targets)
    losses = model.compute_losses()
    assert all(value.dtype == "float32" for value in losses.values())
    assert result.image.dtype == np.float32
    # The policy survives the config round trip used by .keras saving.
    assert StyleTransferModel.from_config(model.get_config()).feature_extractor.compute_dtype == "bfloat16"


def _run(content, style, policy, steps):
    keras.utils.set_random_seed(0)  # the same random VGG weights in both runs
    model = StyleTransferModel(content, style, network="vgg16", weights=None, dtype=policy)
    model.compile()
    model.fit(epochs=1, steps_per_epoch=steps, verbose=0)
    return model


# Tolerance of the tiny quality check: the final loss of the bfloat16 run,
# evaluated in float32, within 3 % of the float32 run's (the bar).
QUALITY_TOLERANCE = 0.03


def test_bfloat16_reaches_the_float32_loss(tiny_content, tiny_style):
    steps = 8
    reference = _run(tiny_content, tiny_style, "float32", steps)
    mixed = _run(tiny_content, tiny_style, "mixed_bfloat16", steps)
    for a, b in zip(reference.feature_extractor.weights, mixed.feature_extractor.weights):
        np.testing.assert_array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))
    initial = float(reference.compute_losses(ops.convert_to_tensor(tiny_content[None]))["loss"][0])
    final32 = float(reference.compute_losses()["loss"][0])
    # The bfloat16 run's image, scored by the float32 model (float32 features and targets).
    final16 = float(reference.compute_losses(mixed.generated_image)["loss"][0])
    assert final32 < initial and final16 < initial
    assert abs(final16 - final32) <= QUALITY_TOLERANCE * final32, (initial, final32, final16)
