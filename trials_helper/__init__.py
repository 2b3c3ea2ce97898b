"""trials_helper: read ClinicalTrials.gov metastatic breast cancer trials into a discussion aid.

The package is pure Python with no UI; `streamlit_app.py` and `trials_helper.cli` are shells.
"""

__version__ = "0.1.0"
