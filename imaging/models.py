"""Imaging studies sent with a case: studies and series as rows tied to the case, each
DICOM instance stored on its own under a random key in the private storage. Filled by the
indexer (imaging/indexing.py) from records that scanned clean; read by the study viewer and
PACS forwarding."""

from django.db import models
from django.db.models import Count, Sum

from cases.models import Case
from intake.models import Record


class StudyQuerySet(models.QuerySet["Study"]):
    def with_counts(self) -> "StudyQuerySet":
        return self.annotate(
            num_series=Count("series", distinct=True),
            num_instances=Sum("series__instance_count"),
        )


class Study(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="studies")
    study_uid = models.CharField(max_length=64)
    description = models.CharField(max_length=200, blank=True)
    # "CT" or "CT/MR": every modality among its series, in first-seen order.
    modalities = models.CharField(max_length=64, blank=True)
    study_date = models.DateField(null=True, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StudyQuerySet.as_manager()

    class Meta:
        ordering = ["study_date", "pk"]
        verbose_name_plural = "studies"
        constraints = [
            models.UniqueConstraint(fields=["case", "study_uid"], name="imaging_study_unique_uid")
        ]

    def __str__(self) -> str:
        return " ".join(filter(None, [self.modalities, self.description])) or "Imaging study"

    @property
    def series_count(self) -> int:
        annotated = getattr(self, "num_series", None)
        return annotated if annotated is not None else self.series.count()

    @property
    def instance_count(self) -> int:
        annotated = getattr(self, "num_instances", None)
        if annotated is not None:
            return int(annotated)
        return int(self.series.aggregate(n=Sum("instance_count"))["n"] or 0)


class Series(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    series_uid = models.CharField(max_length=64)
    modality = models.CharField(max_length=16, blank=True)
    description = models.CharField(max_length=200, blank=True)
    number = models.IntegerField(null=True, blank=True)
    body_part = models.CharField(max_length=64, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    columns = models.PositiveIntegerField(null=True, blank=True)
    pixel_spacing_row = models.FloatField(null=True, blank=True, help_text="mm")
    pixel_spacing_col = models.FloatField(null=True, blank=True, help_text="mm")
    slice_thickness = models.FloatField(null=True, blank=True, help_text="mm")
    frame_count = models.PositiveIntegerField(default=0)
    instance_count = models.PositiveIntegerField(default=0)
    window_center = models.FloatField(null=True, blank=True)
    window_width = models.FloatField(null=True, blank=True)
    # ImageOrientationPatient of the first instance: six direction cosines.
    orientation = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["number", "pk"]
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(
                fields=["study", "series_uid"], name="imaging_series_unique_uid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.modality} {self.description}".strip() or self.series_uid


class Instance(models.Model):
    # The study is denormalised here so an instance is unique per study whichever series
    # a (malformed) file claims to belong to.
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="instances")
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="dicom_instances")
    sop_uid = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=200, unique=True)
    size = models.BigIntegerField(default=0)
    instance_number = models.IntegerField(null=True, blank=True)
    # Distance along the slice normal, mm: the cross product of the orientation's row and
    # column cosines, dotted with ImagePositionPatient.
    position = models.FloatField(null=True, blank=True)
    sort_index = models.PositiveIntegerField(default=0)
    frames = models.PositiveIntegerField(default=1)
    transfer_syntax = models.CharField(max_length=64, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    columns = models.PositiveIntegerField(null=True, blank=True)
    # A compressed instance rewritten as Explicit VR Little Endian by the study viewer, kept
    # under its own random key after the first decode so later requests start no child.
    # Deleted with the row (imaging.signals).
    native_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["series", "sort_index", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["study", "sop_uid"], name="imaging_instance_unique_sop")
        ]

    def __str__(self) -> str:
        return f"{self.series} #{self.sort_index}"


class RecordIndex(models.Model):
    """What the indexer made of one record: shown to the coordinator with what it skipped."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be indexed"
        INDEXED = "indexed", "Indexed"
        FAILED = "failed", "Indexing failed"
        NOT_IMAGING = "not_imaging", "No DICOM images"

    record = models.OneToOneField(Record, on_delete=models.CASCADE, related_name="imaging_index")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    instances_added = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    # [{"name": entry name inside the zip (or the file), "reason": why it was skipped}]
    skipped = models.JSONField(default=list, blank=True)
    # Short and free of PHI: our own words, never text read from the file.
    error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "imaging index"
        verbose_name_plural = "imaging indexes"

    def __str__(self) -> str:
        return f"{self.record_id}: {self.get_state_display()}"
