"""What a running job tells whoever watches it: one small event type, no printing.

The library never prints. A job (:func:`nst_keras.stylize`,
:class:`nst_keras.jobs.StylizeJob`) calls ``on_event(event)`` when it decides
something a person may want to know (which weights, which precision, tiles,
what it is about to do, what it wrote); the command line prints
``event.message``, a web page shows it, a test collects it.

Example:

>>> seen = []
>>> emit(seen.append, "precision", "precision: float32", precision="float32")
>>> seen[0].kind, seen[0].data
('precision', {'precision': 'float32'})
>>> emit(None, "precision", "nobody listens")
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Event:
    """One thing a job reports.

    Attributes:
        kind: what it is about: ``"note"`` (a remark about the weights),
            ``"weights"``, ``"precision"``, ``"tiles"``, ``"start"``,
            ``"saved"``.
        message: one line for a person.
        data: the same as values, for programs.

    Example:

    >>> Event("tiles", "tiles: 512 px", {"tile_size": 512}).message
    'tiles: 512 px'
    """

    kind: str
    message: str
    data: dict = dataclasses.field(default_factory=dict)


def emit(on_event, kind, message, **data):
    """Call ``on_event(Event(kind, message, data))`` unless ``on_event`` is ``None``.

    Example:

    >>> emit(print, "saved", "wrote out.png", path="out.png")
    Event(kind='saved', message='wrote out.png', data={'path': 'out.png'})
    """
    if on_event is not None:
        on_event(Event(kind, message, dict(data)))
