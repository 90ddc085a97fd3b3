"""Forms of the specialist workspace: the reason to decline or ask, the report draft, the
signature.

The draft form is built from the report it edits (its sections, amendment reason and one
answer per question), so the same form checks a full "Save draft" post and an autosave that
carries only the fields that changed (``partial=True``). Lengths are checked here, with a
message next to the field, before ``reports.services.draft_save`` checks them again.
"""

from typing import Any

from django import forms

from .models import ANSWER_MAX_CHARS, SECTION_MAX_CHARS, SECTIONS, Report

REASON_MAX_CHARS = 2000
AMENDMENT_MAX_CHARS = 2000
AUDIENCE = {"family": "For the family, in plain language", "physician": "For the physician"}


class PlainText(forms.CharField):
    """Text kept exactly as typed, except line endings: a browser posts a textarea with CRLF
    but its ``value`` (what autosave sends) has LF; both must count and save the same."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value) or ""
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        # No maxlength in the page: a browser silently cuts a long paste there, while the
        # server's error keeps every character and says what to shorten.
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REASON_MAX_CHARS,
        error_messages={"required": "Give the reason."},
    )

    def __init__(self, *args: Any, required_message: str = "Give the reason.", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = required_message


def answer_field_name(position: int) -> str:
    return f"answer_{position}"


class DraftForm(forms.Form):
    """The editable fields of ``report``. With ``partial``, only the fields present in
    ``data`` are kept (an autosave sends what changed)."""

    report_uid = forms.UUIDField(widget=forms.HiddenInput)
    revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, report: Report, partial: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"report_uid": report.uid, "revision": report.revision})
        super().__init__(*args, **kwargs)
        self.report = report
        self.section_names: list[str] = []
        self.answer_positions: dict[str, int] = {}
        if report.kind == Report.Kind.REPORT:
            for name, heading, _audience, _required in SECTIONS:
                self.fields[name] = PlainText(
                    label=heading,
                    max_length=SECTION_MAX_CHARS,
                    initial=getattr(report, name),
                    error_messages={
                        "max_length": f"Keep this section under {SECTION_MAX_CHARS:,} "
                        "characters (it has %(show_value)d)."
                    },
                )
                self.section_names.append(name)
            if report.version > 1:
                self.fields["amendment_reason"] = PlainText(
                    label="Reason for this new version",
                    max_length=AMENDMENT_MAX_CHARS,
                    initial=report.amendment_reason,
                    error_messages={
                        "max_length": f"Keep the reason under {AMENDMENT_MAX_CHARS:,} "
                        "characters (it has %(show_value)d)."
                    },
                )
        for answer in report.answers.all():
            name = answer_field_name(answer.position)
            label = "follow-up question" if answer.follow_up_id else "question"
            self.fields[name] = PlainText(
                label=f"Answer to {label} {answer.position}",
                max_length=ANSWER_MAX_CHARS,
                initial=answer.text,
                error_messages={
                    "max_length": f"Keep this answer under {ANSWER_MAX_CHARS:,} characters "
                    "(it has %(show_value)d)."
                },
            )
            self.answer_positions[name] = answer.position
        if partial and self.is_bound:
            for name in list(self.fields):
                if name not in ("report_uid", "revision") and name not in self.data:
                    del self.fields[name]

    def changes(self) -> dict[str, Any]:
        """The keyword arguments ``draft_save`` takes for what this form holds. On a form
        with errors, only the valid fields: one field too long must not hold back the
        others."""
        data = self.cleaned_data
        sections = {n: data[n] for n in self.section_names if n in data}
        answers = {p: data[n] for n, p in self.answer_positions.items() if n in data}
        reason = data.get("amendment_reason") if "amendment_reason" in data else None
        return {"sections": sections, "answers": answers, "amendment_reason": reason}

    def typed(self) -> list[dict[str, str]]:
        """What was posted to each editable field, with its label: shown read-only when
        it can no longer be saved (the report was signed meanwhile), so it can be copied."""
        return [
            {"label": str(field.label), "text": str(field.to_python(self.data.get(name, "")))}
            for name, field in self.fields.items()
            if name not in ("report_uid", "revision") and (self.data.get(name) or "").strip()
        ]


class SignForm(forms.Form):
    report_uid = forms.UUIDField(widget=forms.HiddenInput)
    revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    password = forms.CharField(
        label="Your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Or a code from your authenticator app",
        required=False,
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("password") and not (data.get("code") or "").strip():
            self.add_error(
                "password",
                "Enter your password, or a current code from your authenticator app.",
            )
        return data
