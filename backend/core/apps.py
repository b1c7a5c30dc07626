from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Lailiao core"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy checks)
        from .fields import refuse_coerced_input

        refuse_coerced_input()
