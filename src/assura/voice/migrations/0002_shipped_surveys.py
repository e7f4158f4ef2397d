"""The shipped survey templates: CSAT, loyalty (NPS), SERVQUAL (22 items), problem feedback."""

from django.db import migrations


def forward(apps, schema_editor):
    from assura.voice import shipped

    shipped.install(apps.get_model("voice", "Survey"), apps.get_model("voice", "Question"))


def backward(apps, schema_editor):
    Survey = apps.get_model("voice", "Survey")
    Question = apps.get_model("voice", "Question")
    from assura.voice import shipped

    shipped_codes = [s["code"] for s in shipped.SURVEYS]
    surveys = Survey.objects.filter(is_shipped=True, code__in=shipped_codes, invitations=None)
    Question.objects.filter(survey__in=surveys).delete()
    surveys.delete()


class Migration(migrations.Migration):
    dependencies = [("voice", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
