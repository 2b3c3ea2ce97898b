# The app image used by compose.yaml (docs/deploy.md).
FROM python:3.11-slim
WORKDIR /srv/trials_helper
COPY pyproject.toml README.md ./
COPY trials_helper ./trials_helper
RUN pip install --no-cache-dir ".[redis]"
COPY app ./app
COPY streamlit_app.py ./
COPY .streamlit ./.streamlit
EXPOSE 8501
CMD ["streamlit", "run", "streamlit_app.py", "--server.headless", "true", \
     "--server.address", "0.0.0.0", "--server.port", "8501", \
     "--browser.gatherUsageStats", "false"]
