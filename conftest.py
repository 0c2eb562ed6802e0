"""Doctest collection over the package: the modules of an extra that is not installed are left out.

Their tests in tests/ skip, naming the extra to install.
"""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("apache_beam") else ["nst_keras/beam/pipeline.py"]
