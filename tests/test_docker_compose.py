"""docker-compose.yml is valid and self-consistent (no Docker engine here: checked by parsing)."""

from __future__ import annotations

import re

import yaml

from totalplace.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
REQUIRED_SERVICES = {
    "warehouse", "airflow-db", "redis", "sftp", "airflow-init", "airflow-apiserver", "airflow-scheduler",
    "airflow-dag-processor", "airflow-triggerer", "airflow-worker", "site", "minio", "minio-init",
}


def load():
    return yaml.safe_load(COMPOSE.read_text())


def test_every_required_service_is_defined_with_a_command_or_image():
    services = load()["services"]
    assert REQUIRED_SERVICES <= set(services)
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name


def test_dependencies_volumes_and_secrets_refer_to_defined_things():
    doc = load()
    services, volumes, secrets = doc["services"], set(doc["volumes"]), set(doc["secrets"])
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
        for mount in svc.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("${"):  # a host folder the operator chooses, e.g. the pseudonymisation keys
                variable = source.strip("${}").split(":")[0]
                assert f"{variable}=" in (PROJECT_ROOT / ".env.example").read_text(), f"{name}: {variable} undocumented"
            elif source.startswith((".", "/")):
                assert (PROJECT_ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in volumes, f"{name} uses undeclared volume {source}"
        for secret in svc.get("secrets", []):
            assert secret in secrets, f"{name} uses undeclared secret {secret}"
    if any("build" in svc for svc in services.values()):
        assert (PROJECT_ROOT / "Dockerfile").exists()


def test_every_variable_is_documented_in_env_example():
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", COMPOSE.read_text()))  # $${X}: for the container shell
    documented = {line.split("=", 1)[0] for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
                  if line and not line.startswith("#")}
    assert used, "the compose file uses no variables?"
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"


def test_airflow_services_run_the_platform_image_against_the_warehouse():
    services = load()["services"]
    for name in REQUIRED_SERVICES:
        if name.startswith("airflow-") and name != "airflow-db":
            env = services[name]["environment"]
            assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
            assert env["TOTALPLACE_WAREHOUSE_URL"].startswith("postgresql://")
            assert env["TOTALPLACE_SFTP_HOST"] == "sftp"
    for name in ("warehouse", "airflow-db", "redis", "airflow-apiserver"):
        assert "healthcheck" in services[name], name


def test_the_profiles_site_is_served_read_only_from_a_volume_of_its_own():
    """The state folder is private (0700: nginx's user could not pass it); the workers publish the site
    to a volume nginx reads."""
    config = load()
    services = config["services"]
    worker_site = next(v for v in services["airflow-worker"]["volumes"] if v.startswith("site:"))
    served = next(v for v in services["site"]["volumes"] if v.startswith("site:"))
    assert served.endswith(":ro") and not any(v.startswith("platform-state:") for v in services["site"]["volumes"])
    folder = config["x-airflow-common"]["environment"]["TOTALPLACE_SITE_FOLDER"]
    assert folder.startswith(worker_site.split(":")[1] + "/")
    conf = (PROJECT_ROOT / "deploy" / "site" / "nginx.conf").read_text()
    assert f"root {folder.replace(worker_site.split(':')[1], served.split(':')[1])};" in conf
    assert "TOTALPLACE_STATE_DIR=/var/lib/totalplace" in (PROJECT_ROOT / "Dockerfile").read_text()
    for name in ("site", "airflow-worker", "airflow-scheduler"):
        assert "healthcheck" in services[name], name


def test_the_sftp_server_refuses_attributes_and_links_like_the_local_one():
    """Production's OpenSSH: uploads 0600, no setstat/fsetstat (chmod, chown, truncate), no links."""
    sftp = load()["services"]["sftp"]
    config = next(v for v in sftp["volumes"] if v.endswith(":/etc/ssh/sshd_config:ro")).split(":")[0]
    text = (PROJECT_ROOT / config).read_text()
    force = next(line for line in text.splitlines() if line.startswith("ForceCommand"))
    denied = set(force.split(" -P ")[1].split()[0].split(","))
    assert "-u 0077" in force and {"setstat", "fsetstat", "lsetstat", "symlink", "hardlink"} <= denied
    assert "ChrootDirectory %h" in text and "PermitRootLogin no" in text


def test_every_sftp_account_knows_the_platforms_key_and_the_workers_hold_it():
    """The connector logs in with the platform's key (no partner's lockout stops it): users.conf has one
    account per body of partners.yml, each with a keys folder, which the start script installs as its
    authorized_keys (one mount for all: a body added needs no compose change), and the workers get the
    private half as a secret."""
    import os

    from totalplace.partners import deploy_files, load_partners

    compose = load()
    volumes = compose["services"]["sftp"]["volumes"]
    partners = load_partners(PROJECT_ROOT / "partners.yml")
    accounts = [line.split(":")[0] for line in (PROJECT_ROOT / "deploy" / "sftp" / "users.conf").read_text().splitlines()
                if line and not line.startswith("#")]
    assert accounts == partners.accounts
    for path, text in deploy_files(partners, PROJECT_ROOT).items():
        assert path.read_text() == text, f"{path} is stale: run `totalplace generate`"
    for account in accounts:
        assert (PROJECT_ROOT / "deploy" / "sftp" / "keys" / account).is_dir()
    assert "./deploy/sftp/keys:/etc/sftp/partner-keys:ro" in volumes
    assert "./deploy/sftp/partner-keys.sh:/etc/sftp.d/partner-keys.sh:ro" in volumes
    script = PROJECT_ROOT / "deploy" / "sftp" / "partner-keys.sh"
    assert os.access(script, os.X_OK) and "/etc/sftp/partner-keys/" in script.read_text()
    for name in ("airflow-worker", "airflow-scheduler"):
        service = compose["services"][name]
        assert service["environment"]["TOTALPLACE_SFTP_SERVICE_KEY_FILE"] == "/run/secrets/sftp_service_key"
        assert "sftp_service_key" in service["secrets"]
    assert "sftp_service_key" in compose["secrets"]


def test_health_checks_use_what_their_images_have_and_the_airflow_services_share_keys_and_logs():
    """The platform image is python:3.11-slim (no curl): its checks run Python or Airflow's own CLI; one
    Fernet key and one JWT secret for every Airflow service; task logs on one volume the API server reads."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile and "curl" not in dockerfile
    services = load()["services"]
    for name, service in services.items():
        if name.startswith("airflow-") and name != "airflow-db":
            test = " ".join(service.get("healthcheck", {}).get("test", []))
            assert "curl" not in test and "wget" not in test, name
            env = service["environment"]
            assert env["AIRFLOW__CORE__FERNET_KEY"] == "${AIRFLOW_FERNET_KEY}"
            assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "${AIRFLOW_JWT_SECRET}"
            assert "airflow-logs:/opt/airflow/logs" in service["volumes"], name
    assert "airflow-logs" in load()["volumes"]
    # schema changes once, before the scheduler: never in a task
    assert "totalplace migrate" in " ".join(services["airflow-init"]["command"])


def test_the_image_installs_the_celery_and_s3_extras_with_the_pinned_versions():
    """The Dockerfile installs `.[celery,s3]` under constraints.txt - the same pins `make` installs - and the
    pins hold celery below 5.7 (whose backend broke the provider's workers) and s3fs at fsspec's version."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert 'pip install -c constraints.txt ".[celery,s3]"' in dockerfile
    assert "pip install" not in dockerfile.replace('pip install -c constraints.txt ".[celery,s3]"', "")
    pins = dict(line.split("==", 1) for line in (PROJECT_ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert pins["apache-airflow-providers-celery"].startswith("3.")
    major, minor, *_ = (int(p) for p in pins["celery"].split("."))
    assert (major, minor) < (5, 7)
    assert "redis" in pins and "kombu" in pins
    assert pins["s3fs"] == pins["fsspec"]  # s3fs releases with fsspec and requires that very version
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "-c constraints.txt -e '.[dev,celery,s3]'" in makefile


def test_every_worker_reaches_one_files_store_minio_with_a_private_bucket():
    """Files between tasks go through an S3 store every Airflow service reaches (fetch on one worker, load
    on another), made before any of them starts; its keys come from .env, never from the file."""
    compose = load()
    services = compose["services"]
    common = compose["x-airflow-common"]["environment"]
    assert common["TOTALPLACE_FILES_STORE_URL"].startswith("s3://${FILES_BUCKET}")
    assert common["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert common["AWS_SECRET_ACCESS_KEY"] == "${MINIO_ROOT_PASSWORD}"
    for name, service in services.items():
        if name.startswith("airflow-") and name not in ("airflow-db", "airflow-init"):
            assert service["environment"]["TOTALPLACE_FILES_STORE_URL"] == common["TOTALPLACE_FILES_STORE_URL"]
            assert service["depends_on"]["minio-init"] == {"condition": "service_completed_successfully"}, name
    assert "files-store:/data" in services["minio"]["volumes"] and "ports" not in services["minio"]
    assert services["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    init = " ".join(services["minio-init"]["entrypoint"])
    assert "mc mb --ignore-existing" in init and "mc anonymous set none" in init
    assert services["minio-init"]["depends_on"]["minio"] == {"condition": "service_healthy"}
