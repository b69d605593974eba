"""Dramatiq broker setup: Redis (redis://) or RabbitMQ (amqp://) from PORTICO_BROKER_URL.

Actors bind to the global broker when they are declared (at import). Until a
real broker is set up they sit on a StubBroker placeholder, and
`setup_broker(url)` moves every declared actor to the real one, so import order
does not matter: tests, `portico worker` and the web app may import actor
modules before or after calling it.

`portico worker` runs `dramatiq workers.broker:setup_from_environment workers`;
dramatiq calls `setup_from_environment()` in each worker process (after the
fork), so each process opens its own database and broker connections.
"""

from __future__ import annotations

import dramatiq
import dramatiq.broker
from dramatiq.brokers.stub import StubBroker

from engine import config, db
from engine.errors import ConfigError

if dramatiq.broker.global_broker is None:
    # Without this, declaring an actor would make dramatiq create its default broker
    # (RabbitMQ on localhost), which is never what Portico wants.
    dramatiq.set_broker(StubBroker())


HEARTBEAT_TIMEOUT_MS = 15_000
MAINTENANCE_CHANCE = 10_000  # per million broker commands


def make_broker(url: str) -> dramatiq.Broker:
    """A broker for a redis://, rediss://, amqp:// or amqps:// URL. Raises ConfigError otherwise."""
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        # A worker killed mid-message leaves it unacked until another worker's maintenance finds that
        # worker's heartbeat stale and requeues it. Dramatiq's defaults (60 s, maintenance on 0.1% of
        # commands) left such messages for minutes; consumers of idle queues beat several times a
        # second, so 15 s is safe, and 1% of commands is a few maintenances a minute per worker.
        return RedisBroker(
            url=url, heartbeat_timeout=HEARTBEAT_TIMEOUT_MS, maintenance_chance=MAINTENANCE_CHANCE
        )
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ConfigError("PORTICO_BROKER_URL must start with redis:// or amqp://")


def use_broker(broker: dramatiq.Broker) -> dramatiq.Broker:
    """Make `broker` the global one and move every declared actor onto it."""
    old = dramatiq.get_broker()
    for actor in list(old.actors.values()):
        actor.broker = broker
        broker.declare_actor(actor)
    dramatiq.set_broker(broker)
    return broker


def setup_broker(url: str) -> dramatiq.Broker:
    """Make the broker for `url` the global one, with every declared actor on it."""
    return use_broker(make_broker(url))


def setup_from_environment() -> dramatiq.Broker:
    """Worker process start: settings, database and broker from the PORTICO_* environment."""
    settings = config.install(config.load())
    if not settings.mongodb_uri or not settings.broker_url:
        raise ConfigError("the worker needs PORTICO_MONGODB_URI and PORTICO_BROKER_URL")
    db.connect(settings.mongodb_uri)
    broker = setup_broker(settings.broker_url)
    import workers  # noqa: F401 - declares every actor (after the broker, though either order works)

    return broker
