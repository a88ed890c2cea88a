"""Planners: turn a question into a Plan (a SemanticQuery or another intent).

Public API: ``OfflinePlanner``, ``Conversation``, ``Plan`` (and its parts), ``parse_time``.
"""

from chatbi.planner.context import Conversation
from chatbi.planner.offline import OfflinePlanner
from chatbi.planner.time_parser import parse_time
from chatbi.planner.types import CopyRequest, Plan, TimeParse, WhyRequest

__all__ = ["Conversation", "CopyRequest", "OfflinePlanner", "Plan", "TimeParse", "WhyRequest", "parse_time"]
