"""The customer portal: submitting, the promised answer time, replying, confirming and
reopening, and what a contact must never see (other organisations, notes, inner clocks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assura.core.models import User
from assura.desk import queries
from assura.desk import services as desk
from assura.desk.clocks import clocks_of
from assura.desk.models import Case, Message, MessageKind, Status
from assura.sla.models import Breach
from assura.sla.watcher import record_due
from tests.desk.conftest import at

pytestmark = pytest.mark.django_db
MakeCase = Callable[..., Case]
TOKEN = "0123456789abcdef0123456789abcdef"


def portal_url(case: Case, name: str = "desk:portal_case") -> str:
    return reverse(name, args=[case.reference])


@pytest.fixture
def client() -> Client:
    """Pages in English, as the assertions read; errors in Chinese are tested on their own."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def contact_client(client: Client, contact: User) -> Client:
    client.force_login(contact)
    return client


def test_a_contact_submits_a_complaint_with_attachments_and_reads_the_promised_time(
    contact_client: Client,
    contact: User,
    contract,
    service,
    guarantee,  # type: ignore[no-untyped-def]
) -> None:
    contact.time_zone = "Europe/London"
    contact.save()
    response = contact_client.post(
        reverse("desk:submit"),
        {
            "token": TOKEN,
            "case_type": "complaint",
            "subject": "The engineer never came",
            "description": "We waited all morning.",
            "service": service.pk,
            "priority": "normal",
            "attachments": [
                SimpleUploadedFile("note.pdf", b"%PDF-1.4"),
                SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff"),
            ],
        },
        follow=True,
    )
    case = Case.objects.get()
    assert response.redirect_chain[-1][0] == portal_url(case)
    assert (case.channel, case.contact, case.case_type) == ("portal", contact, "complaint")
    message = Message.objects.get(case=case)
    assert sorted(a.name for a in message.attachments.all()) == ["note.pdf", "photo.jpg"]

    due = clocks_of(case)["complaint_reply"].due_at
    local = timezone.localtime(due, ZoneInfo("Europe/London"))
    html = response.content.decode()
    flash = str(next(iter(response.context["messages"])))
    assert flash == (
        f"We received your request {case.reference} and will answer by {local:%Y-%m-%d %H:%M}."
    )
    assert f"{local:%Y-%m-%d %H:%M}, time zone Europe/London." in html
    assert 'data-testid="promise"' in html
    assert "note.pdf" in html

    listing = contact_client.get(reverse("desk:portal")).content.decode()
    assert case.reference in listing
    assert "We will answer by" in listing


def test_the_same_form_sent_twice_makes_one_case(contact_client: Client, guarantee) -> None:  # type: ignore[no-untyped-def]
    data = {"token": TOKEN, "case_type": "inquiry", "subject": "Twice", "priority": "normal"}
    contact_client.post(reverse("desk:submit"), data)
    contact_client.post(reverse("desk:submit"), data)
    assert Case.objects.count() == 1


def test_submit_errors_are_shown_next_to_their_fields(
    contact_client: Client,
    guarantee,  # type: ignore[no-untyped-def]
) -> None:
    response = contact_client.post(
        reverse("desk:submit"),
        {
            "token": TOKEN,
            "case_type": "fault",
            "subject": "",
            "priority": "normal",
            "attachments": [SimpleUploadedFile("virus.exe", b"MZ")],
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["subject"] == ["This field is required."]
    html = response.content.decode()
    assert 'id="id_subject_error"' in html
    # the files are judged by the service, once the form itself is valid
    response = contact_client.post(
        reverse("desk:submit"),
        {
            "token": TOKEN,
            "case_type": "fault",
            "subject": "Broken",
            "priority": "normal",
            "attachments": [SimpleUploadedFile("virus.exe", b"MZ")],
        },
    )
    assert response.status_code == 400
    assert "virus.exe" in response.context["form"].errors["attachments"][0]
    assert 'id="id_attachments_error"' in response.content.decode()
    assert not Case.objects.exists()


def test_a_contact_replies_and_the_case_stops_waiting(
    contact_client: Client, make_case: MakeCase, agent: User
) -> None:
    case = make_case(at=timezone.now() - timedelta(minutes=5))
    desk.reply(actor=agent, case=case, body="Which version do you use?")
    desk.change_status(actor=agent, case=case, status=Status.WAITING_CUSTOMER)
    response = contact_client.post(
        portal_url(case, "desk:portal_reply"),
        {"reply-body": "Version 7.2", "reply-attachments": [SimpleUploadedFile("v.txt", b"7.2")]},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.OPEN
    message = Message.objects.filter(case=case, kind=MessageKind.CUSTOMER).get()
    assert message.body == "Version 7.2"
    assert message.attachments.get().name == "v.txt"

    empty = contact_client.post(portal_url(case, "desk:portal_reply"), {"reply-body": " "})
    assert empty.status_code == 400
    assert empty.context["reply_form"].errors == {"body": ["Write a message or attach a file."]}


def test_a_contact_confirms_a_resolution_and_reopens_the_case(
    contact_client: Client, make_case: MakeCase, agent: User
) -> None:
    case = make_case(at=timezone.now() - timedelta(minutes=5))
    early = contact_client.post(portal_url(case, "desk:portal_confirm"))
    assert early.status_code == 400
    assert early.context["confirm_errors"] == ["Only a resolved case can be confirmed."]

    desk.reply(actor=agent, case=case, body="Fixed.")
    desk.resolve(actor=agent, case=case)
    page = contact_client.get(portal_url(case)).content.decode()
    assert 'data-testid="confirm"' in page
    assert contact_client.post(portal_url(case, "desk:portal_confirm")).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED

    reopened = contact_client.post(
        portal_url(case, "desk:portal_reopen"), {"reopen-reason": "It broke again"}
    )
    assert reopened.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.reopen_count) == (Status.OPEN, 1)


def test_another_organisations_case_is_not_found(
    client: Client, make_case: MakeCase, other_contact: User
) -> None:
    case = make_case(attachments=[SimpleUploadedFile("theirs.png", b"\x89PNG")])
    attachment = Message.objects.get(case=case).attachments.get()
    client.force_login(other_contact)
    assert client.get(portal_url(case)).status_code == 404
    assert client.get(portal_url(case, "desk:case"), follow=True).status_code == 404
    for name in ("desk:portal_reply", "desk:portal_confirm", "desk:portal_reopen"):
        assert client.post(portal_url(case, name), {"reply-body": "hi"}).status_code == 404
    assert client.get(reverse("desk:portal_attachment", args=[attachment.pk])).status_code == 404
    assert case.reference not in client.get(reverse("desk:portal")).content.decode()
    assert not Message.objects.filter(case=case, author=other_contact).exists()


def test_internal_notes_and_inner_clocks_are_never_shown(
    contact_client: Client, make_case: MakeCase, agent: User
) -> None:
    case = make_case(at=timezone.now() - timedelta(minutes=5))
    note = desk.add_note(
        actor=agent,
        case=case,
        body="Customer is difficult, keep it short",
        attachments=[SimpleUploadedFile("internal.txt", b"secret")],
    )
    desk.reply(actor=agent, case=case, body="We are looking into it.")
    response = contact_client.get(portal_url(case))
    html = response.content.decode()
    assert "We are looking into it." in html
    assert "Customer is difficult" not in html
    assert "internal.txt" not in html
    assert "Classification" not in html  # an internal clock
    assert "SLA clocks" not in html
    assert all(entry.kind != "note" for entry in response.context["timeline"])
    hidden = note.attachments.get()
    download = contact_client.get(reverse("desk:portal_attachment", args=[hidden.pk]))
    assert download.status_code == 404


def test_staff_are_sent_from_the_portal_to_their_pages(
    client: Client, agent: User, make_case: MakeCase
) -> None:
    case = make_case()
    client.force_login(agent)
    assert client.get(reverse("desk:portal")).url == reverse("desk:cases")
    assert client.get(portal_url(case)).url == reverse("desk:case", args=[case.reference])
    assert client.get(reverse("desk:submit")).status_code == 403


def test_breach_notices_are_shown_with_their_reasons(
    contact_client: Client, make_case: MakeCase
) -> None:
    notice_model = queries.optional_model("sla", "BreachNotice")
    if notice_model is None:
        pytest.skip("breach notices are not installed")
    case = make_case(at=at(2026, 3, 2, 10))
    record_due(timezone.now())
    breach = Breach.objects.filter(clock__subject_id=case.pk, metric="first_response").get()
    notice_model.objects.update_or_create(  # type: ignore[attr-defined]
        breach=breach,
        defaults={
            "language": "en",
            "reason": "Our hotline was down for an hour.",
            "send_at": timezone.now(),
            "sent_at": timezone.now(),
        },
    )
    html = contact_client.get(portal_url(case)).content.decode()
    assert "Our hotline was down for an hour." in html


def test_errors_come_in_the_contacts_language(
    contact: User,
    guarantee,  # type: ignore[no-untyped-def]
) -> None:
    contact.language = "zh-hans"
    contact.save()
    client = Client(headers={"accept-language": "en"})
    client.force_login(contact)
    response = client.post(
        reverse("desk:submit"), {"token": TOKEN, "case_type": "fault", "priority": "normal"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["subject"] == ["该字段是必填项。"]
