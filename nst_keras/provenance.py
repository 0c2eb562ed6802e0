"""What every output records about how it was made: software, network, weights, settings.

Images (PNG text, EXIF), batch reports and SavedModel exports all record this
one dict, so a result can always be traced to the network and weights that
made it.

Example:

>>> record = provenance("vgg16", "random initialisation", {"epochs": 2})
>>> record["network"], record["settings"]
('vgg16', '{"epochs": 2}')
"""

import json

from nst_keras import __version__


def provenance(network, weights, settings=None, **extra):
    """A dict of text: ``Software``, ``network``, ``weights``, ``settings`` (JSON) and ``extra``.

    Args:
        network: the VGG network that ran (``"vgg19"`` or ``"vgg16"``).
        weights: where its weights came from, as a sentence.
        settings: a JSON-ready dict of the settings (``StylizeSettings.to_dict()``).
        **extra: more text fields (``content_image=...``).

    Example:

    >>> provenance("vgg19", "ImageNet", content_image="photo.jpg")["Software"].startswith("nst_keras ")
    True
    """
    record = {"Software": f"nst_keras {__version__}", "network": network, "weights": weights}
    if settings is not None:
        record["settings"] = json.dumps(settings, sort_keys=True)
    record.update(extra)
    return record
