"""chatbi: a conversational analytics assistant for customer and merchant profiles."""

import os

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

__version__ = "0.1.0"
