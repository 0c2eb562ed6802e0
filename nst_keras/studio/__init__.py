"""The studio: a local web page to try photos, paintings and settings, and watch the image form.

``nst-keras studio`` serves one page from this machine (127.0.0.1 by default):
pick or drop a photo and paintings, set the settings (a form generated from
:mod:`nst_keras.settings`), start, and watch each iterate as ``fit`` computes
it; pause, continue or stop; sweep one or two settings into a grid; run a
trained style network in about a second; every result lands in the folder's
gallery with the metadata the command line writes.

- :mod:`~nst_keras.studio.server`: :class:`Studio`, the web server (standard library only);
- :mod:`~nst_keras.studio.queue`: one job at a time, and the events the page follows;
- :mod:`~nst_keras.studio.runners`: each mode over the library's own call;
- :mod:`~nst_keras.studio.progress`: the Keras callback that shows the iterate and pauses or stops;
- :mod:`~nst_keras.studio.fields`: the form from the settings fields;
- :mod:`~nst_keras.studio.folder`: pictures, uploads, results and the gallery;
- :mod:`~nst_keras.studio.security`: Host, origin, path and upload-name rules;
- ``static/``: the page, its script and its style sheet.

Example:

>>> from nst_keras.studio import Studio
>>> studio = Studio("my_pictures", port=0)                    # doctest: +SKIP
>>> studio.serve_forever()                                    # doctest: +SKIP
"""

from nst_keras.lazy import lazy_exports

_EXPORTS = {"Studio": "nst_keras.studio.server"}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
