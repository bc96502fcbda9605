"""Reusable conformance suites for backends and serializers (needs ``jamsession[testing]``).

A backend author subclasses :class:`BackendConformance` and provides one
async fixture, ``store``, that yields an empty, isolated store::

    import pytest_asyncio
    from jamsession.testing import BackendConformance, store_variants

    class TestRedisSessions(BackendConformance):
        @pytest_asyncio.fixture(params=store_variants(), ids=lambda v: v.id)
        async def store(self, request):
            async with RedisSessions(url=..., **request.param.options) as store:
                yield store

Optional features are tested only where the store's class declares them
(``supports_ttl``, ``supports_sliding_expiry``, ``supports_listing``,
``supports_purge``), so a backend with just the seed's six methods passes.
"""

from jamsession.testing._backend import BackendConformance
from jamsession.testing._clock import FakeClock
from jamsession.testing._serializer import SerializerConformance
from jamsession.testing._variants import StoreVariant, store_variants

__all__ = ["BackendConformance", "FakeClock", "SerializerConformance", "StoreVariant", "store_variants"]
