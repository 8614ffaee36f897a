# The service's image: API and worker are the same image with a different command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Dependencies first (pinned by the lock file), so a code change reuses this layer.
COPY pyproject.toml requirements.lock README.md ./
COPY src/datatasks/__init__.py src/datatasks/__init__.py
RUN pip install -c requirements.lock .

COPY src ./src
# The storage directory belongs to the service's user, so a volume mounted there does too.
RUN pip install --no-deps . \
    && useradd --system --create-home datatasks \
    && mkdir -p /var/lib/datatasks/storage && chown -R datatasks /var/lib/datatasks
USER datatasks

EXPOSE 8000
CMD ["datatasks", "api", "--host", "0.0.0.0", "--port", "8000"]
