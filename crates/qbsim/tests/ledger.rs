//! Property tests of the ledger: random sequences of adds, mods, deletes,
//! voids, payments and deposits (seeded, so a failure names its seed and
//! replays), with after every step:
//!
//! - the trial balance nets to zero (the TrialBalance report's debit and
//!   credit totals agree, and so do the raw postings);
//! - every balance QuickBooks shows derives from the postings (accounts,
//!   customers, vendors, quantity on hand — checked against SQL sums over
//!   the company file);
//! - open invoices − open credits − unused payments = the A/R account =
//!   the customers' balances; open bills − open vendor credits = A/P = the
//!   vendors' balances;
//! - adding a transaction and then deleting or voiding it restores every
//!   balance and open amount it touched.
//!
//! Besides the forms of lines, the sequences make statement charges,
//! refunds of credits, transfers, sales tax payments, assembly builds
//! (sometimes of more than the components allow), time and mileage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::Sim;
use qbsim::Durability;
use std::collections::BTreeMap;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn money(&mut self, max_cents: u64) -> String {
        let c = 1 + self.next() % max_cents;
        format!("{}.{:02}", c / 100, c % 100)
    }
}

const SETUP: &str = "
<AccountAddRq><AccountAdd><Name>Accounts Receivable</Name><AccountType>AccountsReceivable</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Accounts Payable</Name><AccountType>AccountsPayable</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Checking</Name><AccountType>Bank</AccountType><OpenBalance>5000.00</OpenBalance></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Sales</Name><AccountType>Income</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Discounts</Name><AccountType>Income</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Materials</Name><AccountType>Expense</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>Inventory</Name><AccountType>OtherCurrentAsset</AccountType></AccountAdd></AccountAddRq>
<AccountAddRq><AccountAdd><Name>COGS</Name><AccountType>CostOfGoodsSold</AccountType></AccountAdd></AccountAddRq>
<ItemSalesTaxAddRq><ItemSalesTaxAdd><Name>Tax</Name><TaxRate>7.25</TaxRate></ItemSalesTaxAdd></ItemSalesTaxAddRq>
<CustomerAddRq><CustomerAdd><Name>Acme</Name><SalesTaxCodeRef><FullName>Tax</FullName></SalesTaxCodeRef><ItemSalesTaxRef><FullName>Tax</FullName></ItemSalesTaxRef></CustomerAdd></CustomerAddRq>
<CustomerAddRq><CustomerAdd><Name>Job</Name><ParentRef><FullName>Acme</FullName></ParentRef></CustomerAdd></CustomerAddRq>
<CustomerAddRq><CustomerAdd><Name>Beta</Name></CustomerAdd></CustomerAddRq>
<VendorAddRq><VendorAdd><Name>Mill</Name></VendorAdd></VendorAddRq>
<VendorAddRq><VendorAdd><Name>Depot</Name></VendorAdd></VendorAddRq>
<ItemServiceAddRq><ItemServiceAdd><Name>Labor</Name><SalesOrPurchase><Price>45.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemServiceAdd></ItemServiceAddRq>
<ItemInventoryAddRq><ItemInventoryAdd><Name>Widget</Name><SalesTaxCodeRef><FullName>Tax</FullName></SalesTaxCodeRef><SalesPrice>12.50</SalesPrice><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><PurchaseCost>3.70</PurchaseCost><COGSAccountRef><FullName>COGS</FullName></COGSAccountRef><AssetAccountRef><FullName>Inventory</FullName></AssetAccountRef><QuantityOnHand>40</QuantityOnHand></ItemInventoryAdd></ItemInventoryAddRq>
<AccountAddRq><AccountAdd><Name>Savings</Name><AccountType>Bank</AccountType></AccountAdd></AccountAddRq>
<ItemInventoryAssemblyAddRq><ItemInventoryAssemblyAdd><Name>Kit</Name><SalesPrice>40.00</SalesPrice><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><COGSAccountRef><FullName>COGS</FullName></COGSAccountRef><AssetAccountRef><FullName>Inventory</FullName></AssetAccountRef><ItemInventoryAssemblyLine><ItemInventoryRef><FullName>Widget</FullName></ItemInventoryRef><Quantity>2</Quantity></ItemInventoryAssemblyLine></ItemInventoryAssemblyAdd></ItemInventoryAssemblyAddRq>
<ItemOtherChargeAddRq><ItemOtherChargeAdd><Name>Mileage</Name><SalesOrPurchase><Price>0.65</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemOtherChargeAdd></ItemOtherChargeAddRq>
<VehicleAddRq><VehicleAdd><Name>Van</Name></VehicleAdd></VehicleAddRq>
<ItemDiscountAddRq><ItemDiscountAdd><Name>Off</Name><DiscountRatePercent>5</DiscountRatePercent><AccountRef><FullName>Discounts</FullName></AccountRef></ItemDiscountAdd></ItemDiscountAddRq>
";

const CUSTOMERS: &[&str] = &["Acme", "Acme:Job", "Beta"];
const VENDORS: &[&str] = &["Mill", "Depot"];

fn cents(s: &str) -> i64 {
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let (w, f) = s.split_once('.').unwrap_or((s, "0"));
    let v = w.parse::<i64>().unwrap() * 100 + format!("{f:0<2}")[..2].parse::<i64>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

/// Everything a transaction can touch, as QuickBooks shows it.
type Snapshot = BTreeMap<String, String>;

fn snapshot(sim: &Sim) -> Snapshot {
    let mut s = Snapshot::new();
    let mut take = |q: &str, key: &str, fields: &[&str]| {
        let set = sim.send(q);
        for r in set.responses() {
            for item in r.items() {
                let k = item
                    .child_text(key)
                    .or_else(|| item.child_text("Name"))
                    .unwrap_or("")
                    .to_string();
                for f in fields {
                    if let Some(v) = item.child_text(f) {
                        s.insert(format!("{}/{k}/{f}", item.name()), v.to_string());
                    }
                }
            }
        }
    };
    take(
        "<AccountQueryRq><ActiveStatus>All</ActiveStatus></AccountQueryRq>",
        "FullName",
        &["Balance", "TotalBalance"],
    );
    take(
        "<CustomerQueryRq><ActiveStatus>All</ActiveStatus></CustomerQueryRq>",
        "FullName",
        &["Balance", "TotalBalance"],
    );
    take(
        "<VendorQueryRq><ActiveStatus>All</ActiveStatus></VendorQueryRq>",
        "FullName",
        &["Balance"],
    );
    take(
        "<ItemInventoryQueryRq/>",
        "FullName",
        &["QuantityOnHand", "AverageCost"],
    );
    take(
        "<ItemInventoryAssemblyQueryRq/>",
        "FullName",
        &["QuantityOnHand", "AverageCost"],
    );
    take("<ChargeQueryRq/>", "TxnID", &["BalanceRemaining"]);
    take("<InvoiceQueryRq/>", "TxnID", &["BalanceRemaining"]);
    take("<CreditMemoQueryRq/>", "TxnID", &["CreditRemaining"]);
    take("<ReceivePaymentQueryRq/>", "TxnID", &["UnusedPayment"]);
    take("<BillQueryRq/>", "TxnID", &["OpenAmount"]);
    take("<VendorCreditQueryRq/>", "TxnID", &["OpenAmount"]);
    take("<ReceivePaymentToDepositQueryRq/>", "TxnID", &["Amount"]);
    s
}

fn sum_of(sim: &Sim, q: &str, field: &str) -> i64 {
    let set = sim.send(q);
    set.responses()
        .flat_map(|r| {
            r.items()
                .map(|i| i.child_text(field).map(cents).unwrap_or(0))
                .collect::<Vec<_>>()
        })
        .sum()
}

/// One number from SQL.
fn scalar(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn invariants(sim: &Sim, db: &rusqlite::Connection, step: &str) {
    // The postings net to zero, in all and per transaction.
    let total: i64 = scalar(db, "SELECT COALESCE(SUM(amount),0) FROM posting");
    assert_eq!(total, 0, "{step}: postings do not net to zero");
    let unbalanced: i64 = scalar(
        db,
        "SELECT COUNT(*) FROM (SELECT txn FROM posting GROUP BY txn HAVING SUM(amount)<>0)",
    );
    assert_eq!(unbalanced, 0, "{step}: an unbalanced transaction");
    // The trial balance report agrees.
    let tb = sim.send(
        "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>TrialBalance</GeneralSummaryReportType><ReportPeriod><ToReportDate>2030-12-31</ToReportDate></ReportPeriod></GeneralSummaryReportQueryRq>",
    );
    let text = tb.document().source().to_string();
    let total_row = text.split("<TotalRow").nth(1).unwrap();
    let vals: Vec<&str> = total_row
        .split("value=\"")
        .skip(2)
        .map(|v| v.split('"').next().unwrap())
        .collect();
    assert_eq!(vals.len(), 2, "{step}: {total_row}");
    assert_eq!(vals[0], vals[1], "{step}: trial balance debits != credits");
    // Balances on list records are the sums of their postings.
    let drift: i64 = scalar(
        db,
        "SELECT COUNT(*) FROM list l WHERE l.ns='Account' AND l.balance <> \
             (SELECT COALESCE(SUM(p.amount),0) FROM posting p WHERE p.account=l.id) * \
             (CASE WHEN l.body LIKE '%lAccountType:%:Bank%' OR l.body LIKE '%:AccountsReceivable%' \
              OR l.body LIKE '%:OtherCurrentAsset%' OR l.body LIKE '%:CostOfGoodsSold%' \
              OR l.body LIKE '%lAccountType:7:Expense%' THEN 1 ELSE -1 END)",
    );
    assert_eq!(
        drift, 0,
        "{step}: an account balance differs from its postings"
    );
    let drift: i64 = scalar(db, "SELECT COUNT(*) FROM list l WHERE l.kind='Customer' AND l.balance <> \
             (SELECT COALESCE(SUM(p.amount),0) FROM posting p JOIN list a ON a.ns='Account' AND a.id=p.account \
              WHERE p.entity=l.id AND a.body LIKE '%:AccountsReceivable%')");
    assert_eq!(
        drift, 0,
        "{step}: a customer balance differs from its A/R postings"
    );
    let drift: i64 = scalar(db, "SELECT COUNT(*) FROM list l WHERE l.kind='Vendor' AND l.balance <> \
             -(SELECT COALESCE(SUM(p.amount),0) FROM posting p JOIN list a ON a.ns='Account' AND a.id=p.account \
              WHERE p.entity=l.id AND a.body LIKE '%:AccountsPayable%')");
    assert_eq!(
        drift, 0,
        "{step}: a vendor balance differs from its A/P postings"
    );
    let drift: i64 = scalar(
        db,
        "SELECT COUNT(*) FROM list l WHERE l.kind IN ('ItemInventory','ItemInventoryAssembly') AND (l.qty <> \
             (SELECT COALESCE(SUM(p.qty),0) FROM posting p WHERE p.item=l.id) OR l.value <> \
             (SELECT COALESCE(SUM(p.amount),0) FROM posting p WHERE p.item=l.id))",
    );
    assert_eq!(
        drift, 0,
        "{step}: quantity on hand differs from the postings"
    );
    // A/R: open documents = the account = the customers.
    let open = sum_of(sim, "<InvoiceQueryRq/>", "BalanceRemaining")
        + sum_of(sim, "<ChargeQueryRq/>", "BalanceRemaining")
        - sum_of(sim, "<CreditMemoQueryRq/>", "CreditRemaining")
        - sum_of(sim, "<ReceivePaymentQueryRq/>", "UnusedPayment");
    let ar = sum_of(
        sim,
        "<AccountQueryRq><FullName>Accounts Receivable</FullName></AccountQueryRq>",
        "Balance",
    );
    let customers = sum_of(
        sim,
        "<CustomerQueryRq><ActiveStatus>All</ActiveStatus></CustomerQueryRq>",
        "Balance",
    );
    let tops: i64 = ["Acme", "Beta"]
        .iter()
        .map(|c| {
            sum_of(
                sim,
                &format!("<CustomerQueryRq><FullName>{c}</FullName></CustomerQueryRq>"),
                "TotalBalance",
            )
        })
        .sum();
    assert_eq!(open, ar, "{step}: open A/R documents != A/R account");
    assert_eq!(customers, ar, "{step}: customer balances != A/R account");
    assert_eq!(tops, ar, "{step}: top-level TotalBalance != A/R account");
    // A/P likewise.
    let open = sum_of(sim, "<BillQueryRq/>", "OpenAmount")
        - sum_of(sim, "<VendorCreditQueryRq/>", "OpenAmount");
    let ap = sum_of(
        sim,
        "<AccountQueryRq><FullName>Accounts Payable</FullName></AccountQueryRq>",
        "Balance",
    );
    let vendors = sum_of(sim, "<VendorQueryRq/>", "Balance");
    assert_eq!(open, ap, "{step}: open A/P documents != A/P account");
    assert_eq!(vendors, ap, "{step}: vendor balances != A/P account");
}

/// Transactions made so far: (type, TxnID).
struct World {
    txns: Vec<(String, String)>,
}

fn ids_of(sim: &Sim, query: &str, field: &str) -> Vec<(String, String)> {
    let set = sim.send(query);
    let mut out = Vec::new();
    for r in set.responses() {
        for i in r.items() {
            out.push((
                i.child_text("TxnID").unwrap_or("").to_string(),
                i.child_text(field).unwrap_or("").to_string(),
            ));
        }
    }
    out
}

fn sale_lines(rng: &mut Rng, line: &str) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(3) {
        match rng.below(4) {
            0 => s.push_str(&format!("<{line}><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>{}</Quantity></{line}>", 1 + rng.below(5))),
            1 => s.push_str(&format!("<{line}><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>{}</Quantity></{line}>", 1 + rng.below(4))),
            2 => s.push_str(&format!("<{line}><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>{}</Quantity><Rate>{}</Rate></{line}>", 1 + rng.below(3), rng.money(3000))),
            _ => s.push_str(&format!("<{line}><ItemRef><FullName>Labor</FullName></ItemRef><Amount>{}</Amount></{line}>", rng.money(50_000))),
        }
    }
    if rng.chance(20) {
        s.push_str(&format!(
            "<{line}><ItemRef><FullName>Off</FullName></ItemRef></{line}>"
        ));
    }
    s
}

/// One random request (the inside of a message set).
fn random_request(rng: &mut Rng, sim: &Sim) -> String {
    let date = format!("2023-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
    let customer = *rng.pick(CUSTOMERS);
    let vendor = *rng.pick(VENDORS);
    match rng.below(21) {
        0..=2 => format!(
            "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef><TxnDate>{date}</TxnDate>{}</InvoiceAdd></InvoiceAddRq>",
            sale_lines(rng, "InvoiceLineAdd")
        ),
        3 => format!(
            "<CreditMemoAddRq><CreditMemoAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef><TxnDate>{date}</TxnDate>{}</CreditMemoAdd></CreditMemoAddRq>",
            sale_lines(rng, "CreditMemoLineAdd")
        ),
        4 => format!(
            "<SalesReceiptAddRq><SalesReceiptAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef><TxnDate>{date}</TxnDate>{}</SalesReceiptAdd></SalesReceiptAddRq>",
            sale_lines(rng, "SalesReceiptLineAdd")
        ),
        5 | 6 => {
            // A payment: applied to one open invoice (sometimes too much),
            // with a discount or a credit, or auto-applied, or unapplied.
            let invoices = ids_of(sim, &format!("<InvoiceQueryRq><EntityFilter><FullName>{customer}</FullName></EntityFilter><PaidStatus>NotPaidOnly</PaidStatus></InvoiceQueryRq>"), "BalanceRemaining");
            let credits = ids_of(sim, &format!("<CreditMemoQueryRq><EntityFilter><FullName>{customer}</FullName></EntityFilter></CreditMemoQueryRq>"), "CreditRemaining");
            let head = format!("<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef><TxnDate>{date}</TxnDate>");
            if invoices.is_empty() || rng.chance(15) {
                let auto = if rng.chance(50) { "<IsAutoApply>true</IsAutoApply>" } else { "<IsAutoApply>false</IsAutoApply>" };
                return format!("{head}<TotalAmount>{}</TotalAmount>{auto}</ReceivePaymentAdd></ReceivePaymentAddRq>", rng.money(20_000));
            }
            let (id, open) = rng.pick(&invoices).clone();
            let open = cents(&open);
            let pay = if rng.chance(15) { open + 1 } else { (rng.next() % open.max(1) as u64) as i64 + 1 };
            let pay = pay.min(open + 1);
            let mut extra = String::new();
            let mut remaining = open - pay;
            if remaining > 0 && rng.chance(30) {
                if let Some((cid, crem)) = credits.iter().find(|(_, r)| cents(r) > 0) {
                    let amt = cents(crem).min(remaining);
                    remaining -= amt;
                    extra.push_str(&format!("<SetCredit><CreditTxnID>{cid}</CreditTxnID><AppliedAmount>{}.{:02}</AppliedAmount></SetCredit>", amt / 100, amt % 100));
                }
            }
            if remaining > 0 && rng.chance(30) {
                let d = remaining.min(500);
                extra.push_str(&format!("<DiscountAmount>{}.{:02}</DiscountAmount><DiscountAccountRef><FullName>Discounts</FullName></DiscountAccountRef>", d / 100, d % 100));
            }
            let total = pay + if rng.chance(20) { 1000 } else { 0 };
            format!(
                "{head}<TotalAmount>{}.{:02}</TotalAmount><AppliedToTxnAdd><TxnID>{id}</TxnID><PaymentAmount>{}.{:02}</PaymentAmount>{extra}</AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>",
                total / 100, total % 100, pay / 100, pay % 100
            )
        }
        7 => format!(
            "<BillAddRq><BillAdd><VendorRef><FullName>{vendor}</FullName></VendorRef><TxnDate>{date}</TxnDate>\
             <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>{}</Amount></ExpenseLineAdd>\
             <ItemLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>{}</Quantity></ItemLineAdd></BillAdd></BillAddRq>",
            rng.money(40_000),
            1 + rng.below(10)
        ),
        8 => format!(
            "<VendorCreditAddRq><VendorCreditAdd><VendorRef><FullName>{vendor}</FullName></VendorRef><TxnDate>{date}</TxnDate>\
             <ExpenseLineAdd><AccountRef><FullName>Materials</FullName></AccountRef><Amount>{}</Amount></ExpenseLineAdd></VendorCreditAdd></VendorCreditAddRq>",
            rng.money(5_000)
        ),
        9 => {
            let bills = ids_of(sim, &format!("<BillQueryRq><EntityFilter><FullName>{vendor}</FullName></EntityFilter><PaidStatus>NotPaidOnly</PaidStatus></BillQueryRq>"), "OpenAmount");
            let Some((id, open)) = (!bills.is_empty()).then(|| rng.pick(&bills).clone()) else {
                return "<HostQueryRq/>".into();
            };
            let open = cents(&open);
            let pay = if rng.chance(15) { open + 5 } else { 1 + (rng.next() % open.max(1) as u64) as i64 };
            format!(
                "<BillPaymentCheckAddRq><BillPaymentCheckAdd><PayeeEntityRef><FullName>{vendor}</FullName></PayeeEntityRef><TxnDate>{date}</TxnDate>\
                 <BankAccountRef><FullName>Checking</FullName></BankAccountRef><IsToBePrinted>false</IsToBePrinted>\
                 <AppliedToTxnAdd><TxnID>{id}</TxnID><PaymentAmount>{}.{:02}</PaymentAmount></AppliedToTxnAdd></BillPaymentCheckAdd></BillPaymentCheckAddRq>",
                pay / 100, pay % 100
            )
        }
        10 => {
            let waiting = ids_of(sim, "<ReceivePaymentToDepositQueryRq/>", "Amount");
            if waiting.is_empty() {
                return "<HostQueryRq/>".into();
            }
            let (id, _) = rng.pick(&waiting).clone();
            format!(
                "<DepositAddRq><DepositAdd><TxnDate>{date}</TxnDate><DepositToAccountRef><FullName>Checking</FullName></DepositToAccountRef>\
                 <DepositLineAdd><PaymentTxnID>{id}</PaymentTxnID></DepositLineAdd></DepositAdd></DepositAddRq>"
            )
        }
        11 => {
            let a = rng.money(30_000);
            format!(
                "<JournalEntryAddRq><JournalEntryAdd><TxnDate>{date}</TxnDate>\
                 <JournalDebitLine><AccountRef><FullName>Materials</FullName></AccountRef><Amount>{a}</Amount></JournalDebitLine>\
                 <JournalCreditLine><AccountRef><FullName>Checking</FullName></AccountRef><Amount>{a}</Amount></JournalCreditLine></JournalEntryAdd></JournalEntryAddRq>"
            )
        }
        14 => format!(
            "<ChargeAddRq><ChargeAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef><TxnDate>{date}</TxnDate>\
             <ItemRef><FullName>Labor</FullName></ItemRef><Quantity>{}</Quantity></ChargeAdd></ChargeAddRq>",
            1 + rng.below(4)
        ),
        15 => {
            // A refund of part of a credit (sometimes more than is left).
            let credits = ids_of(sim, &format!("<CreditMemoQueryRq><EntityFilter><FullName>{customer}</FullName></EntityFilter></CreditMemoQueryRq>"), "CreditRemaining");
            let unused = ids_of(sim, &format!("<ReceivePaymentQueryRq><EntityFilter><FullName>{customer}</FullName></EntityFilter></ReceivePaymentQueryRq>"), "UnusedPayment");
            let open: Vec<_> = credits.into_iter().chain(unused).filter(|(_, r)| cents(r) > 0).collect();
            if open.is_empty() {
                return "<HostQueryRq/>".into();
            }
            let (id, left) = rng.pick(&open).clone();
            let left = cents(&left);
            let amt = if rng.chance(15) { left + 1 } else { 1 + (rng.next() % left as u64) as i64 };
            format!(
                "<ARRefundCreditCardAddRq><ARRefundCreditCardAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef>\
                 <RefundFromAccountRef><FullName>Checking</FullName></RefundFromAccountRef><TxnDate>{date}</TxnDate>\
                 <RefundAppliedToTxnAdd><TxnID>{id}</TxnID><RefundAmount>{}.{:02}</RefundAmount></RefundAppliedToTxnAdd>\
                 </ARRefundCreditCardAdd></ARRefundCreditCardAddRq>",
                amt / 100,
                amt % 100
            )
        }
        16 => format!(
            "<TransferAddRq><TransferAdd><TxnDate>{date}</TxnDate><TransferFromAccountRef><FullName>Checking</FullName></TransferFromAccountRef>\
             <TransferToAccountRef><FullName>Savings</FullName></TransferToAccountRef><Amount>{}</Amount></TransferAdd></TransferAddRq>",
            rng.money(20_000)
        ),
        17 => format!(
            "<SalesTaxPaymentCheckAddRq><SalesTaxPaymentCheckAdd><PayeeEntityRef><FullName>{vendor}</FullName></PayeeEntityRef>\
             <TxnDate>{date}</TxnDate><BankAccountRef><FullName>Checking</FullName></BankAccountRef><IsToBePrinted>false</IsToBePrinted>\
             <SalesTaxPaymentCheckLineAdd><ItemSalesTaxRef><FullName>Tax</FullName></ItemSalesTaxRef><Amount>{}</Amount></SalesTaxPaymentCheckLineAdd>\
             </SalesTaxPaymentCheckAdd></SalesTaxPaymentCheckAddRq>",
            rng.money(3_000)
        ),
        18 => format!(
            "<BuildAssemblyAddRq><BuildAssemblyAdd><ItemInventoryAssemblyRef><FullName>Kit</FullName></ItemInventoryAssemblyRef>\
             <TxnDate>{date}</TxnDate><QuantityToBuild>{}</QuantityToBuild>{}</BuildAssemblyAdd></BuildAssemblyAddRq>",
            1 + rng.below(12),
            if rng.chance(30) { "<MarkPendingIfRequired>true</MarkPendingIfRequired>" } else { "" }
        ),
        19 => format!(
            "<TimeTrackingAddRq><TimeTrackingAdd><TxnDate>{date}</TxnDate><EntityRef><FullName>{vendor}</FullName></EntityRef>\
             <CustomerRef><FullName>{customer}</FullName></CustomerRef><ItemServiceRef><FullName>Labor</FullName></ItemServiceRef>\
             <Duration>PT{}H30M</Duration></TimeTrackingAdd></TimeTrackingAddRq>",
            rng.below(9)
        ),
        20 => {
            let start = rng.below(50_000);
            format!(
                "<VehicleMileageAddRq><VehicleMileageAdd><VehicleRef><FullName>Van</FullName></VehicleRef>\
                 <CustomerRef><FullName>{customer}</FullName></CustomerRef><ItemRef><FullName>Mileage</FullName></ItemRef>\
                 <TripStartDate>{date}</TripStartDate><TripEndDate>{date}</TripEndDate>\
                 <OdometerStart>{start}</OdometerStart><OdometerEnd>{}</OdometerEnd></VehicleMileageAdd></VehicleMileageAddRq>",
                start + rng.below(300)
            )
        }
        12 => format!(
            "<InventoryAdjustmentAddRq><InventoryAdjustmentAdd><AccountRef><FullName>COGS</FullName></AccountRef><TxnDate>{date}</TxnDate>\
             <InventoryAdjustmentLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><QuantityAdjustment><QuantityDifference>{}</QuantityDifference></QuantityAdjustment></InventoryAdjustmentLineAdd></InventoryAdjustmentAdd></InventoryAdjustmentAddRq>",
            rng.below(7) as i64 - 3
        ),
        _ => {
            // A Mod of an invoice: change the first line, drop the rest,
            // add one.
            let invoices = ids_of(sim, "<InvoiceQueryRq/>", "EditSequence");
            if invoices.is_empty() {
                return "<HostQueryRq/>".into();
            }
            let (id, seq) = rng.pick(&invoices).clone();
            let set = sim.send(&format!("<InvoiceQueryRq><TxnID>{id}</TxnID><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"));
            let text = set.document().source().to_string();
            let first = text
                .split("<TxnLineID>")
                .nth(1)
                .and_then(|s| s.split('<').next())
                .unwrap_or("-1")
                .to_string();
            format!(
                "<InvoiceModRq><InvoiceMod><TxnID>{id}</TxnID><EditSequence>{seq}</EditSequence>\
                 <InvoiceLineMod><TxnLineID>{first}</TxnLineID><Quantity>{}</Quantity></InvoiceLineMod>\
                 <InvoiceLineMod><TxnLineID>-1</TxnLineID><ItemRef><FullName>Labor</FullName></ItemRef><Amount>{}</Amount></InvoiceLineMod></InvoiceMod></InvoiceModRq>",
                1 + rng.below(3),
                rng.money(10_000)
            )
        }
    }
}

/// The TxnID and type a successful Add answered with.
fn added(set: &qbxml::ResponseSet) -> Option<(String, String)> {
    let r = set.responses().next()?;
    if r.status_code() != 0 || !r.name().ends_with("AddRs") {
        return None;
    }
    let item = r.items().next()?;
    let ty = item.name().strip_suffix("Ret")?.to_string();
    Some((ty, item.child_text("TxnID")?.to_string()))
}

fn del_or_void(rng: &mut Rng, ty: &str, id: &str) -> String {
    let voidable = !matches!(
        ty,
        "ReceivePayment"
            | "Estimate"
            | "SalesOrder"
            | "PurchaseOrder"
            | "BuildAssembly"
            | "SalesTaxPaymentCheck"
            | "TimeTracking"
            | "VehicleMileage"
            | "TransferInventory"
    );
    if voidable && rng.chance(40) {
        format!("<TxnVoidRq><TxnVoidType>{ty}</TxnVoidType><TxnID>{id}</TxnID></TxnVoidRq>")
    } else {
        format!("<TxnDelRq><TxnDelType>{ty}</TxnDelType><TxnID>{id}</TxnID></TxnDelRq>")
    }
}

fn run(seed: u64, steps: usize) {
    let sim = Sim::with_config(|c| c.durability = Durability::Normal);
    for r in sim.send(SETUP).responses() {
        assert_eq!(r.status_code(), 0, "{}", r.message());
    }
    let db = rusqlite::Connection::open_with_flags(
        sim.path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut rng = Rng(seed);
    let mut world = World { txns: Vec::new() };
    let mut codes: BTreeMap<u32, usize> = BTreeMap::new();
    for step in 0..steps {
        sim.clock.advance(1 + rng.below(100) as i64);
        let what = if rng.chance(15) && !world.txns.is_empty() {
            // Delete or void an older transaction (may be refused: then
            // nothing changes).
            let i = rng.below(world.txns.len());
            let (ty, id) = world.txns[i].clone();
            let rq = del_or_void(&mut rng, &ty, &id);
            let before = snapshot(&sim);
            let set = sim.send(&rq);
            let r = set.responses().next().unwrap();
            *codes.entry(r.status_code()).or_default() += 1;
            if r.status_code() == 0 {
                if rq.contains("TxnDelRq") {
                    world.txns.remove(i);
                }
            } else {
                assert_eq!(
                    before,
                    snapshot(&sim),
                    "seed {seed} step {step}: a refused {rq} changed something"
                );
            }
            rq
        } else {
            let rq = random_request(&mut rng, &sim);
            let before = snapshot(&sim);
            let set = sim.send(&rq);
            let r = set.responses().next().unwrap();
            *codes.entry(r.status_code()).or_default() += 1;
            // Transfers cannot be deleted or voided through the SDK.
            if let Some((ty, id)) = added(&set).filter(|(ty, _)| ty != "Transfer") {
                if rng.chance(25) {
                    // Add then remove at once: every balance it touched is
                    // back where it was.
                    sim.clock.advance(1);
                    let undo = del_or_void(&mut rng, &ty, &id);
                    let u = sim.send(&undo);
                    let ur = u.responses().next().unwrap();
                    assert_eq!(
                        ur.status_code(),
                        0,
                        "seed {seed} step {step}: {undo}: {}",
                        ur.message()
                    );
                    let mut after = snapshot(&sim);
                    let mut before = before.clone();
                    // Accounts QuickBooks creates on first use (Sales Tax
                    // Payable, …) stay, at zero.
                    after.retain(|k, v| before.contains_key(k) || v != "0.00");
                    // A voided transaction stays, with nothing open.
                    after.retain(|k, _| !k.contains(&id));
                    before.retain(|k, _| !k.contains(&id));
                    assert_eq!(
                        before, after,
                        "seed {seed} step {step}: {rq} then {undo} did not restore"
                    );
                    if undo.contains("TxnVoidRq") {
                        world.txns.push((ty, id));
                    }
                } else {
                    world.txns.push((ty, id));
                }
            } else if r.status_code() != 0 && r.severity() == qbxml::Severity::Error {
                assert_eq!(
                    before,
                    snapshot(&sim),
                    "seed {seed} step {step}: refused {rq} ({}) changed something",
                    r.message()
                );
            }
            rq
        };
        invariants(&sim, &db, &format!("seed {seed} step {step} after {what}"));
    }
    // The run did exercise refusals and successes.
    assert!(
        codes.get(&0).copied().unwrap_or(0) > steps / 2,
        "seed {seed}: {codes:?}"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "seed {seed:#x}: {steps} steps, status codes {codes:?}"
    );
    sim.check_schema();
}

#[test]
fn random_sequences_keep_the_books_balanced() {
    let seeds: u64 = std::env::var("LEDGER_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    for s in 0..seeds {
        run(0x1ED6_E500 + s * 7919, 60);
    }
}

/// The generated sample company's business: QuickBooks refuses none of
/// it, and its books balance.
#[test]
fn sample_year_is_accepted_and_balances() {
    let sim = Sim::with_config(|c| c.durability = Durability::Normal);
    qbsim::sample::generate(
        &sim.company,
        qbsim::sample::SampleSize {
            customers: 20,
            vendors: 6,
        },
    )
    .unwrap();
    let s = qbsim::sample::transactions(
        &sim.company,
        qbsim::sample::TxnPlan {
            days: 120,
            invoices_per_day: 2,
        },
    )
    .unwrap();
    assert_eq!(s.refused, 0, "{:?}", s.first_refusal);
    assert!(s.added > 300, "{s:?}");
    let db = rusqlite::Connection::open_with_flags(
        sim.path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let count = |t: &str| -> i64 {
        db.query_row("SELECT COUNT(*) FROM txn WHERE type=?1", [t], |r| r.get(0))
            .unwrap()
    };
    for t in [
        "Invoice",
        "ReceivePayment",
        "Deposit",
        "Bill",
        "BillPaymentCheck",
        "Check",
        "JournalEntry",
        "SalesReceipt",
    ] {
        assert!(count(t) > 0, "no {t}");
    }
    invariants_lite(&sim, &db);
}

/// The ledger invariants without the per-customer scans (a bigger file).
fn invariants_lite(sim: &Sim, db: &rusqlite::Connection) {
    let total: i64 = scalar(db, "SELECT COALESCE(SUM(amount),0) FROM posting");
    assert_eq!(total, 0);
    let open = sum_of(sim, "<InvoiceQueryRq/>", "BalanceRemaining")
        - sum_of(sim, "<CreditMemoQueryRq/>", "CreditRemaining")
        - sum_of(sim, "<ReceivePaymentQueryRq/>", "UnusedPayment");
    let ar = sum_of(
        sim,
        "<AccountQueryRq><FullName>Accounts Receivable</FullName></AccountQueryRq>",
        "Balance",
    );
    let customers = sum_of(sim, "<CustomerQueryRq/>", "Balance");
    // Customers may carry opening balances (sample customers do): those
    // are A/R without an open document.
    let opening: i64 = scalar(db, "SELECT COALESCE(SUM(amount),0) FROM posting WHERE txn LIKE 'open:%' AND entity IS NOT NULL \
             AND account=(SELECT id FROM list WHERE ns='Account' AND name='Accounts Receivable')");
    assert_eq!(open + opening, ar);
    assert_eq!(customers, ar);
}
