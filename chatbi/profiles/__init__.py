"""Profile build: user/merchant profiles, relations, sentiment, tag history and alerts.

Public API: :func:`build_profiles` and :class:`BuildReport` (see docs/profiles.md).
"""

from chatbi.profiles.build import PROFILE_TABLES, build_profiles
from chatbi.profiles.report import BuildReport

__all__ = ["PROFILE_TABLES", "BuildReport", "build_profiles"]
