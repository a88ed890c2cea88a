"""Profile build: user/merchant profiles, relations, sentiment, tag history and alerts.

Public API: :func:`build_profiles` and :class:`BuildReport` (see docs/profiles.md). They are
imported on first use, so reading a constant of one profile module (the merchant tag names
an alerts question is matched against) does not import scipy and scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatbi.profiles.build import PROFILE_TABLES, build_profiles
    from chatbi.profiles.report import BuildReport

__all__ = ["PROFILE_TABLES", "BuildReport", "build_profiles"]


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules when first asked for."""
    if name in ("PROFILE_TABLES", "build_profiles"):
        from chatbi.profiles import build

        return getattr(build, name)
    if name == "BuildReport":
        from chatbi.profiles.report import BuildReport

        return BuildReport
    raise AttributeError(f"module 'chatbi.profiles' has no attribute {name!r}")
