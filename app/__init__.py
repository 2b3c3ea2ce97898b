"""The Streamlit UI for trials_helper: form, cached data and rendering, kept apart."""
