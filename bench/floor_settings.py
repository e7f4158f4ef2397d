"""The production settings with one more address, /bench/floor/, for bench_api.py.

Served by the same `assura serve` command as the real thing, so the floor pays for the
same server, middleware, authentication and rate limit as the ping and the creation.
"""

from assura.settings import *  # noqa: F403

ROOT_URLCONF = "floor_urls"
