"""The embedded local stack that ``make run`` serves."""

from .base import *  # noqa: F403

DEBUG = True
