# syntax=docker/dockerfile:1
# qco, the Qdrant Collection Operator: a small non-root image whose entrypoint is `qco run`.
# Build: docker build -t qdrant-collection-operator:0.1.0 .
#
# Both stages use the same pinned base so that the virtualenv's interpreter path
# (/usr/local/bin/python3.11) exists unchanged in the final stage.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# --- builder: build the wheel and install it (with its dependencies) into a virtualenv -------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps tests, charts and docs out, and the
# sandbox's stand-ins too: `qco.sandbox` is a test tool and has no place in the image).
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN python -m venv /opt/qco \
    && /opt/qco/bin/pip install --upgrade pip \
    && /opt/qco/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && /opt/qco/bin/pip install /tmp/wheels/*.whl \
    && /opt/qco/bin/pip uninstall -y pip \
    && /opt/qco/bin/qco run --help >/dev/null \
    && /opt/qco/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('qco.sandbox') is not None)"

# --- final: the base image plus the virtualenv, nothing else ---------------------------------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="qco" \
      org.opencontainers.image.description="qco, the Qdrant Collection Operator" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/qco/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=builder /opt/qco /opt/qco
# A numeric user, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["qco", "run"]
