# wikidrop's Airflow image: the official Airflow image plus the project's pinned requirements.
# The project code itself is mounted by docker-compose.yaml (or baked in with COPY for a release).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.txt /opt/wikidrop/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /opt/wikidrop/requirements.txt

ENV PYTHONPATH=/opt/wikidrop:/opt/wikidrop/plugins \
    WIKIDROP_CONFIG=/opt/wikidrop/config/wikidrop.yaml
