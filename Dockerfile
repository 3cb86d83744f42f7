# syntax=docker/dockerfile:1
# Shiplane's three images, one target each. Build from the repository root:
#   docker build --target serving  -t shiplane-serving:dev .
#   docker build --target training -t shiplane-training:dev .
#   docker build --target router   -t shiplane-router:dev .   (the default)
# (`make images` builds all three.)
#
# Every image is built the same way: uv installs exactly what uv.lock pins for
# one workspace package (no dev tools, no other runtime) into /opt/venv, and the
# image copies only that venv onto a clean slim Python, run as an unprivileged
# user. tests/test_images.py lists what each image installs.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- uv and the workspace manifests: the start of every build --------------
FROM ${PYTHON_IMAGE} AS uv
ARG UV_VERSION=0.13.9
# uv from PyPI, pinned like the Makefile's; no compiler is needed (all wheels).
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY contracts/pyproject.toml contracts/pyproject.toml
COPY serving/pyproject.toml serving/pyproject.toml
COPY training/pyproject.toml training/pyproject.toml
COPY tools/pyproject.toml tools/pyproject.toml

# ---- what every image runs on ------------------------------------------------
# HOME is /tmp: the pods mount an emptyDir there under a read-only root
# filesystem; everything written at run time goes under it.
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 shiplane \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /tmp --shell /usr/sbin/nologin shiplane
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
USER 10001:10001

# ---- serving: the KServe custom runtime --------------------------------------
FROM uv AS serving-venv
# Dependencies first, in their own layer: it survives source-only changes.
RUN uv sync --frozen --no-dev --no-editable --no-install-workspace \
        --package shiplane-serving
COPY contracts/src contracts/src
COPY serving/src serving/src
RUN uv sync --frozen --no-dev --no-editable --package shiplane-serving

FROM runtime AS serving
LABEL org.opencontainers.image.title="shiplane-serving" \
      org.opencontainers.image.description="KServe custom runtime for scikit-learn models from the MLflow registry" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=serving-venv /opt/venv /opt/venv
ENV SHIPLANE_SERVING_HOST=0.0.0.0 \
    SHIPLANE_SERVING_HTTP_PORT=8080 \
    SHIPLANE_SERVING_GRPC_PORT=8081 \
    SHIPLANE_SERVING_MODEL_URI=/mnt/models \
    SHIPLANE_SERVING_DOWNLOAD_DIR=/tmp/shiplane-models \
    SHIPLANE_SERVING_METRICS_DIR=/tmp/shiplane-metrics
EXPOSE 8080 8081
ENTRYPOINT ["python", "-m", "shiplane_serving"]

# ---- training: the Job that trains, gates and registers ----------------------
FROM uv AS training-venv
RUN uv sync --frozen --no-dev --no-editable --no-install-workspace \
        --package shiplane-training
COPY contracts/src contracts/src
COPY training/src training/src
RUN uv sync --frozen --no-dev --no-editable --package shiplane-training

FROM runtime AS training
LABEL org.opencontainers.image.title="shiplane-training" \
      org.opencontainers.image.description="Shiplane training job: config-driven scikit-learn training, logged and registered in MLflow behind a quality gate" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=training-venv /opt/venv /opt/venv
COPY training/configs /opt/shiplane/configs
ENV MPLCONFIGDIR=/tmp/matplotlib \
    MLFLOW_UV_AUTO_DETECT=false
WORKDIR /opt/shiplane
ENTRYPOINT ["python", "-m", "shiplane_training"]
CMD ["--help"]

# ---- router: the A/B router and the kubectl-shiplane CLI ---------------------
# The chart's rollout Job runs `shiplane rollout ...` from this same image.
FROM uv AS router-venv
RUN uv sync --frozen --no-dev --no-editable --no-install-workspace \
        --package shiplane
COPY contracts/src contracts/src
COPY src src
RUN uv sync --frozen --no-dev --no-editable --package shiplane

FROM runtime AS router
LABEL org.opencontainers.image.title="shiplane-router" \
      org.opencontainers.image.description="Shiplane A/B router and kubectl-shiplane CLI" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=router-venv /opt/venv /opt/venv
ENV SHIPLANE_ROUTER_HOST=0.0.0.0 \
    SHIPLANE_ROUTER_PORT=8080 \
    SHIPLANE_ROUTER_CONFIG=/etc/shiplane/router.yaml
EXPOSE 8080
ENTRYPOINT ["python", "-m", "shiplane.router"]
