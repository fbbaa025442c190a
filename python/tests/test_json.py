"""The JSON form from Python: dicts in, native values out (bool, int,
Decimal for amounts), through a QBClient and the in-process Simulator."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from qbconnector import QBConnector, QBError, Simulator

from conftest import client


def msgs(requests: dict, version: str = "13.0") -> dict:
    return {"version": version, "QBXML": {"QBXMLMsgsRq": {"@onError": "stopOnError", **requests}}}


def rs(answer: dict, name: str) -> dict:
    return answer["QBXML"]["QBXMLMsgsRs"][name][0]


def test_client_send_json(connector: QBConnector) -> None:
    connector.listening = True
    c = client(connector)
    setup = msgs(
        {
            "AccountAddRq": [{"AccountAdd": {"Name": "Services", "AccountType": "Income"}}],
            "CustomerAddRq": [{"CustomerAdd": {"Name": "Bo", "IsActive": True}}],
            "ItemServiceAddRq": [
                {
                    "ItemServiceAdd": {
                        "Name": "Labor",
                        "SalesOrPurchase": {"Price": Decimal("40.00"), "AccountRef": {"FullName": "Services"}},
                    }
                }
            ],
            "#order": ["AccountAddRq", "CustomerAddRq", "ItemServiceAddRq"],
        }
    )
    answer = c.send_json(setup)
    assert rs(answer, "CustomerAddRs")["@statusCode"] == 0
    customer = rs(answer, "CustomerAddRs")["CustomerRet"]
    assert customer["IsActive"] is True
    assert customer["Sublevel"] == 0
    assert customer["Balance"] == Decimal("0.00")
    assert isinstance(customer["Balance"], Decimal)

    invoice = msgs(
        {
            "InvoiceAddRq": [
                {
                    "InvoiceAdd": {
                        "CustomerRef": {"FullName": "Bo"},
                        "TxnDate": datetime.date(2026, 12, 1),
                        "InvoiceLineAdd": [
                            {"ItemRef": {"FullName": "Labor"}, "Quantity": Decimal("2")},
                            {"ItemRef": {"FullName": "Labor"}, "Quantity": Decimal("0.5")},
                        ],
                    }
                }
            ]
        }
    )
    ret = rs(c.send_json(invoice), "InvoiceAddRs")["InvoiceRet"]
    assert ret["TxnDate"] == "2026-12-01"
    assert ret["Subtotal"] == Decimal("100.00")
    assert [line["Amount"] for line in ret["InvoiceLineRet"]] == [Decimal("80.00"), Decimal("20.00")]

    # A document that does not fit: QBError naming the member.
    with pytest.raises(QBError) as e:
        c.send_json(msgs({"CustomerAddRq": [{"CustomerAdd": {"Nme": "x"}}]}))
    assert "$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd.Nme" in str(e.value)
    assert "did you mean Name?" in str(e.value)
    assert e.value.code == "0x80040400"
    # JSON text works too, and text that is not JSON says where.
    assert rs(c.send_json('{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","HostQueryRq":[{}]}}}'), "HostQueryRs")["@statusCode"] == 0
    with pytest.raises(QBError) as e:
        c.send_json("{")
    assert e.value.code == "QBC_BAD_JSON"
    # A value JSON cannot carry: TypeError, as json.dumps raises.
    with pytest.raises(TypeError, match="cannot be sent"):
        c.send_json(msgs({"CustomerAddRq": [{"CustomerAdd": {"Name": object()}}]}))


def test_simulator_process_json(tmp_path: Path) -> None:
    sim = Simulator.sample(str(tmp_path / "sample.qbw"), customers=20, transactions=True)
    answer = sim.process_json(msgs({"InvoiceQueryRq": [{"MaxReturned": 3, "IncludeLineItems": True}]}, "16.0"))
    assert answer["version"] == "16.0"
    invoices = rs(answer, "InvoiceQueryRs")["InvoiceRet"]
    assert len(invoices) == 3
    for inv in invoices:
        assert isinstance(inv["BalanceRemaining"], Decimal)
        assert isinstance(inv["IsPaid"], bool)
        total = sum(line["Amount"] for line in inv["InvoiceLineRet"] if "Amount" in line)
        assert total == inv["Subtotal"], "Decimals add up exactly"
    report = rs(
        sim.process_json(msgs({"GeneralSummaryReportQueryRq": [{"GeneralSummaryReportType": "ProfitAndLossStandard"}]})),
        "GeneralSummaryReportQueryRs",
    )
    data = report["ReportRet"]["ReportData"]
    # Rows of several kinds keep their order in #order.
    assert set(data["#order"]) <= {"DataRow", "TextRow", "SubtotalRow", "TotalRow"}
    assert len(data["#order"]) == sum(len(data.get(k, [])) for k in ("DataRow", "TextRow", "SubtotalRow", "TotalRow"))
