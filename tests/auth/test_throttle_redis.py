"""Throttling with Redis as the shared store (several instances behind a load balancer)."""

from __future__ import annotations

import pytest
import redis

from idp import create_app
from tests.conftest import PASSWORD, login


@pytest.fixture
def app_config(app_config, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    return {**app_config, "redis_url": redis_url}


def test_failures_counted_in_redis_are_shared_between_instances(app, app_config, make_user):
    user = make_user()
    second = create_app(app_config)
    a, b = app.test_client(), second.test_client()
    for i in range(app.config["AVAIN"].login_max_failures):
        login(a if i % 2 else b, user.email, "wrong password")
    resp = login(a, user.email, PASSWORD)
    assert resp.status_code == 401 and b"Too many" in resp.data
    keys = redis.Redis.from_url(app_config["redis_url"]).keys("avain:throttle:*")
    assert keys and all(user.email.encode() not in k for k in keys)
    second.extensions["avain.engine"].dispose()
