from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "assura.core"
    label = "core"
    verbose_name = _("People and organisations")

    def ready(self) -> None:
        from assura.core import audit

        audit.register_models()
