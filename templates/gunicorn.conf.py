"""Gunicorn settings for the container (rendered by `invoke init`, used by its CMD).

The port comes from PORT so each deploy slot can listen on its own; workers stop
gracefully on SIGTERM so a slot being retired finishes the requests it holds.
"""

import os

# The image sets HOST=0.0.0.0; on host networking compose sets HOST=127.0.0.1.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "[[ worker_class ]]"
[% if not asgi %]
threads = int(os.environ.get("THREADS", "4"))
[% endif %]
# Seconds a worker has to finish its requests after SIGTERM; compose waits longer.
graceful_timeout = 30
timeout = 60
keepalive = 5
accesslog = "-"
errorlog = "-"
# The proxy runs on the same host; trust its X-Forwarded-* headers only.
forwarded_allow_ips = "127.0.0.1"
