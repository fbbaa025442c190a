//! The request types that are neither lists, transactions nor reports:
//! special accounts and items, custom field definitions changed and
//! deleted, QuickBooks' windows, cleared status, event recovery.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::Sim;

#[test]
fn special_accounts_and_items() {
    let sim = Sim::new();
    let a = sim.one(
        "<SpecialAccountAddRq><SpecialAccountAdd><SpecialAccountType>UndepositedFunds</SpecialAccountType></SpecialAccountAdd></SpecialAccountAddRq>",
    );
    a.ok();
    assert_eq!(a.item().must("Name"), "Undeposited Funds");
    assert_eq!(a.item().must("AccountType"), "OtherCurrentAsset");
    assert_eq!(a.item().must("SpecialAccountType"), "UndepositedFunds");
    // Asked again: the same account, not a second one.
    let again = sim.one(
        "<SpecialAccountAddRq><SpecialAccountAdd><SpecialAccountType>UndepositedFunds</SpecialAccountType></SpecialAccountAdd></SpecialAccountAddRq>",
    );
    assert_eq!(again.ok().item().must("ListID"), a.item().must("ListID"));
    let pc = sim.one(
        "<SpecialAccountAddRq><SpecialAccountAdd><SpecialAccountType>PettyCash</SpecialAccountType></SpecialAccountAdd></SpecialAccountAddRq>",
    );
    assert_eq!(pc.ok().item().must("AccountType"), "Bank");
    // A payment with no account goes to the special account made above.
    sim.one("<CustomerAddRq><CustomerAdd><Name>Dana</Name></CustomerAdd></CustomerAddRq>")
        .ok();
    let p = sim.one(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Dana</FullName></CustomerRef>\
         <TotalAmount>10.00</TotalAmount><IsAutoApply>false</IsAutoApply></ReceivePaymentAdd></ReceivePaymentAddRq>",
    );
    assert_eq!(
        p.ok().item().must("DepositToAccountRef.ListID"),
        a.item().must("ListID")
    );
    let fc = sim.one(
        "<SpecialItemAddRq><SpecialItemAdd><SpecialItemType>FinanceCharge</SpecialItemType></SpecialItemAdd></SpecialItemAddRq>",
    );
    fc.ok();
    assert_eq!(fc.item().name, "ItemOtherChargeRet");
    assert_eq!(fc.item().must("Name"), "Finance Charge");
    let g = sim.one(
        "<SpecialItemAddRq><SpecialItemAdd><SpecialItemType>ReimbursableExpenseGroup</SpecialItemType></SpecialItemAdd></SpecialItemAddRq>",
    );
    assert_eq!(g.ok().item().name, "ItemGroupRet");
    let again = sim.one(
        "<SpecialItemAddRq><SpecialItemAdd><SpecialItemType>FinanceCharge</SpecialItemType></SpecialItemAdd></SpecialItemAddRq>",
    );
    assert_eq!(again.ok().item().must("ListID"), fc.item().must("ListID"));
    sim.check_schema();
}

#[test]
fn custom_field_definitions_change_and_go() {
    let sim = Sim::new();
    sim.one(
        "<DataExtDefAddRq><DataExtDefAdd><OwnerID>0</OwnerID><DataExtName>Color</DataExtName>\
         <DataExtType>STR255TYPE</DataExtType><AssignToObject>Customer</AssignToObject></DataExtDefAdd></DataExtDefAddRq>",
    )
    .ok();
    sim.one("<CustomerAddRq><CustomerAdd><Name>Dana</Name></CustomerAdd></CustomerAddRq>")
        .ok();
    sim.one(
        "<DataExtAddRq><DataExtAdd><OwnerID>0</OwnerID><DataExtName>Color</DataExtName>\
         <ListDataExtType>Customer</ListDataExtType><ListObjRef><FullName>Dana</FullName></ListObjRef>\
         <DataExtValue>Blue</DataExtValue></DataExtAdd></DataExtAddRq>",
    )
    .ok();
    // Renamed: the value follows; assigned to vendors too.
    let m = sim.one(
        "<DataExtDefModRq><DataExtDefMod><OwnerID>0</OwnerID><DataExtName>Color</DataExtName>\
         <DataExtNewName>Colour</DataExtNewName><AssignToObject>Vendor</AssignToObject></DataExtDefMod></DataExtDefModRq>",
    );
    m.ok();
    assert_eq!(m.item().must("DataExtName"), "Colour");
    let text = sim.send_text(
        "<CustomerQueryRq><FullName>Dana</FullName><OwnerID>0</OwnerID></CustomerQueryRq>",
    );
    assert!(text.contains("<DataExtName>Colour</DataExtName>"), "{text}");
    assert!(text.contains("<DataExtValue>Blue</DataExtValue>"), "{text}");
    // Removed from customers: the value goes.
    sim.one(
        "<DataExtDefModRq><DataExtDefMod><OwnerID>0</OwnerID><DataExtName>Colour</DataExtName>\
         <RemoveFromObject>Customer</RemoveFromObject></DataExtDefMod></DataExtDefModRq>",
    )
    .ok();
    let text = sim.send_text(
        "<CustomerQueryRq><FullName>Dana</FullName><OwnerID>0</OwnerID></CustomerQueryRq>",
    );
    assert!(!text.contains("Blue"), "{text}");
    // A name in use: 3100; an unknown one: 3120.
    sim.one(
        "<DataExtDefAddRq><DataExtDefAdd><OwnerID>0</OwnerID><DataExtName>Size</DataExtName>\
         <DataExtType>STR255TYPE</DataExtType><AssignToObject>Customer</AssignToObject></DataExtDefAdd></DataExtDefAddRq>",
    )
    .ok();
    let clash = sim.one(
        "<DataExtDefModRq><DataExtDefMod><OwnerID>0</OwnerID><DataExtName>Size</DataExtName>\
         <DataExtNewName>colour</DataExtNewName></DataExtDefMod></DataExtDefModRq>",
    );
    assert_eq!(clash.code, 3100);
    let del = sim.one(
        "<DataExtDefDelRq><OwnerID>0</OwnerID><DataExtName>Colour</DataExtName></DataExtDefDelRq>",
    );
    del.ok();
    let again = sim.one(
        "<DataExtDefDelRq><OwnerID>0</OwnerID><DataExtName>Colour</DataExtName></DataExtDefDelRq>",
    );
    assert_eq!(again.code, 3120);
    let q = sim.send("<DataExtDefQueryRq><OwnerID>0</OwnerID></DataExtDefQueryRq>");
    assert_eq!(q.responses().next().unwrap().items().count(), 1);
    sim.check_schema();
}

#[test]
fn windows_cleared_status_and_event_recovery() {
    let sim = Sim::new();
    // Windows: a new form opens; an existing record's must exist.
    sim.one(
        "<ListDisplayAddRq><ListDisplayAddType>Customer</ListDisplayAddType></ListDisplayAddRq>",
    )
    .ok();
    let c = sim.one("<CustomerAddRq><CustomerAdd><Name>Dana</Name></CustomerAdd></CustomerAddRq>");
    let id = c.ok().item().must("ListID").to_string();
    sim.one(&format!(
        "<ListDisplayModRq><ListDisplayModType>Customer</ListDisplayModType><ListID>{id}</ListID></ListDisplayModRq>"
    ))
    .ok();
    let bad = sim.one(
        "<ListDisplayModRq><ListDisplayModType>Customer</ListDisplayModType><ListID>1-1</ListID></ListDisplayModRq>",
    );
    assert_eq!(bad.code, 3120);
    sim.one("<TxnDisplayAddRq><TxnDisplayAddType>Invoice</TxnDisplayAddType></TxnDisplayAddRq>")
        .ok();
    // Cleared status of a payment, shown by a detail report.
    let p = sim.one(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Dana</FullName></CustomerRef>\
         <TotalAmount>10.00</TotalAmount><IsAutoApply>false</IsAutoApply></ReceivePaymentAdd></ReceivePaymentAddRq>",
    );
    let txn = p.ok().item().must("TxnID").to_string();
    sim.one(&format!(
        "<TxnDisplayModRq><TxnDisplayModType>ReceivePayment</TxnDisplayModType><TxnID>{txn}</TxnID></TxnDisplayModRq>"
    ))
    .ok();
    sim.one(&format!(
        "<ClearedStatusModRq><ClearedStatusMod><TxnID>{txn}</TxnID><ClearedStatus>Cleared</ClearedStatus></ClearedStatusMod></ClearedStatusModRq>"
    ))
    .ok();
    let text = sim.send_text(
        "<GeneralDetailReportQueryRq><GeneralDetailReportType>TxnListByDate</GeneralDetailReportType>\
         <ReportDateMacro>All</ReportDateMacro><IncludeColumn>RefNumber</IncludeColumn><IncludeColumn>ClearedStatus</IncludeColumn>\
         </GeneralDetailReportQueryRq>",
    );
    assert!(text.contains("value=\"Cleared\""), "{text}");
    let bad = sim.one(
        "<ClearedStatusModRq><ClearedStatusMod><TxnID>1-1</TxnID><ClearedStatus>Cleared</ClearedStatus></ClearedStatusMod></ClearedStatusModRq>",
    );
    assert_eq!(bad.code, 3120);
    // No event subscriptions: nothing to recover.
    let q = sim.one(
        "<DataEventRecoveryInfoQueryRq><SubscriberID>{6f226670-09b9-5233-ee8a-8e2f63a81227}</SubscriberID></DataEventRecoveryInfoQueryRq>",
    );
    assert_eq!(q.code, 1);
    sim.check_schema();
}
