"""The breach notices assura ships with: one per metric and language, and a general one.

Placeholders: {reference}, {metric}, {promised}, {breached_at}, {reason}. A quality
manager edits the rows; this migration only adds the ones that are missing.
"""

from django.db import migrations

SUBJECTS = {
    "zh-hans": "关于工单 {reference} 超出承诺时限的说明",
    "en": "Case {reference}: we did not keep our promised time",
}

BODIES = {
    "zh-hans": (
        "尊敬的客户，您好：\n\n"
        "非常抱歉地通知您，您的工单 {reference} 的「{metric}」未能在我们承诺的 {promised}"
        " 内完成，已于 {breached_at} 超时。\n\n"
        "原因说明：{reason}\n\n"
        "我们已对该工单加急处理，并将持续跟进直至问题解决。如您的合同约定了超时补偿，"
        "我们将按约定办理。\n\n"
        "感谢您的理解与支持。如有任何疑问，请直接回复本邮件或联系您的服务负责人。"
    ),
    "en": (
        "Dear customer,\n\n"
        'We are sorry to tell you that on your case {reference} we did not keep our promise'
        ' for "{metric}": we committed to {promised}, and that time ran out at'
        " {breached_at}.\n\n"
        "Reason: {reason}\n\n"
        "We have expedited the case and will follow it through until it is resolved. Where"
        " your contract provides compensation for a missed promise, we will apply it.\n\n"
        "Thank you for your patience. If you have any question, reply to this message or"
        " contact your service manager."
    ),
}

REASONS = {
    "": {
        "zh-hans": "由于当时处理量超出预期，我们未能在承诺时限内完成对您请求的处理。",
        "en": "The volume of work at the time was higher than we planned for, and we did"
        " not handle your request within the promised time.",
    },
    "first_response": {
        "zh-hans": "由于当时咨询量集中，我们未能在承诺时限内对您的请求作出首次响应。",
        "en": "Many requests arrived at the same time, and we did not give you a first"
        " response within the promised time.",
    },
    "classification": {
        "zh-hans": "我们未能在承诺时限内完成对您的问题的确认与分类。",
        "en": "We did not confirm and classify your request within the promised time.",
    },
    "interim_plan": {
        "zh-hans": "该问题较为复杂，我们未能在承诺时限内向您提供阶段性解决方案。",
        "en": "The problem is complex, and we did not give you a staged plan within the"
        " promised time.",
    },
    "resolution": {
        "zh-hans": "该问题的排查与处理所需时间超出了我们的承诺时限。",
        "en": "Finding and fixing the cause of the problem took longer than we promised.",
    },
    "complaint_reply": {
        "zh-hans": "我们未能在承诺时限内答复您的投诉。",
        "en": "We did not reply to your complaint within the promised time.",
    },
}


def forward(apps, schema_editor):
    NoticeTemplate = apps.get_model("sla", "NoticeTemplate")
    for metric, reasons in REASONS.items():
        for language, reason in reasons.items():
            NoticeTemplate.objects.get_or_create(
                metric=metric,
                language=language,
                defaults={
                    "subject": SUBJECTS[language],
                    "body": BODIES[language],
                    "reason": reason,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("sla", "0004_breach_handling")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
