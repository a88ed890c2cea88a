"""Channels: thin shells over one Pipeline (no business logic here).

``cli`` (the ``chatbi`` command), ``render`` (rich terminal output), ``api`` (FastAPI),
``slack`` (slack-bolt handlers), ``feedback`` (application database of 👍/👎 and promoted
examples), ``sessions`` (per-session Conversations), ``roles`` (key/user → Role maps),
``web`` (helpers of ``streamlit_app.py``). See docs/channels.md.
"""
