# syntax=docker/dockerfile:1
#
# Lailiao production image.
#
#   docker build -t lailiao .
#
# Stage 1 builds the Vite/React frontend; stage 2 is the Python runtime that
# serves the API, websockets (daphne) and the built SPA (WhiteNoise). The same
# image runs the web, Celery worker and Celery beat processes (see
# docker-compose.yml); only the command differs.

############################
# Stage 1: frontend build  #
############################
# The bundle is platform-independent, so build it natively on the build host.
FROM --platform=$BUILDPLATFORM node:20-slim AS frontend

WORKDIR /app/frontend

# Install dependencies first so this layer is cached until the lockfile changes.
# (.npmr[c] copies frontend/.npmrc when present; the glob may match nothing.)
COPY frontend/package.json frontend/package-lock.json frontend/.npmr[c] ./
RUN npm ci --no-audit --no-fund

COPY frontend/ ./
RUN npm run build


############################
# Stage 2: Python runtime  #
############################
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

# Unprivileged runtime user (fixed uid/gid so volume permissions are predictable).
RUN groupadd --system --gid 10001 lailiao \
    && useradd --system --uid 10001 --gid lailiao \
        --create-home --home-dir /home/lailiao --shell /usr/sbin/nologin lailiao

WORKDIR /app

# Runtime dependencies only (requirements-dev.txt is for tests, not the image).
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# Application code, and the built SPA at the same relative place as in the repo
# (/app/backend next to /app/frontend/dist) so settings' BASE_DIR paths hold.
COPY backend/ ./backend/
COPY --from=frontend /app/frontend/dist ./frontend/dist

WORKDIR /app/backend

# Collect static files at build time. Production settings need these variables
# to import; the values are throwaway placeholders (no database or Redis is
# contacted by collectstatic) and are NOT baked into the image's environment.
RUN SECRET_KEY=collectstatic-build-only-not-secret \
    DEBUG=0 \
    ALLOWED_HOSTS=localhost \
    CSRF_TRUSTED_ORIGINS=http://localhost \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

# Code and collected static files stay root-owned (read-only for the app user).
# Numeric uid:gid (= lailiao:lailiao) so orchestrators can verify non-root.
USER 10001:10001

EXPOSE 8000

# HTTP + websockets. Worker/beat override this command in docker-compose.yml.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]
