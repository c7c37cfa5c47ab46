"""With Redis configured, the flash mails are RQ jobs: nothing is sent until a worker runs them."""
import pytest

from .helpers import flash_ready

REDIS_URL = "redis://127.0.0.1:6379/2"


@pytest.fixture
def redis_queue(app):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.flushdb()
    except RedisDown:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    app.config["REDIS_URL"] = REDIS_URL
    yield connection
    app.config["REDIS_URL"] = None
    connection.flushdb()


def test_flash_mails_are_queued_then_sent_once_by_the_worker(network, login, smtp, redis_queue):
    from rq import Queue, SimpleWorker

    filiale = login(network.filiale)
    flash_id = flash_ready(filiale, network)
    filiale.form(f"/campaigns/{flash_id}/send")
    filiale.form(f"/campaigns/{flash_id}/send")     # a second click queues nothing
    queue = Queue("default", connection=redis_queue)
    assert queue.count == 1
    assert smtp.messages == []
    SimpleWorker([queue], connection=redis_queue).work(burst=True)
    assert smtp.recipients() == ["cdv.nord@test.example", "filiale@test.example"]
