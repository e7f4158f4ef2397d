from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "assura.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        # Registers the bearer-token security scheme with the schema generator.
        from assura.api import schema  # noqa: F401
