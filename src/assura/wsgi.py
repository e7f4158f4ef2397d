"""The WSGI entry point used by `assura serve` and `assura demo`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assura.settings")
application = get_wsgi_application()
