"""A real `redis-server` for the shared-cache tests: it lives in devtools/redis_server.py."""

from devtools.redis_server import REDIS_SERVER, RedisServer, free_port  # noqa: F401
