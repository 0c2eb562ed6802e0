"""Every stylisation setting, once: its default, allowed values, help text and check.

Three frozen dataclasses hold them:

- :class:`LossSettings`: the objective and the model (loss weights, layers,
  pooling, initial image). ``StyleTransferModel`` takes these as flat keyword
  arguments and returns them from ``get_config``; the SavedModel export takes
  them too.
- :class:`RunSettings`: how :func:`nst_keras.stylize` runs the optimisation
  (length, optimizer, coarse-to-fine scales, colour preservation, iterate
  averaging, precision).
- :class:`ImageSettings`: how input files become arrays (output size, style
  size, background under transparency).

:class:`StylizeSettings` bundles the first two. The command line builds its
options from these fields (``metadata["flag"]``, ``["help"]``, ``["choices"]``),
``stylize()`` and batch mode take and return them, and output metadata records
``to_dict()``; a new setting is one new field here plus the code that uses it.

This module imports nothing heavy, so ``nst-keras`` can show its help and check
its inputs before TensorFlow loads.

Example:

>>> from nst_keras.settings import StylizeSettings
>>> s = StylizeSettings.from_kwargs(epochs=4, content_weight=0.3)
>>> s.run.epochs, s.loss.content_weight, s.loss.style_weight
(4, 0.3, 1.0)
>>> StylizeSettings.from_kwargs(init="paint")
Traceback (most recent call last):
...
ValueError: Expected `init` to be one of content, noise, style or network:NETWORK.keras. Received: init='paint'
"""

import dataclasses

from nst_keras import checks, scales as schedules
from nst_keras.settings_base import SettingsGroup, setting
from nst_keras.defaults import (
    MIN_SIDE, CONTENT_LAYER_NAMES, CONTENT_WEIGHT, EMA_DECAY, INIT, INITS, LAYER_WEIGHT_PRESETS, LBFGS_HISTORY_SIZE,
    LBFGS_LEARNING_RATE, LEARNING_RATE, LIGHT_CELLS, LIGHT_WEIGHT, MAX_UPSCALE, MEMORY_FRACTION, MIN_SCALE, OPTIMIZERS,
    OUTPUT_DEPTHS, POOLING, POOLINGS, PRECISION, PRECISIONS, PRESERVE_COLORS, SIZE, STYLE_LAYER_NAMES,
    STYLE_LOSS, STYLE_LOSSES, STYLE_WEIGHT, TEMPORAL_WEIGHT, TOTAL_VARIATION_WEIGHT, EPOCHS, STEPS_PER_EPOCH,
)


@dataclasses.dataclass(frozen=True)
class LossSettings(SettingsGroup):
    """The objective: what the losses compare and how they are weighed.

    These are ``StyleTransferModel``'s keyword arguments (besides the images,
    the network and its weights) and the export's loss settings.

    Example:

    >>> LossSettings(content_weight=0.5).content_weight
    0.5
    """

    style_layer_names: tuple = setting(
        STYLE_LAYER_NAMES, checks.name_list, "VGG layers whose Gram matrices define the style", flag=None)
    content_layer_names: tuple = setting(
        CONTENT_LAYER_NAMES, checks.name_list, "VGG layers whose activations define the content", flag=None)
    style_layer_weights: tuple = setting(
        None, checks.optional(checks.layer_weights(LAYER_WEIGHT_PRESETS)),
        "comma-separated weight per style layer, block1 first, or a preset: 'equal' (the default) or 'fine' "
        "(256:64:16:4:1 for five layers, as crowsonkb/style-transfer-pytorch: fine textures first)",
        parse=checks.parse_layer_weights, metavar="W1,...|PRESET")
    style_loss: str = setting(
        STYLE_LOSS, checks.choice(STYLE_LOSSES),
        "style statistic: 'gram' (Gram matrices, Gatys et al.) or 'wasserstein' (2-Wasserstein distance between "
        "Gaussians fitted to the features: means too, fewer washed-out textures) (default %(default)s)",
        choices=STYLE_LOSSES)
    style_blend_weights: tuple = setting(
        None, checks.optional(checks.blend_weights), "comma-separated weight per style image (default equal)",
        parse=checks.parse_floats, metavar="W1,W2")
    guided_regions: int = setting(
        None, checks.optional(checks.positive_int),
        "regions of the guided style statistics (Gatys et al. 2017), one per style mask, label colour or the "
        "--mask; set from the masks (default None: the whole image has one style)", flag=None)
    content_weight: float = setting(
        CONTENT_WEIGHT, checks.loss_weight, "weight of the content loss (default %(default)s)", parse=float, metavar="W")
    style_weight: float = setting(
        STYLE_WEIGHT, checks.loss_weight, "weight of the style loss (default %(default)s)", parse=float, metavar="W")
    total_variation_weight: float = setting(
        TOTAL_VARIATION_WEIGHT, checks.loss_weight,
        "weight of the total variation loss, against noise (default %(default)s)", flag="--tv-weight", parse=float, metavar="W")
    light_weight: float = setting(
        LIGHT_WEIGHT, checks.loss_weight,
        "weight of a loss on the content's large-scale brightness (luminance averaged over a "
        f"{LIGHT_CELLS}-cell grid): keeps dark areas dark and light areas light (default %(default)s: off)",
        parse=float, metavar="W")
    temporal_weight: float = setting(
        TEMPORAL_WEIGHT, checks.loss_weight,
        "weight of the temporal loss: the result follows the motion of its input (video; Ruder et al. 2016). "
        "With train: on synthetic pairs, each crop moved by a random smooth flow plus noise (Wang et al. 2020), "
        "so that the network stays steady on video (default %(default)s: off)", flag=None, parse=float, metavar="W")
    init: str = setting(
        INIT, checks.init(INITS),
        "start from the content image, noise, the style image, or network:NETWORK.keras, the result of a style "
        "network from nst-keras train (a warm start: far fewer steps to the same loss) (default %(default)s)",
        metavar="|".join(INITS) + "|network:FILE", suggest=INITS)
    seed: int = setting(None, checks.optional(checks.seed), "random seed (noise init)", parse=int, metavar="N")
    pooling: str = setting(POOLING, checks.choice(POOLINGS), "VGG pooling (default %(default)s)", choices=POOLINGS)

    def __post_init__(self):
        super().__post_init__()
        weights = self.style_layer_weights
        if isinstance(weights, tuple) and len(weights) != len(self.style_layer_names):
            raise ValueError(
                "Expected one weight per style layer. Received: "
                f"style_layer_weights={list(self.style_layer_weights)} for {len(self.style_layer_names)} style layers"
            )

    @classmethod
    def weight_names(cls):
        """The loss weights: the fields checked as loss weights (a number, or one per image of a batch).

        Each term of the objective (:mod:`nst_keras.objective`) names one of them.

        Example:

        >>> LossSettings.weight_names()
        ('content_weight', 'style_weight', 'total_variation_weight', 'light_weight', 'temporal_weight')
        """
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata["check"] is checks.loss_weight)

    def require_single_weights(self, reason):
        """Raise ValueError if a loss weight is a list (one per image); ``reason`` says why that cannot run.

        Example:

        >>> LossSettings(style_weight=[1, 2]).require_single_weights("one image at a time")
        Traceback (most recent call last):
        ...
        ValueError: Expected `style_weight` to be one number: one image at a time. Received: style_weight=[1.0, 2.0]
        """
        for name in self.weight_names():
            value = getattr(self, name)
            if isinstance(value, tuple):
                raise ValueError(f"Expected `{name}` to be one number: {reason}. Received: {name}={list(value)}")

    @property
    def layer_weights(self):
        """One weight per style layer: ``style_layer_weights``, its preset's, or equal weights summing to 1.

        Example:

        >>> LossSettings(style_layer_names=("block1_conv1", "block2_conv1")).layer_weights
        (0.5, 0.5)
        >>> LossSettings(style_layer_weights="fine").layer_weights[:2]
        (0.750733137829912, 0.187683284457478)
        """
        count = len(self.style_layer_names)
        weights = self.style_layer_weights
        if weights == "fine":
            weights = tuple(4.0 ** (count - 1 - index) for index in range(count))
            return tuple(w / sum(weights) for w in weights)
        if weights is None or weights == "equal":
            return (1.0 / count,) * count
        return weights


@dataclasses.dataclass(frozen=True)
class RunSettings(SettingsGroup):
    """How :func:`nst_keras.stylize` runs: length, optimizer, scales, colour, averaging, precision.

    :meth:`resolved` fills in what the defaults leave open (the learning rate
    of the chosen optimizer, the coarse-to-fine schedule, the precision this
    machine runs), so what ran can be recorded.

    Example:

    >>> RunSettings(scales="auto").resolved(512).scales
    (128, 256, 512)
    """

    epochs: int = setting(EPOCHS, checks.positive_int, "epochs of optimisation (default %(default)s)", parse=int, metavar="N")
    steps_per_epoch: int = setting(
        STEPS_PER_EPOCH, checks.positive_int, "optimisation steps per epoch (default %(default)s)", parse=int, metavar="N")
    learning_rate: float = setting(
        None, checks.optional(checks.non_negative),
        f"step size: Adam's in pixel units of [0, 1] (default {LEARNING_RATE}), "
        f"L-BFGS's along its direction (default {LBFGS_LEARNING_RATE})", parse=float, metavar="LR")
    optimizer: str = setting(
        "adam", checks.choice(OPTIMIZERS, instance_of="a keras.optimizers.Optimizer"),
        "'adam' or 'lbfgs' (L-BFGS without line search, as jcjohnson/neural-style) (default %(default)s)",
        choices=OPTIMIZERS)
    history_size: int = setting(
        LBFGS_HISTORY_SIZE, checks.positive_int, "L-BFGS curvature pairs kept (default %(default)s)", parse=int, metavar="N")
    scales: tuple = setting(
        None, checks.scales,
        "coarse-to-fine: comma-separated long sides ending at --size, e.g. 128,256,512, "
        f"'auto' (halve --size down to {MIN_SCALE} px) or 'sqrt2' (steps of sqrt(2) down to {MIN_SCALE} px); "
        "Adam's moments carry over from scale to scale; default one scale",
        parse=checks.parse_scales, metavar="SIZES")
    epochs_per_scale: tuple = setting(
        None, checks.optional(checks.list_of(checks.positive_int, "integers >= 1")),
        "comma-separated epochs at each scale (default: --epochs at the coarsest, "
        "halving each time the size doubles; steps = epochs x --steps-per-epoch)", parse=checks.parse_ints, metavar="EPOCHS")
    preserve_color: str = setting(
        "none", checks.choice(PRESERVE_COLORS, off="none"),
        "keep the content's colours: 'luminance' (the result's luminance with the content's chroma) or "
        "'histogram' (style recoloured to the content's colour statistics first) (default %(default)s)",
        choices=PRESERVE_COLORS, aliases=("--preserve-colour",))
    ema_decay: float = setting(
        EMA_DECAY, checks.decay,
        "decay of the iterate average that is output (default %(default)s; --no-average for the last iterate)",
        parse=float, metavar="DECAY")
    precision: str = setting(
        PRECISION, checks.choice(PRECISIONS),
        "precision of the VGG convolutions (with --network: the network's): 'auto' uses bfloat16 where the "
        "CPU (AVX512_BF16 or AMX) or GPU (compute capability 8.0+) computes it natively, float32 elsewhere; "
        "the losses stay float32 "
        "(default %(default)s)", choices=PRECISIONS)
    tile_size: int = setting(
        None, checks.optional(checks.positive_int),
        "compute every step in tiles of at most PX pixels a side: the same result, memory bounded by the tile "
        "(default: the whole image at once, unless --memory-limit says otherwise)", parse=int, metavar="PX")
    mask_feather: float = setting(
        0.0, checks.non_negative,
        "soften the edges of --mask, --style-mask and label maps over PX pixels of the output: the mask's inward, "
        "so that black stays the photo's, the styles' into each other (default %(default)s: as drawn)",
        parse=float, metavar="PX")
    memory_limit: float = setting(
        None, checks.optional(checks.non_negative),
        "largest estimated memory a step may take, in GiB: above it (and without --tile-size) steps are tiled "
        f"automatically (default: {MEMORY_FRACTION:.0%}% of the memory available when the run starts: the GPU's on a "
        "GPU)", parse=float, metavar="GIB")

    @property
    def total_epochs(self):
        """Epochs over all scales.

        Example:

        >>> RunSettings(epochs=10, scales=(128, 256, 512), epochs_per_scale=(10, 5, 3)).total_epochs
        18
        """
        return sum(self.epochs_per_scale) if self.epochs_per_scale else self.epochs

    def resolved(self, long_side, precision=None):
        """A copy with the learning rate, scales, epochs per scale and (optionally) precision decided.

        Args:
            long_side: the output's long side in pixels (``"auto"`` scales
                halve it down to ``MIN_SCALE``).
            precision: a function mapping ``"auto"`` to a dtype policy name
                (``nst_keras.precision.resolve_precision``); ``None`` leaves
                ``precision`` as it is.

        Resolving twice gives the same settings.

        Example:

        >>> r = RunSettings(scales="auto", epochs=8).resolved(512)
        >>> r.scales, r.epochs_per_scale, r.learning_rate
        ((128, 256, 512), (8, 4, 2), 0.02)
        """
        learning_rate = self.learning_rate
        if learning_rate is None and isinstance(self.optimizer, str):
            learning_rate = LBFGS_LEARNING_RATE if self.optimizer == "lbfgs" else LEARNING_RATE
        scales, epochs, epochs_per_scale = schedules.resolve_schedule(
            self.scales, self.epochs, self.epochs_per_scale, long_side)
        return self.replace(
            learning_rate=learning_rate,
            scales=scales,
            epochs=epochs,
            epochs_per_scale=epochs_per_scale,
            precision=self.precision if precision is None else precision(self.precision),
        )


@dataclasses.dataclass(frozen=True)
class ImageSettings(SettingsGroup):
    """How files are read and written: output size, style size, background under transparency, bit depth.

    Example:

    >>> ImageSettings(size=256).size
    256
    """

    size: int = setting(
        SIZE, checks.positive_int, "long side of the output in pixels, aspect ratio kept (default %(default)s)",
        parse=int, metavar="PX")
    style_scale: float = setting(
        1.0, checks.non_negative, "style image's long side relative to the output's (default %(default)s)", parse=float,
        metavar="F")
    background: str = setting(
        "white", checks.background, "colour under transparent areas of the inputs (default %(default)s)", metavar="COLOR")
    output_depth: int = setting(
        8, checks.choice(OUTPUT_DEPTHS), "bits per channel of the output: 16 writes a 48-bit PNG or TIFF (default %(default)s)",
        parse=int, choices=OUTPUT_DEPTHS)
    max_upscale: float = setting(
        MAX_UPSCALE, checks.non_negative,
        "the most --size may enlarge the content's long side; more is refused, and more than "
        f"{MAX_UPSCALE}x (when allowed) prints a warning (default %(default)s)", parse=float, metavar="F")


    def style_size(self, long_side):
        """The long side a style image is loaded at for an output of long side ``long_side``.

        Example:

        >>> ImageSettings(style_scale=0.5).style_size(512), ImageSettings(style_scale=0.01).style_size(512)
        (256, 32)
        """
        return max(MIN_SIDE, round(long_side * self.style_scale))


@dataclasses.dataclass(frozen=True)
class StylizeSettings:
    """Everything :func:`nst_keras.stylize` needs besides the images and the weights.

    Example:

    >>> s = StylizeSettings.from_kwargs(style_weight=2.0, epochs=3)
    >>> s.loss.style_weight, s.run.epochs
    (2.0, 3)
    >>> s.to_dict()["style_weight"]
    2.0
    """

    loss: LossSettings = dataclasses.field(default_factory=LossSettings)
    run: RunSettings = dataclasses.field(default_factory=RunSettings)

    @classmethod
    def from_kwargs(cls, base=None, **kwargs):
        """Build from flat keyword arguments, each routed to the part that owns it.

        Args:
            base: settings to start from (default: the defaults).
            **kwargs: fields of :class:`LossSettings` or :class:`RunSettings`.

        Raises:
            TypeError: a name that is no setting.
            ValueError: a value that fails its check.

        Example:

        >>> StylizeSettings.from_kwargs(pooling="avg").loss.pooling
        'avg'
        """
        base = base or cls()
        parts = {"loss": {}, "run": {}}
        for name, value in kwargs.items():
            part = "loss" if name in LossSettings.names() else "run" if name in RunSettings.names() else None
            if part is None:
                raise TypeError(
                    f"Expected stylisation settings among {LossSettings.names() + RunSettings.names()}. "
                    f"Received: {name}={value!r}"
                )
            parts[part][name] = value
        return cls(loss=base.loss.replace(**parts["loss"]), run=base.run.replace(**parts["run"]))

    def to_dict(self):
        """Every setting in one flat JSON-ready dict.

        Example:

        >>> sorted(StylizeSettings().to_dict())[:2]
        ['content_layer_names', 'content_weight']
        """
        return {**self.loss.to_dict(), **self.run.to_dict()}


def parse_text(cls, name, text):
    """Convert command-line ``text`` to the checked value of setting ``name`` of ``cls``.

    Raises ValueError with the reason.

    Example:

    >>> parse_text(RunSettings, "scales", "128,256")
    (128, 256)
    >>> parse_text(LossSettings, "content_weight", "0.3")
    0.3
    >>> parse_text(ImageSettings, "size", "512px")
    Traceback (most recent call last):
    ...
    ValueError: Expected `size` to be an integer >= 1. Received: size='512px'
    """
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    parse = field.metadata["parse"] or str
    try:
        value = parse(text)
    except ValueError:
        # The check, given the text itself, says what the setting expects.
        field.metadata["check"](name, text)
        raise checks.error(name, "a valid value", text) from None
    return field.metadata["check"](name, value)
