"""For tests outside the plugin's that need a Redis server, not every flavour of one.

Imported beside the server fixtures, it overrides the ``flavour`` fixture for that module::

    from tests.plugins.redis.conftest import redis_server, redis_url  # noqa: F401
    from tests.plugins.redis.redis_alone import flavour  # noqa: F401
"""

import pytest
from tests.plugins.redis.conftest import REDIS, Flavour


@pytest.fixture(scope="session")
def flavour() -> Flavour:
    """Redis alone: what these modules check is the same on Valkey, which the plugin's own tests cover."""
    return REDIS
