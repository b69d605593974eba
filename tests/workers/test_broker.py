"""Dramatiq broker setup: a real round trip through Redis (and RabbitMQ when one is given)."""

from __future__ import annotations

import os

import dramatiq
import pytest
from dramatiq import Worker

from engine.errors import ConfigError
from engine.models.mail import MailMessage
from engine.services.messaging import mail
from workers.broker import make_broker, setup_broker, use_broker
from workers.mail import send_mail_message


@pytest.fixture()
def restore_broker():
    """Put the actors back on the broker they were on, so no other test talks to ours."""
    before = dramatiq.get_broker()
    yield
    use_broker(before)


def _broker_url(kind: str, services) -> str:
    if kind == "redis":
        return services["redis"].url
    url = os.environ.get("PORTICO_TEST_AMQP_URL")
    if not url:
        pytest.skip("PORTICO_TEST_AMQP_URL is not set: no RabbitMQ server to test against (expected here)")
    return url


@pytest.mark.parametrize("kind", ["redis", "amqp"])
def test_mail_actor_round_trip_through_a_real_broker(kind, services, clean_db, restore_broker):
    """Does a message sent to the mail actor travel through the broker to a real Worker and get delivered?"""
    broker = setup_broker(_broker_url(kind, services))
    assert dramatiq.get_broker() is broker and send_mail_message.broker is broker
    broker.flush_all()
    queued = mail.queue_mail("g@example.org", "Through the broker", "hello", idempotency_key=f"broker-{kind}")
    send_mail_message.send(message_id=str(queued.id))
    send_mail_message.send(message_id=str(queued.id))  # a duplicate delivery must not send twice
    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        broker.join(send_mail_message.queue_name, timeout=30_000)
        worker.join()
    finally:
        worker.stop()
    assert queued.reload().status == "sent"
    assert MailMessage.objects(direction="sink", subject="Through the broker").count() == 1


def test_broker_kind_follows_the_url_scheme():
    """Does redis:// give a RedisBroker, amqp:// a RabbitmqBroker, and anything else a ConfigError?"""
    from dramatiq.brokers.rabbitmq import RabbitmqBroker
    from dramatiq.brokers.redis import RedisBroker

    assert isinstance(make_broker("redis://127.0.0.1:6379/0"), RedisBroker)
    assert isinstance(make_broker("amqp://guest:guest@127.0.0.1:5672/%2F"), RabbitmqBroker)  # connects lazily
    with pytest.raises(ConfigError):
        make_broker("kafka://localhost:9092")
