"""Exact Motzkin/Farkas certificates, re-exported from :mod:`objspec.certificates`.

The checker lives below the formalisms (in :mod:`objspec.certificates`) so that the
certificates of :mod:`objspec.learning` (no specification of a formalism explains some
comparisons) and the separation witnesses of :mod:`objspec.reductions` share one checker.
"""

from objspec.certificates import FarkasCertificate, farkas_certificate

__all__ = ["FarkasCertificate", "farkas_certificate"]
