"""``{% record_imaging_line record %}``: on a records list, an indexed imaging record reads
"CT head, 2 series, 312 images" instead of its file name."""

from collections import defaultdict

from django import template
from django.db.models import Count
from django.utils.html import format_html, format_html_join

from intake.models import Record

from ..indexing import is_imaging
from ..models import Instance

register = template.Library()

_CACHE = "imaging_record_lines"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def study_label(*, modalities: str, body_part: str, description: str) -> str:
    """ "CT head": the modalities and the body part, else the study's description."""
    words = [modalities or "Imaging"]
    if body_part:
        words.append(body_part.lower())
    elif description:
        words.append(description)
    return " ".join(words)


def record_lines(record_ids: list[int]) -> dict[int, list[str]]:
    """One line per study each record added to: one query for the whole list."""
    rows = (
        Instance.objects.filter(record_id__in=record_ids)
        .values(
            "record_id",
            "study_id",
            "study__modalities",
            "study__body_part",
            "study__description",
        )
        .annotate(series=Count("series", distinct=True), images=Count("id"))
        .order_by("record_id", "study_id")
    )
    lines: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        label = study_label(
            modalities=row["study__modalities"],
            body_part=row["study__body_part"],
            description=row["study__description"],
        )
        lines[row["record_id"]].append(
            f"{label}, {_plural(row['series'], 'series', 'series')}, "
            f"{_plural(row['images'], 'image', 'images')}"
        )
    return lines


@register.simple_tag(takes_context=True)
def record_imaging_line(context: template.Context, record: Record) -> str:
    if not is_imaging(record):
        return format_html("{}", record.original_name)  # only imaging files are indexed
    cache = context.render_context.get(_CACHE)
    if cache is None or record.pk not in cache:
        # The whole list at once: the records table calls this once per row.
        listed = context.get("records")
        ids = [r.pk for r in listed if is_imaging(r)] if listed is not None else []
        if record.pk not in ids:
            ids = [record.pk]
        found = record_lines(ids)
        cache = {**(cache or {}), **{pk: found.get(pk, []) for pk in ids}}
        context.render_context[_CACHE] = cache
    lines: list[str] = cache[record.pk]
    if not lines:
        return format_html("{}", record.original_name)
    return format_html(
        '<span class="imaging-line" title="{}">{}</span>',
        record.original_name,
        format_html_join("; ", "{}", ((line,) for line in lines)),
    )
