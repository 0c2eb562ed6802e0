"""One job at a time: the studio's queue, its worker thread and the log of events the page follows.

Jobs run one after another on one worker thread, so two runs never compete
for the same cores; the others wait in the queue, which every page sees.
Everything that happens is appended to an :class:`EventLog`; pages follow it
(Server-Sent Events) and a page opened later, or reopened after its tab was
closed, catches up from it. Closing a tab therefore changes nothing for the
job.

Example:

>>> log = EventLog()
>>> queue = JobQueue(lambda job, report: {"ok": True}, log)
>>> job = queue.submit("stylize", {"content": "photo.jpg"})
>>> queue.join()
True
>>> [event["kind"] for event in log.since(0)]
['queued', 'started', 'done']
>>> queue.close()
True
"""

import collections
import itertools
import threading
import time

# Events kept for pages that (re)connect; older ones are dropped (pages then reload the state).
MAX_EVENTS = 5000
# Finished jobs kept in the queue's list (the gallery keeps every result).
MAX_FINISHED = 20
FINISHED = ("done", "stopped", "failed", "cancelled")


class JobControl:
    """What the page asks of a running job: pause, continue, stop; the callback obeys at the next step.

    Example:

    >>> control = JobControl()
    >>> control.pause(); control.paused
    True
    >>> control.stop(); control.stopped, control.paused
    (True, False)
    """

    def __init__(self):
        self._running = threading.Event()
        self._running.set()
        self._stopped = threading.Event()

    @property
    def paused(self) -> bool:
        """Whether the job is asked to wait."""
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        """Whether the job is asked to end now, keeping its image so far."""
        return self._stopped.is_set()

    def pause(self):
        """Ask the job to wait after its current step."""
        self._running.clear()

    def resume(self):
        """Let a paused job go on."""
        self._running.set()

    def stop(self):
        """Ask the job to end after its current step (a paused one too)."""
        self._stopped.set()
        self._running.set()

    def wait_while_paused(self):
        """Block while the job is paused; return at once otherwise."""
        self._running.wait()


class EventLog:
    """A thread-safe, numbered, bounded list of events (dicts) that readers wait on.

    Example:

    >>> log = EventLog()
    >>> log.append({"kind": "queued"})["seq"]
    1
    >>> log.since(0), log.since(1)
    ([{'kind': 'queued', 'seq': 1}], [])
    """

    def __init__(self, limit=MAX_EVENTS):
        self._events = collections.deque(maxlen=limit)
        self._seq = 0
        self._changed = threading.Condition()
        self.closed = False

    @property
    def last(self) -> int:
        """The number of the latest event (0 before any)."""
        return self._seq

    def append(self, event: dict) -> dict:
        """Number ``event`` (``seq``), keep it and wake the readers; return it."""
        with self._changed:
            self._seq += 1
            event = dict(event, seq=self._seq)
            self._events.append(event)
            self._changed.notify_all()
        return event

    def since(self, seq: int) -> list:
        """The events after number ``seq`` still kept, oldest first."""
        with self._changed:
            return [event for event in self._events if event["seq"] > seq]

    def first(self) -> int:
        """The number of the oldest event still kept (``last + 1`` when none)."""
        with self._changed:
            return self._events[0]["seq"] if self._events else self._seq + 1

    def wait(self, seq: int, timeout: float) -> list:
        """The events after ``seq``, waiting up to ``timeout`` seconds for one; ``[]`` on time-out or close."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > seq or self.closed, timeout)
        return self.since(seq)

    def close(self):
        """Wake every reader for good (the server is stopping)."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()


class Job:
    """One request of the page: its mode, its prepared work, its state and what it made.

    Attributes:
        id: the job's number, as text.
        mode: ``"stylize"``, ``"sweep"`` or ``"fast"``.
        request: what the runner needs (prepared inputs, settings, names).
        state: ``queued``, ``running``, ``paused``, ``done``, ``stopped``,
            ``failed`` or ``cancelled``.
        control: the :class:`JobControl` its run obeys.
        iterates: the latest iterate of each cell, as JPEG bytes.
        result: the record of what it made (``None`` until it ends).

    Example:

    >>> Job("1", "fast", {}).summary()["state"]
    'queued'
    """

    def __init__(self, job_id, mode, request):
        self.id = job_id
        self.mode = mode
        self.request = request
        self.state = "queued"
        self.control = JobControl()
        self.iterates = {}
        self.result = None
        self.error = None
        self.created = time.time()

    def summary(self) -> dict:
        """What the page lists: id, mode, state, a title, the result or the error.

        Example:

        >>> Job("2", "stylize", {"title": "photo.jpg + wave.jpg"}).summary()["title"]
        'photo.jpg + wave.jpg'
        """
        return {"id": self.id, "mode": self.mode, "state": self.state, "title": self.request.get("title", ""),
                "result": self.result, "error": self.error}


class JobQueue:
    """Runs submitted jobs one at a time on a worker thread, reporting to an :class:`EventLog`.

    Args:
        run: ``run(job, report)`` does the work and returns the job's record
            (a dict), or raises; ``report(kind, message="", **data)`` appends
            an event of the job.
        log: the :class:`EventLog`.
        describe_error: turns an exception into the one line the page shows
            (default ``str``); never a traceback.

    Example:

    >>> queue = JobQueue(lambda job, report: {}, EventLog())
    >>> queue.jobs()
    []
    >>> queue.close()
    True
    """

    def __init__(self, run, log, describe_error=str):
        self._run = run
        self.log = log
        self._describe_error = describe_error
        self._jobs = collections.OrderedDict()
        self._waiting = collections.deque()
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._closing = False
        self._idle = True
        self._worker = threading.Thread(target=self._work, name="nst-keras-studio-jobs", daemon=True)
        self._worker.start()

    def report(self, job, kind, message="", **data):
        """Append an event of ``job`` to the log."""
        return self.log.append(dict(data, job=job.id, kind=kind, message=message))

    def _positions(self):
        for position, job in enumerate(self._waiting, start=1):
            self.report(job, "queued", f"job {job.id} waits: {position} ahead of it" if position > 1 else
                        f"job {job.id} is next", position=position, state=job.state, title=job.request.get("title"))

    def submit(self, mode: str, request: dict) -> Job:
        """Queue a job; return it (its place in the queue is reported as an event)."""
        with self._lock:
            if self._closing:
                raise RuntimeError("the studio is stopping")
            job = Job(str(next(self._ids)), mode, request)
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._positions()
            self._lock.notify_all()
        return job

    def get(self, job_id) -> Job | None:
        """The job with this id, or ``None``."""
        return self._jobs.get(str(job_id))

    def jobs(self) -> list:
        """Every job kept: waiting, running and the latest finished ones, oldest first."""
        return list(self._jobs.values())

    def control(self, job_id, action: str) -> Job:
        """``pause``, ``resume``, ``stop`` the running job or ``cancel`` a waiting one (stop too).

        Raises ``KeyError`` for an unknown job, ``ValueError`` for an action
        that does not apply to its state.
        """
        with self._lock:
            job = self._jobs[str(job_id)]
            if job.state == "queued" and action in ("cancel", "stop"):
                self._waiting.remove(job)
                job.state = "cancelled"
                self.report(job, "cancelled", f"job {job.id} cancelled")
                self._positions()
                return job
            if job.state not in ("running", "paused") or action not in ("pause", "resume", "stop", "cancel"):
                raise ValueError(f"job {job.id} is {job.state}: cannot {action} it")
            if action == "pause":
                job.control.pause()
                job.state = "paused"
            elif action == "resume":
                job.control.resume()
                job.state = "running"
            else:
                job.control.stop()
                job.state = "running"
            self.report(job, {"pause": "paused", "resume": "resumed"}.get(action, "stopping"),
                        f"job {job.id}: {action}")
            return job

    def _work(self):
        while True:
            with self._lock:
                self._idle = not self._waiting
                self._lock.notify_all()
                self._lock.wait_for(lambda: self._waiting or self._closing)
                if self._closing and not self._waiting:
                    return
                job = self._waiting.popleft()
                job.state = "running"
                self._idle = False
                self._positions()
            self._run_one(job)

    def _run_one(self, job):
        self.report(job, "started", f"job {job.id} started", mode=job.mode, title=job.request.get("title"))
        try:
            record = self._run(job, lambda kind, message="", **data: self.report(job, kind, message, **data))
        except BaseException as err:  # noqa: B036 (the worker thread must outlive any job)
            job.state, job.error = "failed", self._describe_error(err)
            self.report(job, "failed", job.error)
        else:
            job.result = record
            job.state = "stopped" if job.control.stopped else "done"
            self.report(job, job.state, f"job {job.id} {job.state}", result=record)
        with self._lock:
            finished = [old for old in self._jobs.values() if old.state in FINISHED]
            for old in finished[:-MAX_FINISHED]:
                del self._jobs[old.id]

    def join(self, timeout=None) -> bool:
        """Wait until no job runs or waits; return whether that happened within ``timeout``."""
        with self._lock:
            return self._lock.wait_for(lambda: self._idle and not self._waiting, timeout)

    def close(self, timeout=None) -> bool:
        """Cancel the waiting jobs, stop the running one (its image so far is saved) and end the worker.

        Returns whether the worker ended within ``timeout`` seconds.
        """
        with self._lock:
            self._closing = True
            while self._waiting:
                job = self._waiting.popleft()
                job.state = "cancelled"
                self.report(job, "cancelled", f"job {job.id} cancelled: the studio is stopping")
            for job in self._jobs.values():
                if job.state in ("running", "paused"):
                    job.control.stop()
            self._lock.notify_all()
        self._worker.join(timeout)
        return not self._worker.is_alive()
