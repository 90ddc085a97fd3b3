"""What people see of an indexed study: the line on the records list (family, physician)
and the console's index page with skipped entries and the re-index action."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import AccessEvent, TimelineEvent
from imaging import synthetic
from imaging.indexing import record_index
from imaging.models import Instance, RecordIndex
from tests.conftest import login
from tests.factories import CaseFactory

from .conftest import make_record


def _study() -> synthetic.StudySpec:
    return synthetic.StudySpec(
        key="pages",
        series=(
            synthetic.SeriesSpec(number=2, description="Axial", slices=5, size=16),
            synthetic.SeriesSpec(number=3, description="Bone", slices=3, size=16),
        ),
    )


@pytest.fixture
def indexed(case: Any) -> Any:
    files = [*synthetic.study_files(_study()), ("readme.txt", b"not an image")]
    record = make_record(case, synthetic.plain_zip(files), name="cd_export.zip")
    record_index(record_id=record.pk)
    return record


@pytest.mark.parametrize("who", ["family", "physician"])
def test_records_list_shows_the_study_line_instead_of_the_file_name(
    request: Any, case: Any, indexed: Any, who: str
) -> None:
    user = request.getfixturevalue(who)
    plain = make_record(case, b"%PDF-1.4 notes", name="notes.pdf", detected_kind="pdf")
    response = login(Client(), user).get(reverse("case_detail", args=[case.reference]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "CT head, 2 series, 8 images" in body
    assert f'title="{indexed.original_name}"' in body
    assert ">cd_export.zip<" not in body
    assert "notes.pdf" in body and plain.original_name == "notes.pdf"
    assert AccessEvent.objects.filter(case=case, user=user, outcome="allowed").exists()


def _add_study(case: Any, n: int) -> None:
    spec = synthetic.StudySpec(key=f"q{n}", series=_study().series)
    files = list(synthetic.study_files(spec))
    record_index(record_id=make_record(case, synthetic.plain_zip(files), name=f"{n}.zip").pk)


def test_records_line_costs_one_query_for_the_whole_list(
    case: Any, family: Any, django_assert_max_num_queries: Any
) -> None:
    client = login(Client(), family)
    url = reverse("case_detail", args=[case.reference])
    for n in range(2):
        files = list(
            synthetic.study_files(synthetic.StudySpec(key=f"q{n}", series=_study().series))
        )
        record_index(record_id=make_record(case, synthetic.plain_zip(files), name=f"{n}.zip").pk)
    client.get(url)
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    for n in range(2, 5):
        files = list(
            synthetic.study_files(synthetic.StudySpec(key=f"q{n}", series=_study().series))
        )
        record_index(record_id=make_record(case, synthetic.plain_zip(files), name=f"{n}.zip").pk)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("CT head, 2 series, 8 images") == 5


def test_other_family_gets_404_and_no_line(case: Any, indexed: Any, other_family: Any) -> None:
    response = login(Client(), other_family).get(reverse("case_detail", args=[case.reference]))
    assert response.status_code == 404
    assert b"2 series" not in response.content


@pytest.fixture
def staff(coordinator: Any) -> Client:
    return login(Client(), coordinator)


def test_console_lists_the_index_with_its_line(staff: Client, indexed: Any) -> None:
    response = staff.get(reverse("admin:imaging_recordindex_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "CT head, 2 series, 8 images" in body
    assert indexed.case.reference in body


def test_console_index_page_shows_skipped_entries_and_writes_an_audit_row(
    staff: Client, indexed: Any, coordinator: Any
) -> None:
    index = RecordIndex.objects.get(record=indexed)
    response = staff.get(reverse("admin:imaging_recordindex_change", args=[index.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<td>readme.txt</td><td>not a DICOM file</td>" in body
    assert "CT head, 2 series, 8 images" in body
    event = AccessEvent.objects.get(user=coordinator, object_type="imaging_index")
    assert (event.case_id, event.object_id, event.outcome) == (
        indexed.case_id,
        str(indexed.uid),
        "allowed",
    )


def test_console_study_page_lists_its_series(staff: Client, indexed: Any, coordinator: Any) -> None:
    study = indexed.case.studies.get()
    response = staff.get(reverse("admin:imaging_study_change", args=[study.pk]))
    assert response.status_code == 200
    assert b"Axial" in response.content and b"Bone" in response.content
    assert AccessEvent.objects.filter(user=coordinator, object_type="imaging_study").exists()
    listing = staff.get(reverse("admin:imaging_study_changelist"))
    assert listing.status_code == 200


def test_reindex_action_requeues_and_reindexes(
    staff: Client, indexed: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    index = RecordIndex.objects.get(record=indexed)
    old_keys = set(Instance.objects.values_list("storage_key", flat=True))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff.post(
            reverse("admin:imaging_recordindex_changelist"),
            {"action": "reindex", "_selected_action": [index.pk]},
        )
    assert response.status_code == 302
    assert callbacks  # the task was queued after commit (eager in tests: it ran)
    index.refresh_from_db()
    assert (index.state, index.instances_added) == (RecordIndex.State.INDEXED, 8)
    assert set(Instance.objects.values_list("storage_key", flat=True)).isdisjoint(old_keys)
    note = TimelineEvent.objects.get(case=indexed.case, kind="note", actor=coordinator)
    assert "Imaging index requested again" in note.note


def test_console_is_for_coordinators_only(
    client: Client, indexed: Any, family: Any, specialist: Any
) -> None:
    url = reverse("admin:imaging_recordindex_changelist")
    response = login(client, family).get(url)
    assert response.status_code == 302  # families never reach the console
    index = RecordIndex.objects.get(record=indexed)
    response = login(Client(), specialist).post(
        url, {"action": "reindex", "_selected_action": [index.pk]}
    )
    assert response.status_code in (302, 403)
    index.refresh_from_db()
    assert index.state == RecordIndex.State.INDEXED
    assert not TimelineEvent.objects.filter(kind="note", case=indexed.case).exists()


def test_line_for_a_record_of_another_case_is_not_mixed_in(family: Any, indexed: Any) -> None:
    other = CaseFactory(family=family)
    response = login(Client(), family).get(reverse("case_detail", args=[other.reference]))
    assert response.status_code == 200
    assert b"2 series" not in response.content


def test_console_index_page_names_itself_and_offers_no_save_button(coordinator: Any) -> None:
    from django.test import Client
    from django.urls import reverse

    from cases.models import Case
    from imaging.models import RecordIndex
    from tests.conftest import login
    from tests.factories import CaseFactory
    from tests.imaging.builders import clean_record

    case: Case = CaseFactory(status="in_review")
    index = RecordIndex.objects.create(record=clean_record(case), state="indexed")
    client = login(Client(), coordinator)
    listing = client.get(reverse("admin:imaging_recordindex_changelist")).content.decode()
    assert "Imaging indexes" in listing and "indexs" not in listing
    page = client.get(reverse("admin:imaging_recordindex_change", args=[index.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_the_read_only_study_page_offers_no_way_to_add_a_series(coordinator: Any) -> None:
    from django.test import Client
    from django.urls import reverse

    from imaging.models import Series, Study
    from tests.conftest import login
    from tests.factories import CaseFactory

    study = Study.objects.create(
        case=CaseFactory(status="in_review"), study_uid="1.2", modalities="CT"
    )
    Series.objects.create(study=study, series_uid="1.2.3", modality="CT")
    page = login(Client(), coordinator).get(reverse("admin:imaging_study_change", args=[study.pk]))
    assert page.status_code == 200
    # The admin's script shows "Add another" only while MAX_NUM_FORMS exceeds the forms.
    assert 'name="series-MAX_NUM_FORMS" value="0"' in page.content.decode()
