# Shiplane control-plane image: the A/B router and the `shiplane` CLI (the
# chart's rollout Job runs `shiplane rollout ...` from this same image).
#
# Build from the repository root:  docker build -t shiplane-router:dev .
# Router:       docker run shiplane-router:dev   (python -m shiplane.router)
# Rollout Job:  command: ["shiplane", "rollout", NAME, "--steps", "10,25,50,100"]
#
# Two stages: uv installs exactly what uv.lock pins for the root package `shiplane`
# (no serving, no training, no dev tools) into /opt/venv; the final stage copies
# only that venv onto a clean slim Python and runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY serving/pyproject.toml serving/pyproject.toml
COPY training/pyproject.toml training/pyproject.toml
RUN uv sync --frozen --no-dev --no-editable --no-install-workspace --package shiplane
COPY src src
RUN uv sync --frozen --no-dev --no-editable --package shiplane

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="shiplane-router" \
      org.opencontainers.image.description="Shiplane A/B router and kubectl-shiplane CLI" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 shiplane \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /tmp --shell /usr/sbin/nologin shiplane
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    SHIPLANE_ROUTER_HOST=0.0.0.0 \
    SHIPLANE_ROUTER_PORT=8080 \
    SHIPLANE_ROUTER_CONFIG=/etc/shiplane/router.yaml
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["python", "-m", "shiplane.router"]
