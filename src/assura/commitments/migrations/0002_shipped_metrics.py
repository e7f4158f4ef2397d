"""The five metrics assura ships, as rows a quality manager can read and extend."""

from django.db import migrations

WAITING = ["waiting_customer", "waiting_third_party"]
METRICS = [
    # code, name, start, stop, pauses, case types
    ("first_response", "First response", "created", "first_public_reply", [], []),
    ("classification", "Classification", "created", "classified", [], []),
    ("interim_plan", "Interim plan", "marked_complex", "interim_plan", WAITING, []),
    ("resolution", "Resolution", "created", "resolved", WAITING, []),
    ("complaint_reply", "Complaint reply", "created", "first_public_reply", [], ["complaint"]),
]


def forward(apps, schema_editor):
    Metric = apps.get_model("commitments", "Metric")
    for code, name, start, stop, pauses, types in METRICS:
        Metric.objects.update_or_create(
            code=code,
            defaults={"name": name, "start_event": start, "stop_event": stop,
                      "pause_statuses": pauses, "case_types": types, "is_builtin": True},
        )


def backward(apps, schema_editor):
    apps.get_model("commitments", "Metric").objects.filter(is_builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("commitments", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
