from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Lailiao core"

    def ready(self):
        from .fields import refuse_coerced_input

        refuse_coerced_input()
