"""Run uvicorn, with the embedded queue consumer beside it when asked."""

from __future__ import annotations

import uvicorn

from mezame.api.app import create_app
from mezame.config import get_settings


def serve_forever(*, host: str, port: int, with_worker: bool) -> None:
    """Serve until interrupted, then stop the consumer after its current task."""
    settings = get_settings()
    consumer = None
    if with_worker and settings.embedded_worker:
        from mezame.queue import get_huey
        from mezame.worker import start_embedded_consumer

        consumer = start_embedded_consumer(get_huey())
    try:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level="info",
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
