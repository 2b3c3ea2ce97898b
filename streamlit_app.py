"""Streamlit entry point: `streamlit run streamlit_app.py`. The UI lives in app/, logic in
trials_helper/."""

from app.main import run

run()
