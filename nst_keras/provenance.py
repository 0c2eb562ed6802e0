"""What every output records about how it was made: software, network, weights, settings, inputs.

Images (PNG text, EXIF), batch reports and SavedModel exports all record this
one dict, so a result can always be traced to the network and weights that
made it; images also record where their input files were
(:func:`input_record`), which ``nst-keras sheet`` reads back
(:func:`recorded_inputs`).

Example:

>>> record = provenance("vgg16", "random initialisation", {"epochs": 2})
>>> record["network"], record["settings"]
('vgg16', '{"epochs": 2}')
"""

import json
import os

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


def _entry(path, folder):
    absolute = os.path.abspath(os.fspath(path))
    try:
        relative = os.path.relpath(absolute, folder)
    except ValueError:  # another drive (Windows): no relative path
        relative = None
    return {"name": os.path.basename(absolute), "absolute": absolute, "from_output": relative}


def input_record(output, content=None, styles=()):
    """The text fields that let a reader of ``output`` find its input files again.

    ``content_image`` and ``style_image`` name the files (styles joined by
    ``", "``); ``inputs`` (JSON) holds each one's ``name``, ``absolute`` path
    and path relative to the output's folder (``from_output``), so the inputs
    are found from any working folder, and also after the output moved
    together with its inputs. Record it when the file is written: relative
    paths start from the current folder.

    Args:
        output: the file the record goes into.
        content: the content image file, or ``None``.
        styles: the style image files.

    Example:

    >>> record = input_record("out/result.png", "photos/a.jpg", ["paintings/wave.jpg"])
    >>> record["content_image"], record["style_image"]
    ('a.jpg', 'wave.jpg')
    >>> json.loads(record["inputs"])["content"]["from_output"]
    '../photos/a.jpg'
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(output)))
    record, inputs = {}, {}
    if content is not None:
        inputs["content"] = _entry(content, folder)
        record["content_image"] = inputs["content"]["name"]
    if styles:
        inputs["styles"] = [_entry(path, folder) for path in styles]
        record["style_image"] = ", ".join(entry["name"] for entry in inputs["styles"])
    record["inputs"] = json.dumps(inputs, sort_keys=True)
    return record


def recorded_inputs(metadata, output):
    """Where the inputs named in ``output``'s ``metadata`` were: ``(role, name, candidate paths)`` each.

    ``role`` is ``"content image"`` or ``"style image"``; the candidates are
    the path recorded relative to the output, taken from where ``output`` is
    now, then the absolute path (see :func:`input_record`). Metadata written
    before paths were recorded gives the names alone, without candidates.
    The content comes first, then each style; an input that was not recorded
    is left out.

    Example:

    >>> metadata = input_record("/data/out/result.png", "/data/photos/a.jpg", ["/art/wave.jpg"])
    >>> for role, name, paths in recorded_inputs(metadata, "/moved/out/result.png"):
    ...     print(role, name, paths)
    content image a.jpg ['/moved/photos/a.jpg', '/data/photos/a.jpg']
    style image wave.jpg ['/art/wave.jpg']
    >>> recorded_inputs({"content_image": "a.jpg", "style_image": "b.jpg, c.jpg"}, "out.png")[2]
    ('style image', 'c.jpg', [])
    """
    try:
        inputs = json.loads(metadata.get("inputs") or "{}")
    except ValueError:
        inputs = {}
    folder = os.path.dirname(os.path.abspath(os.fspath(output)))

    def candidates(entry):
        paths = [os.path.normpath(os.path.join(folder, entry["from_output"]))] if entry.get("from_output") else []
        paths += [entry["absolute"]] if entry.get("absolute") else []
        return list(dict.fromkeys(paths))

    found = []
    if isinstance(inputs.get("content"), dict):
        found.append(("content image", inputs["content"].get("name"), candidates(inputs["content"])))
    elif metadata.get("content_image"):
        found.append(("content image", metadata["content_image"], []))
    if isinstance(inputs.get("styles"), list):
        found += [("style image", entry.get("name"), candidates(entry)) for entry in inputs["styles"]]
    elif metadata.get("style_image"):
        found += [("style image", name, []) for name in metadata["style_image"].split(", ")]
    return found
