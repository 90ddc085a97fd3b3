# syntax=docker/dockerfile:1
#
# Image for the web (gunicorn), the Celery worker and Celery beat of the second-opinion portal.
# Stages:
#   runtime-base  Python 3.12 plus the shared libraries the application loads at run time
#   builder       uv, the locked production dependencies, the code, collected static files
#   runtime       runtime-base + the built /app, running as an unprivileged user
#
# Only plain Dockerfile instructions are used (no cache mounts), so the classic builder and
# BuildKit both build it.

ARG PYTHON_VERSION=3.12
ARG DEBIAN_RELEASE=bookworm

###############################################################################################
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS runtime-base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

# libmagic1: python-magic (upload type sniffing).
# pango / pangoft2 / harfbuzz (+ harfbuzz-subset, font subsetting) / fontconfig: WeasyPrint.
# fonts-dejavu-core: a font for the PDFs. The `fontconfig` package builds the system font
# cache at install time, so the unprivileged user never needs a writable one.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libmagic1 \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fontconfig \
        fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

###############################################################################################
FROM runtime-base AS builder

# uv comes from PyPI; it lives only in this stage.
ARG UV_VERSION=0.13.9
RUN pip install "uv==${UV_VERSION}"

# The environment goes where the runtime stage expects it, built with the image's own
# interpreter (never a downloaded one), byte-compiled, with files copied rather than linked.
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
RUN uv sync --frozen --no-dev

# collectstatic imports the production settings, which refuse to load without these values.
# They are placeholders used by this one command: nothing connects to them, and because they
# are set only on this RUN line (and this stage is not shipped) none of them reaches the
# runtime image's environment. Real values are given to the containers at run time.
ARG COLLECTSTATIC_SECRET_KEY=collectstatic-build-placeholder-not-a-secret
RUN DJANGO_SETTINGS_MODULE=config.settings.production \
    SECRET_KEY="${COLLECTSTATIC_SECRET_KEY}" \
    ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build@build.invalid:5432/build \
    REDIS_URL=redis://build.invalid:6379/0 \
    EMAIL_HOST=build.invalid \
    STRIPE_SECRET_KEY=build-placeholder STRIPE_PUBLISHABLE_KEY=build-placeholder \
    STRIPE_WEBHOOK_SECRET=build-placeholder \
    HOSPITAL_ADDRESS=build-placeholder HOSPITAL_TAX_ID=build-placeholder \
    HOSPITAL_NPI=build-placeholder \
    CLAMD_HOST=build.invalid \
    /app/.venv/bin/python manage.py collectstatic --noinput

###############################################################################################
FROM runtime-base AS runtime

ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" app \
 && useradd --system --uid "${APP_UID}" --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Code, virtualenv and collected static files stay owned by root: the app cannot modify them.
COPY --from=builder /app /app

# The only writable places: uploaded files and reports (when not on S3), the file mail
# backend (when EMAIL_HOST is unset) and beat's schedule. Volumes mounted here start out
# owned by the app user.
RUN mkdir -p /app/var/media /app/var/mail /app/var/beat \
 && chown app:app /app/var/media /app/var/mail /app/var/beat

ENV PATH="/app/.venv/bin:${PATH}" \
    DJANGO_SETTINGS_MODULE=config.settings.production

USER app

EXPOSE 8000

# Worker count: WEB_CONCURRENCY (read by gunicorn). More options: GUNICORN_CMD_ARGS.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm"]
