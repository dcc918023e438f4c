from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live feed"

    def ready(self) -> None:
        # Imported here, once the apps are loaded: the receivers use tournaments' models.
        from live import receivers

        receivers.connect()
