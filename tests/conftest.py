"""Settings shared by the whole suite."""

from hypothesis import HealthCheck, settings

# The machines are shared and noisy: no test may fail on time, so hypothesis
# runs without per-example deadlines and without its too-slow health check.
settings.register_profile("jamsession", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jamsession")
