"""A whole-slide image: what OpenSlide read from a record that scanned clean.

Only the properties a pathologist needs are kept (vendor, objective power, microns per
pixel, the pyramid's levels), picked one by one: OpenSlide's full property list includes the
associated images (label, macro) and vendor fields that may carry the patient's name or the
slide's barcode, and none of that is stored or shown.
"""

import secrets

from django.db import models

from intake.models import Record


def _storage_prefix() -> str:
    # Random and meaningless, like record keys: the tile cache's keys say nothing.
    return secrets.token_hex(16)


class Slide(models.Model):
    class State(models.TextChoices):
        READY = "ready", "Ready"
        UNSUPPORTED = "unsupported", "Not a whole-slide image"
        FAILED = "failed", "Could not be opened"

    record = models.OneToOneField(Record, on_delete=models.CASCADE, related_name="slide")
    state = models.CharField(max_length=12, choices=State.choices)
    # vendor, objective_power, mpp_x, mpp_y, width, height, levels: [{width, height,
    # downsample}] (see slides.decoder.slide_properties).
    properties = models.JSONField(default=dict, blank=True)
    storage_prefix = models.CharField(max_length=32, default=_storage_prefix, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Slide of record {self.record_id} ({self.state})"

    @property
    def is_ready(self) -> bool:
        return self.state == self.State.READY
