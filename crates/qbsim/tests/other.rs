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
    // As a real response in the samples (selfjared remove_amounts_tests):
    // time and mileage queries of a company without any answer 1.
    for q in ["<TimeTrackingQueryRq/>", "<VehicleMileageQueryRq/>"] {
        let r = sim.one(q);
        assert_eq!(r.code, 1);
        assert_eq!(
            r.message,
            "A query request did not find a matching object in QuickBooks"
        );
    }
    // No event subscriptions: nothing to recover.
    let q = sim.one(
        "<DataEventRecoveryInfoQueryRq><SubscriberID>{6f226670-09b9-5233-ee8a-8e2f63a81227}</SubscriberID></DataEventRecoveryInfoQueryRq>",
    );
    assert_eq!(q.code, 1);
    sim.check_schema();
}

#[test]
fn bar_codes_item_sites_and_tax_setup() {
    let sim = Sim::new();
    sim.one("<AccountAddRq><AccountAdd><Name>Sales</Name><AccountType>Income</AccountType></AccountAdd></AccountAddRq>").ok();
    sim.one("<AccountAddRq><AccountAdd><Name>Stock</Name><AccountType>OtherCurrentAsset</AccountType><TaxLineID>1234</TaxLineID></AccountAdd></AccountAddRq>").ok();
    sim.one("<AccountAddRq><AccountAdd><Name>COGS</Name><AccountType>CostOfGoodsSold</AccountType></AccountAdd></AccountAddRq>").ok();
    let part = |name: &str, code: &str, extra: &str| {
        sim.one(&format!(
            "<ItemInventoryAddRq><ItemInventoryAdd><Name>{name}</Name><BarCode><BarCodeValue>{code}</BarCodeValue>{extra}</BarCode>\
             <IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><PurchaseCost>2.00</PurchaseCost>\
             <COGSAccountRef><FullName>COGS</FullName></COGSAccountRef><AssetAccountRef><FullName>Stock</FullName></AssetAccountRef>\
             <ReorderPoint>5</ReorderPoint><QuantityOnHand>12</QuantityOnHand></ItemInventoryAdd></ItemInventoryAddRq>"
        ))
    };
    let w = part("Widget", "0012345", "");
    assert_eq!(w.ok().item().must("BarCodeValue"), "0012345");
    // A bar code in use: refused unless assigned anyway.
    assert_eq!(part("Gadget", "0012345", "").code, 3210);
    part(
        "Gadget",
        "0012345",
        "<AssignEvenIfUsed>true</AssignEvenIfUsed>",
    )
    .ok();
    let b = sim.send("<BarCodeQueryRq><BarCodeValue>0012345</BarCodeValue></BarCodeQueryRq>");
    assert_eq!(b.responses().next().unwrap().items().count(), 2);
    assert_eq!(
        sim.one("<BarCodeQueryRq><BarCodeValue>999</BarCodeValue></BarCodeQueryRq>")
            .code,
        1
    );
    // Item sites: the whole quantity, what is on order.
    sim.one("<VendorAddRq><VendorAdd><Name>Mill</Name></VendorAdd></VendorAddRq>")
        .ok();
    sim.one(
        "<PurchaseOrderAddRq><PurchaseOrderAdd><VendorRef><FullName>Mill</FullName></VendorRef>\
         <PurchaseOrderLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>30</Quantity></PurchaseOrderLineAdd>\
         </PurchaseOrderAdd></PurchaseOrderAddRq>",
    )
    .ok();
    let s = sim.one(&format!(
        "<ItemSitesQueryRq><ListID>{}</ListID></ItemSitesQueryRq>",
        w.item().must("ListID")
    ));
    let s = s.ok().item();
    assert_eq!(s.must("QuantityOnHand"), "12");
    assert_eq!(s.must("QuantityOnPurchaseOrders"), "30");
    assert_eq!(s.must("ReorderLevel"), "5");
    let all = sim.send("<ItemSitesQueryRq/>");
    assert_eq!(all.responses().next().unwrap().items().count(), 2);
    let at_site = sim.one(
        "<ItemSitesQueryRq><ItemSiteFilter><SiteFilter><FullName>Back room</FullName></SiteFilter></ItemSiteFilter></ItemSitesQueryRq>",
    );
    assert_eq!(at_site.code, 1);
    // 1099 boxes: not filing, thresholds; map an account to box 7.
    let q = sim.send_text("<Form1099CategoryAccountMappingQueryRq/>");
    assert!(
        q.contains("<IsFiling1099Misc>false</IsFiling1099Misc>"),
        "{q}"
    );
    assert!(q.contains("<MappingCategory>BOX7</MappingCategory>"), "{q}");
    sim.one("<AccountAddRq><AccountAdd><Name>Contract Labor</Name><AccountType>Expense</AccountType></AccountAdd></AccountAddRq>").ok();
    let m = |cat: &str, force: bool| {
        sim.send_text(&format!(
            "<Form1099CategoryAccountMappingModRq><Form1099CategoryAccountMappingMod><IsFiling1099Misc>true</IsFiling1099Misc>\
             <CategoryAccountMappingMod><MappingCategory>{cat}</MappingCategory><MappingAccount>\
             <AccountRef><FullName>Contract Labor</FullName></AccountRef>{}</MappingAccount></CategoryAccountMappingMod>\
             </Form1099CategoryAccountMappingMod></Form1099CategoryAccountMappingModRq>",
            if force { "<ForceMapping>true</ForceMapping>" } else { "" }
        ))
    };
    let t = m("BOX7", false);
    assert!(t.contains("statusCode=\"0\""), "{t}");
    assert!(t.contains("<FullName>Contract Labor</FullName>"), "{t}");
    assert!(m("BOX1", false).contains("statusCode=\"3210\""));
    assert!(m("BOX1", true).contains("statusCode=\"0\""));
    let q = sim.send_text(
        "<Form1099CategoryAccountMappingQueryRq><MappingCategory>BOX7</MappingCategory></Form1099CategoryAccountMappingQueryRq>",
    );
    assert!(!q.contains("Contract Labor"), "{q}");
    // Tax lines in use.
    let tl = sim.send_text("<AccountTaxLineInfoQueryRq/>");
    assert!(tl.contains("<TaxLineID>1234</TaxLineID>"), "{tl}");
    sim.check_schema();
}

#[test]
fn merging_records_moves_everything_to_one() {
    let sim = Sim::new();
    for (n, t) in [
        ("Sales", "Income"),
        ("Old Expenses", "Expense"),
        ("Expenses", "Expense"),
        ("Bank", "Bank"),
    ] {
        sim.one(&format!(
            "<AccountAddRq><AccountAdd><Name>{n}</Name><AccountType>{t}</AccountType></AccountAdd></AccountAddRq>"
        ))
        .ok();
    }
    sim.one("<ItemServiceAddRq><ItemServiceAdd><Name>Labor</Name><SalesOrPurchase><Price>10.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemServiceAdd></ItemServiceAddRq>").ok();
    let a = sim.one("<CustomerAddRq><CustomerAdd><Name>Dana</Name></CustomerAdd></CustomerAddRq>");
    let b = sim
        .one("<CustomerAddRq><CustomerAdd><Name>Dana Smith</Name></CustomerAdd></CustomerAddRq>");
    let inv = |c: &str, q: u32| {
        sim.one(&format!(
            "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{c}</FullName></CustomerRef>\
             <InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>{q}</Quantity></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"
        ))
    };
    let i1 = inv("Dana", 2);
    inv("Dana Smith", 3).ok();
    let merge = |ty: &str, from: &common::Rs, to: &common::Rs| {
        sim.one(&format!(
            "<ListMergeRq><ListMergeType>{ty}</ListMergeType>\
             <MergeFrom><ListID>{}</ListID><EditSequence>{}</EditSequence></MergeFrom>\
             <MergeTo><ListID>{}</ListID><EditSequence>{}</EditSequence></MergeTo></ListMergeRq>",
            from.item().must("ListID"),
            from.item().must("EditSequence"),
            to.item().must("ListID"),
            to.item().must("EditSequence")
        ))
    };
    let m = merge("Customer", &a, &b);
    m.ok();
    let first = sim.one("<CustomerQueryRq><FullName>Dana Smith</FullName></CustomerQueryRq>");
    assert_eq!(first.ok().item().must("Balance"), "50.00");
    assert_eq!(
        sim.one("<CustomerQueryRq><FullName>Dana</FullName></CustomerQueryRq>")
            .code,
        500
    );
    let moved = sim.one(&format!(
        "<InvoiceQueryRq><TxnID>{}</TxnID></InvoiceQueryRq>",
        i1.item().must("TxnID")
    ));
    assert_eq!(
        moved.ok().item().get("CustomerRef.FullName"),
        Some("Dana Smith")
    );
    // Records of other lists with the same ListID are not touched (ListIDs
    // are unique per list family only).
    let text = sim.send_text(&format!(
        "<InvoiceQueryRq><TxnID>{}</TxnID><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>",
        i1.item().must("TxnID")
    ));
    assert!(text.contains("<FullName>Labor</FullName>"), "{text}");
    let labor =
        sim.send_text("<ItemServiceQueryRq><FullName>Labor</FullName></ItemServiceQueryRq>");
    assert!(labor.contains("<FullName>Sales</FullName>"), "{labor}");
    // A job merged into its parent: the parent keeps the total of both.
    let job = sim.one(
        "<CustomerAddRq><CustomerAdd><Name>Kitchen</Name><ParentRef><FullName>Dana Smith</FullName></ParentRef></CustomerAdd></CustomerAddRq>",
    );
    inv("Dana Smith:Kitchen", 1).ok();
    let parent = sim.one("<CustomerQueryRq><FullName>Dana Smith</FullName></CustomerQueryRq>");
    assert_eq!(parent.item().must("TotalBalance"), "60.00");
    let job = sim.one(&format!(
        "<CustomerQueryRq><ListID>{}</ListID></CustomerQueryRq>",
        job.item().must("ListID")
    ));
    merge("Customer", &job, &parent).ok();
    let to = sim.one("<CustomerQueryRq><FullName>Dana Smith</FullName></CustomerQueryRq>");
    assert_eq!(to.item().must("Balance"), "60.00");
    assert_eq!(to.item().must("TotalBalance"), "60.00");
    let deleted = sim
        .send_text("<ListDeletedQueryRq><ListDelType>Customer</ListDelType></ListDeletedQueryRq>");
    assert!(deleted.contains("<FullName>Dana</FullName>"), "{deleted}");
    // Stale edit sequence: 3200.
    let again = merge("Customer", &b, &b);
    assert_eq!(again.code, 3200, "{}", again.message);
    // The merged customer is in use by both invoices: it cannot be
    // deleted; deleting the invoices frees it.
    let id = to.item().must("ListID").to_string();
    let del = sim.one(&format!(
        "<ListDelRq><ListDelType>Customer</ListDelType><ListID>{id}</ListID></ListDelRq>"
    ));
    assert_eq!(del.code, 3176);
    let txns = sim.send("<InvoiceQueryRq/>");
    for r in txns.responses() {
        for i in r.items() {
            sim.one(&format!(
                "<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{}</TxnID></TxnDelRq>",
                i.child_text("TxnID").unwrap()
            ))
            .ok();
        }
    }
    sim.one(&format!(
        "<ListDelRq><ListDelType>Customer</ListDelType><ListID>{id}</ListID></ListDelRq>"
    ))
    .ok();
    // Accounts of one type merge; of different types they do not.
    let q = |n: &str| {
        sim.one(&format!(
            "<AccountQueryRq><FullName>{n}</FullName></AccountQueryRq>"
        ))
    };
    assert_eq!(merge("Account", &q("Old Expenses"), &q("Bank")).code, 3210);
    merge("Account", &q("Old Expenses"), &q("Expenses")).ok();
    assert_eq!(q("Old Expenses").code, 500);
    sim.check_schema();
}

/// One request in qbXML 16.0, its single response.
fn one16(sim: &Sim, rq: &str) -> common::Rs {
    let set = sim.send_v("16.0", "continueOnError", rq);
    let r = set.responses().next().unwrap();
    common::Rs::of(&r)
}

/// qbXML 16.0's payroll items, alerts, employee defaults, the closing
/// date; payroll transactions in a company without payroll.
#[test]
fn qbxml_16_payroll_alerts_and_preferences() {
    let sim = Sim::new();
    sim.one("<AccountAddRq><AccountAdd><Name>Payroll Expenses</Name><AccountType>Expense</AccountType></AccountAdd></AccountAddRq>").ok();
    sim.one("<AccountAddRq><AccountAdd><Name>Payroll Liabilities</Name><AccountType>OtherCurrentLiability</AccountType></AccountAdd></AccountAddRq>").ok();
    sim.one(
        "<PayrollItemWageAddRq><PayrollItemWageAdd><Name>Hourly</Name><WageType>HourlyRegular</WageType>\
         <ExpenseAccountRef><FullName>Payroll Expenses</FullName></ExpenseAccountRef></PayrollItemWageAdd></PayrollItemWageAddRq>",
    )
    .ok();
    let add = one16(
        &sim,
        "<PayrollItemAdditionAddRq><PayrollItemAdditionAdd><Name>Bonus</Name>\
         <ExpenseAccountRef><FullName>Payroll Expenses</FullName></ExpenseAccountRef></PayrollItemAdditionAdd></PayrollItemAdditionAddRq>",
    );
    add.ok();
    assert_eq!(add.item().name, "PayrollItemAdditionRet");
    let dup = one16(
        &sim,
        "<PayrollItemAdditionAddRq><PayrollItemAdditionAdd><Name>hourly</Name>\
         <ExpenseAccountRef><FullName>Payroll Expenses</FullName></ExpenseAccountRef></PayrollItemAdditionAdd></PayrollItemAdditionAddRq>",
    );
    assert_eq!(dup.code, 3100, "payroll items share one namespace");
    let all = sim.send_v("16.0", "continueOnError", "<PayrollItemQueryRq/>");
    let names: Vec<String> = all
        .responses()
        .next()
        .unwrap()
        .items()
        .map(|i| i.name().to_string())
        .collect();
    assert_eq!(names, ["PayrollItemWageRet", "PayrollItemAdditionRet"]);
    // No payroll: nothing to find, adjustments refused.
    assert_eq!(one16(&sim, "<PaycheckQueryRq/>").code, 1);
    assert_eq!(one16(&sim, "<PayrollLiabilityCheckQueryRq/>").code, 1);
    let adj = one16(
        &sim,
        "<PayrollLiabilityAdjustmentAddRq><PayrollLiabilityAdjustmentAdd>\
         <AccountRef><FullName>Payroll Liabilities</FullName></AccountRef><TxnDate>2023-11-01</TxnDate>\
         <IsAffectingAccounts>true</IsAffectingAccounts>\
         <PayrollLiabilityAdjustmentLineAdd><PayrollItemRef><FullName>Hourly</FullName></PayrollItemRef><Amount>1.00</Amount></PayrollLiabilityAdjustmentLineAdd>\
         </PayrollLiabilityAdjustmentAdd></PayrollLiabilityAdjustmentAddRq>",
    );
    assert_eq!(adj.code, 3250, "{}", adj.message);
    // Alerts: added, listed by owner, deleted once.
    let owner = "{6f226670-09b9-5233-ee8a-8e2f63a81227}";
    let a = one16(
        &sim,
        &format!(
            "<AlertAddRq><AlertAdd><OwnerID>{owner}</OwnerID><AlertTag>sync</AlertTag><MessageText>Sync failed</MessageText>\
             <Desc>Last sync</Desc><HelpText>Run it again</HelpText>\
             <HTTPCallbackInfo><URL>https://example.com</URL></HTTPCallbackInfo></AlertAdd></AlertAddRq>"
        ),
    );
    a.ok();
    assert_eq!(a.item().must("IsMarkedDone"), "false");
    let q = sim.send_v(
        "16.0",
        "continueOnError",
        &format!("<AlertQueryRq><OwnerID>{owner}</OwnerID></AlertQueryRq>"),
    );
    assert_eq!(q.responses().next().unwrap().items().count(), 1);
    let del =
        format!("<AlertDelRq><OwnerID>{owner}</OwnerID><AlertTag>sync</AlertTag></AlertDelRq>");
    one16(&sim, &del).ok();
    assert_eq!(one16(&sim, &del).code, 3120);
    // Employee defaults and the closing date are kept.
    let d = one16(
        &sim,
        "<EmployeeDefaultModRq><EmployeeDefaultMod><EmployeeDefaultPayrollInfoMod><PayPeriod>Weekly</PayPeriod>\
         </EmployeeDefaultPayrollInfoMod></EmployeeDefaultMod></EmployeeDefaultModRq>",
    );
    d.ok();
    let set = sim.send_v("16.0", "continueOnError", "<EmployeeDefaultQueryRq/>");
    let text = set.document().source().to_string();
    assert!(text.contains("<PayPeriod>Weekly</PayPeriod>"), "{text}");
    let p = one16(
        &sim,
        "<PreferencesModRq><PreferencesMod><AccountingPreferencesMod><ClosingDate>2022-12-31</ClosingDate>\
         </AccountingPreferencesMod></PreferencesMod></PreferencesModRq>",
    );
    p.ok();
    let prefs = sim.send_text("<PreferencesQueryRq/>");
    assert!(
        prefs.contains("<ClosingDate>2022-12-31</ClosingDate>"),
        "{prefs}"
    );
    let c = one16(
        &sim,
        "<QBCommandExecRq><QBCommand>Backup</QBCommand></QBCommandExecRq>",
    );
    assert_eq!(c.code, 3260, "{}", c.message);
    sim.check_schema();
}
