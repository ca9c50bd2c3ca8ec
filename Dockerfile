# Image for the Airflow services of docker-compose.yml: the platform (connectors, expectations,
# totalplace), its DAGs, feed contracts and dbt project, on the pinned dependency set.
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 \
    AIRFLOW_HOME=/opt/airflow TOTALPLACE_STATE_DIR=/var/lib/totalplace \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False GX_ANALYTICS_ENABLED=false \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False AIRFLOW__CORE__LOAD_EXAMPLES=False
WORKDIR /opt/totalplace
COPY pyproject.toml constraints.txt README.md ./
COPY totalplace ./totalplace
COPY connectors ./connectors
COPY expectations ./expectations
RUN pip install -c constraints.txt ".[celery,s3]" && pip check \
    && useradd --create-home --uid 50000 airflow
COPY dags ./dags
COPY feeds ./feeds
COPY dbt_project ./dbt_project
COPY reference ./reference
# the manifest cosmos renders from is built into the image, so DAG files parse without running dbt
RUN TOTALPLACE_DBT_HOST=unused TOTALPLACE_DBT_USER=unused TOTALPLACE_DBT_DBNAME=unused \
    DBT_TARGET_PATH=/var/lib/totalplace/dbt/target dbt parse --project-dir dbt_project --profiles-dir dbt_project \
    && mkdir -p /var/lib/totalplace /opt/airflow && chown -R airflow /var/lib/totalplace /opt/airflow
USER airflow
