"""Collection rules for the whole repository (doctests of ``objspec`` included).

The torch backend is an optional extra (``pip install 'objspec[gpu]'``): without torch its
module cannot be imported, so its doctests are skipped rather than failing collection.
"""

from __future__ import annotations

collect_ignore: list[str] = []
try:
    import torch  # noqa: F401
except ImportError:
    collect_ignore.append("objspec/mdp/torch_backend.py")
