"""The survey templates assura ships: post-resolution CSAT, loyalty (NPS), the 22-item
SERVQUAL instrument and problem feedback, in Chinese and English.

They are installed by a data migration (and again by the demo and the tests, which is
harmless: a survey whose code exists is left as its owner edited it). After that they
are ordinary rows a quality manager edits in the survey builder.
"""

from __future__ import annotations

from typing import Any

from assura.voice import servqual

YES_PARTLY_NO = [
    {"code": "yes", "zh": "是，已彻底解决", "en": "Yes, completely", "negative": False},
    {"code": "partly", "zh": "部分解决", "en": "Partly", "negative": False},
    {"code": "no", "zh": "没有解决", "en": "No", "negative": True},
]

SURVEYS: list[dict[str, Any]] = [
    {
        "code": "csat",
        "kind": "csat",
        "title_zh": "服务满意度调查",
        "title_en": "How did we do?",
        "intro_zh": "感谢您使用我们的服务。请花一分钟告诉我们这次问题处理得怎么样。",
        "intro_en": "Thank you for using our service. Please take a minute to tell us how we "
        "handled your case.",
        "questions": [
            {
                "code": "csat",
                "kind": "rating",
                "text_zh": "您对本次问题处理的总体满意度如何？",
                "text_en": "Overall, how satisfied are you with how we handled this case?",
                "ask_why": True,
            },
            {
                "code": "resolved",
                "kind": "single",
                "text_zh": "您的问题是否已经解决？",
                "text_en": "Has your problem been solved?",
                "choices": YES_PARTLY_NO,
            },
            {
                "code": "comment",
                "kind": "text",
                "text_zh": "还有什么想告诉我们的吗？",
                "text_en": "Is there anything else you would like to tell us?",
                "required": False,
            },
        ],
    },
    {
        "code": "loyalty",
        "kind": "loyalty",
        "title_zh": "客户忠诚度调查",
        "title_en": "Will you stay with us?",
        "intro_zh": "您的意见决定我们下一步改进的方向。",
        "intro_en": "Your answers decide what we improve next.",
        "questions": [
            {
                "code": "nps",
                "kind": "nps",
                "text_zh": "您有多大可能向同事或合作伙伴推荐我们的服务？",
                "text_en": "How likely are you to recommend our service to a colleague or "
                "a business partner?",
                "ask_why": True,
            },
            {
                "code": "keep",
                "kind": "single",
                "text_zh": "您会继续使用我们的服务吗？",
                "text_en": "Will you keep using our service?",
                "choices": [
                    {"code": "yes", "zh": "会", "en": "Yes", "negative": False},
                    {"code": "unsure", "zh": "还不确定", "en": "Not sure yet", "negative": False},
                    {"code": "no", "zh": "不会", "en": "No", "negative": True},
                ],
            },
            {
                "code": "keep_why",
                "kind": "text",
                "text_zh": "为什么会继续使用，或为什么不会？",
                "text_en": "Why will you keep using it, or why not?",
                "required": False,
            },
        ],
    },
    {
        "code": "servqual",
        "kind": "servqual",
        "title_zh": "服务质量评价（SERVQUAL）",
        "title_en": "Service quality (SERVQUAL)",
        "intro_zh": "每条陈述请打两个分：左边是您对一家优秀服务商的期望，右边是您对我们的实际感受。"
        "1 表示非常不同意，7 表示非常同意。",
        "intro_en": "Rate each statement twice: on the left what you expect of an excellent "
        "service provider, on the right how you find us. 1 means strongly disagree, "
        "7 strongly agree.",
        "questions": [
            {
                "code": item.code,
                "kind": "servqual",
                "text_zh": item.zh,
                "text_en": item.en,
                "dimension": item.dimension,
            }
            for item in servqual.ITEMS
        ]
        + [
            {
                "code": "comment",
                "kind": "text",
                "text_zh": "您还有其他意见或建议吗？",
                "text_en": "Any other comments or suggestions?",
                "required": False,
            }
        ],
    },
    {
        "code": "feedback",
        "kind": "feedback",
        "title_zh": "问题反馈",
        "title_en": "Tell us what went wrong",
        "intro_zh": "您的抱怨和建议会被认真记录并跟进。",
        "intro_en": "Every complaint and suggestion is recorded and followed up.",
        "questions": [
            {
                "code": "areas",
                "kind": "multiple",
                "text_zh": "问题涉及哪些方面？",
                "text_en": "What was it about?",
                "choices": [
                    {"code": "speed", "zh": "响应速度", "en": "Speed of response"},
                    {"code": "quality", "zh": "解决质量", "en": "Quality of the solution"},
                    {"code": "attitude", "zh": "服务态度", "en": "Staff attitude"},
                    {"code": "communication", "zh": "沟通", "en": "Communication"},
                    {"code": "tools", "zh": "系统与工具", "en": "Systems and tools"},
                    {"code": "billing", "zh": "费用与账单", "en": "Fees and invoices"},
                    {"code": "other", "zh": "其他", "en": "Something else"},
                ],
            },
            {
                "code": "problem",
                "kind": "text",
                "text_zh": "请描述您遇到的问题。",
                "text_en": "Please describe the problem.",
            },
            {
                "code": "suggestion",
                "kind": "text",
                "text_zh": "您建议我们如何改进？",
                "text_en": "How would you suggest we improve?",
                "required": False,
            },
            {
                "code": "call_me",
                "kind": "single",
                "text_zh": "是否希望我们与您联系？",
                "text_en": "Would you like us to contact you about it?",
                "choices": [
                    {"code": "yes", "zh": "是", "en": "Yes", "negative": True},
                    {"code": "no", "zh": "否", "en": "No", "negative": False},
                ],
            },
        ],
    },
]


def install(survey_model: Any, question_model: Any) -> int:
    """Create the shipped surveys that are missing; returns how many were created.

    Takes the model classes so the data migration can pass its historical models.
    """
    created = 0
    for definition in SURVEYS:
        if survey_model.objects.filter(code=definition["code"]).exists():
            continue
        fields = {k: v for k, v in definition.items() if k != "questions"}
        survey = survey_model.objects.create(is_shipped=True, **fields)
        for position, question in enumerate(definition["questions"], start=1):
            question_model.objects.create(
                survey=survey,
                position=position * 10,
                code=question["code"],
                kind=question["kind"],
                text_zh=question["text_zh"],
                text_en=question["text_en"],
                required=question.get("required", True),
                ask_why=question.get("ask_why", False),
                dimension=question.get("dimension", ""),
                choices=[{"negative": False, **choice} for choice in question.get("choices", [])],
            )
        created += 1
    return created


def install_now() -> int:
    """Install into the live models (the demo and tests)."""
    from assura.voice.models import Question, Survey

    return install(Survey, Question)
