"""trials_helper: read ClinicalTrials.gov metastatic breast cancer trials into a discussion aid.

The package is pure Python with no UI; `streamlit_app.py` and `trials_helper.cli` are shells.
"""

import logging

__version__ = "0.1.0"

# A library logs; the app and the CLI decide what a person sees (the notes they print
# themselves). Without a handler, Python's last-resort handler would print warnings to stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())
