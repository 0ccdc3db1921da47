# Selbstcheck „Weltoffene Kommune“ – Telegram bot.
#
#   docker build -t selbstcheck-bot .
#   docker run -d --name selbstcheck -e BOT_TOKEN=123456:ABC… -v selbstcheck-data:/data selbstcheck-bot
#
# Configuration comes from the environment at run time (BOT_TOKEN, TELEGRAM_BASE_URL, ADMIN_IDS,
# LOG_LEVEL, DATABASE_PATH, QUESTIONNAIRE_PATH); no token is baked into the image. Without
# BOT_TOKEN the bot runs its console chat on stdin instead of connecting to Telegram.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# An unprivileged account with a fixed numeric id (so Kubernetes' runAsNonRoot can verify it),
# and the data folder it owns. The code and the virtual environment stay owned by root.
# WeasyPrint (the workshop PDFs) renders text with Pango; DejaVu has every German character.
# The fontconfig package builds the system font cache at install time; the unprivileged account
# has no home, so its own font cache goes to /tmp (XDG_CACHE_HOME below) – without one, every PDF
# printed "Fontconfig error: No writable cache directories".
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
 && mkdir -p /data \
 && chown app:app /data \
 && python -m venv "$VIRTUAL_ENV"

WORKDIR /app

# Dependencies first, exactly as pinned in pyproject.toml, in their own layer so that a change
# to the code does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The code. bot/store/content.py finds questionnaires/ next to the bot package, so the project is
# installed in place (editable): /app/bot is the only copy of the package and is the one imported
# from any working directory, with /app/questionnaires beside it.
COPY bot ./bot
COPY flows ./flows
COPY questionnaires ./questionnaires
RUN pip install --no-cache-dir --no-deps --editable /app \
 && rm -rf /app/*.egg-info \
 && python -m compileall -q /app/bot /app/flows \
 && python -m bot validate

ENV DATABASE_PATH=/data/selbstcheck.sqlite3 \
    XDG_CACHE_HOME=/tmp/cache
VOLUME /data

USER 10001:10001

# Cheap and offline: the database file, once the bot has created it, must open and show its
# schema. (Telegram's reachability is deliberately not part of the check.)
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot", "admin", "health"]

# The bot stops polling and closes the database on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
