# Production image: one image for web (gunicorn + whitenoise), worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    DATA_DIR=/data STATIC_ROOT=/app/staticfiles

# libgomp1: scikit-learn/LightGBM; Pango and a font: WeasyPrint's PDF reports; bubblewrap and
# libseccomp2: the model sandbox (without bubblewrap the worker refuses pickle-based models).
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core bubblewrap libseccomp2 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 portal

WORKDIR /app
# The runtime lock only (no pytest, playwright, moto, hypothesis...: those are in requirements-dev.lock),
# every file checked against its sha256; --no-deps: the lock already lists every transitive dependency.
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY . .
# collectstatic needs settings but no secrets or database: give it throwaway values at build time.
RUN DEBUG=0 SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=build PORTAL_BASE_URL=http://build.invalid \
    DATA_DIR=/tmp/build-data \
    python manage.py collectstatic --no-input \
    && mkdir -p /data && chown -R portal:portal /data

USER portal
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
