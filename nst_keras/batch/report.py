"""What a batch run tells its caller: one report per output, progress events, the JSON report.

Library code never prints: progress goes to an ``on_progress`` callable as
:class:`Progress` events, results to the :class:`BatchReport`. Every message
is one line that names the file it is about.

Example:

>>> report = BatchReport(source="photos", output_dir="out")
>>> report.items.append(ItemReport("a.jpg", "wave", "out/a.jpg__wave.png", "done"))
>>> report.summary()
'1 done, 0 failed, 0 skipped'
"""

import dataclasses
import json

import nst_keras
from nst_keras.files import atomic_write

STATUSES = ("done", "failed", "skipped")


@dataclasses.dataclass
class ItemReport:
    """The result for one output (or one unreadable content image).

    ``status`` is ``"done"``, ``"failed"`` or ``"skipped"``. A content image
    that cannot be read is one failed item with ``style`` None, whatever the
    number of styles. ``seconds`` is its share of decode, optimisation and
    save time; ``losses`` the final image's weighted losses; ``warnings``
    one-line remarks about its input that did not stop it (an animated
    file's first frame was used).

    Example:

    >>> ItemReport("a.jpg", "wave", "out/a.jpg__wave.png", "skipped", "output exists").to_dict()["status"]
    'skipped'
    """

    content: str
    style: str | None
    output: str | None
    status: str
    reason: str | None = None
    seconds: float = 0.0
    losses: dict | None = None
    warnings: list = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict.

        Example:

        >>> sorted(ItemReport("a.jpg", None, None, "failed", "empty file").to_dict())[:3]
        ['content', 'losses', 'output']
        """
        return dataclasses.asdict(self)

    def line(self) -> str:
        """``"content[ (style S)]: reason"``, as the failure list shows it.

        Example:

        >>> ItemReport("b.jpg", None, None, "failed", "empty file").line()
        'b.jpg: empty file'
        """
        style = f" (style {self.style})" if self.style else ""
        return f"{self.content}{style}: {self.reason}"


def _duration(seconds):
    if seconds is None:
        return "--"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclasses.dataclass
class BatchReport:
    """What a batch run did: one :class:`ItemReport` per output, in order.

    ``interrupted`` is True after Ctrl-C (or SIGTERM turned into one by the
    caller); ``stopped_early`` after the first failure with ``fail_fast``.
    ``settings``: the stylisation and image settings (JSON-ready) with the
    network, its weights and the batch size.

    Example:

    >>> report = BatchReport(source="photos", output_dir="out")
    >>> report.items.append(ItemReport("a.jpg", "wave", "out/a.jpg__wave.png", "done"))
    >>> report.summary(), report.ok
    ('1 done, 0 failed, 0 skipped', True)
    """

    source: str
    output_dir: str
    styles: list = dataclasses.field(default_factory=list)
    shard: tuple | None = None
    items: list = dataclasses.field(default_factory=list)
    total: int | None = None
    interrupted: bool = False
    stopped_early: bool = False
    seconds: float = 0.0
    settings: dict = dataclasses.field(default_factory=dict)

    def _with(self, status):
        return [item for item in self.items if item.status == status]

    @property
    def done(self) -> list[ItemReport]:
        """Items written by this run."""
        return self._with("done")

    @property
    def failed(self) -> list[ItemReport]:
        """Items that failed, each with a ``reason``."""
        return self._with("failed")

    @property
    def skipped(self) -> list[ItemReport]:
        """Outputs that already existed."""
        return self._with("skipped")

    @property
    def ok(self) -> bool:
        """True when nothing failed and the run was not interrupted or stopped."""
        return not self.failed and not self.interrupted and not self.stopped_early

    def summary(self) -> str:
        """``"N done, M failed, K skipped"``."""
        return f"{len(self.done)} done, {len(self.failed)} failed, {len(self.skipped)} skipped"

    def failure_lines(self) -> list[str]:
        """One :meth:`ItemReport.line` per failure.

        Example:

        >>> report = BatchReport(source="photos", output_dir="out")
        >>> report.items.append(ItemReport("b.jpg", None, None, "failed", "empty file"))
        >>> report.failure_lines()
        ['b.jpg: empty file']
        """
        return [item.line() for item in self.failed]

    def to_dict(self) -> dict:
        """A JSON-ready dict: counts, settings and every item (the report file).

        Example:

        >>> BatchReport(source="photos", output_dir="out").to_dict()["counts"]
        {'done': 0, 'failed': 0, 'skipped': 0, 'total': None}
        """
        return {
            "nst_keras": nst_keras.__version__,
            "source": self.source,
            "output_dir": self.output_dir,
            "styles": list(self.styles),
            "shard": None if self.shard is None else f"{self.shard[0]}/{self.shard[1]}",
            "counts": {"done": len(self.done), "failed": len(self.failed), "skipped": len(self.skipped),
                       "total": self.total},
            "interrupted": self.interrupted,
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 3),
            "settings": self.settings,
            "items": [item.to_dict() for item in self.items],
        }

    def write_json(self, path) -> None:
        """Write :meth:`to_dict` to ``path`` atomically (:func:`nst_keras.files.atomic_write`).

        Example:

        >>> report.write_json("report.json")                         # doctest: +SKIP
        """
        with atomic_write(path, "w") as fp:
            json.dump(self.to_dict(), fp, indent=2)
            fp.write("\n")


@dataclasses.dataclass
class Progress:
    """A progress event passed to ``on_progress``.

    ``event``: ``"start"`` (the plan is known), ``"stylizing"`` (an
    optimisation begins: ``contents``, ``style``, ``size``), ``"item"`` (an
    output finished: ``item``), ``"warning"`` (``message``: one line naming
    the file, e.g. an animated image whose first frame is used), ``"end"``.
    ``processed`` counts outputs accounted for (done, failed, skipped; an
    unreadable content counts once per style) out of ``total`` (None when
    unknown).

    Example:

    >>> Progress("item", processed=3, total=10, done=2, failed=1, eta=40).line()
    '[3/10] 2 done, 1 failed, 0 skipped, ETA 40s'
    >>> Progress("warning", message="anim.gif: animated or multi-page image; only the first frame is used").line()
    'anim.gif: animated or multi-page image; only the first frame is used'
    """

    event: str
    processed: int = 0
    total: int | None = None
    done: int = 0
    failed: int = 0
    skipped: int = 0
    elapsed: float = 0.0
    eta: float | None = None
    item: ItemReport | None = None
    contents: list | None = None
    style: str | None = None
    size: tuple | None = None
    message: str | None = None

    def line(self) -> str:
        """The line to show: the overall progress, or a warning's message."""
        if self.event == "warning":
            return self.message
        total = "?" if self.total is None else self.total
        text = (f"[{self.processed}/{total}] {self.done} done, {self.failed} failed, "
                f"{self.skipped} skipped, ETA {_duration(self.eta)}")
        if self.event == "stylizing":
            what = ", ".join(self.contents[:3]) + (f" and {len(self.contents) - 3} more" if len(self.contents) > 3 else "")
            text += f"; stylising {what} with {self.style} at {self.size[1]}x{self.size[0]}"
        return text
