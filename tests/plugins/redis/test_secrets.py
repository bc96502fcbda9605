"""Nothing secret in logs or errors: tokens, data, keys and user keys, on one server and on a cluster."""

from __future__ import annotations

import logging

import pytest
from tests.plugins.redis.conftest import RedisCluster

from jamsession import BackendUnavailableError
from jamsession.testing import StoreVariant, check_logs_hold_no_secrets, store_variants
from jamsession_redis import RedisSessions

USER_KEY = "carol.secret-user@example.com"


@pytest.mark.parametrize("variant", store_variants(), ids=lambda variant: variant.id)
@pytest.mark.parametrize("topology", ["server", "cluster"])
@pytest.mark.usefixtures("flavour")  # the topology's fixture is looked up by name: on each flavour
async def test_logs_and_errors_hold_no_secrets(
    topology: str, variant: StoreVariant, request: pytest.FixtureRequest, prefix: str
) -> None:
    fixture = "redis_url" if topology == "server" else "redis_cluster"
    target = request.getfixturevalue(fixture)
    url = target if isinstance(target, str) else target.url
    async with RedisSessions(url=url, prefix=prefix, default_ttl=60, **variant.options) as store:
        report = await check_logs_hold_no_secrets(store, secret=variant.options.get("session_aes_secret"))
    assert report.operations > 0
    assert [] == report.problems


async def test_failures_log_and_say_no_user_key_token_or_data(
    redis_cluster: RedisCluster, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with RedisSessions(url=redis_cluster.url, prefix=prefix, timeout=1.0) as store:
        token = await store.create(USER_KEY, {"card": "4111-1111"})
        errors: list[BaseException] = []
        for node in redis_cluster.nodes:
            node.stop()
        try:
            for call in (
                store.get(token),
                store.create(USER_KEY, {"card": "4111-1111"}),
                store.list_sessions(USER_KEY),
                store.clear(USER_KEY),
            ):
                with pytest.raises(BackendUnavailableError) as caught:
                    await call
                errors.append(caught.value)
        finally:
            for node in redis_cluster.nodes:
                node.start()
            redis_cluster.wait_until_ok()
    texts = [record.getMessage() for record in caplog.records] + [repr(error) for error in errors]
    texts += [str(error.__cause__) for error in errors]
    assert 4 == len(errors)
    for secret in (USER_KEY, token, "4111-1111"):
        assert [] == [text for text in texts if secret in text]
