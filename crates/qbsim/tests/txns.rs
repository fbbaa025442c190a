//! Transactions: each type's Add/Mod/Query, the arithmetic QuickBooks
//! does (FACTS §5 "Totals", "ReceivePayment"), the balances the ledger
//! moves, TxnDel/TxnVoid, the query filters, and each status code on the
//! way. Every response is checked against Intuit's XSD at the end of each
//! test (xmllint, when available).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{Rs, Sim};

const SETUP: &str = "
<AccountAddRq><AccountAdd><Name>Accounts Receivable</Name><AccountType>AccountsReceivable</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Checking</Name><AccountType>Bank</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Sales</Name><AccountType>Income</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Discounts Given</Name><AccountType>Income</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Materials</Name><AccountType>Expense</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Visa</Name><AccountType>CreditCard</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Inventory</Name><AccountType>OtherCurrentAsset</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>COGS</Name><AccountType>CostOfGoodsSold</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Shrinkage</Name><AccountType>Expense</AccountType></AccountAdd></AccountAddRq>
<StandardTermsAddRq><StandardTermsAdd><Name>Net 30</Name><StdDueDays>30</StdDueDays></StandardTermsAdd></StandardTermsAddRq>
<ItemSalesTaxAddRq><ItemSalesTaxAdd><Name>CA Tax</Name><TaxRate>8.75</TaxRate></ItemSalesTaxAdd></ItemSalesTaxAddRq>
<CustomerAddRq><CustomerAdd><Name>Acme</Name><BillAddress><Addr1>1 Main St</Addr1><City>Bayshore</City><State>CA</State><PostalCode>94326</PostalCode></BillAddress><TermsRef><FullName>Net 30</FullName></TermsRef><SalesTaxCodeRef><FullName>Tax</FullName></SalesTaxCodeRef><ItemSalesTaxRef><FullName>CA Tax</FullName></ItemSalesTaxRef></CustomerAdd></CustomerAddRq>
<CustomerAddRq><CustomerAdd><Name>Job 1</Name><ParentRef><FullName>Acme</FullName></ParentRef></CustomerAdd></CustomerAddRq>
<CustomerAddRq><CustomerAdd><Name>Beta</Name></CustomerAdd></CustomerAddRq>
<VendorAddRq><VendorAdd><Name>Lumber Co</Name><VendorAddress><Addr1>9 Mill Rd</Addr1><City>Oakland</City></VendorAddress></VendorAdd></VendorAddRq>
<ItemServiceAddRq><ItemServiceAdd><Name>Labor</Name><SalesTaxCodeRef><FullName>Non</FullName></SalesTaxCodeRef><SalesOrPurchase><Desc>Hourly labor</Desc><Price>50.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemServiceAdd></ItemServiceAddRq>
<ItemInventoryAddRq><ItemInventoryAdd><Name>Widget</Name><SalesTaxCodeRef><FullName>Tax</FullName></SalesTaxCodeRef><SalesDesc>A widget</SalesDesc><SalesPrice>10.00</SalesPrice><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><PurchaseCost>4.00</PurchaseCost><COGSAccountRef><FullName>COGS</FullName></COGSAccountRef><AssetAccountRef><FullName>Inventory</FullName></AssetAccountRef><QuantityOnHand>100</QuantityOnHand></ItemInventoryAdd></ItemInventoryAddRq>
<ItemDiscountAddRq><ItemDiscountAdd><Name>Ten Off</Name><DiscountRatePercent>10</DiscountRatePercent><AccountRef><FullName>Discounts Given</FullName></AccountRef></ItemDiscountAdd></ItemDiscountAddRq>
<ItemSubtotalAddRq><ItemSubtotalAdd><Name>Subtotal</Name></ItemSubtotalAdd></ItemSubtotalAddRq>
";

fn setup() -> Sim {
    let sim = Sim::new();
    for r in sim.send(SETUP).responses() {
        assert_eq!(r.status_code(), 0, "{} {}", r.name(), r.message());
    }
    sim
}

fn field(sim: &Sim, query: &str, name: &str) -> String {
    sim.one(query).ok().item().must(name).to_string()
}

fn customer_balance(sim: &Sim, name: &str) -> (String, String) {
    let r = sim.one(&format!(
        "<CustomerQueryRq><FullName>{name}</FullName></CustomerQueryRq>"
    ));
    let i = r.item();
    (i.must("Balance").into(), i.must("TotalBalance").into())
}

fn account_balance(sim: &Sim, name: &str) -> String {
    field(
        sim,
        &format!("<AccountQueryRq><FullName>{name}</FullName></AccountQueryRq>"),
        "Balance",
    )
}

fn invoice(sim: &Sim, customer: &str, lines: &str) -> Rs {
    sim.one(&format!(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef><TxnDate>2023-11-01</TxnDate>{lines}</InvoiceAdd></InvoiceAddRq>"
    ))
}

/// One line of the Labor service item at its price.
const LABOR: &str =
    "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef></InvoiceLineAdd>";

const TWO_LINES: &str = "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>\
<InvoiceLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>3</Quantity><Rate>12</Rate></InvoiceLineAdd>";

/// Every element named `name` under the document's root, in order.
fn all<'d>(doc: &'d qbxml::Document, name: &str) -> Vec<qbxml::Element<'d>> {
    fn walk<'d>(e: qbxml::Element<'d>, name: &str, out: &mut Vec<qbxml::Element<'d>>) {
        for c in e.children() {
            if c.name() == name {
                out.push(c);
            }
            walk(c, name, out);
        }
    }
    let mut out = Vec::new();
    walk(doc.root(), name, &mut out);
    out
}

fn hex_of(id: &str) -> u64 {
    u64::from_str_radix(id.split('-').next().unwrap(), 16).unwrap()
}

#[test]
fn invoice_arithmetic_defaults_and_ledger() {
    let sim = setup();
    let r = invoice(&sim, "Acme", TWO_LINES);
    let inv = r.ok().item();
    // FACTS §5 "Totals": Subtotal, tax on taxable lines, balance.
    assert_eq!(inv.must("Subtotal"), "136.00");
    assert_eq!(inv.must("SalesTaxPercentage"), "8.75");
    assert_eq!(inv.must("SalesTaxTotal"), "3.15");
    assert_eq!(inv.must("AppliedAmount"), "0.00");
    assert_eq!(inv.must("BalanceRemaining"), "139.15");
    assert_eq!(inv.must("IsPaid"), "false");
    // Defaults QuickBooks fills in.
    assert_eq!(inv.must("ARAccountRef.FullName"), "Accounts Receivable");
    assert_eq!(inv.must("TemplateRef.FullName"), "Intuit Service Invoice");
    assert_eq!(inv.must("RefNumber"), "1");
    assert_eq!(inv.must("DueDate"), "2023-12-01");
    assert_eq!(inv.must("ShipDate"), "2023-11-01");
    assert_eq!(inv.must("TermsRef.FullName"), "Net 30");
    assert_eq!(inv.must("ItemSalesTaxRef.FullName"), "CA Tax");
    assert_eq!(inv.must("IsToBePrinted"), "true");
    assert!(inv.children.contains(&"BillAddress".to_string()));
    assert!(inv.children.contains(&"BillAddressBlock".to_string()));
    assert_eq!(inv.must("TxnNumber"), "1");
    // IDs: the first line is TxnID + 2, the next + 3, same epoch suffix.
    let set = sim.send(&format!(
        "<InvoiceQueryRq><TxnID>{}</TxnID><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>",
        inv.must("TxnID")
    ));
    let doc = set.document();
    let lines: Vec<_> = all(doc, "InvoiceLineRet");
    assert_eq!(lines.len(), 2);
    let txn = hex_of(inv.must("TxnID"));
    let l0 = lines[0].child_text("TxnLineID").unwrap();
    let l1 = lines[1].child_text("TxnLineID").unwrap();
    assert_eq!(hex_of(l0), txn + 2);
    assert_eq!(hex_of(l1), txn + 3);
    assert_eq!(l0.split('-').nth(1), inv.must("TxnID").split('-').nth(1));
    // Amount = Quantity × Rate; the item's price and description fill in.
    assert_eq!(lines[0].child_text("Rate"), Some("50.00"));
    assert_eq!(lines[0].child_text("Amount"), Some("100.00"));
    assert_eq!(lines[0].child_text("Desc"), Some("Hourly labor"));
    assert_eq!(lines[1].child_text("Amount"), Some("36.00"));
    // The ledger: A/R, the customer, income, tax, inventory.
    assert_eq!(
        customer_balance(&sim, "Acme"),
        ("139.15".into(), "139.15".into())
    );
    assert_eq!(account_balance(&sim, "Accounts Receivable"), "139.15");
    assert_eq!(account_balance(&sim, "Sales"), "136.00");
    assert_eq!(account_balance(&sim, "Sales Tax Payable"), "3.15");
    assert_eq!(account_balance(&sim, "COGS"), "12.00");
    assert_eq!(account_balance(&sim, "Inventory"), "388.00");
    assert_eq!(
        field(
            &sim,
            "<ItemInventoryQueryRq><FullName>Widget</FullName></ItemInventoryQueryRq>",
            "QuantityOnHand"
        ),
        "97"
    );
    // A job's invoice moves its own Balance and its parent's TotalBalance.
    invoice(&sim, "Acme:Job 1", "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Amount>20.00</Amount></InvoiceLineAdd>").ok();
    assert_eq!(
        customer_balance(&sim, "Acme:Job 1"),
        ("20.00".into(), "20.00".into())
    );
    assert_eq!(
        customer_balance(&sim, "Acme"),
        ("139.15".into(), "159.15".into())
    );
    // The next invoice takes the next number.
    let r = invoice(&sim, "Beta", LABOR);
    assert_eq!(r.ok().item().must("RefNumber"), "3");
    assert_eq!(r.item().must("Subtotal"), "50.00");
    // Discount and subtotal items.
    let r = invoice(
        &sim,
        "Beta",
        "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>4</Quantity></InvoiceLineAdd>\
         <InvoiceLineAdd><ItemRef><FullName>Subtotal</FullName></ItemRef></InvoiceLineAdd>\
         <InvoiceLineAdd><ItemRef><FullName>Ten Off</FullName></ItemRef></InvoiceLineAdd>",
    );
    assert_eq!(r.ok().item().must("Subtotal"), "180.00");
    sim.check_schema();
}

#[test]
fn references_and_required_values_answer_quickbooks_codes() {
    let sim = setup();
    // 3140 for a missing customer and for a missing item on a line.
    let r = invoice(&sim, "Nobody", TWO_LINES);
    assert_eq!(r.code, 3140);
    assert!(
        r.message
            .contains("invalid reference to QuickBooks Customer \"Nobody\" in the Invoice"),
        "{}",
        r.message
    );
    let r = invoice(
        &sim,
        "Acme",
        "<InvoiceLineAdd><ItemRef><FullName>Gadget</FullName></ItemRef></InvoiceLineAdd>",
    );
    assert_eq!(r.code, 3140);
    assert!(r.message.contains("in the Invoice line"), "{}", r.message);
    // Nothing was saved by either.
    let r = sim.one("<InvoiceQueryRq></InvoiceQueryRq>");
    assert_eq!(r.code, 1);
    assert_eq!(account_balance(&sim, "Sales"), "0.00");
    sim.check_schema();
}

/// One application of a payment to a document.
fn applied_to(txn_id: &str, amount: &str) -> String {
    format!("<AppliedToTxnAdd><TxnID>{txn_id}</TxnID><PaymentAmount>{amount}</PaymentAmount></AppliedToTxnAdd>")
}

fn pay(sim: &Sim, customer: &str, total: &str, applied: &str) -> Rs {
    sim.one(&format!(
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef><TxnDate>2023-11-05</TxnDate><RefNumber>CHK-1</RefNumber><TotalAmount>{total}</TotalAmount>{applied}</ReceivePaymentAdd></ReceivePaymentAddRq>"
    ))
}

#[test]
fn payments_apply_to_invoices_and_overpaying_is_3210() {
    let sim = setup();
    let inv = invoice(&sim, "Acme", TWO_LINES);
    let inv_id = inv.ok().item().must("TxnID").to_string();
    // Overpaying: QuickBooks' 3210, nothing saved.
    let r = pay(&sim, "Acme", "200.00", &applied_to(&inv_id, "150.00"));
    assert_eq!(r.code, 3210);
    assert_eq!(r.message, "The \"AppliedToTxnAdd payment amount\" field has an invalid value \"150.00\".  QuickBooks error message: You cannot pay more than the amount due.");
    assert_eq!(customer_balance(&sim, "Acme").0, "139.15");
    // A partial payment.
    let r = pay(&sim, "Acme", "100.00", &applied_to(&inv_id, "100.00"));
    let p = r.ok().item();
    assert_eq!(p.must("UnusedPayment"), "0.00");
    assert_eq!(p.must("UnusedCredits"), "0.00");
    assert_eq!(p.must("DepositToAccountRef.FullName"), "Undeposited Funds");
    let pay_id = p.must("TxnID").to_string();
    let set = sim.send(&format!(
        "<ReceivePaymentQueryRq><TxnID>{pay_id}</TxnID></ReceivePaymentQueryRq>"
    ));
    let doc = set.document();
    let applied = all(doc, "AppliedToTxnRet").into_iter().next().unwrap();
    assert_eq!(applied.child_text("TxnType"), Some("Invoice"));
    assert_eq!(applied.child_text("RefNumber"), Some("1"));
    assert_eq!(applied.child_text("BalanceRemaining"), Some("39.15"));
    assert_eq!(applied.child_text("Amount"), Some("100.00"));
    let r = sim.one(&format!(
        "<InvoiceQueryRq><TxnID>{inv_id}</TxnID><IncludeLinkedTxns>true</IncludeLinkedTxns></InvoiceQueryRq>"
    ));
    let i = r.ok().item();
    assert_eq!(i.must("AppliedAmount"), "-100.00");
    assert_eq!(i.must("BalanceRemaining"), "39.15");
    assert!(i.children.contains(&"LinkedTxn".to_string()));
    let set = sim.send(&format!(
        "<InvoiceQueryRq><TxnID>{inv_id}</TxnID><IncludeLinkedTxns>true</IncludeLinkedTxns></InvoiceQueryRq>"
    ));
    let doc = set.document();
    let lt = all(doc, "LinkedTxn").into_iter().next().unwrap();
    assert_eq!(lt.child_text("TxnType"), Some("ReceivePayment"));
    assert_eq!(lt.child_text("Amount"), Some("-100.00"));
    assert_eq!(lt.child_text("LinkType"), Some("AMTTYPE"));
    assert_eq!(customer_balance(&sim, "Acme").0, "39.15");
    assert_eq!(account_balance(&sim, "Undeposited Funds"), "100.00");
    // An unapplied payment stays as a credit; IsAutoApply pays the rest.
    let r = pay(&sim, "Acme", "50.00", "<IsAutoApply>true</IsAutoApply>");
    let p = r.ok().item();
    assert_eq!(p.must("UnusedPayment"), "10.85");
    assert_eq!(customer_balance(&sim, "Acme").0, "-10.85");
    let r = sim.one(&format!(
        "<InvoiceQueryRq><TxnID>{inv_id}</TxnID></InvoiceQueryRq>"
    ));
    assert_eq!(r.item().must("IsPaid"), "true");
    // Applying to another customer's invoice is refused.
    let other = invoice(&sim, "Beta", LABOR);
    let other_id = other.item().must("TxnID").to_string();
    let r = pay(&sim, "Acme", "5.00", &applied_to(&other_id, "5.00"));
    assert_eq!(r.code, 3210);
    // An unknown TxnID: 3120.
    let r = pay(
        &sim,
        "Acme",
        "5.00",
        "<AppliedToTxnAdd><TxnID>FFFF-1</TxnID><PaymentAmount>5.00</PaymentAmount></AppliedToTxnAdd>",
    );
    assert_eq!(r.code, 3120);
    sim.check_schema();
}

#[test]
fn credit_memos_discounts_and_set_credit() {
    let sim = setup();
    let inv = invoice(&sim, "Beta", "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>");
    let inv_id = inv.ok().item().must("TxnID").to_string();
    let cm = sim.one(
        "<CreditMemoAddRq><CreditMemoAdd><CustomerRef><FullName>Beta</FullName></CustomerRef><CreditMemoLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Amount>30.00</Amount></CreditMemoLineAdd></CreditMemoAdd></CreditMemoAddRq>",
    );
    let c = cm.ok().item();
    assert_eq!(c.must("TotalAmount"), "30.00");
    assert_eq!(c.must("CreditRemaining"), "30.00");
    assert_eq!(c.must("TemplateRef.FullName"), "Custom Credit Memo");
    let cm_id = c.must("TxnID").to_string();
    assert_eq!(customer_balance(&sim, "Beta").0, "70.00");
    // Pay 60 with a 10 discount and the 30 credit: the invoice is paid.
    let r = pay(
        &sim,
        "Beta",
        "60.00",
        &format!(
            "<AppliedToTxnAdd><TxnID>{inv_id}</TxnID><PaymentAmount>60.00</PaymentAmount>\
             <SetCredit><CreditTxnID>{cm_id}</CreditTxnID><AppliedAmount>30.00</AppliedAmount></SetCredit>\
             <DiscountAmount>10.00</DiscountAmount><DiscountAccountRef><FullName>Discounts Given</FullName></DiscountAccountRef></AppliedToTxnAdd>"
        ),
    );
    r.ok();
    let r = sim.one(&format!(
        "<InvoiceQueryRq><TxnID>{inv_id}</TxnID></InvoiceQueryRq>"
    ));
    assert_eq!(r.item().must("BalanceRemaining"), "0.00");
    assert_eq!(r.item().must("AppliedAmount"), "-100.00");
    let r = sim.one(&format!(
        "<CreditMemoQueryRq><TxnID>{cm_id}</TxnID></CreditMemoQueryRq>"
    ));
    assert_eq!(r.item().must("CreditRemaining"), "0.00");
    assert_eq!(customer_balance(&sim, "Beta").0, "0.00");
    assert_eq!(account_balance(&sim, "Discounts Given"), "-10.00");
    // The credit memo is in use: deleting it is refused.
    let r = sim.one(&format!(
        "<TxnDelRq><TxnDelType>CreditMemo</TxnDelType><TxnID>{cm_id}</TxnID></TxnDelRq>"
    ));
    assert_eq!(r.code, 3171, "{}", r.message);
    sim.check_schema();
}

#[test]
fn invoice_mod_lines_and_edit_sequence() {
    let sim = setup();
    let inv = invoice(&sim, "Beta", TWO_LINES);
    let i = inv.ok().item();
    let (id, seq) = (
        i.must("TxnID").to_string(),
        i.must("EditSequence").to_string(),
    );
    let set = sim.send(&format!("<InvoiceQueryRq><TxnID>{id}</TxnID><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"));
    let doc = set.document();
    let line_ids: Vec<String> = all(doc, "InvoiceLineRet")
        .into_iter()
        .map(|e| e.child_text("TxnLineID").unwrap().to_string())
        .collect();
    // Stale EditSequence: 3200 with the current record.
    let r = sim.one(&format!(
        "<InvoiceModRq><InvoiceMod><TxnID>{id}</TxnID><EditSequence>1</EditSequence><Memo>x</Memo></InvoiceMod></InvoiceModRq>"
    ));
    assert_eq!(r.code, 3200);
    assert_eq!(r.items.len(), 1);
    // Missing: 3120.
    let r = sim.one(
        "<InvoiceModRq><InvoiceMod><TxnID>ABC-1</TxnID><EditSequence>1</EditSequence></InvoiceMod></InvoiceModRq>",
    );
    assert_eq!(r.code, 3120);
    sim.clock.advance(10);
    // Keep the first line by TxnLineID alone, drop the second, add one.
    let r = sim.one(&format!(
        "<InvoiceModRq><InvoiceMod><TxnID>{id}</TxnID><EditSequence>{seq}</EditSequence><Memo>changed</Memo>\
         <InvoiceLineMod><TxnLineID>{}</TxnLineID></InvoiceLineMod>\
         <InvoiceLineMod><TxnLineID>-1</TxnLineID><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>1</Quantity></InvoiceLineMod>\
         </InvoiceMod></InvoiceModRq>",
        line_ids[0]
    ));
    let m = r.ok().item();
    assert_eq!(m.must("Subtotal"), "150.00");
    assert_eq!(m.must("SalesTaxTotal"), "0.00");
    assert_eq!(m.must("Memo"), "changed");
    assert_ne!(m.must("EditSequence"), seq);
    let set = sim.send(&format!("<InvoiceQueryRq><TxnID>{id}</TxnID><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"));
    let doc = set.document();
    let now: Vec<String> = all(doc, "InvoiceLineRet")
        .into_iter()
        .map(|e| e.child_text("TxnLineID").unwrap().to_string())
        .collect();
    assert_eq!(now.len(), 2);
    assert_eq!(now[0], line_ids[0]);
    assert!(!now.contains(&line_ids[1]));
    // Later lines carry the transaction's creation epoch.
    assert_eq!(now[1].split('-').nth(1), id.split('-').nth(1));
    // The ledger follows: the widget line's stock is back.
    assert_eq!(customer_balance(&sim, "Beta").0, "150.00");
    assert_eq!(
        field(
            &sim,
            "<ItemInventoryQueryRq><FullName>Widget</FullName></ItemInventoryQueryRq>",
            "QuantityOnHand"
        ),
        "100"
    );
    assert_eq!(account_balance(&sim, "COGS"), "0.00");
    sim.check_schema();
}

#[test]
fn delete_and_void_restore_balances() {
    let sim = setup();
    let inv = invoice(&sim, "Acme", TWO_LINES);
    let inv_id = inv.ok().item().must("TxnID").to_string();
    let p = pay(&sim, "Acme", "39.15", &applied_to(&inv_id, "39.15"));
    let pay_id = p.ok().item().must("TxnID").to_string();
    // The invoice has a payment: refused until the payment goes.
    let r = sim.one(&format!(
        "<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{inv_id}</TxnID></TxnDelRq>"
    ));
    assert_eq!(r.code, 3171);
    let r = sim.one(&format!(
        "<TxnDelRq><TxnDelType>ReceivePayment</TxnDelType><TxnID>{pay_id}</TxnID></TxnDelRq>"
    ));
    // TxnDelRs: TxnDelType, TxnID, TimeDeleted, RefNumber (leaves).
    let leaf = |n: &str| {
        r.items
            .iter()
            .find(|i| i.name == n)
            .map(|i| i.must(n).to_string())
    };
    assert_eq!(r.code, 0);
    assert_eq!(leaf("TxnDelType").as_deref(), Some("ReceivePayment"));
    assert_eq!(leaf("RefNumber").as_deref(), Some("CHK-1"));
    assert!(leaf("TimeDeleted").is_some());
    assert_eq!(
        field(
            &sim,
            &format!("<InvoiceQueryRq><TxnID>{inv_id}</TxnID></InvoiceQueryRq>"),
            "BalanceRemaining"
        ),
        "139.15"
    );
    // Void: kept with zero amounts, every balance back.
    let r = sim.one(&format!(
        "<TxnVoidRq><TxnVoidType>Invoice</TxnVoidType><TxnID>{inv_id}</TxnID></TxnVoidRq>"
    ));
    r.ok();
    let r = sim.one(&format!(
        "<InvoiceQueryRq><TxnID>{inv_id}</TxnID></InvoiceQueryRq>"
    ));
    let v = r.ok().item();
    assert_eq!(v.must("Subtotal"), "0.00");
    assert_eq!(v.must("BalanceRemaining"), "0.00");
    assert!(v.must("Memo").starts_with("VOID:"));
    for (acct, bal) in [
        ("Accounts Receivable", "0.00"),
        ("Sales", "0.00"),
        ("Sales Tax Payable", "0.00"),
        ("COGS", "0.00"),
        ("Inventory", "400.00"),
        ("Undeposited Funds", "0.00"),
    ] {
        assert_eq!(account_balance(&sim, acct), bal, "{acct}");
    }
    assert_eq!(
        customer_balance(&sim, "Acme"),
        ("0.00".into(), "0.00".into())
    );
    // Delete it for good; TxnDeletedQuery has both.
    sim.one(&format!(
        "<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{inv_id}</TxnID></TxnDelRq>"
    ))
    .ok();
    let r = sim.one(&format!(
        "<InvoiceQueryRq><TxnID>{inv_id}</TxnID></InvoiceQueryRq>"
    ));
    assert_eq!(r.code, 500);
    let r = sim.one("<TxnDeletedQueryRq><TxnDelType>Invoice</TxnDelType><TxnDelType>ReceivePayment</TxnDelType></TxnDeletedQueryRq>");
    assert_eq!(r.ok().items.len(), 2);
    let r = sim.one(&format!(
        "<TxnDelRq><TxnDelType>Invoice</TxnDelType><TxnID>{inv_id}</TxnID></TxnDelRq>"
    ));
    assert_eq!(r.code, 3120);
    // A customer with transactions cannot be deleted; without, it can.
    let b = invoice(&sim, "Beta", LABOR);
    b.ok();
    let beta = field(
        &sim,
        "<CustomerQueryRq><FullName>Beta</FullName></CustomerQueryRq>",
        "ListID",
    );
    let r = sim.one(&format!(
        "<ListDelRq><ListDelType>Customer</ListDelType><ListID>{beta}</ListID></ListDelRq>"
    ));
    assert_eq!(r.code, 3176);
    sim.check_schema();
}

#[test]
fn purchases_bills_and_bill_payments() {
    let sim = setup();
    let bill = sim.one(
        "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef><TxnDate>2023-11-02</TxnDate><RefNumber>L-77</RefNumber>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>120.00</Amount></ExpenseLineAdd>\
         <ItemLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>10</Quantity><Cost>5.00</Cost></ItemLineAdd>\
         </BillAdd></BillAddRq>",
    );
    let b = bill.ok().item();
    assert_eq!(b.must("AmountDue"), "170.00");
    assert_eq!(b.must("OpenAmount"), "170.00");
    assert_eq!(b.must("IsPaid"), "false");
    assert_eq!(b.must("APAccountRef.FullName"), "Accounts Payable");
    assert!(b.children.contains(&"VendorAddress".to_string()));
    let bill_id = b.must("TxnID").to_string();
    let vendor = || {
        field(
            &sim,
            "<VendorQueryRq><FullName>Lumber Co</FullName></VendorQueryRq>",
            "Balance",
        )
    };
    assert_eq!(vendor(), "170.00");
    assert_eq!(account_balance(&sim, "Accounts Payable"), "170.00");
    assert_eq!(account_balance(&sim, "Materials"), "120.00");
    assert_eq!(account_balance(&sim, "Inventory"), "450.00");
    assert_eq!(
        field(
            &sim,
            "<ItemInventoryQueryRq><FullName>Widget</FullName></ItemInventoryQueryRq>",
            "QuantityOnHand"
        ),
        "110"
    );
    // A vendor credit and a bill payment using it.
    let vc = sim.one(
        "<VendorCreditAddRq><VendorCreditAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>20.00</Amount></ExpenseLineAdd>\
         </VendorCreditAdd></VendorCreditAddRq>",
    );
    let vc_id = vc.ok().item().must("TxnID").to_string();
    assert_eq!(vc.item().must("CreditAmount"), "20.00");
    assert_eq!(vendor(), "150.00");
    let over = sim.one(&format!(
        "<BillPaymentCheckAddRq><BillPaymentCheckAdd><PayeeEntityRef><FullName>Lumber Co</FullName></PayeeEntityRef>\
         <BankAccountRef><FullName>Checking</FullName></BankAccountRef><RefNumber>101</RefNumber>\
         <AppliedToTxnAdd><TxnID>{bill_id}</TxnID><PaymentAmount>171.00</PaymentAmount></AppliedToTxnAdd>\
         </BillPaymentCheckAdd></BillPaymentCheckAddRq>"
    ));
    assert_eq!(over.code, 3210);
    let bp = sim.one(&format!(
        "<BillPaymentCheckAddRq><BillPaymentCheckAdd><PayeeEntityRef><FullName>Lumber Co</FullName></PayeeEntityRef>\
         <BankAccountRef><FullName>Checking</FullName></BankAccountRef><RefNumber>101</RefNumber>\
         <AppliedToTxnAdd><TxnID>{bill_id}</TxnID><PaymentAmount>150.00</PaymentAmount>\
         <SetCredit><CreditTxnID>{vc_id}</CreditTxnID><AppliedAmount>20.00</AppliedAmount></SetCredit></AppliedToTxnAdd>\
         </BillPaymentCheckAdd></BillPaymentCheckAddRq>"
    ));
    assert_eq!(bp.ok().item().must("Amount"), "150.00");
    assert_eq!(vendor(), "0.00");
    assert_eq!(account_balance(&sim, "Checking"), "-150.00");
    let r = sim.one(&format!(
        "<BillQueryRq><TxnID>{bill_id}</TxnID></BillQueryRq>"
    ));
    assert_eq!(r.item().must("IsPaid"), "true");
    let r = sim.one("<BillQueryRq><PaidStatus>NotPaidOnly</PaidStatus></BillQueryRq>");
    assert_eq!(r.code, 1);
    // Checks and credit card charges/credits.
    sim.one(
        "<CheckAddRq><CheckAdd><AccountRef><FullName>Checking</FullName></AccountRef><PayeeEntityRef><FullName>Lumber Co</FullName></PayeeEntityRef>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>25.00</Amount></ExpenseLineAdd></CheckAdd></CheckAddRq>",
    )
    .ok();
    assert_eq!(account_balance(&sim, "Checking"), "-175.00");
    sim.one(
        "<CreditCardChargeAddRq><CreditCardChargeAdd><AccountRef><FullName>Visa</FullName></AccountRef>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>40.00</Amount></ExpenseLineAdd></CreditCardChargeAdd></CreditCardChargeAddRq>",
    )
    .ok();
    sim.one(
        "<CreditCardCreditAddRq><CreditCardCreditAdd><AccountRef><FullName>Visa</FullName></AccountRef>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>15.00</Amount></ExpenseLineAdd></CreditCardCreditAdd></CreditCardCreditAddRq>",
    )
    .ok();
    assert_eq!(account_balance(&sim, "Visa"), "25.00");
    assert_eq!(account_balance(&sim, "Materials"), "150.00");
    sim.check_schema();
}

#[test]
fn deposits_from_undeposited_funds() {
    let sim = setup();
    let inv = invoice(&sim, "Beta", LABOR);
    let inv_id = inv.ok().item().must("TxnID").to_string();
    let p = pay(&sim, "Beta", "50.00", &applied_to(&inv_id, "50.00"));
    let pay_id = p.ok().item().must("TxnID").to_string();
    let sr = sim.one(
        "<SalesReceiptAddRq><SalesReceiptAdd><CustomerRef><FullName>Beta</FullName></CustomerRef>\
         <SalesReceiptLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>1</Quantity></SalesReceiptLineAdd></SalesReceiptAdd></SalesReceiptAddRq>",
    );
    let s = sr.ok().item();
    assert_eq!(s.must("TotalAmount"), "50.00");
    assert_eq!(s.must("DepositToAccountRef.FullName"), "Undeposited Funds");
    let r = sim.one("<ReceivePaymentToDepositQueryRq></ReceivePaymentToDepositQueryRq>");
    assert_eq!(r.ok().items.len(), 2);
    assert_eq!(account_balance(&sim, "Undeposited Funds"), "100.00");
    let dep = sim.one(&format!(
        "<DepositAddRq><DepositAdd><DepositToAccountRef><FullName>Checking</FullName></DepositToAccountRef>\
         <DepositLineAdd><PaymentTxnID>{pay_id}</PaymentTxnID></DepositLineAdd>\
         <DepositLineAdd><AccountRef><FullName>Sales</FullName></AccountRef><Amount>5.00</Amount></DepositLineAdd>\
         </DepositAdd></DepositAddRq>"
    ));
    let d = dep.ok().item();
    assert_eq!(d.must("DepositTotal"), "55.00");
    let dep_id = d.must("TxnID").to_string();
    assert_eq!(account_balance(&sim, "Checking"), "55.00");
    assert_eq!(account_balance(&sim, "Undeposited Funds"), "50.00");
    let r = sim.one("<ReceivePaymentToDepositQueryRq></ReceivePaymentToDepositQueryRq>");
    assert_eq!(r.items.len(), 1);
    // A payment is deposited once.
    let again = sim.one(&format!(
        "<DepositAddRq><DepositAdd><DepositToAccountRef><FullName>Checking</FullName></DepositToAccountRef>\
         <DepositLineAdd><PaymentTxnID>{pay_id}</PaymentTxnID></DepositLineAdd></DepositAdd></DepositAddRq>"
    ));
    assert_eq!(again.code, 3210);
    // A deposited payment cannot be deleted before its deposit.
    let r = sim.one(&format!(
        "<TxnDelRq><TxnDelType>ReceivePayment</TxnDelType><TxnID>{pay_id}</TxnID></TxnDelRq>"
    ));
    assert_eq!(r.code, 3171);
    sim.one(&format!(
        "<TxnDelRq><TxnDelType>Deposit</TxnDelType><TxnID>{dep_id}</TxnID></TxnDelRq>"
    ))
    .ok();
    assert_eq!(account_balance(&sim, "Checking"), "0.00");
    assert_eq!(account_balance(&sim, "Undeposited Funds"), "100.00");
    sim.check_schema();
}

#[test]
fn journal_entries_must_balance() {
    let sim = setup();
    let r = sim.one(
        "<JournalEntryAddRq><JournalEntryAdd><TxnDate>2023-11-03</TxnDate>\
         <JournalDebitLine><AccountRef><FullName>Checking</FullName></AccountRef><Amount>100.00</Amount></JournalDebitLine>\
         <JournalCreditLine><AccountRef><FullName>Sales</FullName></AccountRef><Amount>90.00</Amount></JournalCreditLine>\
         </JournalEntryAdd></JournalEntryAddRq>",
    );
    assert_eq!(r.code, 3210);
    assert!(r.message.contains("not in balance"), "{}", r.message);
    // A/R lines need a customer.
    let r = sim.one(
        "<JournalEntryAddRq><JournalEntryAdd>\
         <JournalDebitLine><AccountRef><FullName>Accounts Receivable</FullName></AccountRef><Amount>10.00</Amount></JournalDebitLine>\
         <JournalCreditLine><AccountRef><FullName>Sales</FullName></AccountRef><Amount>10.00</Amount></JournalCreditLine>\
         </JournalEntryAdd></JournalEntryAddRq>",
    );
    assert_eq!(r.code, 3210, "{}", r.message);
    let r = sim.one(
        "<JournalEntryAddRq><JournalEntryAdd><TxnDate>2023-11-03</TxnDate>\
         <JournalDebitLine><AccountRef><FullName>Checking</FullName></AccountRef><Amount>100.00</Amount></JournalDebitLine>\
         <JournalCreditLine><AccountRef><FullName>Sales</FullName></AccountRef><Amount>60.00</Amount></JournalCreditLine>\
         <JournalCreditLine><AccountRef><FullName>Accounts Receivable</FullName></AccountRef><Amount>40.00</Amount><EntityRef><FullName>Acme</FullName></EntityRef></JournalCreditLine>\
         </JournalEntryAdd></JournalEntryAddRq>",
    );
    let j = r.ok().item();
    assert_eq!(j.must("RefNumber"), "1");
    let id = j.must("TxnID");
    let set = sim.send(&format!("<JournalEntryQueryRq><TxnID>{id}</TxnID><IncludeLineItems>true</IncludeLineItems></JournalEntryQueryRq>"));
    let doc = set.document();
    let first = all(doc, "JournalDebitLine").into_iter().next().unwrap();
    // Journal lines start right after the TxnID.
    assert_eq!(
        hex_of(first.child_text("TxnLineID").unwrap()),
        hex_of(id) + 1
    );
    assert_eq!(account_balance(&sim, "Checking"), "100.00");
    assert_eq!(customer_balance(&sim, "Acme").0, "-40.00");
    sim.check_schema();
}

#[test]
fn orders_do_not_post_receipts_and_adjustments_move_stock() {
    let sim = setup();
    for (t, who) in [
        ("Estimate", "Customer"),
        ("SalesOrder", "Customer"),
        ("PurchaseOrder", "Vendor"),
    ] {
        let entity = if who == "Customer" {
            "Acme"
        } else {
            "Lumber Co"
        };
        let r = sim.one(&format!(
            "<{t}AddRq><{t}Add><{who}Ref><FullName>{entity}</FullName></{who}Ref><{t}LineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>2</Quantity></{t}LineAdd></{t}Add></{t}AddRq>"
        ));
        let i = r.ok().item();
        assert_eq!(i.must("RefNumber"), "1", "{t}");
        assert!(i.get("TotalAmount").is_some(), "{t}");
    }
    assert_eq!(customer_balance(&sim, "Acme").0, "0.00");
    assert_eq!(
        field(
            &sim,
            "<ItemInventoryQueryRq><FullName>Widget</FullName></ItemInventoryQueryRq>",
            "QuantityOnHand"
        ),
        "100"
    );
    sim.one(
        "<ItemReceiptAddRq><ItemReceiptAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef>\
         <ItemLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>20</Quantity><Cost>4.00</Cost></ItemLineAdd></ItemReceiptAdd></ItemReceiptAddRq>",
    )
    .ok();
    let r = sim.one(
        "<InventoryAdjustmentAddRq><InventoryAdjustmentAdd><AccountRef><FullName>Shrinkage</FullName></AccountRef>\
         <InventoryAdjustmentLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><QuantityAdjustment><QuantityDifference>-5</QuantityDifference></QuantityAdjustment></InventoryAdjustmentLineAdd>\
         </InventoryAdjustmentAdd></InventoryAdjustmentAddRq>",
    );
    r.ok();
    assert_eq!(
        field(
            &sim,
            "<ItemInventoryQueryRq><FullName>Widget</FullName></ItemInventoryQueryRq>",
            "QuantityOnHand"
        ),
        "115"
    );
    assert_eq!(account_balance(&sim, "Shrinkage"), "20.00");
    assert_eq!(account_balance(&sim, "Inventory"), "460.00");
    sim.check_schema();
}

#[test]
fn query_filters_and_iterators() {
    let sim = setup();
    for (i, (who, date, rf)) in [
        ("Acme", "2023-10-01", "A-1"),
        ("Acme:Job 1", "2023-10-15", "a-2"),
        ("Beta", "2023-11-01", "100"),
        ("Beta", "2023-11-10", "101"),
        ("Acme", "2023-11-12", "99"),
    ]
    .iter()
    .enumerate()
    {
        let r = sim.one(&format!(
            "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{who}</FullName></CustomerRef><TxnDate>{date}</TxnDate><RefNumber>{rf}</RefNumber>\
             <InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>{}</Quantity></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>",
            i + 1
        ));
        r.ok();
        sim.clock.advance(60);
    }
    let refs = |q: &str| -> Vec<String> {
        let r = sim.one(&format!("<InvoiceQueryRq>{q}</InvoiceQueryRq>"));
        r.items
            .iter()
            .map(|i| i.must("RefNumber").to_string())
            .collect()
    };
    assert_eq!(refs(""), ["A-1", "a-2", "100", "101", "99"]);
    assert_eq!(refs("<RefNumber>a-1</RefNumber>"), ["A-1"]);
    assert_eq!(
        refs("<RefNumberCaseSensitive>A-1</RefNumberCaseSensitive>"),
        ["A-1"]
    );
    let r = sim.one(
        "<InvoiceQueryRq><RefNumberCaseSensitive>a-1</RefNumberCaseSensitive></InvoiceQueryRq>",
    );
    assert_eq!(r.code, 500);
    assert_eq!(refs("<MaxReturned>2</MaxReturned>"), ["A-1", "a-2"]);
    assert_eq!(
        refs("<TxnDateRangeFilter><FromTxnDate>2023-10-10</FromTxnDate><ToTxnDate>2023-11-05</ToTxnDate></TxnDateRangeFilter>"),
        ["a-2", "100"]
    );
    // The manual clock is 2023-11-14: ThisMonth is November.
    assert_eq!(
        refs("<TxnDateRangeFilter><DateMacro>ThisMonth</DateMacro></TxnDateRangeFilter>"),
        ["100", "101", "99"]
    );
    assert_eq!(
        refs("<EntityFilter><FullNameWithChildren>Acme</FullNameWithChildren></EntityFilter>"),
        ["A-1", "a-2", "99"]
    );
    assert_eq!(
        refs("<EntityFilter><FullName>Acme</FullName></EntityFilter>"),
        ["A-1", "99"]
    );
    assert_eq!(
        refs("<RefNumberFilter><MatchCriterion>StartsWith</MatchCriterion><RefNumber>a-</RefNumber></RefNumberFilter>"),
        ["A-1", "a-2"]
    );
    assert_eq!(
        refs("<RefNumberRangeFilter><FromRefNumber>99</FromRefNumber><ToRefNumber>100</ToRefNumber></RefNumberRangeFilter>"),
        ["100", "99"]
    );
    assert_eq!(
        refs("<AccountFilter><FullName>Accounts Receivable</FullName></AccountFilter>").len(),
        5
    );
    let r = sim.one(
        "<InvoiceQueryRq><TxnDateRangeFilter><FromTxnDate>2030-01-01</FromTxnDate></TxnDateRangeFilter></InvoiceQueryRq>",
    );
    assert_eq!(r.code, 1);
    let r = sim.one(
        "<InvoiceQueryRq><TxnDateRangeFilter><FromTxnDate>2024-01-01</FromTxnDate><ToTxnDate>2023-01-01</ToTxnDate></TxnDateRangeFilter></InvoiceQueryRq>",
    );
    assert_eq!(r.code, 3030);
    // Lines only when asked for.
    let r = sim.one("<InvoiceQueryRq><MaxReturned>1</MaxReturned></InvoiceQueryRq>");
    assert!(!r.item().children.contains(&"InvoiceLineRet".to_string()));
    let r = sim.one("<InvoiceQueryRq><MaxReturned>1</MaxReturned><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>");
    assert!(r.item().children.contains(&"InvoiceLineRet".to_string()));
    // PaidStatus after paying one.
    let first = sim.one("<InvoiceQueryRq><RefNumber>A-1</RefNumber></InvoiceQueryRq>");
    let first_id = first.item().must("TxnID").to_string();
    pay(&sim, "Acme", "50.00", &applied_to(&first_id, "50.00")).ok();
    assert_eq!(refs("<PaidStatus>PaidOnly</PaidStatus>"), ["A-1"]);
    assert_eq!(refs("<PaidStatus>NotPaidOnly</PaidStatus>").len(), 4);
    // Modified since: only the invoice the payment touched... no: payments
    // do not modify invoices. ModifiedDateRangeFilter sees adds.
    let last = sim.one("<InvoiceQueryRq><RefNumber>99</RefNumber></InvoiceQueryRq>");
    let modified = last.item().must("TimeModified").to_string();
    assert_eq!(
        refs(&format!("<ModifiedDateRangeFilter><FromModifiedDate>{modified}</FromModifiedDate></ModifiedDateRangeFilter>")),
        ["99"]
    );
    // Iterators.
    let r = sim.send_v(
        "13.0",
        "stopOnError",
        "<InvoiceQueryRq iterator=\"Start\"><MaxReturned>2</MaxReturned></InvoiceQueryRq>",
    );
    let rs = r.responses().next().map(|x| common::Rs::of(&x)).unwrap();
    assert_eq!(rs.remaining, Some(3));
    let it = rs.iterator_id.clone().unwrap();
    let mut seen = rs.items.len();
    loop {
        let r = sim.send_v(
            "13.0",
            "stopOnError",
            &format!("<InvoiceQueryRq iterator=\"Continue\" iteratorID=\"{it}\"><MaxReturned>2</MaxReturned></InvoiceQueryRq>"),
        );
        let rs = r.responses().next().map(|x| common::Rs::of(&x)).unwrap();
        seen += rs.items.len();
        if rs.remaining == Some(0) {
            break;
        }
    }
    assert_eq!(seen, 5);
    // TransactionQuery across types.
    let r = sim.one("<TransactionQueryRq></TransactionQueryRq>");
    let types: Vec<&str> = r.ok().items.iter().map(|i| i.must("TxnType")).collect();
    assert_eq!(types.len(), 6);
    assert!(types.contains(&"ReceivePayment"));
    let r = sim.one("<TransactionQueryRq><TransactionTypeFilter><TxnTypeFilter>ReceivePayment</TxnTypeFilter></TransactionTypeFilter></TransactionQueryRq>");
    assert_eq!(r.ok().items.len(), 1);
    sim.check_schema();
}

/// A report row: (row element, label, values by colID).
type ReportRow = (String, String, Vec<(String, String)>);

fn report_rows(set: &qbxml::ResponseSet) -> Vec<ReportRow> {
    let doc = set.document();
    let mut out = Vec::new();
    for data in all(doc, "ReportData") {
        for row in data.children() {
            let label = row
                .children_named("ColData")
                .find(|c| c.attr("colID") == Some("1"))
                .and_then(|c| c.attr("value"))
                .or_else(|| row.attr("value"))
                .unwrap_or("")
                .to_string();
            let values = row
                .children_named("ColData")
                .filter(|c| c.attr("colID") != Some("1"))
                .map(|c| {
                    (
                        c.attr("colID").unwrap_or("").to_string(),
                        c.attr("value").unwrap_or("").to_string(),
                    )
                })
                .collect();
            out.push((row.name().to_string(), label, values));
        }
    }
    out
}

fn value(rows: &[ReportRow], label: &str, col: &str) -> String {
    rows.iter()
        .find(|r| r.1 == label)
        .and_then(|r| r.2.iter().find(|(c, _)| c == col))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {label}/{col} in {rows:?}"))
}

#[test]
fn reports_from_the_ledger() {
    let sim = setup();
    // Last year: a sale that closes into Retained Earnings.
    sim.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Beta</FullName></CustomerRef><TxnDate>2022-06-01</TxnDate>\
         <InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Amount>1000.00</Amount></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>",
    )
    .ok();
    let inv = invoice(&sim, "Acme", TWO_LINES); // 2023-11-01, due 2023-12-01
    inv.ok();
    sim.one(
        "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef><TxnDate>2023-03-01</TxnDate><DueDate>2023-03-31</DueDate>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>300.00</Amount></ExpenseLineAdd></BillAdd></BillAddRq>",
    )
    .ok();
    // A subaccount: the P&L shows it under its parent.
    sim.one("<AccountAddRq><AccountAdd><Name>Online</Name><ParentRef><FullName>Sales</FullName></ParentRef><AccountType>Income</AccountType></AccountAdd></AccountAddRq>").ok();
    sim.one(
        "<JournalEntryAddRq><JournalEntryAdd><TxnDate>2023-05-01</TxnDate>\
         <JournalDebitLine><AccountRef><FullName>Checking</FullName></AccountRef><Amount>50.00</Amount></JournalDebitLine>\
         <JournalCreditLine><AccountRef><FullName>Sales:Online</FullName></AccountRef><Amount>50.00</Amount></JournalCreditLine>\
         </JournalEntryAdd></JournalEntryAddRq>",
    )
    .ok();
    let period = "<ReportPeriod><FromReportDate>2023-01-01</FromReportDate><ToReportDate>2023-12-31</ToReportDate></ReportPeriod>";
    // Trial balance: debits equal credits, last year's income is
    // Retained Earnings.
    let tb = sim.send(&format!(
        "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>TrialBalance</GeneralSummaryReportType>{period}</GeneralSummaryReportQueryRq>"
    ));
    let rows = report_rows(&tb);
    assert_eq!(value(&rows, "TOTAL", "2"), value(&rows, "TOTAL", "3"));
    assert_eq!(value(&rows, "Retained Earnings", "3"), "1000.00");
    assert_eq!(value(&rows, "Sales", "3"), "136.00");
    assert_eq!(value(&rows, "Sales:Online", "3"), "50.00");
    // P&L for 2023: 136 income, 12 COGS, 300 expense.
    let pl = sim.send(&format!(
        "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>ProfitAndLossStandard</GeneralSummaryReportType>{period}</GeneralSummaryReportQueryRq>"
    ));
    let rows = report_rows(&pl);
    assert_eq!(value(&rows, "Online", "2"), "50.00");
    assert_eq!(value(&rows, "Sales - Other", "2"), "136.00");
    assert_eq!(value(&rows, "Total Sales", "2"), "186.00");
    assert!(
        rows.iter().any(|r| r.0 == "TextRow" && r.1 == "Sales"),
        "{rows:?}"
    );
    assert_eq!(value(&rows, "Total Income", "2"), "186.00");
    assert_eq!(value(&rows, "Gross Profit", "2"), "174.00");
    assert_eq!(value(&rows, "Net Income", "2"), "-126.00");
    let doc = pl.document();
    assert_eq!(
        all(doc, "ReportSubtitle")[0].text(),
        "January 1 - December 31, 2023"
    );
    // Balance sheet: assets = liabilities + equity.
    let bs = sim.send(&format!(
        "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>BalanceSheetStandard</GeneralSummaryReportType>{period}</GeneralSummaryReportQueryRq>"
    ));
    let rows = report_rows(&bs);
    assert_eq!(
        value(&rows, "TOTAL ASSETS", "2"),
        value(&rows, "TOTAL LIABILITIES & EQUITY", "2")
    );
    assert_eq!(value(&rows, "Net Income", "2"), "-126.00");
    // A/R aging as of 2023-12-15: Beta's 2022 invoice is > 90 days past
    // due, Acme's is 14 days past due; the total is the A/R balance.
    let ag = sim.send(
        "<AgingReportQueryRq><AgingReportType>ARAgingSummary</AgingReportType><ReportPeriod><ToReportDate>2023-12-15</ToReportDate></ReportPeriod></AgingReportQueryRq>",
    );
    let rows = report_rows(&ag);
    assert_eq!(value(&rows, "Beta", "6"), "1000.00");
    assert_eq!(value(&rows, "Acme", "3"), "139.15");
    assert_eq!(
        value(&rows, "TOTAL", "7"),
        account_balance(&sim, "Accounts Receivable")
    );
    // A/P aging: the bill of 2023-03-01, due 2023-03-31, is > 90 days
    // past due; the total is the A/P balance. The A/R detail lists each
    // open document under its age; collections, the overdue ones.
    let ap = sim.send(
        "<AgingReportQueryRq><AgingReportType>APAgingSummary</AgingReportType><ReportPeriod><ToReportDate>2023-12-15</ToReportDate></ReportPeriod></AgingReportQueryRq>",
    );
    let rows = report_rows(&ap);
    assert_eq!(value(&rows, "Lumber Co", "6"), "300.00");
    assert_eq!(
        value(&rows, "TOTAL", "7"),
        account_balance(&sim, "Accounts Payable")
    );
    let ad = sim.send(
        "<AgingReportQueryRq><AgingReportType>ARAgingDetail</AgingReportType><ReportPeriod><ToReportDate>2023-12-15</ToReportDate></ReportPeriod></AgingReportQueryRq>",
    );
    let rows = report_rows(&ad);
    assert_eq!(value(&rows, "Total 1 - 30", "8"), "139.15");
    assert_eq!(
        value(&rows, "TOTAL", "8"),
        account_balance(&sim, "Accounts Receivable")
    );
    let co = sim.send(
        "<AgingReportQueryRq><AgingReportType>CollectionsReport</AgingReportType><ReportPeriod><ToReportDate>2023-12-15</ToReportDate></ReportPeriod></AgingReportQueryRq>",
    );
    assert_eq!(value(&report_rows(&co), "Total Beta", "8"), "1000.00");
    sim.check_schema();
}

#[test]
fn payment_and_journal_mods_and_card_bill_payments() {
    let sim = setup();
    let a = invoice(&sim, "Beta", "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>");
    let b = invoice(&sim, "Beta", "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>1</Quantity></InvoiceLineAdd>");
    let (a_id, b_id) = (
        a.ok().item().must("TxnID").to_string(),
        b.ok().item().must("TxnID").to_string(),
    );
    let p = pay(&sim, "Beta", "100.00", &applied_to(&a_id, "100.00"));
    let p = p.ok().item();
    let (p_id, p_seq) = (
        p.must("TxnID").to_string(),
        p.must("EditSequence").to_string(),
    );
    sim.clock.advance(5);
    // AppliedToTxnMod replaces the applications: now half to each.
    let r = sim.one(&format!(
        "<ReceivePaymentModRq><ReceivePaymentMod><TxnID>{p_id}</TxnID><EditSequence>{p_seq}</EditSequence>\
         <AppliedToTxnMod><TxnID>{a_id}</TxnID><PaymentAmount>50.00</PaymentAmount></AppliedToTxnMod>\
         <AppliedToTxnMod><TxnID>{b_id}</TxnID><PaymentAmount>50.00</PaymentAmount></AppliedToTxnMod>\
         </ReceivePaymentMod></ReceivePaymentModRq>"
    ));
    let m = r.ok().item();
    assert_eq!(m.must("UnusedPayment"), "0.00");
    let bal = |id: &str| {
        field(
            &sim,
            &format!("<InvoiceQueryRq><TxnID>{id}</TxnID></InvoiceQueryRq>"),
            "BalanceRemaining",
        )
    };
    assert_eq!(bal(&a_id), "50.00");
    assert_eq!(bal(&b_id), "0.00");
    // A Mod without applications keeps them, against the new total.
    let seq = m.must("EditSequence").to_string();
    sim.clock.advance(5);
    let r = sim.one(&format!(
        "<ReceivePaymentModRq><ReceivePaymentMod><TxnID>{p_id}</TxnID><EditSequence>{seq}</EditSequence><TotalAmount>120.00</TotalAmount></ReceivePaymentMod></ReceivePaymentModRq>"
    ));
    assert_eq!(r.ok().item().must("UnusedPayment"), "20.00");
    assert_eq!(bal(&a_id), "50.00");
    assert_eq!(customer_balance(&sim, "Beta").0, "30.00");
    // A total below what is applied is refused, and nothing changes.
    let seq = r.item().must("EditSequence").to_string();
    let r = sim.one(&format!(
        "<ReceivePaymentModRq><ReceivePaymentMod><TxnID>{p_id}</TxnID><EditSequence>{seq}</EditSequence><TotalAmount>10.00</TotalAmount></ReceivePaymentMod></ReceivePaymentModRq>"
    ));
    assert_eq!(r.code, 3210);
    assert_eq!(bal(&a_id), "50.00");
    assert_eq!(customer_balance(&sim, "Beta").0, "30.00");

    // JournalEntryMod: change the amounts of both lines together.
    let je = sim.one(
        "<JournalEntryAddRq><JournalEntryAdd>\
         <JournalDebitLine><AccountRef><FullName>Materials</FullName></AccountRef><Amount>70.00</Amount></JournalDebitLine>\
         <JournalCreditLine><AccountRef><FullName>Checking</FullName></AccountRef><Amount>70.00</Amount></JournalCreditLine>\
         </JournalEntryAdd></JournalEntryAddRq>",
    );
    let j = je.ok().item();
    let (j_id, j_seq) = (
        j.must("TxnID").to_string(),
        j.must("EditSequence").to_string(),
    );
    let set = sim.send(&format!("<JournalEntryQueryRq><TxnID>{j_id}</TxnID><IncludeLineItems>true</IncludeLineItems></JournalEntryQueryRq>"));
    let doc = set.document();
    let ids: Vec<String> = ["JournalDebitLine", "JournalCreditLine"]
        .iter()
        .map(|n| all(doc, n)[0].child_text("TxnLineID").unwrap().to_string())
        .collect();
    sim.clock.advance(5);
    let unbalanced = sim.one(&format!(
        "<JournalEntryModRq><JournalEntryMod><TxnID>{j_id}</TxnID><EditSequence>{j_seq}</EditSequence>\
         <JournalLineMod><TxnLineID>{}</TxnLineID><JournalLineType>Debit</JournalLineType><Amount>90.00</Amount></JournalLineMod>\
         </JournalEntryMod></JournalEntryModRq>",
        ids[0]
    ));
    assert_eq!(unbalanced.code, 3210);
    assert_eq!(account_balance(&sim, "Materials"), "70.00");
    let r = sim.one(&format!(
        "<JournalEntryModRq><JournalEntryMod><TxnID>{j_id}</TxnID><EditSequence>{j_seq}</EditSequence>\
         <JournalLineMod><TxnLineID>{}</TxnLineID><JournalLineType>Debit</JournalLineType><Amount>90.00</Amount></JournalLineMod>\
         <JournalLineMod><TxnLineID>{}</TxnLineID><JournalLineType>Credit</JournalLineType><Amount>90.00</Amount></JournalLineMod>\
         </JournalEntryMod></JournalEntryModRq>",
        ids[0], ids[1]
    ));
    r.ok();
    assert_eq!(account_balance(&sim, "Materials"), "90.00");
    assert_eq!(account_balance(&sim, "Checking"), "-90.00");

    // BillMod replaces the expense lines; BillPaymentCreditCard pays it.
    let bill = sim.one(
        "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>30.00</Amount></ExpenseLineAdd></BillAdd></BillAddRq>",
    );
    let bl = bill.ok().item();
    let (bill_id, bill_seq) = (
        bl.must("TxnID").to_string(),
        bl.must("EditSequence").to_string(),
    );
    sim.clock.advance(5);
    let r = sim.one(&format!(
        "<BillModRq><BillMod><TxnID>{bill_id}</TxnID><EditSequence>{bill_seq}</EditSequence>\
         <ExpenseLineMod><TxnLineID>-1</TxnLineID><AccountRef><FullName>Materials</FullName></AccountRef><Amount>45.00</Amount></ExpenseLineMod>\
         </BillMod></BillModRq>"
    ));
    assert_eq!(r.ok().item().must("AmountDue"), "45.00");
    assert_eq!(account_balance(&sim, "Materials"), "135.00");
    let r = sim.one(&format!(
        "<BillPaymentCreditCardAddRq><BillPaymentCreditCardAdd><PayeeEntityRef><FullName>Lumber Co</FullName></PayeeEntityRef>\
         <CreditCardAccountRef><FullName>Visa</FullName></CreditCardAccountRef>\
         <AppliedToTxnAdd><TxnID>{bill_id}</TxnID><PaymentAmount>45.00</PaymentAmount></AppliedToTxnAdd>\
         </BillPaymentCreditCardAdd></BillPaymentCreditCardAddRq>"
    ));
    assert_eq!(r.ok().item().must("Amount"), "45.00");
    assert_eq!(account_balance(&sim, "Visa"), "45.00");
    assert_eq!(account_balance(&sim, "Accounts Payable"), "0.00");
    // IncludeRetElement keeps what was asked (and what the Ret needs).
    let r = sim.one(&format!(
        "<BillQueryRq><TxnID>{bill_id}</TxnID><IncludeRetElement>TxnID</IncludeRetElement><IncludeRetElement>IsPaid</IncludeRetElement></BillQueryRq>"
    ));
    let i = r.ok().item();
    assert_eq!(i.must("IsPaid"), "true");
    assert!(i.get("AmountDue").is_none(), "{:?}", i.fields);
    sim.check_schema();
}

#[test]
fn custom_fields_on_transactions() {
    let sim = setup();
    let inv = invoice(&sim, "Beta", LABOR);
    let id = inv.ok().item().must("TxnID").to_string();
    sim.one(
        "<DataExtDefAddRq><DataExtDefAdd><OwnerID>0</OwnerID><DataExtName>Order No</DataExtName><DataExtType>STR255TYPE</DataExtType>\
         <AssignToObject>Invoice</AssignToObject></DataExtDefAdd></DataExtDefAddRq>",
    )
    .ok();
    let r = sim.one(&format!(
        "<DataExtAddRq><DataExtAdd><OwnerID>0</OwnerID><DataExtName>Order No</DataExtName><TxnDataExtType>Invoice</TxnDataExtType><TxnID>{id}</TxnID><DataExtValue>WEB-1001</DataExtValue></DataExtAdd></DataExtAddRq>"
    ));
    r.ok();
    let set = sim.send(&format!(
        "<InvoiceQueryRq><TxnID>{id}</TxnID><OwnerID>0</OwnerID></InvoiceQueryRq>"
    ));
    let doc = set.document();
    let d = all(doc, "DataExtRet");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].child_text("DataExtValue"), Some("WEB-1001"));
    // Not assigned to bills; a missing transaction.
    let r = sim.one(&format!(
        "<DataExtAddRq><DataExtAdd><OwnerID>0</OwnerID><DataExtName>Order No</DataExtName><TxnDataExtType>Bill</TxnDataExtType><TxnID>{id}</TxnID><DataExtValue>x</DataExtValue></DataExtAdd></DataExtAddRq>"
    ));
    assert_eq!(r.code, 3120);
    sim.check_schema();
}

/// What a review found could be broken; each is refused or kept right.
#[test]
fn edge_cases_keep_the_books_right() {
    let sim = setup();
    let q = |x: &str| sim.one(x);
    // Amounts beyond any form: 3210, nothing saved.
    let r = invoice(&sim, "Beta", "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>9999999999</Quantity><Rate>9999999999</Rate></InvoiceLineAdd>");
    assert_eq!(r.code, 3210, "{}", r.message);
    assert_eq!(account_balance(&sim, "Sales"), "0.00");
    // Quantities that large are refused by the schema check already (3050).
    let r = invoice(&sim, "Beta", "<InvoiceLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>99999999999999</Quantity><Amount>1.00</Amount></InvoiceLineAdd>");
    assert_eq!(r.code, 3050, "{}", r.message);
    // An A/R reference to a bank account: 3140.
    let r = sim.one("<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Beta</FullName></CustomerRef><ARAccountRef><FullName>Checking</FullName></ARAccountRef><InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>");
    assert_eq!(r.code, 3140, "{}", r.message);
    // A discount-only application survives a Mod of the invoice.
    let inv = invoice(&sim, "Beta", "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>");
    let (id, seq) = (
        inv.ok().item().must("TxnID").to_string(),
        inv.item().must("EditSequence").to_string(),
    );
    let r = pay(&sim, "Beta", "0.00", &format!(
        "<AppliedToTxnAdd><TxnID>{id}</TxnID><PaymentAmount>0.00</PaymentAmount><DiscountAmount>10.00</DiscountAmount><DiscountAccountRef><FullName>Discounts Given</FullName></DiscountAccountRef></AppliedToTxnAdd>"
    ));
    r.ok();
    sim.clock.advance(5);
    let r = q(&format!("<InvoiceModRq><InvoiceMod><TxnID>{id}</TxnID><EditSequence>{seq}</EditSequence><Memo>m</Memo></InvoiceMod></InvoiceModRq>"));
    assert_eq!(r.ok().item().must("BalanceRemaining"), "90.00");
    assert_eq!(customer_balance(&sim, "Beta").0, "90.00");
    // A paid document keeps its customer.
    let seq = r.item().must("EditSequence").to_string();
    let r = q(&format!("<InvoiceModRq><InvoiceMod><TxnID>{id}</TxnID><EditSequence>{seq}</EditSequence><CustomerRef><FullName>Acme</FullName></CustomerRef></InvoiceMod></InvoiceModRq>"));
    assert_eq!(r.code, 3171, "{}", r.message);
    // Negative applications: 3210.
    let r = pay(&sim, "Beta", "0.00", &applied_to(&id, "-50.00"));
    assert_eq!(r.code, 3210);
    // A payment deposited twice on one deposit: 3210; once deposited, the
    // payment cannot be modified.
    let p = pay(&sim, "Beta", "40.00", &applied_to(&id, "40.00"));
    let (pid, pseq) = (
        p.ok().item().must("TxnID").to_string(),
        p.item().must("EditSequence").to_string(),
    );
    let r = q(&format!("<DepositAddRq><DepositAdd><DepositToAccountRef><FullName>Checking</FullName></DepositToAccountRef><DepositLineAdd><PaymentTxnID>{pid}</PaymentTxnID></DepositLineAdd><DepositLineAdd><PaymentTxnID>{pid}</PaymentTxnID></DepositLineAdd></DepositAdd></DepositAddRq>"));
    assert_eq!(r.code, 3210);
    q(&format!("<DepositAddRq><DepositAdd><DepositToAccountRef><FullName>Checking</FullName></DepositToAccountRef><DepositLineAdd><PaymentTxnID>{pid}</PaymentTxnID></DepositLineAdd></DepositAdd></DepositAddRq>")).ok();
    let r = q(&format!("<ReceivePaymentModRq><ReceivePaymentMod><TxnID>{pid}</TxnID><EditSequence>{pseq}</EditSequence><TotalAmount>90.00</TotalAmount></ReceivePaymentMod></ReceivePaymentModRq>"));
    assert_eq!(r.code, 3171, "{}", r.message);
    assert_eq!(account_balance(&sim, "Checking"), "40.00");
    // The type of an account with postings stays.
    let acct = q("<AccountQueryRq><FullName>Checking</FullName></AccountQueryRq>");
    let (aid, aseq) = (
        acct.item().must("ListID").to_string(),
        acct.item().must("EditSequence").to_string(),
    );
    let r = q(&format!("<AccountModRq><AccountMod><ListID>{aid}</ListID><EditSequence>{aseq}</EditSequence><AccountType>Expense</AccountType></AccountMod></AccountModRq>"));
    assert_eq!(r.code, 3210, "{}", r.message);
    // A journal line modified without its type keeps its side.
    let je = q("<JournalEntryAddRq><JournalEntryAdd>\
        <JournalDebitLine><AccountRef><FullName>Materials</FullName></AccountRef><Amount>25.00</Amount></JournalDebitLine>\
        <JournalCreditLine><AccountRef><FullName>Checking</FullName></AccountRef><Amount>25.00</Amount></JournalCreditLine></JournalEntryAdd></JournalEntryAddRq>");
    let (jid, jseq) = (
        je.ok().item().must("TxnID").to_string(),
        je.item().must("EditSequence").to_string(),
    );
    let set = sim.send(&format!("<JournalEntryQueryRq><TxnID>{jid}</TxnID><IncludeLineItems>true</IncludeLineItems></JournalEntryQueryRq>"));
    let credit = all(set.document(), "JournalCreditLine")[0]
        .child_text("TxnLineID")
        .unwrap()
        .to_string();
    let debit = all(set.document(), "JournalDebitLine")[0]
        .child_text("TxnLineID")
        .unwrap()
        .to_string();
    sim.clock.advance(5);
    let r = q(&format!("<JournalEntryModRq><JournalEntryMod><TxnID>{jid}</TxnID><EditSequence>{jseq}</EditSequence>\
        <JournalLineMod><TxnLineID>{debit}</TxnLineID></JournalLineMod><JournalLineMod><TxnLineID>{credit}</TxnLineID><Memo>x</Memo></JournalLineMod></JournalEntryMod></JournalEntryModRq>"));
    r.ok();
    assert_eq!(account_balance(&sim, "Materials"), "25.00");
    assert_eq!(account_balance(&sim, "Checking"), "15.00");
    // Inventory: two lines for one item see each other; a Mod that only
    // changes the memo keeps what the adjustment moved.
    let r = q("<InventoryAdjustmentAddRq><InventoryAdjustmentAdd><AccountRef><FullName>Shrinkage</FullName></AccountRef>\
        <InventoryAdjustmentLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><QuantityAdjustment><NewQuantity>90</NewQuantity></QuantityAdjustment></InventoryAdjustmentLineAdd>\
        <InventoryAdjustmentLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><QuantityAdjustment><NewQuantity>90</NewQuantity></QuantityAdjustment></InventoryAdjustmentLineAdd>\
        </InventoryAdjustmentAdd></InventoryAdjustmentAddRq>");
    let (iid, iseq) = (
        r.ok().item().must("TxnID").to_string(),
        r.item().must("EditSequence").to_string(),
    );
    let qoh = || {
        field(
            &sim,
            "<ItemInventoryQueryRq><FullName>Widget</FullName></ItemInventoryQueryRq>",
            "QuantityOnHand",
        )
    };
    assert_eq!(qoh(), "90");
    invoice(&sim, "Beta", "<InvoiceLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>3</Quantity></InvoiceLineAdd>").ok();
    assert_eq!(qoh(), "87");
    sim.clock.advance(5);
    q(&format!("<InventoryAdjustmentModRq><InventoryAdjustmentMod><TxnID>{iid}</TxnID><EditSequence>{iseq}</EditSequence><Memo>count</Memo></InventoryAdjustmentMod></InventoryAdjustmentModRq>")).ok();
    assert_eq!(qoh(), "87");
    // A sales tax line is tax collected.
    invoice(&sim, "Beta", "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef></InvoiceLineAdd><InvoiceLineAdd><ItemRef><FullName>CA Tax</FullName></ItemRef><Amount>4.00</Amount></InvoiceLineAdd>").ok();
    assert_eq!(account_balance(&sim, "Sales Tax Payable"), "4.00");
    sim.check_schema();
}

/// Statement charges: an item at a quantity and rate on A/R, open until a
/// payment pays them.
#[test]
fn statement_charges_are_open_until_paid() {
    let sim = setup();
    let ch = sim.one(
        "<ChargeAddRq><ChargeAdd><CustomerRef><FullName>Beta</FullName></CustomerRef>\
         <TxnDate>2024-03-01</TxnDate><ItemRef><FullName>Labor</FullName></ItemRef>\
         <Quantity>3</Quantity></ChargeAdd></ChargeAddRq>",
    );
    ch.ok();
    let c = ch.item();
    assert_eq!(c.must("Rate"), "50.00");
    assert_eq!(c.must("Amount"), "150.00");
    assert_eq!(c.must("BalanceRemaining"), "150.00");
    assert_eq!(c.must("IsPaid"), "false");
    assert_eq!(c.must("Desc"), "Hourly labor");
    assert_eq!(customer_balance(&sim, "Beta").0, "150.00");
    assert_eq!(account_balance(&sim, "Accounts Receivable"), "150.00");
    assert_eq!(account_balance(&sim, "Sales"), "150.00");
    // An inventory part cannot be charged this way.
    let bad = sim.one(
        "<ChargeAddRq><ChargeAdd><CustomerRef><FullName>Beta</FullName></CustomerRef>\
         <ItemRef><FullName>Widget</FullName></ItemRef></ChargeAdd></ChargeAddRq>",
    );
    assert_eq!(bad.code, 3210, "{}", bad.message);
    // A Mod of its quantity recomputes it.
    let id = c.must("TxnID").to_string();
    let m = sim.one(&format!(
        "<ChargeModRq><ChargeMod><TxnID>{id}</TxnID><EditSequence>{}</EditSequence><Quantity>2</Quantity></ChargeMod></ChargeModRq>",
        c.must("EditSequence")
    ));
    assert_eq!(m.ok().item().must("Amount"), "100.00");
    assert_eq!(customer_balance(&sim, "Beta").0, "100.00");
    let m = sim.one(&format!(
        "<ChargeModRq><ChargeMod><TxnID>{id}</TxnID><EditSequence>{}</EditSequence><Quantity>3</Quantity></ChargeMod></ChargeModRq>",
        m.item().must("EditSequence")
    ));
    m.ok();
    // A payment applied to it pays it.
    pay(&sim, "Beta", "150.00", &applied_to(&id, "150.00")).ok();
    let c = sim.one(&format!(
        "<ChargeQueryRq><TxnID>{id}</TxnID></ChargeQueryRq>"
    ));
    assert_eq!(c.item().must("BalanceRemaining"), "0.00");
    assert_eq!(c.item().must("IsPaid"), "true");
    assert_eq!(customer_balance(&sim, "Beta").0, "0.00");
    sim.check_schema();
}

/// A refund pays a credit out: the credit memo's remaining credit goes
/// down, A/R comes back up, money leaves the account it is paid from.
#[test]
fn refunds_pay_out_credits() {
    let sim = setup();
    let cm = sim.one(
        "<CreditMemoAddRq><CreditMemoAdd><CustomerRef><FullName>Beta</FullName></CustomerRef>\
         <CreditMemoLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>2</Quantity></CreditMemoLineAdd>\
         </CreditMemoAdd></CreditMemoAddRq>",
    );
    cm.ok();
    let cm_id = cm.item().must("TxnID").to_string();
    assert_eq!(customer_balance(&sim, "Beta").0, "-100.00");
    let refund = |amount: &str| {
        sim.one(&format!(
            "<ARRefundCreditCardAddRq><ARRefundCreditCardAdd><CustomerRef><FullName>Beta</FullName></CustomerRef>\
             <RefundFromAccountRef><FullName>Checking</FullName></RefundFromAccountRef>\
             <RefundAppliedToTxnAdd><TxnID>{cm_id}</TxnID><RefundAmount>{amount}</RefundAmount></RefundAppliedToTxnAdd>\
             </ARRefundCreditCardAdd></ARRefundCreditCardAddRq>"
        ))
    };
    let r = refund("40.00");
    r.ok();
    assert_eq!(r.item().must("TotalAmount"), "40.00");
    let text = sim.send_text(&format!(
        "<ARRefundCreditCardQueryRq><TxnID>{}</TxnID></ARRefundCreditCardQueryRq>",
        r.item().must("TxnID")
    ));
    assert!(text.contains("<TxnType>CreditMemo</TxnType>"), "{text}");
    assert!(
        text.contains("<CreditRemaining>60.00</CreditRemaining>"),
        "{text}"
    );
    assert!(
        text.contains("<RefundAmount>40.00</RefundAmount>"),
        "{text}"
    );
    assert_eq!(
        field(
            &sim,
            &format!("<CreditMemoQueryRq><TxnID>{cm_id}</TxnID></CreditMemoQueryRq>"),
            "CreditRemaining"
        ),
        "60.00"
    );
    assert_eq!(customer_balance(&sim, "Beta").0, "-60.00");
    assert_eq!(account_balance(&sim, "Checking"), "-40.00");
    // More than is left: refused, nothing changes.
    let over = refund("60.01");
    assert_eq!(over.code, 3210, "{}", over.message);
    assert_eq!(customer_balance(&sim, "Beta").0, "-60.00");
    // The refunded credit memo cannot go while the refund stands.
    let del = sim.one(&format!(
        "<TxnDelRq><TxnDelType>CreditMemo</TxnDelType><TxnID>{cm_id}</TxnID></TxnDelRq>"
    ));
    assert_eq!(del.code, 3171, "{}", del.message);
    // Deleting the refund gives the credit back.
    let rid = r.item().must("TxnID").to_string();
    sim.one(&format!(
        "<TxnDelRq><TxnDelType>ARRefundCreditCard</TxnDelType><TxnID>{rid}</TxnID></TxnDelRq>"
    ))
    .ok();
    assert_eq!(customer_balance(&sim, "Beta").0, "-100.00");
    assert_eq!(account_balance(&sim, "Checking"), "0.00");
    sim.check_schema();
}

/// Transfers move money between accounts; sales tax payments clear Sales
/// Tax Payable.
#[test]
fn transfers_and_sales_tax_payments() {
    let sim = setup();
    sim.one("<AccountAddRq><AccountAdd><Name>Savings</Name><AccountType>Bank</AccountType></AccountAdd></AccountAddRq>").ok();
    let t = sim.one(
        "<TransferAddRq><TransferAdd><TransferFromAccountRef><FullName>Checking</FullName></TransferFromAccountRef>\
         <TransferToAccountRef><FullName>Savings</FullName></TransferToAccountRef><Amount>250.00</Amount>\
         </TransferAdd></TransferAddRq>",
    );
    t.ok();
    assert_eq!(t.item().must("FromAccountBalance"), "-250.00");
    assert_eq!(t.item().must("ToAccountBalance"), "250.00");
    assert_eq!(account_balance(&sim, "Savings"), "250.00");
    // A Mod changes the amount.
    let m = sim.one(&format!(
        "<TransferModRq><TransferMod><TxnID>{}</TxnID><EditSequence>{}</EditSequence><Amount>100.00</Amount></TransferMod></TransferModRq>",
        t.item().must("TxnID"),
        t.item().must("EditSequence")
    ));
    m.ok();
    assert_eq!(account_balance(&sim, "Savings"), "100.00");
    assert_eq!(account_balance(&sim, "Checking"), "-100.00");
    let same = sim.one(
        "<TransferAddRq><TransferAdd><TransferFromAccountRef><FullName>Checking</FullName></TransferFromAccountRef>\
         <TransferToAccountRef><FullName>Checking</FullName></TransferToAccountRef><Amount>1.00</Amount>\
         </TransferAdd></TransferAddRq>",
    );
    assert_eq!(same.code, 3210, "{}", same.message);

    // Tax collected on a sale, then paid.
    invoice(
        &sim,
        "Acme",
        "<InvoiceLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>10</Quantity></InvoiceLineAdd>",
    )
    .ok();
    assert_eq!(account_balance(&sim, "Sales Tax Payable"), "8.75");
    let p = sim.one(
        "<SalesTaxPaymentCheckAddRq><SalesTaxPaymentCheckAdd><PayeeEntityRef><FullName>Lumber Co</FullName></PayeeEntityRef>\
         <TxnDate>2024-04-30</TxnDate><BankAccountRef><FullName>Checking</FullName></BankAccountRef>\
         <IsToBePrinted>false</IsToBePrinted>\
         <SalesTaxPaymentCheckLineAdd><ItemSalesTaxRef><FullName>CA Tax</FullName></ItemSalesTaxRef><Amount>8.75</Amount></SalesTaxPaymentCheckLineAdd>\
         </SalesTaxPaymentCheckAdd></SalesTaxPaymentCheckAddRq>",
    );
    p.ok();
    assert_eq!(p.item().must("Amount"), "8.75");
    assert_eq!(account_balance(&sim, "Sales Tax Payable"), "0.00");
    assert_eq!(account_balance(&sim, "Checking"), "-108.75");
    sim.check_schema();
}

/// Builds take components out at average cost and put the assembly in at
/// their sum; too few components refuse the build or leave it pending.
#[test]
fn assembly_builds_move_components_into_the_assembly() {
    let sim = setup();
    sim.one(
        "<ItemInventoryAssemblyAddRq><ItemInventoryAssemblyAdd><Name>Kit</Name>\
         <IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef>\
         <COGSAccountRef><FullName>COGS</FullName></COGSAccountRef>\
         <AssetAccountRef><FullName>Inventory</FullName></AssetAccountRef>\
         <ItemInventoryAssemblyLine><ItemInventoryRef><FullName>Widget</FullName></ItemInventoryRef><Quantity>3</Quantity></ItemInventoryAssemblyLine>\
         </ItemInventoryAssemblyAdd></ItemInventoryAssemblyAddRq>",
    )
    .ok();
    let inventory = account_balance(&sim, "Inventory");
    let build = |n: &str, pending: bool| {
        sim.one(&format!(
            "<BuildAssemblyAddRq><BuildAssemblyAdd><ItemInventoryAssemblyRef><FullName>Kit</FullName></ItemInventoryAssemblyRef>\
             <QuantityToBuild>{n}</QuantityToBuild>{}</BuildAssemblyAdd></BuildAssemblyAddRq>",
            if pending { "<MarkPendingIfRequired>true</MarkPendingIfRequired>" } else { "" }
        ))
    };
    let b = build("10", false);
    b.ok();
    let r = b.item();
    assert_eq!(r.must("IsPending"), "false");
    assert_eq!(r.must("QuantityCanBuild"), "33");
    assert_eq!(r.must("QuantityOnHand"), "10");
    assert!(r.must("RefNumber").parse::<u32>().is_ok());
    let text = sim.send_text(&format!(
        "<BuildAssemblyQueryRq><TxnID>{}</TxnID><IncludeComponentLineItems>true</IncludeComponentLineItems></BuildAssemblyQueryRq>",
        r.must("TxnID")
    ));
    assert!(
        text.contains("<QuantityNeeded>30</QuantityNeeded>"),
        "{text}"
    );
    let widget = |f: &str| {
        field(
            &sim,
            "<ItemInventoryQueryRq><FullName>Widget</FullName></ItemInventoryQueryRq>",
            f,
        )
    };
    let kit = |f: &str| {
        field(
            &sim,
            "<ItemInventoryAssemblyQueryRq><FullName>Kit</FullName></ItemInventoryAssemblyQueryRq>",
            f,
        )
    };
    assert_eq!(widget("QuantityOnHand"), "70");
    assert_eq!(kit("QuantityOnHand"), "10");
    assert_eq!(kit("AverageCost"), "12.00");
    // Value moved within the inventory asset: its balance is unchanged.
    assert_eq!(account_balance(&sim, "Inventory"), inventory);
    // Too many: refused, or pending when asked (nothing moves).
    let too_many = build("24", false);
    assert_eq!(too_many.code, 3210, "{}", too_many.message);
    let pend = build("24", true);
    pend.ok();
    assert_eq!(pend.item().must("IsPending"), "true");
    assert_eq!(widget("QuantityOnHand"), "70");
    assert_eq!(kit("QuantityOnHand"), "10");
    // Deleting the build puts the components back.
    sim.one(&format!(
        "<TxnDelRq><TxnDelType>BuildAssembly</TxnDelType><TxnID>{}</TxnID></TxnDelRq>",
        r.must("TxnID")
    ))
    .ok();
    assert_eq!(widget("QuantityOnHand"), "100");
    assert_eq!(kit("QuantityOnHand"), "0");
    sim.check_schema();
}

/// Time and mileage are kept, billable when they name a customer, and post
/// nothing; TransactionQuery does not list them.
#[test]
fn time_and_mileage_are_kept_not_posted() {
    let sim = setup();
    sim.one("<VehicleAddRq><VehicleAdd><Name>Van</Name></VehicleAdd></VehicleAddRq>")
        .ok();
    sim.one("<ItemOtherChargeAddRq><ItemOtherChargeAdd><Name>Mileage</Name><SalesOrPurchase><Price>0.65</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemOtherChargeAdd></ItemOtherChargeAddRq>").ok();
    let t = sim.one(
        "<TimeTrackingAddRq><TimeTrackingAdd><TxnDate>2024-05-02</TxnDate><EntityRef><FullName>Lumber Co</FullName></EntityRef>\
         <CustomerRef><FullName>Acme</FullName></CustomerRef><ItemServiceRef><FullName>Labor</FullName></ItemServiceRef>\
         <Duration>PT2H30M</Duration></TimeTrackingAdd></TimeTrackingAddRq>",
    );
    t.ok();
    assert_eq!(t.item().must("BillableStatus"), "Billable");
    assert_eq!(t.item().must("Duration"), "PT2H30M");
    let m = sim.one(
        "<VehicleMileageAddRq><VehicleMileageAdd><VehicleRef><FullName>Van</FullName></VehicleRef>\
         <CustomerRef><FullName>Acme</FullName></CustomerRef><ItemRef><FullName>Mileage</FullName></ItemRef>\
         <TripStartDate>2024-05-02</TripStartDate><TripEndDate>2024-05-02</TripEndDate>\
         <OdometerStart>1200</OdometerStart><OdometerEnd>1320</OdometerEnd></VehicleMileageAdd></VehicleMileageAddRq>",
    );
    m.ok();
    assert_eq!(m.item().must("TotalMiles"), "120");
    assert_eq!(m.item().must("BillableRate"), "0.65");
    assert_eq!(m.item().must("BillableAmount"), "78.00");
    let back = sim.one(
        "<VehicleMileageAddRq><VehicleMileageAdd><VehicleRef><FullName>Van</FullName></VehicleRef>\
         <OdometerStart>1320</OdometerStart><OdometerEnd>1200</OdometerEnd></VehicleMileageAdd></VehicleMileageAddRq>",
    );
    assert_eq!(back.code, 3210, "{}", back.message);
    assert_eq!(customer_balance(&sim, "Acme").0, "0.00");
    assert_eq!(account_balance(&sim, "Sales"), "0.00");
    let all = sim.one("<TransactionQueryRq/>");
    assert_eq!(all.code, 1, "{:?}", all.items);
    sim.check_schema();
}

/// Detail reports: every GeneralDetailReportType answers in the schema's
/// report format, and the ones an accountant reconciles with agree with
/// the ledger (the journal balances, the general ledger ends at each
/// account's balance, open invoices add up to A/R).
#[test]
fn detail_reports_agree_with_the_ledger() {
    let sim = setup();
    let inv = invoice(&sim, "Acme", TWO_LINES);
    inv.ok();
    let inv_id = inv.item().must("TxnID").to_string();
    pay(&sim, "Acme", "50.00", &applied_to(&inv_id, "50.00")).ok();
    sim.one(
        "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef><TxnDate>2023-03-01</TxnDate>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>300.00</Amount></ExpenseLineAdd></BillAdd></BillAddRq>",
    )
    .ok();
    let all_dates = "<ReportDateMacro>All</ReportDateMacro>";
    let detail = |ty: &str, extra: &str| {
        sim.send(&format!(
            "<GeneralDetailReportQueryRq><GeneralDetailReportType>{ty}</GeneralDetailReportType>{all_dates}{extra}</GeneralDetailReportQueryRq>"
        ))
    };
    // Journal: debits equal credits overall and per transaction.
    let j = detail("Journal", "");
    let rows = report_rows(&j);
    // Columns: 1 label, 2 Trans #, 3 Type, … 9 Debit, 10 Credit.
    assert_eq!(value(&rows, "TOTAL", "9"), value(&rows, "TOTAL", "10"));
    let subtotals: Vec<&ReportRow> = rows.iter().filter(|r| r.0 == "SubtotalRow").collect();
    assert!(subtotals.len() >= 3, "{rows:?}");
    for s in subtotals {
        let col = |c: &str| s.2.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone());
        assert_eq!(col("9"), col("10"), "{s:?}");
    }
    assert!(rows.iter().any(|r| r.2.iter().any(|(_, v)| v == "Payment")));
    // General ledger: each account's last running balance is its balance.
    let gl = detail("GeneralLedger", "");
    let rows = report_rows(&gl);
    for account in [
        "Accounts Receivable",
        "Undeposited Funds",
        "Sales",
        "Materials",
    ] {
        let total = rows
            .iter()
            .find(|r| r.0 == "SubtotalRow" && r.1 == format!("Total {account}"))
            .unwrap_or_else(|| panic!("no Total {account} in {rows:?}"));
        // Columns: … 8 Amount, 9 Balance.
        let balance = total
            .2
            .iter()
            .find(|(c, _)| c == "9")
            .map(|(_, v)| v.clone());
        assert_eq!(balance, Some(account_balance(&sim, account)), "{account}");
    }
    // Open invoices: what is still owed.
    let oi = detail("OpenInvoices", "");
    let rows = report_rows(&oi);
    // Columns: … 8 Open Balance.
    assert_eq!(
        value(&rows, "TOTAL", "8"),
        account_balance(&sim, "Accounts Receivable")
    );
    assert_eq!(value(&rows, "Total Acme", "8"), "89.15");
    // Filters narrow a report: the GL of one account only.
    let one = detail(
        "GeneralLedger",
        "<ReportAccountFilter><FullName>Sales</FullName></ReportAccountFilter>",
    );
    let rows = report_rows(&one);
    assert!(
        rows.iter().filter(|r| r.0 == "TextRow").count() == 1,
        "{rows:?}"
    );
    // The transaction list by date has one row per transaction; of
    // vendors only, the bill.
    let tl = report_rows(&detail("TxnListByDate", ""));
    assert_eq!(tl.iter().filter(|r| r.0 == "DataRow").count(), 3);
    let tl = report_rows(&detail(
        "TxnListByDate",
        "<ReportEntityFilter><EntityTypeFilter>Vendor</EntityTypeFilter></ReportEntityFilter>",
    ));
    assert_eq!(tl.iter().filter(|r| r.0 == "DataRow").count(), 1);
    // A customer with its jobs.
    sim.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Acme:Job 1</FullName></CustomerRef><TxnDate>2023-11-01</TxnDate>\
         <InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>",
    )
    .ok();
    let count = |filter: &str| {
        report_rows(&detail("TxnListByDate", filter))
            .iter()
            .filter(|r| r.0 == "DataRow")
            .count()
    };
    assert_eq!(
        count("<ReportEntityFilter><FullName>Acme</FullName></ReportEntityFilter>"),
        2
    );
    assert_eq!(
        count("<ReportEntityFilter><FullNameWithChildren>Acme</FullNameWithChildren></ReportEntityFilter>"),
        3
    );
    // IncludeColumn chooses the columns.
    let c = detail(
        "TxnListByDate",
        "<IncludeColumn>Date</IncludeColumn><IncludeColumn>Amount</IncludeColumn>",
    );
    assert_eq!(all(c.document(), "ColDesc").len(), 3);
    // A custom detail report grouped by account.
    let cd = sim.send(&format!(
        "<CustomDetailReportQueryRq><CustomDetailReportType>CustomTxnDetail</CustomDetailReportType>{all_dates}\
         <SummarizeRowsBy>Account</SummarizeRowsBy><IncludeColumn>Date</IncludeColumn><IncludeColumn>Debit</IncludeColumn>\
         <IncludeColumn>Credit</IncludeColumn></CustomDetailReportQueryRq>"
    ));
    let rows = report_rows(&cd);
    assert_eq!(value(&rows, "TOTAL", "3"), value(&rows, "TOTAL", "4"));
    assert!(rows.iter().any(|r| r.1 == "Total Undeposited Funds"));
    // The whole ledger nets to zero; the P&L detail ends at net income.
    let gl_rows = report_rows(&gl);
    assert_eq!(value(&gl_rows, "TOTAL", "8"), "0.00");
    let pl = report_rows(&detail("ProfitAndLossDetail", ""));
    assert_eq!(value(&pl, "Net Income", "8"), "-126.00");
    // Every type answers.
    let s = qbxml::schema::Schema::for_version(qbxml::Version::V13_0);
    let types: Vec<&str> = s
        .request("GeneralDetailReportQueryRq")
        .and_then(|p| p.decl().child("GeneralDetailReportType"))
        .and_then(|p| p.decl().simple_type())
        .map(|t| t.values().collect())
        .unwrap();
    for ty in types {
        let r = detail(ty, "");
        let code = r.responses().next().unwrap().status_code();
        assert_eq!(code, 0, "{ty}");
    }
    sim.check_schema();
}

/// Bills to pay, sales tax payable and assemblies that can be built are
/// worked out from the books.
#[test]
fn bills_to_pay_tax_payable_and_can_build() {
    let sim = setup();
    sim.one("<VendorAddRq><VendorAdd><Name>State Board</Name></VendorAdd></VendorAddRq>")
        .ok();
    let tax = sim.one("<ItemSalesTaxQueryRq><FullName>CA Tax</FullName></ItemSalesTaxQueryRq>");
    sim.one(&format!(
        "<ItemSalesTaxModRq><ItemSalesTaxMod><ListID>{}</ListID><EditSequence>{}</EditSequence>\
         <TaxVendorRef><FullName>State Board</FullName></TaxVendorRef></ItemSalesTaxMod></ItemSalesTaxModRq>",
        tax.item().must("ListID"),
        tax.item().must("EditSequence")
    ))
    .ok();
    // Two bills and a credit for Lumber Co; one bill due later.
    for (date, due, amount) in [
        ("2023-03-01", "2023-03-31", "300.00"),
        ("2023-04-01", "2023-06-30", "120.00"),
    ] {
        sim.one(&format!(
            "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef><TxnDate>{date}</TxnDate><DueDate>{due}</DueDate>\
             <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>{amount}</Amount></ExpenseLineAdd></BillAdd></BillAddRq>"
        ))
        .ok();
    }
    sim.one(
        "<VendorCreditAddRq><VendorCreditAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>20.00</Amount></ExpenseLineAdd></VendorCreditAdd></VendorCreditAddRq>",
    )
    .ok();
    let text = sim.send_text(
        "<BillToPayQueryRq><PayeeEntityRef><FullName>Lumber Co</FullName></PayeeEntityRef></BillToPayQueryRq>",
    );
    assert_eq!(text.matches("<BillToPay>").count(), 2, "{text}");
    assert_eq!(text.matches("<CreditToApply>").count(), 1, "{text}");
    assert!(text.contains("<AmountDue>300.00</AmountDue>"));
    assert!(text.contains("<CreditRemaining>20.00</CreditRemaining>"));
    let text = sim.send_text(
        "<BillToPayQueryRq><PayeeEntityRef><FullName>Lumber Co</FullName></PayeeEntityRef><DueDate>2023-04-30</DueDate></BillToPayQueryRq>",
    );
    assert_eq!(text.matches("<BillToPay>").count(), 1, "{text}");
    let none = sim.one("<BillToPayQueryRq><PayeeEntityRef><FullName>Beta</FullName></PayeeEntityRef></BillToPayQueryRq>");
    assert_eq!(none.code, 1);

    // Tax collected on two invoices, part of it paid.
    for _ in 0..2 {
        invoice(
            &sim,
            "Acme",
            "<InvoiceLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>10</Quantity></InvoiceLineAdd>",
        )
        .ok();
    }
    sim.one(
        "<SalesTaxPaymentCheckAddRq><SalesTaxPaymentCheckAdd><PayeeEntityRef><FullName>State Board</FullName></PayeeEntityRef>\
         <TxnDate>2023-11-14</TxnDate><BankAccountRef><FullName>Checking</FullName></BankAccountRef><IsToBePrinted>false</IsToBePrinted>\
         <SalesTaxPaymentCheckLineAdd><ItemSalesTaxRef><FullName>CA Tax</FullName></ItemSalesTaxRef><Amount>5.00</Amount></SalesTaxPaymentCheckLineAdd>\
         </SalesTaxPaymentCheckAdd></SalesTaxPaymentCheckAddRq>",
    )
    .ok();
    let text = sim.send_text("<SalesTaxPayableQueryRq/>");
    assert!(text.contains("<FullName>State Board</FullName>"), "{text}");
    assert!(text.contains("<Amount>12.50</Amount>"), "{text}");
    assert_eq!(account_balance(&sim, "Sales Tax Payable"), "12.50");
    // As of a date before the payment: all of it.
    let text = sim.send_text(
        "<SalesTaxPayableQueryRq><AsOfDate>2023-11-13</AsOfDate></SalesTaxPayableQueryRq>",
    );
    assert!(text.contains("<Amount>17.50</Amount>"), "{text}");

    // An assembly of 3 widgets: 100 on hand, less 20 sold, build 26.
    sim.one(
        "<ItemInventoryAssemblyAddRq><ItemInventoryAssemblyAdd><Name>Kit</Name>\
         <IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef>\
         <COGSAccountRef><FullName>COGS</FullName></COGSAccountRef>\
         <AssetAccountRef><FullName>Inventory</FullName></AssetAccountRef>\
         <ItemInventoryAssemblyLine><ItemInventoryRef><FullName>Widget</FullName></ItemInventoryRef><Quantity>3</Quantity></ItemInventoryAssemblyLine>\
         </ItemInventoryAssemblyAdd></ItemInventoryAssemblyAddRq>",
    )
    .ok();
    let cb = sim.one(
        "<ItemAssembliesCanBuildQueryRq><ItemInventoryAssemblyRef><FullName>Kit</FullName></ItemInventoryAssemblyRef>\
         <TxnDate>2024-05-01</TxnDate></ItemAssembliesCanBuildQueryRq>",
    );
    cb.ok();
    assert_eq!(cb.item().must("QuantityCanBuild"), "26");
    let bad = sim.one(
        "<ItemAssembliesCanBuildQueryRq><ItemInventoryAssemblyRef><FullName>Widget</FullName></ItemInventoryAssemblyRef>\
         <TxnDate>2024-05-01</TxnDate></ItemAssembliesCanBuildQueryRq>",
    );
    assert_eq!(bad.code, 3140);
    sim.check_schema();
}

/// Budgets: the overview by month, budget against actual, performance;
/// a year without a budget has no account rows.
#[test]
fn budget_reports_compare_the_budget_with_the_books() {
    let sim = setup();
    // 2023 actuals: 100 + 36 of sales on 2023-11-01, 300 of materials.
    invoice(&sim, "Acme", TWO_LINES).ok();
    sim.one(
        "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef><TxnDate>2023-11-02</TxnDate>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>300.00</Amount></ExpenseLineAdd></BillAdd></BillAddRq>",
    )
    .ok();
    let line = |account: &str, monthly: i64| qbsim::BudgetLine {
        account: account.into(),
        customer: None,
        months: [monthly; 12],
    };
    sim.company
        .set_budget(&qbsim::BudgetPlan {
            fiscal_year: 2023,
            criterion: "Accounts".into(),
            lines: vec![line("Sales", 10_000), line("Materials", 25_000)],
        })
        .unwrap();
    // Unknown accounts are refused.
    assert!(sim
        .company
        .set_budget(&qbsim::BudgetPlan {
            fiscal_year: 2023,
            criterion: "Accounts".into(),
            lines: vec![line("No such account", 1)],
        })
        .is_err());
    let report = |ty: &str, extra: &str| {
        sim.send(&format!(
            "<BudgetSummaryReportQueryRq><BudgetSummaryReportType>{ty}</BudgetSummaryReportType>\
             <FiscalYear>2023</FiscalYear>{extra}</BudgetSummaryReportQueryRq>"
        ))
    };
    // Overview: twelve months and a total; net income budget.
    let ov = report("ProfitAndLossBudgetOverview", "");
    assert_eq!(all(ov.document(), "ColDesc").len(), 14);
    let rows = report_rows(&ov);
    assert_eq!(value(&rows, "Sales", "2"), "100.00");
    assert_eq!(value(&rows, "Sales", "14"), "1200.00");
    assert_eq!(value(&rows, "Materials", "14"), "3000.00");
    assert_eq!(value(&rows, "Net Income", "14"), "-1800.00");
    // Budget vs actual for November.
    let period = "<ReportPeriod><FromReportDate>2023-11-01</FromReportDate><ToReportDate>2023-11-30</ToReportDate></ReportPeriod>";
    let rows = report_rows(&report("ProfitAndLossBudgetVsActual", period));
    assert_eq!(value(&rows, "Sales", "2"), "136.00");
    assert_eq!(value(&rows, "Sales", "3"), "100.00");
    assert_eq!(value(&rows, "Sales", "4"), "36.00");
    assert_eq!(value(&rows, "Sales", "5"), "136.0");
    assert_eq!(value(&rows, "Materials", "2"), "300.00");
    assert_eq!(value(&rows, "Net Income", "2"), "-164.00");
    // Performance: the period, the year to date, the year.
    let rows = report_rows(&report("ProfitAndLossBudgetPerformance", period));
    assert_eq!(value(&rows, "Sales", "5"), "1100.00");
    assert_eq!(value(&rows, "Sales", "6"), "1200.00");
    // Another year: no budget, no account rows.
    let none = sim.send(
        "<BudgetSummaryReportQueryRq><BudgetSummaryReportType>ProfitAndLossBudgetOverview</BudgetSummaryReportType>\
         <FiscalYear>2019</FiscalYear></BudgetSummaryReportQueryRq>",
    );
    let rows = report_rows(&none);
    assert_eq!(rows.len(), 1, "{rows:?}");
    for ty in ["BalanceSheetBudgetOverview", "BalanceSheetBudgetVsActual"] {
        assert_eq!(report(ty, "").responses().next().unwrap().status_code(), 0);
    }
    sim.check_schema();
}

/// Custom summaries total the ledger by the rows and columns asked for;
/// job reports set revenue against cost per job and item; time reports
/// add up hours; payroll reports of a company without payroll are empty.
#[test]
fn summaries_jobs_time_and_payroll() {
    let sim = setup();
    // Acme: 136 of revenue (Labor 100, Widgets 36 costing 12) in November;
    // Beta: 50 in December. A bill of 40 for materials on Acme's job.
    invoice(&sim, "Acme", TWO_LINES).ok();
    sim.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Beta</FullName></CustomerRef><TxnDate>2023-12-05</TxnDate>\
         <InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>",
    )
    .ok();
    sim.one(
        "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef><TxnDate>2023-11-03</TxnDate>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>40.00</Amount>\
         <CustomerRef><FullName>Acme</FullName></CustomerRef></ExpenseLineAdd></BillAdd></BillAddRq>",
    )
    .ok();
    sim.one(
        "<EstimateAddRq><EstimateAdd><CustomerRef><FullName>Acme</FullName></CustomerRef><TxnDate>2023-10-01</TxnDate>\
         <EstimateLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>5</Quantity><Rate>12</Rate></EstimateLineAdd>\
         </EstimateAdd></EstimateAddRq>",
    )
    .ok();
    let year = "<ReportPeriod><FromReportDate>2023-01-01</FromReportDate><ToReportDate>2023-12-31</ToReportDate></ReportPeriod>";
    let summary = |rows: &str, cols: &str| {
        sim.send(&format!(
            "<CustomSummaryReportQueryRq><CustomSummaryReportType>CustomSummary</CustomSummaryReportType>{year}\
             <SummarizeColumnsBy>{cols}</SummarizeColumnsBy><SummarizeRowsBy>{rows}</SummarizeRowsBy></CustomSummaryReportQueryRq>"
        ))
    };
    // Income statement rows by month: November and December columns.
    let s = summary("IncomeStatement", "Month");
    let rows = report_rows(&s);
    let titles: Vec<String> = all(s.document(), "ColTitle")
        .iter()
        .filter_map(|t| t.attr("value").map(str::to_string))
        .collect();
    assert_eq!(titles, ["Nov 2023", "Dec 2023", "TOTAL"]);
    assert_eq!(value(&rows, "Sales", "2"), "136.00");
    assert_eq!(value(&rows, "Sales", "3"), "50.00");
    assert_eq!(value(&rows, "Sales", "4"), "186.00");
    assert_eq!(value(&rows, "Materials", "4"), "40.00");
    // Net income: 186 - 12 - 40.
    assert_eq!(value(&rows, "TOTAL", "4"), "134.00");
    // By customer: what each brought to net income.
    let rows = report_rows(&summary("Customer", "TotalOnly"));
    assert_eq!(value(&rows, "Acme", "2"), "84.00");
    assert_eq!(value(&rows, "Beta", "2"), "50.00");

    // Job profitability: Acme's revenue 136, cost 12 + 40.
    let job = |ty: &str| {
        report_rows(&sim.send(&format!(
            "<JobReportQueryRq><JobReportType>{ty}</JobReportType>{year}</JobReportQueryRq>"
        )))
    };
    let rows = job("JobProfitabilitySummary");
    assert_eq!(value(&rows, "Acme", "2"), "52.00");
    assert_eq!(value(&rows, "Acme", "3"), "136.00");
    assert_eq!(value(&rows, "Acme", "4"), "84.00");
    // Estimates against actuals: 5 widgets at 12 estimated (cost 4 each).
    let rows = job("ItemEstimatesVsActuals");
    assert_eq!(value(&rows, "Widget", "2"), "20.00");
    assert_eq!(value(&rows, "Widget", "5"), "60.00");
    assert_eq!(value(&rows, "Widget", "6"), "36.00");
    // The same figures by job and item, and by job against estimates.
    let rows = job("JobProfitabilityDetail");
    assert_eq!(value(&rows, "Total Acme", "3"), "136.00");
    assert_eq!(value(&rows, "Total Acme", "2"), "52.00");
    let rows = job("JobEstimatesVsActualsSummary");
    assert_eq!(value(&rows, "Acme", "5"), "60.00");
    assert_eq!(value(&rows, "Acme", "6"), "136.00");
    let rows = job("JobEstimatesVsActualsDetail");
    assert_eq!(value(&rows, "Total Acme", "5"), "60.00");
    let rows = job("ItemProfitability");
    assert_eq!(value(&rows, "Widget", "3"), "36.00");

    // Time: 2h30 and 1h15 for Acme, 45m for Beta.
    for (customer, d) in [("Acme", "PT2H30M"), ("Acme", "PT1H15M"), ("Beta", "PT45M")] {
        sim.one(&format!(
            "<TimeTrackingAddRq><TimeTrackingAdd><TxnDate>2023-11-06</TxnDate><EntityRef><FullName>Lumber Co</FullName></EntityRef>\
             <CustomerRef><FullName>{customer}</FullName></CustomerRef><ItemServiceRef><FullName>Labor</FullName></ItemServiceRef>\
             <Duration>{d}</Duration></TimeTrackingAdd></TimeTrackingAddRq>"
        ))
        .ok();
    }
    let time = |ty: &str| {
        sim.send(&format!(
            "<TimeReportQueryRq><TimeReportType>{ty}</TimeReportType>{year}</TimeReportQueryRq>"
        ))
    };
    let rows = report_rows(&time("TimeByJobSummary"));
    assert_eq!(value(&rows, "Acme", "2"), "PT3H45M");
    assert_eq!(value(&rows, "TOTAL", "2"), "PT4H30M");
    let rows = report_rows(&time("TimeByName"));
    assert_eq!(value(&rows, "Lumber Co", "2"), "PT4H30M");
    let rows = report_rows(&time("TimeByJobDetail"));
    assert_eq!(value(&rows, "Total Beta", "6"), "PT0H45M");
    assert_eq!(report_rows(&time("TimeByItem")).len(), 2);

    // Payroll: no paychecks, a zero total.
    for q in [
        "<PayrollSummaryReportQueryRq><PayrollSummaryReportType>PayrollSummary</PayrollSummaryReportType></PayrollSummaryReportQueryRq>",
        "<PayrollDetailReportQueryRq><PayrollDetailReportType>PayrollItemDetail</PayrollDetailReportType></PayrollDetailReportQueryRq>",
    ] {
        let rows = report_rows(&sim.send(q));
        assert_eq!(value(&rows, "TOTAL", "2"), "0.00");
    }
    sim.check_schema();
}

/// Every GeneralSummaryReportType answers, and the ones that restate the
/// books agree with them.
#[test]
fn summary_reports_agree_with_the_books() {
    let sim = setup();
    invoice(&sim, "Acme", TWO_LINES).ok();
    sim.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Beta</FullName></CustomerRef><TxnDate>2022-11-01</TxnDate>\
         <InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>",
    )
    .ok();
    sim.one(
        "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef><TxnDate>2023-11-03</TxnDate>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>40.00</Amount></ExpenseLineAdd></BillAdd></BillAddRq>",
    )
    .ok();
    let year = "<ReportPeriod><FromReportDate>2023-01-01</FromReportDate><ToReportDate>2023-12-31</ToReportDate></ReportPeriod>";
    let report = |ty: &str| {
        sim.send(&format!(
            "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>{ty}</GeneralSummaryReportType>{year}</GeneralSummaryReportQueryRq>"
        ))
    };
    let rows = report_rows(&report("CustomerBalanceSummary"));
    assert_eq!(
        value(&rows, "TOTAL", "2"),
        account_balance(&sim, "Accounts Receivable")
    );
    assert_eq!(value(&rows, "Acme", "2"), "139.15");
    let rows = report_rows(&report("VendorBalanceSummary"));
    assert_eq!(value(&rows, "Lumber Co", "2"), "40.00");
    let rows = report_rows(&report("SalesByItemSummary"));
    assert_eq!(value(&rows, "Labor", "2"), "100.00");
    assert_eq!(value(&rows, "Widget", "2"), "36.00");
    let rows = report_rows(&report("IncomeByCustomerSummary"));
    // Acme: 136 of income less 12 of cost of goods.
    assert_eq!(value(&rows, "Acme", "2"), "124.00");
    let rows = report_rows(&report("InventoryValuationSummary"));
    assert_eq!(value(&rows, "Widget", "2"), "97");
    assert_eq!(
        value(&rows, "TOTAL", "4"),
        account_balance(&sim, "Inventory")
    );
    let rows = report_rows(&report("SalesTaxLiability"));
    assert_eq!(value(&rows, "CA Tax", "5"), "3.15");
    assert_eq!(
        value(&rows, "TOTAL", "6"),
        account_balance(&sim, "Sales Tax Payable")
    );
    // This year against last: Beta's 50 of labor was last year.
    let rows = report_rows(&report("ProfitAndLossPrevYearComp"));
    assert_eq!(value(&rows, "Sales", "2"), "136.00");
    assert_eq!(value(&rows, "Sales", "3"), "50.00");
    assert_eq!(value(&rows, "Sales", "4"), "86.00");
    // P&L by job: a column per customer.
    let pj = report("ProfitAndLossByJob");
    let titles: Vec<String> = all(pj.document(), "ColTitle")
        .iter()
        .filter_map(|t| t.attr("value").map(str::to_string))
        .collect();
    assert!(titles.contains(&"Acme".to_string()), "{titles:?}");
    // Every type answers.
    let s = qbxml::schema::Schema::for_version(qbxml::Version::V13_0);
    let types: Vec<&str> = s
        .request("GeneralSummaryReportQueryRq")
        .and_then(|p| p.decl().child("GeneralSummaryReportType"))
        .and_then(|p| p.decl().simple_type())
        .map(|t| t.values().collect())
        .unwrap();
    for ty in types {
        let code = report(ty).responses().next().unwrap().status_code();
        assert_eq!(code, 0, "{ty}");
    }
    sim.check_schema();
}

/// From a review of the reports and forms: subtotals are not counted
/// twice, a purchase line's customer is who a by-customer report files it
/// under (and its vendor a by-vendor one), durations are bounded, a sales
/// tax group holds no groups, and sales tax charged as a line is payable.
#[test]
fn reports_and_forms_from_a_review() {
    let sim = setup();
    invoice(
        &sim,
        "Beta",
        "<InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>\
         <InvoiceLineAdd><ItemRef><FullName>Subtotal</FullName></ItemRef></InvoiceLineAdd>\
         <InvoiceLineAdd><ItemRef><FullName>CA Tax</FullName></ItemRef><Amount>5.00</Amount></InvoiceLineAdd>",
    )
    .ok();
    let year = "<ReportPeriod><FromReportDate>2023-01-01</FromReportDate><ToReportDate>2023-12-31</ToReportDate></ReportPeriod>";
    let rows = report_rows(&sim.send(&format!(
        "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>SalesByCustomerSummary</GeneralSummaryReportType>{year}</GeneralSummaryReportQueryRq>"
    )));
    assert_eq!(value(&rows, "Beta", "2"), "100.00");
    // The tax line is payable.
    let text = sim.send_text("<SalesTaxPayableQueryRq/>");
    assert!(text.contains("<Amount>5.00</Amount>"), "{text}");
    assert_eq!(account_balance(&sim, "Sales Tax Payable"), "5.00");
    // A billable expense: Acme's by customer, Lumber Co's by vendor.
    sim.one(
        "<BillAddRq><BillAdd><VendorRef><FullName>Lumber Co</FullName></VendorRef><TxnDate>2023-11-03</TxnDate>\
         <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>40.00</Amount>\
         <CustomerRef><FullName>Acme</FullName></CustomerRef></ExpenseLineAdd></BillAdd></BillAddRq>",
    )
    .ok();
    let rows = report_rows(&sim.send(&format!(
        "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>ExpenseByVendorSummary</GeneralSummaryReportType>{year}</GeneralSummaryReportQueryRq>"
    )));
    assert_eq!(value(&rows, "Lumber Co", "2"), "40.00");
    let rows = report_rows(&sim.send(&format!(
        "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>IncomeByCustomerSummary</GeneralSummaryReportType>{year}</GeneralSummaryReportQueryRq>"
    )));
    assert_eq!(value(&rows, "Acme", "2"), "-40.00");
    // A time entry of ten thousand hours is refused.
    let t = sim.one(
        "<TimeTrackingAddRq><TimeTrackingAdd><EntityRef><FullName>Lumber Co</FullName></EntityRef>\
         <Duration>PT10000H</Duration></TimeTrackingAdd></TimeTrackingAddRq>",
    );
    assert_eq!(t.code, 3210, "{}", t.message);
    // A sales tax group of a group: 3140.
    sim.one(
        "<ItemSalesTaxGroupAddRq><ItemSalesTaxGroupAdd><Name>G1</Name>\
         <ItemSalesTaxRef><FullName>CA Tax</FullName></ItemSalesTaxRef></ItemSalesTaxGroupAdd></ItemSalesTaxGroupAddRq>",
    )
    .ok();
    let g = sim.one(
        "<ItemSalesTaxGroupAddRq><ItemSalesTaxGroupAdd><Name>G2</Name>\
         <ItemSalesTaxRef><FullName>G1</FullName></ItemSalesTaxRef></ItemSalesTaxGroupAdd></ItemSalesTaxGroupAddRq>",
    );
    assert_eq!(g.code, 3140, "{}", g.message);
    sim.check_schema();
}
