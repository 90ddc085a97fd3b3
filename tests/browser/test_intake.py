"""The request form in a real browser: a family fills every step (mistakes included), sends a
small PDF through the form and a large file in parts straight to S3, does it all again with
the keyboard alone, and the physician they named accepts the invitation and sees the case.
axe checks every page on the way, error states included."""

import hashlib
import html
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from accounts.models import Role, User
from cases.models import Case, Status
from intake.models import Record
from tests.conftest import login
from tests.intake.helpers import add_question, fill_until_questions, post_step, start

from .conftest import assert_styled, axe_check
from .conftest import signed_in as sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A small valid PDF, and a web page saved under a .pdf name.
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n"
    b"0000000058 00000 n \n0000000115 00000 n \n"
    b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n"
)
HTML_AS_PDF = b"<!DOCTYPE html>\n<html><head><title>Labs</title></head><body>Labs</body></html>\n"
WEB_PAGE_REFUSED = "This file looks like a web page, XML or program code, not a medical record."
TENNESSEE_REFUSED = (
    "Because of state regulations, we are not able to provide online second opinions to "
    "children who live in Tennessee at this time."
)

# A question or file sent back with its error is answered 400, which Chromium logs.
FORM_SENT_BACK = re.compile(
    r"status of 400 \(Bad Request\) \(/cases/OSO-[A-Z0-9-]+/(questions|records)/\)$"
)

NEW_PASSWORD = "Blue-harbour-lantern-42"
QUESTION_1 = "Is surgery the right choice for Sofia now?"
QUESTION_2 = "What happens if we wait another year before deciding?"


@pytest.fixture(autouse=True)
def _no_virus_scanner(settings: Any) -> None:
    # Scanning has its own tests; without a scanner a record waits for it, as in production.
    settings.CLAMD_HOST = ""


# --- helpers ------------------------------------------------------------------------------


def field(scope: Page | Locator, label: str) -> Locator:
    """The form control labelled ``label`` (required fields add an asterisk to the label)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def main(page: Page) -> Locator:
    return page.get_by_role("main")


def expect_step(page: Page, number: int, title: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    current = page.get_by_role("navigation", name="Request steps").locator("[aria-current=step]")
    expect(current).to_have_text(f"{number}. {title}")


def save_and_continue(page: Page) -> None:
    main(page).get_by_role("button", name="Save and continue").click()


def expect_field_error(control: Locator, message: str) -> None:
    """The error is announced with the control: marked invalid and described by the message."""
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_accessible_description(re.compile(re.escape(message)))


def question_texts(page: Page) -> list[str]:
    return [
        text.strip() for text in main(page).locator("ol.questions > li p.mb-2").all_inner_texts()
    ]


# --- the whole form, mistakes included ----------------------------------------------------


def test_family_completes_every_step_and_submits(
    page: Page, live_server: Any, family: User, console_allowlist: list[re.Pattern[str]]
) -> None:
    console_allowlist.append(FORM_SENT_BACK)
    sign_in(page, live_server, family)
    page.goto("/cases/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    axe_check(page)

    main(page).get_by_role("link", name="Start a request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a second-opinion request")
    axe_check(page)
    main(page).get_by_role("button", name="Start a new request").click()

    # 1. Before you start.
    expect_step(page, 1, "Before you start")
    case = Case.objects.get(created_by=family)
    assert case.status == Status.DRAFT
    assert_styled(page)
    axe_check(page)
    main(page).get_by_label("not for urgent care").check()
    main(page).get_by_label("records must be in English").check()
    save_and_continue(page)

    # 2. Where the child lives: a state the service does not cover is refused with the
    # reason and what to do instead.
    expect_step(page, 2, "Where your child lives")
    axe_check(page)
    residence = field(page, "Where does your child live?")
    residence.select_option(label="Tennessee (not available)")
    save_and_continue(page)
    expect_step(page, 2, "Where your child lives")
    expect_field_error(residence, TENNESSEE_REFUSED)
    instead = main(page).get_by_role("status").filter(has_text="What you can do instead")
    expect(instead).to_contain_text(
        f"schedule an in-person appointment at our hospital: call {settings.IN_PERSON_PHONE}"
    )
    axe_check(page)
    residence.select_option(label="Oregon (available)")
    save_and_continue(page)

    # 3. The child: the home address must be in the state chosen in step 2.
    expect_step(page, 3, "Your child")
    axe_check(page)
    field(page, "Legal first name").fill("Sofia")
    field(page, "Legal last name").fill("Lopez")
    field(page, "Preferred name (optional)").fill("Sofi")
    field(page, "Date of birth").fill("2016-04-02")
    field(page, "Sex").select_option(label="Female")
    field(page, "Street address").fill("12 Elm Street")
    field(page, "City").fill("Portland")
    field(page, "State").select_option(label="Washington")
    field(page, "ZIP code").fill("97201")
    field(page, "Your full name").fill("Maria Lopez")
    field(page, "Your relationship to the child").select_option(label="Mother")
    field(page, "Your phone number").fill("503-555-0100")
    main(page).get_by_label("I am this child's parent or legal guardian").check()
    save_and_continue(page)
    expect_step(page, 3, "Your child")
    expect_field_error(field(page, "State"), "The home address must be in Oregon")
    expect(field(page, "Legal first name")).to_have_value("Sofia")
    axe_check(page)
    field(page, "State").select_option(label="Oregon")
    save_and_continue(page)

    # 4. The local physician.
    expect_step(page, 4, "Local physician")
    axe_check(page)
    field(page, "Physician's full name").fill("Priya Shah")
    field(page, "Physician's email").fill("physician@example.com")
    field(page, "Physician's phone").fill("503-555-0142")
    field(page, "Practice or hospital").fill("Riverside Pediatrics")
    field(page, "Their specialty").fill("Pediatrics")
    field(page, "State of licence").select_option(label="Oregon")
    save_and_continue(page)

    # 5. The medical question.
    expect_step(page, 5, "Medical question")
    axe_check(page)
    # Cardiac surgery opinions are free: no payment card step.
    field(page, "Which specialty should review your child's case?").select_option(
        label="Cardiac Surgery"
    )
    field(page, "Current diagnosis").fill("Ventricular septal defect")
    field(page, "Treatment or surgery that has been recommended").fill("Surgical closure")
    field(page, "What has been tried so far (optional)").fill("Monitoring")
    save_and_continue(page)

    # 6. Questions: one too short, two good ones, then the second moved to the top.
    expect_step(page, 6, "Your questions")
    axe_check(page)
    question = field(page, "Your question")
    question.fill("Why?")
    main(page).get_by_role("button", name="Add question").click()
    expect_field_error(question, "Ensure this value has at least 10 characters (it has 4).")
    axe_check(page)
    question.fill(QUESTION_1)
    main(page).get_by_role("button", name="Add question").click()
    expect(page.get_by_role("status")).to_contain_text("Question added.")
    question.fill(QUESTION_2)
    main(page).get_by_role("button", name="Add question").click()
    expect(main(page).get_by_role("heading", name="Question 2")).to_be_visible()
    assert question_texts(page) == [QUESTION_1, QUESTION_2]
    main(page).get_by_role("button", name="Move question 2 up").click()
    expect(main(page).get_by_role("button", name="Move question 2 up")).to_be_visible()
    assert question_texts(page) == [QUESTION_2, QUESTION_1]
    assert list(case.questions.order_by("position").values_list("text", flat=True)) == [
        QUESTION_2,
        QUESTION_1,
    ]
    axe_check(page)
    main(page).get_by_role("link", name="Continue to records").click()

    # 7. Records: a PDF is received; a web page named .pdf is refused at the file field,
    # and what was typed, and the PDF already sent, stay.
    expect_step(page, 7, "Records")
    axe_check(page)
    field(page, "File").set_input_files(
        {"name": "labs.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    field(page, "What is it?").select_option(label="Lab results")
    field(page, "Short description (optional)").fill("Blood tests, March 2026")
    main(page).get_by_role("button", name="Upload file").click()
    expect(page.get_by_role("status")).to_contain_text("File received. Thank you.")
    records = main(page).get_by_role("table", name="Records on this request")
    expect(records).to_contain_text("labs.pdf")
    expect(records).to_contain_text("Blood tests, March 2026")
    axe_check(page)

    field(page, "File").set_input_files(
        {"name": "referral.pdf", "mimeType": "application/pdf", "buffer": HTML_AS_PDF}
    )
    field(page, "What is it?").select_option(label="Clinical notes")
    field(page, "Short description (optional)").fill("Referral letter")
    main(page).get_by_role("button", name="Upload file").click()
    expect_step(page, 7, "Records")
    file_input = field(page, "File")
    expect_field_error(file_input, WEB_PAGE_REFUSED)
    file_error = main(page).locator("#div_id_file .invalid-feedback")
    expect(file_error).to_be_visible()
    expect(file_error).to_contain_text(WEB_PAGE_REFUSED)
    expect(field(page, "Short description (optional)")).to_have_value("Referral letter")
    expect(field(page, "What is it?")).to_have_value(Record.Kind.CLINICAL_NOTES)
    expect(records).to_contain_text("labs.pdf")
    expect(records).not_to_contain_text("referral.pdf")
    axe_check(page)
    assert list(case.records.values_list("original_name", "state")) == [
        ("labs.pdf", Record.State.AVAILABLE)
    ]
    main(page).get_by_label("Records will also come from our physician or hospital").check()
    save_and_continue(page)

    # 8. Review: the consents are required, then the request goes in.
    expect_step(page, 8, "Review and submit")
    expect(main(page)).not_to_contain_text("Before you can submit")
    summary = main(page).locator("dl")
    expect(summary).to_contain_text("Oregon")
    expect(summary).to_contain_text("Sofia Lopez (Sofi), born Apr 2, 2016")
    expect(summary).to_contain_text("1 file; more from your physician")
    expect(summary.locator("ol > li")).to_have_text([QUESTION_2, QUESTION_1])
    axe_check(page)
    submit = main(page).get_by_role("button", name="Submit request")
    submit.click()
    expect_step(page, 8, "Review and submit")
    expect_field_error(main(page).get_by_label("I accept the terms"), "This field is required.")
    axe_check(page)
    case.refresh_from_db()
    assert case.status == Status.DRAFT
    main(page).get_by_label("I accept the terms").check()
    main(page).get_by_label("I authorise the hospital to use the records").check()
    main(page).get_by_label("does not create a doctor-patient relationship").check()
    submit.click()

    # The case page: submitted, the tracker on "Submitted".
    expect(page).to_have_url(f"{live_server.url}/cases/{case.reference}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {case.reference} · Sofi")
    expect(page.get_by_role("status")).to_contain_text(
        f"Your request {case.reference} was submitted"
    )
    expect(main(page)).to_contain_text("Status: Submitted")
    tracker = main(page).get_by_role("list", name=f"Progress of request {case.reference}")
    expect(tracker.locator("[aria-current=step]")).to_have_text("Now: Submitted")
    expect(main(page).get_by_role("table", name="Records on this request")).to_contain_text(
        "labs.pdf"
    )
    assert_styled(page)
    axe_check(page)
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My requests").click()
    card = main(page).get_by_role("region", name=re.compile(case.reference))
    expect(card).to_contain_text("Cardiac Surgery · 2 questions · 1 record")
    expect(card.get_by_role("link", name=f"Add records to {case.reference}")).to_be_visible()
    axe_check(page)


# --- drafts and requests built through the real form, outside the browser ------------------


def draft_at_records(family: User) -> Case:
    """A draft filled in up to the records step (two questions), as the family would."""
    client = login(Client(), family)
    case = start(client)
    fill_until_questions(client, case)
    assert add_question(client, case, QUESTION_1).status_code == 302
    assert add_question(client, case, QUESTION_2).status_code == 302
    return case


def submitted_case(family: User) -> Case:
    client = login(Client(), family)
    case = draft_at_records(family)
    assert post_step(client, case, "records", {}).status_code == 302
    consents = {"terms": "on", "records_use": "on", "no_relationship": "on"}
    assert post_step(client, case, "review", consents).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
    return case


# --- a large file, in parts, straight to storage ------------------------------------------


def large_pdf(path: Path, size: int) -> bytes:
    """A PDF of ``size`` bytes: a real header, then comment lines (what the checks read
    first is a PDF; the rest only has to be there)."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    tail = b"%%EOF\n"
    line = b"%" + b"0123456789abcdef" * 4 + b"\n"
    body_size = size - len(head) - len(tail)
    body = line * (body_size // len(line)) + b"%" * (body_size % len(line))
    data = head + body + tail
    assert len(data) == size
    path.write_bytes(data)
    return data


def test_large_file_is_sent_in_parts_with_progress(
    page: Page, live_server: Any, family: User, browser_s3: dict[str, Any], tmp_path: Path
) -> None:
    case = draft_at_records(family)
    big = tmp_path / "mri-brain.pdf"
    data = large_pdf(big, 40 * 1000 * 1000)  # parts of 16 MiB: 3 parts
    part_puts: list[str] = []
    endpoint = browser_s3["endpoint"]
    page.on(
        "request",
        lambda request: (
            part_puts.append(request.url)
            if request.method == "PUT" and request.url.startswith(endpoint)
            else None
        ),
    )

    sign_in(page, live_server, family)
    page.goto(f"/cases/{case.reference}/request/records/")
    expect_step(page, 7, "Records")
    uploader = main(page).get_by_role("region", name="Large files (over 50 MB, up to 5 GB each)")
    chooser = field(uploader, "Choose large files")
    expect(chooser).to_be_enabled()  # the script started
    axe_check(page)

    chooser.set_input_files(big)
    row = uploader.get_by_role("listitem").filter(has_text="mri-brain.pdf")
    expect(row).to_contain_text("40.0 MB")
    expect(uploader.locator("[data-summary]")).to_have_text(
        "1 file added. Choose what each file is, then press “Send files”."
    )
    send = uploader.get_by_role("button", name="Send files")

    # Sending before saying what the file is: the row says so, focus goes to the choice.
    send.click()
    kind = row.get_by_label("What is mri-brain.pdf?")
    expect_field_error(kind, "Choose what this file is.")
    expect(kind).to_be_focused()
    axe_check(page)

    # What the row shows, as it changes: kept here, since the page reloads once done.
    seen: list[tuple[str, Any, bool]] = []
    page.expose_function("uploaderShows", lambda *change: seen.append(change))
    row.evaluate(
        """(row) => {
            const bar = row.querySelector('progress');
            const status = row.querySelector('[data-field=status]');
            const tell = () => window.uploaderShows(
                bar.value, status.textContent, bar.checkVisibility());
            new MutationObserver(tell).observe(bar, {attributes: true});
            new MutationObserver(tell).observe(status, {childList: true, characterData: true});
        }"""
    )
    kind.select_option(label="Imaging (DICOM study or images)")
    row.get_by_label("Short description of mri-brain.pdf (optional)").fill("MRI brain, May 2026")
    send.click()
    expect(row.get_by_role("progressbar", name="Progress of mri-brain.pdf")).to_be_visible()

    # Once every file is in, the page reloads (a plain GET) and says so at the uploader.
    expect(uploader.locator("[data-summary]")).to_have_text(
        "All files were received. They are in the list of records.", timeout=30_000
    )
    expect(uploader.get_by_role("listitem")).to_have_count(0)  # a fresh page
    # Before that, the bar stayed visible and filled up as the parts went, and the status
    # line followed: sending, checking, received.
    assert all(visible for *_, visible in seen), seen
    values = [value for value, *_ in seen]
    assert values == sorted(values), values
    assert (values[0], values[-1]) == (0, 100), values
    assert any(0 < value < 100 for value in values), values
    statuses = list(dict.fromkeys(text for _, text, _ in seen))
    sending = [text for text in statuses if text.startswith("Sending… ")]
    assert sending[0] == "Sending… 0%", statuses
    assert sending[-1] == "Sending… 100% (40.0 MB of 40.0 MB)", statuses
    assert len(sending) > 2, statuses
    assert [text for text in statuses if not text.startswith("Sending… ")] == [
        "Preparing the upload…",
        "All parts sent. Checking the file…",
        "Sent. We are checking the file; this can take a few minutes for large files.",
        "Received. Thank you.",
    ], statuses
    assert statuses.index("Preparing the upload…") < statuses.index("Sending… 0%")
    assert statuses.index(sending[-1]) < statuses.index("All parts sent. Checking the file…")
    table = main(page).get_by_role("table", name="Records on this request")
    entry = table.get_by_role("row").filter(has_text="mri-brain.pdf")
    expect(entry).to_contain_text("MRI brain, May 2026")
    expect(entry).to_contain_text("Imaging (DICOM study or images)")
    expect(entry).to_contain_text("Received · Waiting for virus scan")
    axe_check(page)

    record = Record.objects.get(case=case)
    assert record.state == Record.State.AVAILABLE
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.size == len(data)
    assert (record.kind, record.detected_kind) == (Record.Kind.IMAGING, "pdf")
    assert len(part_puts) == 3, part_puts
    assert sorted(re.search(r"partNumber=(\d+)", url)[1] for url in part_puts) == ["1", "2", "3"]
    stored = browser_s3["client"].head_object(Bucket=browser_s3["bucket"], Key=record.file.name)
    assert stored["ContentLength"] == len(data)


# --- the keyboard alone --------------------------------------------------------------------


def tab_to(page: Page, selector: str, max_tabs: int = 80) -> Locator:
    """Press Tab until the element ``selector`` finds has the focus; fail if it never does.

    Every element the focus stops on on the way must show it plainly (WCAG 2.4.7): the
    site's 3px outline, not just Bootstrap's faint glow.
    """
    target = page.locator(selector)
    expect(target).to_have_count(1)
    handle = target.element_handle()
    visited: list[str] = []
    for _ in range(max_tabs + 1):
        focus = page.evaluate(
            """(target) => {
                const e = document.activeElement;
                const style = getComputedStyle(e);
                return {
                    here: e === target,
                    outline: e === document.body ? 'body' : style.outlineStyle === 'none'
                        ? 'none' : style.outlineWidth,
                    name: e.id || e.getAttribute('href') || e.textContent.trim().slice(0, 40),
                };
            }""",
            handle,
        )
        assert focus["outline"] in ("body", "3px"), f"focus hardly visible on {focus}"
        if focus["here"]:
            return target
        visited.append(focus["name"])
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached {selector} in {max_tabs} presses: {visited}", pytrace=False)


def selected_text(page: Page, selector: str) -> str:
    return page.eval_on_selector(selector, "s => s.selectedOptions[0].text")


def test_family_completes_the_form_with_the_keyboard_alone(
    page: Page, live_server: Any, family: User
) -> None:
    keys = page.keyboard
    sign_in(page, live_server, family)
    page.goto("/cases/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    tab_to(page, "main a:text-is('Start a request')")
    keys.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a second-opinion request")
    tab_to(page, "main button:text-is('Start a new request')")
    keys.press("Enter")

    expect_step(page, 1, "Before you start")
    # The skip link first: it takes the focus past the header and the steps.
    keys.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    keys.press("Enter")
    tab_to(page, "#id_english")
    keys.press("Space")
    keys.press("Shift+Tab")
    expect(page.locator("#id_not_urgent")).to_be_focused()
    keys.press("Space")
    expect(page.locator("#id_not_urgent")).to_be_checked()
    expect(page.locator("#id_english")).to_be_checked()
    tab_to(page, "main button:text-is('Save and continue')")
    keys.press("Enter")

    expect_step(page, 2, "Where your child lives")
    tab_to(page, "#id_residence")
    keys.type("Oregon")  # a closed select jumps to the option typed
    assert selected_text(page, "#id_residence") == "Oregon (available)"
    tab_to(page, "main button:text-is('Save and continue')")
    keys.press("Enter")

    expect_step(page, 3, "Your child")
    tab_to(page, "#id_child_legal_first_name")
    keys.type("Sofia")
    keys.press("Tab")
    keys.type("Lopez")
    keys.press("Tab")
    keys.type("Sofi")
    keys.press("Tab")
    expect(page.locator("#id_child_date_of_birth")).to_be_focused()
    keys.type("04022016")  # month, day, year: the date field moves between them
    expect(page.locator("#id_child_date_of_birth")).to_have_value("2016-04-02")
    tab_to(page, "#id_child_sex")
    keys.press("ArrowDown")
    assert selected_text(page, "#id_child_sex") == "Female"
    keys.press("Tab")
    keys.type("12 Elm Street")
    tab_to(page, "#id_address_city")
    keys.type("Portland")
    keys.press("Tab")
    keys.type("Oregon")
    assert selected_text(page, "#id_address_state") == "Oregon"
    keys.press("Tab")
    keys.type("97201")
    keys.press("Tab")
    keys.type("Maria Lopez")
    keys.press("Tab")
    keys.press("ArrowDown")
    assert selected_text(page, "#id_guardian_relationship") == "Mother"
    keys.press("Tab")
    keys.type("503-555-0100")
    keys.press("Tab")
    expect(page.locator("#id_guardian_attested")).to_be_focused()
    keys.press("Space")
    tab_to(page, "main button:text-is('Save and continue')")
    keys.press("Enter")

    expect_step(page, 4, "Local physician")
    # Each field by Tab, in the page's order; Enter in the last one sends the form, as
    # "Save and continue" (the form's first button) would.
    for control, text in (
        ("#id_physician_name", "Priya Shah"),
        ("#id_physician_phone", "503-555-0142"),
        ("#id_physician_practice", "Riverside Pediatrics"),
        ("#id_physician_specialty", "Pediatrics"),
        ("#id_physician_licence_state", "Oregon"),
        ("#id_physician_email", "physician@example.com"),
    ):
        tab_to(page, control)
        keys.type(text)
    assert selected_text(page, "#id_physician_licence_state") == "Oregon"
    keys.press("Enter")

    expect_step(page, 5, "Medical question")
    for control, text in (
        ("#id_diagnosis", "Ventricular septal defect"),
        ("#id_recommended_treatment", "Surgical closure"),
        ("#id_preferred_specialist_text", "Dr. Helen Park"),
        ("#id_specialty", "Cardiac"),  # free of charge: no payment card step
    ):
        tab_to(page, control)
        keys.type(text)
    assert selected_text(page, "#id_specialty") == "Cardiac Surgery"
    tab_to(page, "main button:text-is('Save and continue')")
    keys.press("Enter")

    expect_step(page, 6, "Your questions")
    for number, text in ((1, QUESTION_1), (2, QUESTION_2)):
        tab_to(page, "#id_text")
        keys.type(text)
        tab_to(page, "main button:text-is('Add question')")
        keys.press("Enter")
        expect(page.get_by_role("heading", name=f"Question {number}")).to_be_visible()
    tab_to(page, "main button:text-is('Move question 2 up')")
    keys.press("Enter")
    expect(page.locator("main ol.questions > li").first).to_contain_text(QUESTION_2)
    tab_to(page, "main a:text-is('Continue to records')")
    keys.press("Enter")

    expect_step(page, 7, "Records")
    tab_to(page, "#id_file")
    # Space on the focused file input opens the chooser. On a loaded 2-core machine Chromium
    # has let a key press go by without opening it (once in many runs, the focus still on
    # the input): the press is tried again, each time with the focus checked first.
    for attempt in range(3):
        expect(page.locator("#id_file")).to_be_focused()
        try:
            with page.expect_file_chooser(timeout=20_000) as chooser:
                keys.press("Space")
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    chooser.value.set_files({"name": "labs.pdf", "mimeType": "application/pdf", "buffer": PDF})
    keys.press("Tab")
    keys.type("Lab")
    assert selected_text(page, "#id_kind") == "Lab results"
    keys.press("Tab")
    keys.type("Blood tests")
    tab_to(page, "main button:text-is('Upload file')")
    keys.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("File received. Thank you.")
    tab_to(page, "main button:text-is('Save and continue')")
    keys.press("Enter")

    expect_step(page, 8, "Review and submit")
    tab_to(page, "#id_terms")
    for _ in range(3):
        keys.press("Space")
        keys.press("Tab")
    tab_to(page, "main button:text-is('Submit request')")
    keys.press("Enter")

    expect(page).to_have_url(re.compile(r"/cases/OSO-[A-Z0-9-]+/$"))
    expect(main(page)).to_contain_text("Status: Submitted")
    case = Case.objects.get(created_by=family)
    assert case.status == Status.SUBMITTED
    intake = case.intake
    assert intake.child_date_of_birth.isoformat() == "2016-04-02"
    assert (intake.address_state, intake.residence.code, intake.guardian_relationship) == (
        "OR",
        "OR",
        "mother",
    )
    assert intake.preferred_specialist_text == "Dr. Helen Park"
    assert list(case.questions.order_by("position").values_list("text", flat=True)) == [
        QUESTION_2,
        QUESTION_1,
    ]
    assert list(case.records.values_list("original_name", "kind")) == [("labs.pdf", "lab_results")]


# --- the physician accepts the invitation ---------------------------------------------------


def test_physician_accepts_the_invitation_and_sees_the_case(
    page: Page, live_server: Any, family: User, settings: Any
) -> None:
    settings.SITE_URL = live_server.url  # the links in emails point at this server
    case = submitted_case(family)
    invitation = next(m for m in mail.outbox if m.to == ["physician@example.com"])
    ((html_body, _),) = invitation.alternatives
    links = [html.unescape(href) for href in re.findall(r'href="([^"]+/signup/[^"]+)"', html_body)]
    assert links == [
        f"{live_server.url}/accounts/signup/?email=physician%40example.com&role=physician"
    ]
    mail.outbox.clear()

    page.goto(links[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    expect(field(page, "Email")).to_have_value("physician@example.com")
    expect(main(page).get_by_label("The child's physician")).to_be_checked()
    axe_check(page)
    field(page, "Password").fill(NEW_PASSWORD)
    field(page, "Password (again)").fill(NEW_PASSWORD)
    main(page).get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")

    user = User.objects.get(email="physician@example.com")
    assert user.role == Role.PHYSICIAN
    (verification,) = mail.outbox
    (confirm,) = re.findall(r"https?://\S+/accounts/confirm-email/\S+/", verification.body)
    page.goto(confirm)
    main(page).get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("You have confirmed physician@example.com")

    field(page, "Email").fill("physician@example.com")
    field(page, "Password").fill(NEW_PASSWORD)
    main(page).get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(f"{live_server.url}/cases/")
    card = main(page).get_by_role("region", name=re.compile(case.reference))
    expect(card).to_contain_text("Cardiac Surgery · 2 questions · 0 records")
    expect(card.get_by_role("list", name=f"Progress of request {case.reference}")).to_contain_text(
        "Now: Submitted"
    )
    expect(main(page).get_by_role("link", name="Link to a patient's request")).to_be_visible()
    assert_styled(page)
    axe_check(page)

    # The card's heading is the child's name; the reference is written beneath it.
    card.get_by_role("heading", level=2).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {case.reference} · Sofi")
    questions = main(page).get_by_role("region", name=re.compile(r"^Questions"))
    expect(questions.get_by_role("heading", level=2)).to_have_text("Questions (2 of 10)")
    expect(questions.locator("ol.questions > li p.mb-2")).to_have_text([QUESTION_1, QUESTION_2])
    expect(main(page)).to_contain_text("Priya Shah (physician@example.com)")
    axe_check(page)
