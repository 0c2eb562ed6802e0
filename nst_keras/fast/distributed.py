"""Training a style network on several machines: ``MultiWorkerMirroredStrategy`` with a loop of our own.

With Keras 3.15 and TensorFlow 2.21, ``fit`` under
``tf.distribute.MultiWorkerMirroredStrategy`` fails once there are two
worker processes (keras-team/keras#20585): a subclassed model with a
``train_step`` stops at "Invalid reduction dimension 0 for input with 0
dimensions". The same model and optimizer stepped by ``strategy.run`` in a
loop of our own train correctly, with identical weights on every worker.
:func:`fit_across_workers` is that loop; ``StyleNetworkTrainer.fit`` calls it
under such a strategy and keeps Keras' ``fit`` everywhere else (one machine,
``MirroredStrategy``).

What the loop keeps of ``fit``: epochs of ``steps_per_epoch`` steps, the
logged epoch means (``loss`` and its parts), a ``History``, and the callbacks
with their usual hooks, run on the chief only, so that only the chief writes
(previews, backups, logs). When a callback sets ``stop_training`` on the
chief, every worker stops after that epoch. ``keras.callbacks.BackupAndRestore``
on the chief restores the last backup at the start; the chief's state is then
copied to every worker, so only the chief needs to see the backup folder.

The cluster comes from ``TF_CONFIG`` (:func:`worker_role`): the chief is task
``chief:0`` or, without one, ``worker:0``. A worker that dies stops the
others within seconds (:class:`WorkerLostError`); starting every worker again
continues from the last backup.

Example:

>>> worker_role('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}')
WorkerRole(task_type='worker', index=1, workers=2, chief=False)
>>> worker_role("") is None
True
"""

import json
import os
from typing import NamedTuple

import keras
import tensorflow as tf
from keras import ops

# Errors of a collective whose peer is gone (killed, restarted, unreachable).
_PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
                tf.errors.CancelledError)


class WorkerLostError(RuntimeError):
    """Another worker stopped answering during multi-worker training; restart every worker to continue.

    Example:

    >>> str(WorkerLostError("worker 1 is gone"))
    'worker 1 is gone'
    """


class WorkerRole(NamedTuple):
    """This process's place in a ``TF_CONFIG`` cluster.

    Attributes:
        task_type: ``"worker"`` or ``"chief"``.
        index: the task's index within its type.
        workers: how many tasks train (chief and workers together).
        chief: whether this task writes the network, previews and backups.

    Example:

    >>> WorkerRole("worker", 0, 2, True).chief
    True
    """

    task_type: str
    index: int
    workers: int
    chief: bool


def worker_role(tf_config: str | None = None) -> WorkerRole | None:
    """Read ``TF_CONFIG`` (default: the environment variable); ``None`` unless it names a cluster of two or more.

    Raises ``ValueError`` for a ``TF_CONFIG`` that is not JSON or whose task
    is not in its cluster.

    Example:

    >>> config = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}
    >>> worker_role(json.dumps(config))
    WorkerRole(task_type='worker', index=0, workers=2, chief=False)
    """
    text = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    if not text.strip():
        return None
    try:
        config = json.loads(text)
        cluster, task = config.get("cluster", {}), config.get("task", {})
        task_type, index = task.get("type"), int(task.get("index", 0))
        chiefs, workers = list(cluster.get("chief", [])), list(cluster.get("worker", []))
    except (ValueError, TypeError, AttributeError):
        raise ValueError(
            f"Expected `TF_CONFIG` to be a JSON cluster description. Received: TF_CONFIG={text!r}") from None
    if len(chiefs) + len(workers) < 2:
        return None
    if task_type not in ("chief", "worker") or not 0 <= index < len(cluster.get(task_type, [])):
        raise ValueError(f"Expected `TF_CONFIG`'s task to be a chief or worker of its cluster. Received: task={task!r}")
    chief = task_type == "chief" or (not chiefs and index == 0)
    return WorkerRole(task_type, index, len(chiefs) + len(workers), chief)


def multi_worker_strategy(timeout_seconds: float | None = None) -> tf.distribute.MultiWorkerMirroredStrategy:
    """The strategy for the ``TF_CONFIG`` cluster; create it before any other TensorFlow work.

    ``timeout_seconds`` bounds each collective (``None``: TensorFlow's
    default; a dead peer is noticed within seconds either way, through the
    cluster's heartbeats). Blocks until every worker has started.

    Example:

    >>> strategy = multi_worker_strategy()     # doctest: +SKIP
    """
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout_seconds)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def is_multi_worker(strategy) -> bool:
    """Whether ``strategy`` is a ``MultiWorkerMirroredStrategy`` over more than one process.

    Example:

    >>> is_multi_worker(tf.distribute.get_strategy())
    False
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    spec = strategy.cluster_resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in spec.jobs if job in ("chief", "worker")) > 1


def is_chief(strategy) -> bool:
    """Whether this process is the chief of ``strategy``'s cluster (always true on one machine).

    Example:

    >>> is_chief(tf.distribute.get_strategy())
    True
    """
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def _from_chief(strategy, values):
    """``values`` (tensors or variables) as the chief's first replica holds them, on every worker."""

    @tf.function
    def gather():
        def replica():
            context = tf.distribute.get_replica_context()
            first = tf.equal(context.replica_id_in_sync_group, 0)
            # A sum in which only the first replica's value is not zero; one all-reduce per dtype.
            kept = [tf.where(first, tf.convert_to_tensor(value), tf.zeros_like(value)) for value in values]
            summed = [None] * len(kept)
            for dtype in {value.dtype for value in kept}:
                indices = [index for index, value in enumerate(kept) if value.dtype == dtype]
                for index, value in zip(indices, context.all_reduce(tf.distribute.ReduceOp.SUM,
                                                                    [kept[i] for i in indices])):
                    summed[index] = value
            return summed

        return strategy.run(replica)

    return [strategy.experimental_local_results(value)[0] for value in gather()]


def _sync_state(trainer, strategy, initial_epoch):
    """Copy the chief's trainable state (after its restore) to every worker; return the chief's initial epoch."""
    variables = list(trainer.style_network.weights) + list(trainer.optimizer.variables)
    values = _from_chief(strategy, [variable.value for variable in variables]
                         + [tf.constant(initial_epoch, tf.int64)])
    for variable, value in zip(variables, values):
        variable.assign(value)
    return int(values[-1])


def _stop_everywhere(strategy, stop):
    """The chief's ``stop_training``, on every worker."""
    return bool(_from_chief(strategy, [tf.constant(int(bool(stop)), tf.int64)])[0])


def _distributed_photos(strategy, photos):
    if callable(photos) and not isinstance(photos, tf.data.Dataset):
        return strategy.distribute_datasets_from_function(photos)
    if isinstance(photos, tf.data.Dataset):
        return strategy.experimental_distribute_dataset(photos)
    raise ValueError("Expected `x` to be a tf.data.Dataset of photo batches or a function of a "
                     f"tf.distribute.InputContext returning one. Received: x={photos!r}")


def _step_function(trainer, strategy):
    @tf.function
    def step(iterator):
        def replica(photos):
            return {name: ops.mean(value) for name, value in trainer.update(photos).items()}

        losses = strategy.run(replica, args=(next(iterator),))
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None) for name, value in losses.items()}

    return step


def _epoch(step, iterator, callbacks, steps_per_epoch):
    """Run one epoch's steps; return the means of the logged losses."""
    sums, logs = {}, {}
    for batch in range(steps_per_epoch):
        callbacks.on_train_batch_begin(batch)
        for name, value in step(iterator).items():
            sums[name] = sums.get(name, 0.0) + float(value)
        logs = {name: total / (batch + 1) for name, total in sums.items()}
        callbacks.on_train_batch_end(batch, logs)
    return logs


def fit_across_workers(trainer, x, *, epochs: int = 1, steps_per_epoch: int | None = None, callbacks=(),
                       initial_epoch: int = 0, verbose="auto", **unsupported) -> keras.callbacks.History:
    """Train ``trainer`` (a :class:`~nst_keras.fast.StyleNetworkTrainer` built in the strategy's scope) on every worker.

    Every worker calls this with the same arguments. ``x`` is a function of
    a ``tf.distribute.InputContext`` returning this worker's pipeline of
    per-replica batches (each worker reads its own share of the photos:
    ``photo_dataset(..., shard=(context.input_pipeline_id,
    context.num_input_pipelines))``), or one ``tf.data.Dataset`` of global
    batches, which TensorFlow splits among the workers (each then reads
    every file and keeps its part). ``steps_per_epoch`` is required: the
    pipelines are endless; ``fit``'s other arguments (validation data...)
    are refused. ``callbacks`` run on the chief only; the returned
    ``History`` holds the epoch means on every worker.

    Raises :class:`WorkerLostError` when another worker dies or cannot be
    reached; the finished epochs stay in the chief's ``BackupAndRestore``
    folder.

    Example:

    >>> strategy = multi_worker_strategy()                                   # doctest: +SKIP
    >>> with strategy.scope():                                               # doctest: +SKIP
    ...     trainer = StyleNetworkTrainer(StyleNetwork(), style)
    ...     trainer.compile()
    >>> history = fit_across_workers(trainer, photos, epochs=4, steps_per_epoch=100,   # doctest: +SKIP
    ...                              callbacks=[keras.callbacks.BackupAndRestore("backup")])
    """
    if unsupported:
        raise ValueError("Expected only `epochs`, `steps_per_epoch`, `callbacks`, `initial_epoch` and `verbose` "
                         f"in multi-worker training. Received: {', '.join(sorted(unsupported))}")
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError("Expected `steps_per_epoch` to be an integer >= 1 (the photo pipelines are endless). "
                         f"Received: steps_per_epoch={steps_per_epoch!r}")
    strategy = trainer.distribute_strategy
    chief = is_chief(strategy)
    if verbose == "auto":
        verbose = 1
    callbacks = keras.callbacks.CallbackList(
        list(callbacks) if chief else [], add_history=True, add_progbar=chief and verbose != 0, model=trainer,
        verbose=verbose, epochs=epochs, steps=steps_per_epoch)
    trainer.stop_training = False
    trainer._initial_epoch = None  # where BackupAndRestore records the epoch it restored
    try:
        iterator = iter(_distributed_photos(strategy, x))
        callbacks.on_train_begin()
        restored = trainer._initial_epoch
        epoch = _sync_state(trainer, strategy, initial_epoch if restored is None else restored)
        step = _step_function(trainer, strategy)
        logs = {}
        while epoch < epochs:
            callbacks.on_epoch_begin(epoch)
            logs = _epoch(step, iterator, callbacks, steps_per_epoch)
            callbacks.on_epoch_end(epoch, dict(logs))
            epoch += 1
            if _stop_everywhere(strategy, trainer.stop_training):
                break
        callbacks.on_train_end(dict(logs))
    except _PEER_ERRORS as error:
        first = next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
        raise WorkerLostError(f"lost contact with another worker ({first.strip()})") from error
    return trainer.history
