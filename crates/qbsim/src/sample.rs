//! A generated sample company for the demo, the tests and the
//! benchmarks. (The entries every company file has are `builtins.rs`.)
//!
//! The sample company is made by our own code from small word lists and a
//! fixed-seed generator, so it is the same on every run; it goes in through
//! ordinary Add requests (one transaction), so it obeys every rule a
//! client's data does.

use crate::store::{self};
use crate::{Company, Failure};
use qbxml::Elem;

/// What a generated sample company contains.
#[derive(Clone, Copy, Debug)]
pub struct SampleSize {
    /// Top-level customers (about a third get one to three jobs).
    pub customers: usize,
    pub vendors: usize,
}

impl Default for SampleSize {
    /// The demo company: ~150 customers and jobs, 50 vendors.
    fn default() -> SampleSize {
        SampleSize {
            customers: 100,
            vendors: 50,
        }
    }
}

/// A small deterministic generator (xorshift), so samples are reproducible.
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

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }

    fn pick_owned(&mut self, xs: &[String]) -> String {
        xs[self.below(xs.len())].clone()
    }
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Carla", "Dev", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jon", "Kira", "Luis",
    "Mona", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Viktor", "Wen",
    "Xavi", "Yara", "Zeno",
];
const LAST: &[&str] = &[
    "Abbott",
    "Baptiste",
    "Castellano",
    "Dunmore",
    "Eriksen",
    "Fairbanks",
    "Goldberg",
    "Haddad",
    "Ivanova",
    "Jaramillo",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rasmussen",
    "Sandoval",
    "Takahashi",
    "Ueda",
    "Valdez",
    "Whitfield",
    "Xu",
    "Yilmaz",
    "Zimmermann",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Bayshore", "CA", "94326"),
    ("Middlefield", "CA", "94482"),
    ("Riverton", "OR", "97002"),
    ("Lakeview", "WA", "98001"),
    ("Cedar Falls", "NV", "89001"),
];
const STREETS: &[&str] = &[
    "Oak St",
    "Harbor Rd",
    "Mill Ave",
    "Ridge Ln",
    "Main St",
    "Elm Ct",
];
const JOBS: &[&str] = &[
    "Kitchen", "Bathroom", "Deck", "Garage", "Roof", "Basement", "Office",
];
const TRADES: &[&str] = &[
    "Lumber",
    "Electric",
    "Plumbing",
    "Concrete",
    "Paint",
    "Glass",
    "Roofing",
    "Tile",
    "Steel",
    "Insulation",
];
const FIRM: &[&str] = &[
    "Supply", "Works", "Brothers", "& Sons", "Co.", "Depot", "Partners",
];

fn rq(name: &str, body: Elem) -> Elem {
    Elem::new(format!("{name}Rq")).child(body)
}

fn add(kind: &str) -> Elem {
    Elem::new(format!("{kind}Add"))
}

fn reff(name: &str, full: &str) -> Elem {
    Elem::new(name.to_string()).with("FullName", full)
}

fn address(rng: &mut Rng, line1: &str) -> Elem {
    let (city, state, zip) = CITIES[rng.below(CITIES.len())];
    Elem::new("BillAddress")
        .with("Addr1", line1)
        .with(
            "Addr2",
            format!("{} {}", 100 + rng.below(9800), rng.pick(STREETS)),
        )
        .with("City", city)
        .with("State", state)
        .with("PostalCode", zip)
}

/// The chart of accounts, by type in QuickBooks' order, with numbers.
fn accounts() -> Vec<Elem> {
    let list: &[(&str, &str, &str, Option<&str>)] = &[
        ("10100", "Checking", "Bank", None),
        ("10300", "Savings", "Bank", None),
        ("11000", "Accounts Receivable", "AccountsReceivable", None),
        ("12000", "Undeposited Funds", "OtherCurrentAsset", None),
        ("12100", "Inventory Asset", "OtherCurrentAsset", None),
        ("15000", "Furniture and Equipment", "FixedAsset", None),
        ("15100", "Vehicles", "FixedAsset", None),
        ("15110", "Original Cost", "FixedAsset", Some("Vehicles")),
        ("15120", "Depreciation", "FixedAsset", Some("Vehicles")),
        ("18700", "Security Deposits", "OtherAsset", None),
        ("20000", "Accounts Payable", "AccountsPayable", None),
        ("20500", "Business Credit Card", "CreditCard", None),
        (
            "24000",
            "Payroll Liabilities",
            "OtherCurrentLiability",
            None,
        ),
        ("25500", "Sales Tax Payable", "OtherCurrentLiability", None),
        ("28100", "Equipment Loan", "LongTermLiability", None),
        ("30000", "Opening Balance Equity", "Equity", None),
        ("32000", "Retained Earnings", "Equity", None),
        ("40100", "Construction Income", "Income", None),
        (
            "40110",
            "Labor Income",
            "Income",
            Some("Construction Income"),
        ),
        (
            "40120",
            "Materials Income",
            "Income",
            Some("Construction Income"),
        ),
        (
            "40199",
            "Discounts Given",
            "Income",
            Some("Construction Income"),
        ),
        ("50100", "Cost of Goods Sold", "CostOfGoodsSold", None),
        ("54000", "Job Expenses", "CostOfGoodsSold", None),
        (
            "54300",
            "Job Materials",
            "CostOfGoodsSold",
            Some("Job Expenses"),
        ),
        (
            "54500",
            "Subcontractors",
            "CostOfGoodsSold",
            Some("Job Expenses"),
        ),
        ("60100", "Automobile", "Expense", None),
        ("60110", "Fuel", "Expense", Some("Automobile")),
        ("60600", "Bank Service Charges", "Expense", None),
        ("62100", "Insurance", "Expense", None),
        ("63900", "Rent", "Expense", None),
        ("65100", "Utilities", "Expense", None),
        ("70200", "Interest Income", "OtherIncome", None),
        ("80100", "Other Expenses", "OtherExpense", None),
    ];
    list.iter()
        .map(|(num, name, t, parent)| {
            let mut a = add("Account").with("Name", *name);
            if let Some(p) = parent {
                a.push(reff("ParentRef", p));
            }
            a = a.with("AccountType", *t).with("AccountNumber", *num);
            rq("AccountAdd", a)
        })
        .collect()
}

fn simple_lists() -> Vec<Elem> {
    let mut out = Vec::new();
    for c in ["Remodel", "New Construction", "Overhead"] {
        out.push(rq("ClassAdd", add("Class").with("Name", c)));
    }
    for (n, days) in [
        ("Due on receipt", 0),
        ("Net 15", 15),
        ("Net 30", 30),
        ("Net 60", 60),
    ] {
        out.push(rq(
            "StandardTermsAdd",
            add("StandardTerms")
                .with("Name", n)
                .with("StdDueDays", days.to_string()),
        ));
    }
    out.push(rq(
        "StandardTermsAdd",
        add("StandardTerms")
            .with("Name", "1% 10 Net 30")
            .with("StdDueDays", "30")
            .with("StdDiscountDays", "10")
            .with("DiscountPct", "1.0"),
    ));
    out.push(rq(
        "DateDrivenTermsAdd",
        add("DateDrivenTerms")
            .with("Name", "Due 10th")
            .with("DayOfMonthDue", "10")
            .with("DueNextMonthDays", "5"),
    ));
    for (n, t) in [
        ("Cash", "Cash"),
        ("Check", "Check"),
        ("Visa", "Visa"),
        ("MasterCard", "MasterCard"),
        ("American Express", "AmericanExpress"),
    ] {
        out.push(rq(
            "PaymentMethodAdd",
            add("PaymentMethod")
                .with("Name", n)
                .with("PaymentMethodType", t),
        ));
    }
    for n in ["UPS", "FedEx", "USPS", "DHL"] {
        out.push(rq("ShipMethodAdd", add("ShipMethod").with("Name", n)));
    }
    out.push(rq(
        "SalesTaxCodeAdd",
        add("SalesTaxCode")
            .with("Name", "Out")
            .with("IsTaxable", "false")
            .with("Desc", "Out-of-state sale"),
    ));
    for n in ["Commercial", "Residential", "Referral"] {
        out.push(rq("CustomerTypeAdd", add("CustomerType").with("Name", n)));
    }
    out.push(rq(
        "CustomerTypeAdd",
        add("CustomerType")
            .with("Name", "Web")
            .child(reff("ParentRef", "Referral")),
    ));
    for n in ["Materials", "Subcontractors", "Tax agency", "Utilities"] {
        out.push(rq("VendorTypeAdd", add("VendorType").with("Name", n)));
    }
    for n in ["Remodel", "New Construction", "Repair"] {
        out.push(rq("JobTypeAdd", add("JobType").with("Name", n)));
    }
    out
}

fn people(rng: &mut Rng, size: &SampleSize) -> Vec<Elem> {
    let mut out = Vec::new();
    out.push(rq(
        "VendorAdd",
        add("Vendor")
            .with("Name", "State Board of Equalization")
            .child(reff("VendorTypeRef", "Tax agency")),
    ));
    for i in 0..size.vendors {
        let name = format!(
            "{} {} {}",
            LAST[i % LAST.len()],
            TRADES[(i / LAST.len() + i) % TRADES.len()],
            FIRM[i % FIRM.len()]
        );
        let name = if i >= LAST.len() * TRADES.len() {
            format!("{name} {i}")
        } else {
            name
        };
        let mut v = add("Vendor")
            .with("Name", name.clone())
            .with("CompanyName", name.clone());
        let mut a = address(rng, &name);
        a.name = "VendorAddress".into();
        v.push(a);
        v = v
            .with("Phone", format!("555-{:04}", rng.below(10_000)))
            .child(reff(
                "VendorTypeRef",
                rng.pick(&["Materials", "Subcontractors", "Utilities"]),
            ))
            .child(reff("TermsRef", rng.pick(&["Net 15", "Net 30"])));
        if rng.below(3) == 0 {
            v = v.with(
                "OpenBalance",
                format!("{}.{:02}", rng.below(5000), rng.below(100)),
            );
        }
        out.push(rq("VendorAdd", v));
    }
    for i in 0..8 {
        out.push(rq(
            "EmployeeAdd",
            add("Employee")
                .with("FirstName", FIRST[(i * 5) % FIRST.len()])
                .with("LastName", LAST[(i * 7 + 3) % LAST.len()])
                .with("Phone", format!("555-{:04}", 2000 + i)),
        ));
    }
    for n in ["Owner Draw", "Bank of Anycity", "Misc Payee"] {
        out.push(rq("OtherNameAdd", add("OtherName").with("Name", n)));
    }
    let e0 = format!("{} {}", FIRST[0], LAST[3]);
    let e1 = format!("{} {}", FIRST[5], LAST[10]);
    for (initial, who) in [("AL", e0), ("FK", e1)] {
        out.push(rq(
            "SalesRepAdd",
            add("SalesRep")
                .with("Initial", initial)
                .child(reff("SalesRepEntityRef", &who)),
        ));
    }
    out
}

fn items() -> Vec<Elem> {
    let mut out = Vec::new();
    out.push(rq(
        "ItemSalesTaxAdd",
        add("ItemSalesTax")
            .with("Name", "Bayshore County")
            .with("ItemDesc", "County sales tax")
            .with("TaxRate", "8.75")
            .child(reff("TaxVendorRef", "State Board of Equalization")),
    ));
    out.push(rq(
        "ItemSalesTaxAdd",
        add("ItemSalesTax")
            .with("Name", "Out of State")
            .with("TaxRate", "0.0")
            .child(reff("TaxVendorRef", "State Board of Equalization")),
    ));
    for (n, price, parent) in [
        ("Labor", "55.00", None),
        ("Framing", "55.00", Some("Labor")),
        ("Finish Carpentry", "65.00", Some("Labor")),
        ("Design", "85.00", None),
        ("Inspection", "120.00", None),
    ] {
        let mut i = add("ItemService").with("Name", n);
        if let Some(p) = parent {
            i.push(reff("ParentRef", p));
        }
        i = i.child(reff("SalesTaxCodeRef", "Non")).child(
            Elem::new("SalesOrPurchase")
                .with("Desc", format!("{n} services"))
                .with("Price", price)
                .child(reff("AccountRef", "Construction Income:Labor Income")),
        );
        out.push(rq("ItemServiceAdd", i));
    }
    for (n, price, cost, qty) in [
        ("Cabinet Pulls", "6.00", "3.00", "420"),
        ("Door Frame", "28.00", "16.00", "21"),
        ("Light Fixture", "32.00", "19.00", "48"),
        ("Window", "180.00", "120.00", "12"),
    ] {
        out.push(rq(
            "ItemInventoryAdd",
            add("ItemInventory")
                .with("Name", n)
                .child(reff("SalesTaxCodeRef", "Tax"))
                .with("SalesDesc", n)
                .with("SalesPrice", price)
                .child(reff(
                    "IncomeAccountRef",
                    "Construction Income:Materials Income",
                ))
                .with("PurchaseDesc", n)
                .with("PurchaseCost", cost)
                .child(reff("COGSAccountRef", "Cost of Goods Sold"))
                .child(reff("AssetAccountRef", "Inventory Asset"))
                .with("QuantityOnHand", qty),
        ));
    }
    for (n, price) in [
        ("Lumber", "0.00"),
        ("Hardware", "0.00"),
        ("Permit Fee", "150.00"),
    ] {
        out.push(rq(
            "ItemNonInventoryAdd",
            add("ItemNonInventory")
                .with("Name", n)
                .child(reff("SalesTaxCodeRef", "Tax"))
                .child(
                    Elem::new("SalesOrPurchase")
                        .with("Desc", n)
                        .with("Price", price)
                        .child(reff("AccountRef", "Construction Income:Materials Income")),
                ),
        ));
    }
    out.push(rq(
        "ItemOtherChargeAdd",
        add("ItemOtherCharge")
            .with("Name", "Freight")
            .child(reff("SalesTaxCodeRef", "Non"))
            .child(
                Elem::new("SalesOrPurchase")
                    .with("Desc", "Freight and delivery")
                    .with("Price", "25.00")
                    .child(reff("AccountRef", "Construction Income:Materials Income")),
            ),
    ));
    out.push(rq(
        "ItemSubtotalAdd",
        add("ItemSubtotal")
            .with("Name", "Subtotal")
            .with("ItemDesc", "Subtotal"),
    ));
    out.push(rq(
        "ItemDiscountAdd",
        add("ItemDiscount")
            .with("Name", "10% Off")
            .with("ItemDesc", "Ten percent discount")
            .child(reff("SalesTaxCodeRef", "Non"))
            .with("DiscountRatePercent", "10.0")
            .child(reff("AccountRef", "Construction Income:Discounts Given")),
    ));
    out.push(rq(
        "ItemPaymentAdd",
        add("ItemPayment")
            .with("Name", "Deposit")
            .with("ItemDesc", "Customer deposit")
            .child(reff("DepositToAccountRef", "Undeposited Funds"))
            .child(reff("PaymentMethodRef", "Check")),
    ));
    out.push(rq(
        "ItemGroupAdd",
        add("ItemGroup")
            .with("Name", "Door Kit")
            .with("ItemDesc", "Door frame with hardware")
            .with("IsPrintItemsInGroup", "true")
            .child(
                Elem::new("ItemGroupLine")
                    .child(reff("ItemRef", "Door Frame"))
                    .with("Quantity", "1"),
            )
            .child(
                Elem::new("ItemGroupLine")
                    .child(reff("ItemRef", "Cabinet Pulls"))
                    .with("Quantity", "2"),
            ),
    ));
    out.push(rq(
        "PriceLevelAdd",
        add("PriceLevel")
            .with("Name", "Commercial -10%")
            .with("PriceLevelFixedPercentage", "-10.0"),
    ));
    out
}

fn customers(rng: &mut Rng, size: &SampleSize) -> Vec<Elem> {
    let mut out = Vec::new();
    let combos = FIRST.len() * LAST.len();
    for i in 0..size.customers {
        let (first, last) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
        let name = if i < combos {
            format!("{last}, {first}")
        } else {
            format!("{last}, {first} {:06}", i / combos)
        };
        let commercial = rng.below(4) == 0;
        let mut c = add("Customer").with("Name", name.clone());
        if commercial {
            c = c.with("CompanyName", format!("{last} {}", rng.pick(FIRM)));
        }
        c = c
            .with("FirstName", first)
            .with("LastName", last)
            .child(address(rng, &format!("{first} {last}")))
            .with("Phone", format!("555-{:04}", rng.below(10_000)))
            .with(
                "Email",
                format!(
                    "{}.{}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
            )
            .child(reff(
                "CustomerTypeRef",
                if commercial {
                    "Commercial"
                } else {
                    "Residential"
                },
            ))
            .child(reff(
                "TermsRef",
                rng.pick(&["Net 30", "Due on receipt", "Net 15"]),
            ))
            .child(reff("SalesTaxCodeRef", "Tax"))
            .child(reff("ItemSalesTaxRef", "Bayshore County"));
        if rng.below(3) == 0 {
            c = c.with(
                "OpenBalance",
                format!("{}.{:02}", rng.below(3000), rng.below(100)),
            );
        }
        out.push(rq("CustomerAdd", c));
        if rng.below(3) == 0 {
            let jobs = 1 + rng.below(3);
            let start = rng.below(JOBS.len());
            for j in 0..jobs {
                let job = JOBS[(start + j) % JOBS.len()];
                let mut a = add("Customer")
                    .with("Name", job)
                    .child(reff("ParentRef", &name))
                    .child(reff(
                        "JobTypeRef",
                        rng.pick(&["Remodel", "Repair", "New Construction"]),
                    ));
                if rng.below(2) == 0 {
                    a = a.with(
                        "OpenBalance",
                        format!("{}.{:02}", rng.below(2000), rng.below(100)),
                    );
                }
                a = a.with(
                    "JobStatus",
                    rng.pick(&["Awarded", "InProgress", "Pending", "Closed"]),
                );
                out.push(rq("CustomerAdd", a));
            }
        }
    }
    out
}

/// Fill `company` with a generated sample company (on top of whatever it
/// has; names that exist already are answered 3100 and skipped).
/// Returns the number of records added.
pub fn generate(company: &Company, size: SampleSize) -> Result<usize, Failure> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut requests = accounts();
    requests.extend(simple_lists());
    requests.extend(people(&mut rng, &size));
    requests.extend(items());
    requests.extend(customers(&mut rng, &size));
    let mut added = 0;
    // Chunks keep each message set (and its response) a reasonable size.
    for chunk in requests.chunks(5_000) {
        let mut xml = String::from(
            "<?xml version=\"1.0\"?><?qbxml version=\"16.0\"?><QBXML><QBXMLMsgsRq onError=\"continueOnError\">",
        );
        for r in chunk {
            let mut r = r.clone();
            // Elements in schema order (the builder's job for clients).
            let schema = qbxml::schema::Schema::for_version(qbxml::Version::V16_0);
            if let Some(p) = schema.request(&r.name) {
                let _ = r.order_by_schema(p.decl(), None);
            }
            r.write_to(&mut xml);
        }
        xml.push_str("</QBXMLMsgsRq></QBXML>");
        let rs = company.process_bulk(xml.as_bytes())?;
        added += rs.matches("statusCode=\"0\"").count();
    }
    Ok(added)
}

/// How much business the sample company does.
#[derive(Clone, Copy, Debug)]
pub struct TxnPlan {
    /// Days of business, ending today (in the company's zone).
    pub days: u32,
    /// Invoices per day (payments, bills, deposits, … follow from them).
    pub invoices_per_day: u32,
}

impl Default for TxnPlan {
    /// The demo company: a year, three invoices a day (~3,000
    /// transactions).
    fn default() -> TxnPlan {
        TxnPlan {
            days: 365,
            invoices_per_day: 3,
        }
    }
}

/// What [`transactions`] made, and what QuickBooks refused (a sample that
/// QuickBooks refuses anything of is a bug: tests assert zero).
#[derive(Clone, Debug, Default)]
pub struct TxnSummary {
    pub added: usize,
    pub refused: usize,
    pub first_refusal: Option<String>,
}

const SERVICES: &[&str] = &[
    "Labor:Framing",
    "Labor:Finish Carpentry",
    "Design",
    "Inspection",
];
const STOCK: &[(&str, u32)] = &[
    ("Cabinet Pulls", 12),
    ("Door Frame", 2),
    ("Light Fixture", 4),
    ("Window", 1),
];

/// Names of a list, from the company itself.
fn names_of(company: &Company, query: &str, field: &str) -> Result<Vec<String>, Failure> {
    let rs = company.process_bulk(
        format!(
            "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"continueOnError\">{query}</QBXMLMsgsRq></QBXML>"
        )
        .as_bytes(),
    )?;
    let set = qbxml::parse_response(rs)
        .map_err(|e| Failure::new(qbxml::HResult(0x8004_0402), e.to_string()))?;
    let mut out = Vec::new();
    for r in set.responses() {
        for i in r.items() {
            if let Some(n) = i.child_text(field) {
                out.push(n.to_string());
            }
        }
    }
    Ok(out)
}

/// One request of a day's batch, and what to remember of its answer.
enum Then {
    Nothing,
    /// An invoice: pay it on this day (days since 1970), maybe.
    PayInvoice(Option<i64>, String),
    /// A bill: pay it on this day.
    PayBill(i64, String),
    /// A payment into Undeposited Funds: deposit it.
    Deposit,
}

/// Fill `company` with a year (by default) of a small contractor's
/// business, through ordinary Add requests, one day per message set:
/// invoices (services and stock, with sales tax), payments for most of
/// them weeks later (a few partial, a few with a discount), weekly
/// deposits of what came in, sales receipts, credit memos, estimates and
/// sales orders, bills for materials and subcontractors paid by check a
/// month later, stock bought on bills, monthly rent, utilities and card
/// charges, a depreciation journal entry each month and a stock count
/// each quarter. Needs the lists of [`generate`]. Deterministic.
pub fn transactions(company: &Company, plan: TxnPlan) -> Result<TxnSummary, Failure> {
    let customers = names_of(
        company,
        "<CustomerQueryRq><IncludeRetElement>FullName</IncludeRetElement></CustomerQueryRq>",
        "FullName",
    )?;
    let vendors: Vec<String> = names_of(
        company,
        "<VendorQueryRq><IncludeRetElement>Name</IncludeRetElement></VendorQueryRq>",
        "Name",
    )?
    .into_iter()
    .filter(|v| v != "State Board of Equalization")
    .collect();
    let mut summary = TxnSummary::default();
    if customers.is_empty() || vendors.is_empty() {
        return Ok(summary);
    }
    let mut rng = Rng(0x0DDB_A11C_0FFE_E5ED);
    let today = crate::clock::parse_date(&company_today(company)).unwrap_or(0);
    let start = today - plan.days as i64 + 1;
    // Payments and bill payments due later: day → requests.
    let mut later: std::collections::BTreeMap<i64, Vec<(Elem, Then)>> = Default::default();
    let mut undeposited: Vec<String> = Vec::new();
    for day in start..=today {
        let date = crate::clock::date_text(day);
        let (_, month, dom) = crate::clock::civil_from_days(day);
        let weekday = (day + 4).rem_euclid(7); // 0 = Sunday
        let mut batch: Vec<(Elem, Then)> = later.remove(&day).unwrap_or_default();
        if weekday != 0 && weekday != 6 {
            for _ in 0..plan.invoices_per_day {
                let customer = rng.pick_owned(&customers);
                let mut inv = add("Invoice")
                    .child(reff("CustomerRef", &customer))
                    .with("TxnDate", date.clone());
                for _ in 0..1 + rng.below(4) {
                    let line = if rng.below(3) == 0 {
                        let (item, max) = STOCK[rng.below(STOCK.len())];
                        Elem::new("InvoiceLineAdd")
                            .child(reff("ItemRef", item))
                            .with("Quantity", (1 + rng.below(max as usize)).to_string())
                    } else {
                        Elem::new("InvoiceLineAdd")
                            .child(reff("ItemRef", rng.pick(SERVICES)))
                            .with("Quantity", (1 + rng.below(16)).to_string())
                    };
                    inv.push(line);
                }
                let pay = (rng.below(100) < 85).then(|| day + 7 + rng.below(45) as i64);
                batch.push((rq("InvoiceAdd", inv), Then::PayInvoice(pay, customer)));
            }
            if rng.below(3) == 0 {
                let sr = add("SalesReceipt")
                    .child(reff("CustomerRef", &rng.pick_owned(&customers)))
                    .with("TxnDate", date.clone())
                    .child(reff("PaymentMethodRef", "Visa"))
                    .child(
                        Elem::new("SalesReceiptLineAdd")
                            .child(reff("ItemRef", "Inspection"))
                            .with("Quantity", "1"),
                    );
                batch.push((rq("SalesReceiptAdd", sr), Then::Deposit));
            }
            if rng.below(40) == 0 {
                let cm = add("CreditMemo")
                    .child(reff("CustomerRef", &rng.pick_owned(&customers)))
                    .with("TxnDate", date.clone())
                    .child(
                        Elem::new("CreditMemoLineAdd")
                            .child(reff("ItemRef", "Labor:Finish Carpentry"))
                            .with("Amount", format!("{}.00", 50 + rng.below(200))),
                    );
                batch.push((rq("CreditMemoAdd", cm), Then::Nothing));
            }
            for kind in ["Estimate", "SalesOrder"] {
                if rng.below(10) == 0 {
                    let e = add(kind)
                        .child(reff("CustomerRef", &rng.pick_owned(&customers)))
                        .with("TxnDate", date.clone())
                        .child(
                            Elem::new(format!("{kind}LineAdd"))
                                .child(reff("ItemRef", "Labor:Framing"))
                                .with("Quantity", (8 + rng.below(40)).to_string()),
                        );
                    batch.push((rq(&format!("{kind}Add"), e), Then::Nothing));
                }
            }
            if rng.below(3) == 0 {
                let vendor = rng.pick_owned(&vendors);
                let (account, cents) = if rng.below(2) == 0 {
                    ("Job Expenses:Job Materials", 5_000 + rng.below(120_000))
                } else {
                    ("Job Expenses:Subcontractors", 20_000 + rng.below(300_000))
                };
                let bill = add("Bill")
                    .child(reff("VendorRef", &vendor))
                    .with("TxnDate", date.clone())
                    .with("DueDate", crate::clock::date_text(day + 30))
                    .child(
                        Elem::new("ExpenseLineAdd")
                            .child(reff("AccountRef", account))
                            .with("Amount", store::money(cents as i64)),
                    );
                batch.push((
                    rq("BillAdd", bill),
                    Then::PayBill(day + 25 + rng.below(10) as i64, vendor),
                ));
            }
        }
        // Mondays: restock, on a bill; and a purchase order for next week.
        if weekday == 1 {
            let vendor = rng.pick_owned(&vendors);
            let mut bill = add("Bill")
                .child(reff("VendorRef", &vendor))
                .with("TxnDate", date.clone())
                .with("DueDate", crate::clock::date_text(day + 30));
            let mut po = add("PurchaseOrder")
                .child(reff("VendorRef", &vendor))
                .with("TxnDate", date.clone());
            for (item, max) in STOCK {
                let q = (*max as usize * plan.invoices_per_day as usize).max(1) + rng.below(3);
                bill.push(
                    Elem::new("ItemLineAdd")
                        .child(reff("ItemRef", item))
                        .with("Quantity", q.to_string()),
                );
                po.push(
                    Elem::new("PurchaseOrderLineAdd")
                        .child(reff("ItemRef", item))
                        .with("Quantity", q.to_string()),
                );
            }
            batch.push((rq("BillAdd", bill), Then::PayBill(day + 28, vendor)));
            batch.push((rq("PurchaseOrderAdd", po), Then::Nothing));
        }
        // The first of the month: rent, utilities, the card, depreciation.
        if dom == 1 {
            let check = add("Check")
                .child(reff("AccountRef", "Checking"))
                .child(reff("PayeeEntityRef", &vendors[0]))
                .with("TxnDate", date.clone())
                .with("IsToBePrinted", "false")
                .child(
                    Elem::new("ExpenseLineAdd")
                        .child(reff("AccountRef", "Rent"))
                        .with("Amount", "2400.00"),
                );
            batch.push((rq("CheckAdd", check), Then::Nothing));
            let card = add("CreditCardCharge")
                .child(reff("AccountRef", "Business Credit Card"))
                .with("TxnDate", date.clone())
                .child(
                    Elem::new("ExpenseLineAdd")
                        .child(reff("AccountRef", "Automobile:Fuel"))
                        .with("Amount", store::money(20_000 + rng.below(30_000) as i64)),
                );
            batch.push((rq("CreditCardChargeAdd", card), Then::Nothing));
            let je = add("JournalEntry")
                .with("TxnDate", date.clone())
                .child(
                    Elem::new("JournalDebitLine")
                        .child(reff("AccountRef", "Other Expenses"))
                        .with("Amount", "350.00")
                        .with("Memo", "Vehicle depreciation"),
                )
                .child(
                    Elem::new("JournalCreditLine")
                        .child(reff("AccountRef", "Vehicles:Depreciation"))
                        .with("Amount", "350.00")
                        .with("Memo", "Vehicle depreciation"),
                );
            batch.push((rq("JournalEntryAdd", je), Then::Nothing));
            if matches!(month, 1 | 4 | 7 | 10) {
                let adj = add("InventoryAdjustment")
                    .child(reff("AccountRef", "Cost of Goods Sold"))
                    .with("TxnDate", date.clone())
                    .with("Memo", "Quarterly stock count")
                    .child(
                        Elem::new("InventoryAdjustmentLineAdd")
                            .child(reff("ItemRef", "Cabinet Pulls"))
                            .child(
                                Elem::new("QuantityAdjustment").with("QuantityDifference", "-3"),
                            ),
                    );
                batch.push((rq("InventoryAdjustmentAdd", adj), Then::Nothing));
            }
        }
        // Fridays: deposit the week's checks and card receipts.
        let deposit_today = weekday == 5 && !undeposited.is_empty();
        // Run the day, remembering what the answers say.
        if !batch.is_empty() {
            let answers = run_day(company, &batch)?;
            for ((_, then), answer) in batch.into_iter().zip(answers) {
                let Some((txn, amount, refused)) = answer else {
                    continue;
                };
                if let Some(why) = refused {
                    summary.refused += 1;
                    summary.first_refusal.get_or_insert(why);
                    continue;
                }
                summary.added += 1;
                match then {
                    Then::Nothing => {}
                    Then::Deposit => undeposited.push(txn),
                    Then::PayInvoice(Some(when), customer) if when <= today => {
                        // Most pay in full; some pay half now, some take
                        // the 2% early discount.
                        let cents = store::cents(&amount);
                        let (paid, discount) = match rng.below(10) {
                            0 => (cents / 2, 0),
                            1 => (cents - cents / 50, cents / 50),
                            _ => (cents, 0),
                        };
                        let mut applied = Elem::new("AppliedToTxnAdd")
                            .with("TxnID", txn)
                            .with("PaymentAmount", store::money(paid));
                        if discount > 0 {
                            applied.push(Elem::leaf("DiscountAmount", store::money(discount)));
                            applied.push(reff(
                                "DiscountAccountRef",
                                "Construction Income:Discounts Given",
                            ));
                        }
                        let p = add("ReceivePayment")
                            .child(reff("CustomerRef", &customer))
                            .with("TxnDate", crate::clock::date_text(when))
                            .with("RefNumber", format!("{}", 1000 + rng.below(9000)))
                            .with("TotalAmount", store::money(paid))
                            .child(reff("PaymentMethodRef", "Check"))
                            .child(applied);
                        later
                            .entry(when)
                            .or_default()
                            .push((rq("ReceivePaymentAdd", p), Then::Deposit));
                    }
                    Then::PayInvoice(..) => {}
                    Then::PayBill(when, vendor) if when <= today => {
                        let bp = add("BillPaymentCheck")
                            .child(reff("PayeeEntityRef", &vendor))
                            .with("TxnDate", crate::clock::date_text(when))
                            .child(reff("BankAccountRef", "Checking"))
                            .with("IsToBePrinted", "false")
                            .child(
                                Elem::new("AppliedToTxnAdd")
                                    .with("TxnID", txn)
                                    .with("PaymentAmount", amount),
                            );
                        later
                            .entry(when)
                            .or_default()
                            .push((rq("BillPaymentCheckAdd", bp), Then::Nothing));
                    }
                    Then::PayBill(..) => {}
                }
            }
        }
        if deposit_today || (day == today && !undeposited.is_empty()) {
            let mut dep = add("Deposit")
                .with("TxnDate", date.clone())
                .child(reff("DepositToAccountRef", "Checking"));
            for id in undeposited.drain(..) {
                dep.push(Elem::new("DepositLineAdd").with("PaymentTxnID", id));
            }
            let answers = run_day(company, &[(rq("DepositAdd", dep), Then::Nothing)])?;
            for a in answers.into_iter().flatten() {
                match a.2 {
                    Some(why) => {
                        summary.refused += 1;
                        summary.first_refusal.get_or_insert(why);
                    }
                    None => summary.added += 1,
                }
            }
        }
    }
    company
        .set_budget(&sample_budget(today))
        .map_err(|e| Failure::new(qbxml::HResult(0x8004_041C), format!("company file: {e}")))?;
    Ok(summary)
}

/// The sample company's budget for this fiscal year: monthly income and
/// the expenses it plans for, in the accounts' own sign (`BudgetSummary`
/// reports compare it with what the year brings).
fn sample_budget(today: i64) -> crate::BudgetPlan {
    let (year, _, _) = crate::clock::civil_from_days(today);
    let line = |account: &str, monthly: i64| crate::BudgetLine {
        account: account.to_string(),
        customer: None,
        months: [monthly; 12],
    };
    crate::BudgetPlan {
        fiscal_year: year as i32,
        criterion: "Accounts".into(),
        lines: vec![
            line("Construction Income", 2_500_000),
            line("Job Expenses", 900_000),
            line("Automobile", 30_000),
            line("Automobile:Fuel", 25_000),
            line("Insurance", 60_000),
            line("Rent", 250_000),
            line("Utilities", 40_000),
        ],
    }
}

/// Today in the company's zone, as QuickBooks would date a new form.
fn company_today(company: &Company) -> String {
    company
        .with_inner(|inner| Ok(inner.config.time_zone.date(inner.config.clock.now())))
        .unwrap_or_default()
}

/// Send one day's requests as one message set (one SQLite transaction).
/// Per request: (TxnID, the amount still open, why it was refused).
type DayAnswer = Option<(String, String, Option<String>)>;

fn run_day(company: &Company, batch: &[(Elem, Then)]) -> Result<Vec<DayAnswer>, Failure> {
    let schema = qbxml::schema::Schema::for_version(qbxml::Version::V13_0);
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"continueOnError\">",
    );
    for (r, _) in batch {
        let mut r = r.clone();
        if let Some(p) = schema.request(&r.name) {
            let _ = r.order_by_schema(p.decl(), None);
        }
        r.write_to(&mut xml);
    }
    xml.push_str("</QBXMLMsgsRq></QBXML>");
    let rs = company.process_bulk(xml.as_bytes())?;
    let set = qbxml::parse_response(rs)
        .map_err(|e| Failure::new(qbxml::HResult(0x8004_0402), e.to_string()))?;
    Ok(set
        .responses()
        .map(|r| {
            if r.status_code() != 0 {
                return Some((
                    String::new(),
                    String::new(),
                    Some(format!("{}: {}", r.name(), r.message())),
                ));
            }
            let item = r.items().next()?;
            let txn = item.child_text("TxnID")?.to_string();
            let open = item
                .child_text("BalanceRemaining")
                .or_else(|| item.child_text("OpenAmount"))
                .or_else(|| item.child_text("AmountDue"))
                .unwrap_or("0.00")
                .to_string();
            Some((txn, open, None))
        })
        .collect())
}
