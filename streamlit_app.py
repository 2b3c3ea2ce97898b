"""Streamlit entry point: `streamlit run streamlit_app.py`. The UI lives in app/, logic in
trials_helper/.

The guard matters: worker processes that read many studies at once (trials_helper.readpool)
import this file again under another name, as multiprocessing does with a main module, and
must not run the page."""

from app.main import run

if __name__ == "__main__":
    run()
