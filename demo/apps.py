from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data (``seed_demo``) and the benchmark table (``bench_cases``): above every
    app, so that each app's own demo module only uses its app and the layers below."""

    name = "demo"
    verbose_name = "Demo data"
