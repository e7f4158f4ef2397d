"""Test settings: the real settings, with a throwaway data folder and fast hashing."""

import os
import tempfile

os.environ.setdefault("ASSURA_DATA_DIR", tempfile.mkdtemp(prefix="assura-test-"))
os.environ.setdefault("ASSURA_DEMO_DAYS", "3")

from assura.settings import *  # noqa: F403
from assura.settings import DATA_DIR, STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
(DATA_DIR / "static").mkdir(exist_ok=True)
