"""The profile tables' contract (re-exported; defined in chatbi.warehouse.profile_schema).

The definition lives beside the raw schema so the semantic layer can read it without
importing the profile build (scikit-learn, lifetimes).
"""

from chatbi.warehouse.profile_schema import (
    LIFECYCLE_STAGES,
    PRICE_SENSITIVITY,
    PROFILE_CONTRACT,
    RFM_SEGMENTS,
    SENTIMENTS,
    SEVERITIES,
    VALUE_TIERS,
)

__all__ = ["LIFECYCLE_STAGES", "PRICE_SENSITIVITY", "PROFILE_CONTRACT", "RFM_SEGMENTS",
           "SENTIMENTS", "SEVERITIES", "VALUE_TIERS"]
