"""The cause categories a root-cause analysis starts with; users add their own."""

from django.db import migrations

CATEGORIES = [
    ("staffing", "Staffing", 10),
    ("process", "Process", 20),
    ("technical", "Technical", 30),
    ("third_party", "Third party", 40),
    ("customer", "Customer-caused", 50),
    ("other", "Other", 90),
]


def forward(apps, schema_editor):
    CauseCategory = apps.get_model("sla", "CauseCategory")
    for code, name, position in CATEGORIES:
        CauseCategory.objects.get_or_create(code=code, defaults={"name": name,
                                                                 "position": position})


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_policy_version_and_root_causes")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
