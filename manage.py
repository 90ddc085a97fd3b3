#!/usr/bin/env python
import os
import sys


def main() -> None:
    # manage.py is the developer's command (make run, migrations, the checks): local settings
    # unless the environment names others. The image sets DJANGO_SETTINGS_MODULE to the
    # production settings, and config/wsgi.py and config/celery_app.py default to them.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # After the settings are named: importing Django's management reads them.
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
