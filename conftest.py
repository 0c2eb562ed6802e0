"""Settings of every test run from the repository's folder (the tests and the package's doctests).

- The modules of an extra that is not installed are left out of the doctest
  collection; their tests in tests/ skip, naming the extra to install.
- A docstring whose examples are all ``# doctest: +SKIP`` (they need files,
  weights or a network to run) shows how to call something but tests nothing:
  it is deselected, so the summary's skipped tests are the ones that could not
  run here, each listed with its reason (``-rs`` in ``setup.cfg``).
"""

import doctest
import importlib.util

collect_ignore = [] if importlib.util.find_spec("apache_beam") else ["nst_keras/beam/pipeline.py"]


def pytest_collection_modifyitems(config, items):
    """Deselect the doctests that would only be skipped: every example of theirs is ``+SKIP``."""
    def runnable(item):
        examples = getattr(getattr(item, "dtest", None), "examples", None)
        return not examples or not all(example.options.get(doctest.SKIP) for example in examples)

    dropped = [item for item in items if not runnable(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if runnable(item)]
