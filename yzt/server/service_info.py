"""The published procedures of one operator (OIF-INFO-1, 明示办理流程), built from the topology."""

from __future__ import annotations

from typing import Any

from yzt.domain.topology import Operator

_CARRIER_HOTLINES = {"CMCC": "10086", "CUCC": "10010", "CTCC": "10000"}


def hotline_number(op: Operator) -> str:
    """The carriers' real short numbers; a synthetic 400 number for each reseller."""
    if op.id in _CARRIER_HOTLINES:
        return _CARRIER_HOTLINES[op.id]
    return f"400-{700 + int(op.id[1:]):03d}-{1000 + int(op.id[1:]):04d}"


def service_info(op: Operator, updated_at: str) -> dict[str, Any]:
    """The ``GET /v1/service-info`` body."""
    site = f"https://{op.id.lower()}.operator.example/yzt"
    hotline = hotline_number(op)
    return {
        "operator_id": op.id,
        "name": op.name,
        "hotline": {"number": hotline,
                    "hours": "每天 08:00-22:00（北京时间） / daily 08:00-22:00 China time"},
        "channels": {
            "query": ["工信部一证通查平台（短信回复端口 10699000） / MIIT one-ID check platform",
                      f"{op.name} 网上营业厅 / online service hall: {site}/query",
                      f"客服热线 / hotline {hotline}"],
            "cancellation": ["全国任一自有营业厅，可异地销户 / any own shop, any region",
                             f"{op.name} 网上营业厅（人脸核验）/ online with face verification: "
                             f"{site}/cancel"],
            "dispute": [f"客服热线 / hotline {hotline}",
                        f"{op.name} 网上营业厅 / online: {site}/dispute"],
            "complaint": [
                f"客服热线 / hotline {hotline}",
                "工业和信息化部电信用户申诉受理中心 / MIIT telecom complaint centre: "
                "https://yhssglxt.miit.gov.cn"],
        },
        "procedures": {
            "card_details": f"{site}/procedures/card-details — 携带本人身份证，"
                            "经人脸或短信核验后查询名下号卡明细。",
            "cancellation": f"{site}/procedures/cancellation — 本人持身份证到任一营业厅或线上人脸核验，"
                            "72 小时内办结，不因归属地拒绝。",
            "dispute": f"{site}/procedures/dispute — 对不认识的号码提出异议，15 日内核实并剥离、关停或销户。",
        },
        "updated_at": updated_at,
    }
