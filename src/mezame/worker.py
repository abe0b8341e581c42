"""The queue consumer: `mezame worker` on its own, or threads inside `mezame serve`."""

from __future__ import annotations

from huey import Huey
from huey.consumer import Consumer


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A consumer that runs beside the web server and leaves signals to it.

    Huey's consumer claims SIGINT/SIGTERM/SIGHUP on start; inside `mezame serve`
    uvicorn owns them and stops the consumer itself on shutdown.
    """

    def _set_signal_handlers(self) -> None:
        return None


def make_consumer(huey: Huey, *, workers: int = 1) -> Consumer:
    """A stand-alone consumer with periodic tasks on; thread workers suit 2 cores."""
    return huey.create_consumer(workers=workers, worker_type="thread", periodic=True)


def start_embedded_consumer(huey: Huey, *, workers: int = 1) -> EmbeddedConsumer:
    """Start consumer threads in this process and return the consumer so the caller can stop it."""
    consumer = EmbeddedConsumer(huey, workers=workers, worker_type="thread", periodic=True)
    consumer.start()
    return consumer
