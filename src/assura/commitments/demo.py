"""Demo commitments: a service catalogue, one contract per demo customer, the standard guarantee."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from assura.commitments import services, standard
from assura.commitments.models import Contract, Metric, Service
from assura.core.models import Organisation

SERVICES = (
    ("erp", "ERP 系统运维 ERP operations"),
    ("helpdesk", "IT 服务台 IT help desk"),
    ("network", "网络与机房 Network and data centre"),
)

CONTRACTS = (
    # code, customer, name, monthly fee, cap, services
    (
        "ECM-2026",
        "ECM",
        "华东制造 全面运维服务 2026",
        Decimal("20000.00"),
        Decimal("3000.00"),
        ("erp", "helpdesk", "network"),
    ),
    (
        "MYL-2026",
        "MYL",
        "明远物流 服务台外包 2026",
        Decimal("12000.00"),
        Decimal("1800.00"),
        ("helpdesk",),
    ),
)


def load() -> list[str]:
    catalogue = {
        code: Service.objects.filter(code=code).first()
        or services.create_service(actor=None, code=code, name=name)
        for code, name in SERVICES
    }
    for code, customer, name, fee, cap, covered in CONTRACTS:
        if Contract.objects.filter(code=code).exists():
            continue
        contract = services.create_contract(
            actor=None,
            code=code,
            name=name,
            customer=Organisation.objects.get(code=customer),
            monthly_fee=fee,
            starts_on=date(2025, 1, 1),
            compensation_cap=cap,
            services=[catalogue[c] for c in covered],
        )
        services.set_compensation_rule(
            actor=None,
            contract=contract,
            metric=Metric.objects.get(code="first_response"),
            percent_of_fee=standard.RESPONSE_COMPENSATION_PERCENT,
        )
        services.set_compensation_rule(
            actor=None,
            contract=contract,
            metric=Metric.objects.get(code="resolution"),
            percent_of_fee=Decimal(2),
        )
    standard.load()
    return []
