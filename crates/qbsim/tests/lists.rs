//! Every list: Add → Query → Mod → Query → ListDel → Query, with each
//! status code QuickBooks gives on the way (FACTS §2, §5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::Sim;

/// (kind, the Add's fields after the name, the name element, a Mod's
/// change or "" when the schema has no Mod for the list).
const CASES: &[(&str, &str, &str, &str)] = &[
    ("Account", "<AccountType>Bank</AccountType><AccountNumber>1090</AccountNumber>", "Name", "<Desc>Cash box</Desc>"),
    ("Customer", "<CompanyName>Acme Inc</CompanyName><BillAddress><Addr1>1 Main St</Addr1><City>Bayshore</City><State>CA</State><PostalCode>94326</PostalCode></BillAddress><TermsRef><FullName>Net 30</FullName></TermsRef>", "Name", "<Phone>555-0100</Phone>"),
    ("Vendor", "<CompanyName>Lumber Co</CompanyName>", "Name", "<Phone>555-0101</Phone>"),
    ("Employee", "", "", "<Phone>555-0102</Phone>"),
    ("OtherName", "<Phone>555-0103</Phone>", "Name", "<Phone>555-0104</Phone>"),
    ("Class", "", "Name", "<IsActive>false</IsActive>"),
    ("StandardTerms", "<StdDueDays>45</StdDueDays>", "Name", ""),
    ("DateDrivenTerms", "<DayOfMonthDue>10</DayOfMonthDue>", "Name", ""),
    ("PaymentMethod", "<PaymentMethodType>Check</PaymentMethodType>", "Name", ""),
    ("SalesTaxCode", "<IsTaxable>false</IsTaxable><Desc>Exempt</Desc>", "Name", "<Desc>Exempt sale</Desc>"),
    ("ShipMethod", "", "Name", ""),
    ("CustomerType", "", "Name", ""),
    ("VendorType", "", "Name", ""),
    ("JobType", "", "Name", ""),
    ("SalesRep", "<SalesRepEntityRef><FullName>Ann Lee</FullName></SalesRepEntityRef>", "Initial", "<IsActive>false</IsActive>"),
    ("ItemService", "<SalesOrPurchase><Desc>Labor</Desc><Price>55.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase>", "Name", "<SalesOrPurchaseMod><Price>60.00</Price></SalesOrPurchaseMod>"),
    ("ItemNonInventory", "<SalesOrPurchase><Desc>Nails</Desc><Price>2.5</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase>", "Name", "<ManufacturerPartNumber>N-1</ManufacturerPartNumber>"),
    ("ItemInventory", "<SalesPrice>10.00</SalesPrice><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><COGSAccountRef><FullName>COGS</FullName></COGSAccountRef><AssetAccountRef><FullName>Stock</FullName></AssetAccountRef>", "Name", "<SalesPrice>11.00</SalesPrice>"),
    ("ItemOtherCharge", "<SalesOrPurchase><Price>25.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase>", "Name", "<IsActive>false</IsActive>"),
    ("ItemSalesTax", "<TaxRate>8.75</TaxRate>", "Name", "<TaxRate>9.25</TaxRate>"),
    ("ItemSubtotal", "<ItemDesc>Subtotal</ItemDesc>", "Name", "<ItemDesc>Sub total</ItemDesc>"),
    ("ItemDiscount", "<DiscountRatePercent>10</DiscountRatePercent><AccountRef><FullName>Sales</FullName></AccountRef>", "Name", "<ItemDesc>Ten off</ItemDesc>"),
    ("ItemPayment", "<ItemDesc>Deposit</ItemDesc>", "Name", "<ItemDesc>Down payment</ItemDesc>"),
    ("CustomerMsg", "", "Name", ""),
    ("Vehicle", "<Desc>Delivery van</Desc>", "Name", "<Desc>White van</Desc>"),
    ("PayrollItemWage", "<WageType>HourlyRegular</WageType><ExpenseAccountRef><FullName>COGS</FullName></ExpenseAccountRef>", "Name", ""),
    ("ItemInventoryAssembly", "<IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><COGSAccountRef><FullName>COGS</FullName></COGSAccountRef><AssetAccountRef><FullName>Stock</FullName></AssetAccountRef><ItemInventoryAssemblyLine><ItemInventoryRef><FullName>Test ItemInventory</FullName></ItemInventoryRef><Quantity>2</Quantity></ItemInventoryAssemblyLine>", "Name", "<SalesPrice>40.00</SalesPrice>"),
    ("ItemFixedAsset", "<AcquiredAs>New</AcquiredAs><PurchaseDesc>Truck</PurchaseDesc><PurchaseDate>2026-01-15</PurchaseDate><PurchaseCost>30000.00</PurchaseCost>", "Name", "<Location>Yard</Location>"),
    ("ItemSalesTaxGroup", "<ItemSalesTaxRef><FullName>Test ItemSalesTax</FullName></ItemSalesTaxRef>", "Name", "<ItemDesc>County and city</ItemDesc>"),
    ("ItemGroup", "<ItemGroupLine><ItemRef><FullName>Test ItemService</FullName></ItemRef><Quantity>2</Quantity></ItemGroupLine>", "Name", "<ItemDesc>Kit</ItemDesc>"),
    ("PriceLevel", "<PriceLevelFixedPercentage>-10</PriceLevelFixedPercentage>", "Name", "<PriceLevelFixedPercentage>-15</PriceLevelFixedPercentage>"),
    ("Currency", "<CurrencyCode>XTS</CurrencyCode>", "Name", "<IsActive>false</IsActive>"),
    ("BillingRate", "<FixedBillingRate>85.00</FixedBillingRate>", "Name", ""),
    ("WorkersCompCode", "<RateEntry><Rate>1.25</Rate><EffectiveDate>2020-01-01</EffectiveDate></RateEntry>", "Name", "<Desc>Office</Desc>"),
    ("InventorySite", "<SiteDesc>Back room</SiteDesc>", "Name", "<Phone>555-0105</Phone>"),
    ("UnitOfMeasureSet", "<UnitOfMeasureType>Count</UnitOfMeasureType><BaseUnit><Name>each</Name><Abbreviation>ea</Abbreviation></BaseUnit>", "Name", ""),
];

fn setup(sim: &Sim) {
    let set = sim.send(
        "<AccountAddRq><AccountAdd><Name>Sales</Name><AccountType>Income</AccountType></AccountAdd></AccountAddRq>\
         <AccountAddRq><AccountAdd><Name>COGS</Name><AccountType>CostOfGoodsSold</AccountType></AccountAdd></AccountAddRq>\
         <AccountAddRq><AccountAdd><Name>Stock</Name><AccountType>OtherCurrentAsset</AccountType></AccountAdd></AccountAddRq>\
         <EmployeeAddRq><EmployeeAdd><FirstName>Ann</FirstName><LastName>Lee</LastName></EmployeeAdd></EmployeeAddRq>\
         <StandardTermsAddRq><StandardTermsAdd><Name>Net 30</Name><StdDueDays>30</StdDueDays></StandardTermsAdd></StandardTermsAddRq>",
    );
    for r in set.responses() {
        assert_eq!(r.status_code(), 0, "{}", r.message());
    }
}

fn names(kind: &str) -> (String, String) {
    match kind {
        "SalesTaxCode" => ("Ex".into(), "Exm".into()),
        "SalesRep" => ("TT".into(), "TU".into()),
        // Workers' comp code names are at most 13 characters.
        "WorkersCompCode" => ("Test WC".into(), "Renamed WC".into()),
        _ => (format!("Test {kind}"), format!("Renamed {kind}")),
    }
}

fn add_request(kind: &str, name_el: &str, name: &str, fields: &str) -> String {
    let name_part = if kind == "Employee" {
        let (first, last) = name.split_once(' ').unwrap();
        format!("<FirstName>{first}</FirstName><LastName>{last}</LastName>")
    } else {
        format!("<{name_el}>{name}</{name_el}>")
    };
    format!("<{kind}AddRq><{kind}Add>{name_part}{fields}</{kind}Add></{kind}AddRq>")
}

fn query(kind: &str, by: &str, value: &str) -> String {
    format!("<{kind}QueryRq><{by}>{value}</{by}></{kind}QueryRq>")
}

#[test]
fn every_list_add_query_mod_del() {
    let sim = Sim::new();
    setup(&sim);
    for &(kind, fields, name_el, modify) in CASES {
        let (name, renamed) = names(kind);
        let name_field = if kind == "SalesRep" {
            "Initial"
        } else {
            "Name"
        };
        let t = sim.clock.now();
        let fmt = |secs: i64| qbsim::TimeZone::default().format(secs);

        // Add.
        let rs = sim.one(&add_request(kind, name_el, &name, fields));
        rs.ok();
        let ret = rs.item();
        assert_eq!(ret.name, format!("{kind}Ret"));
        let id = ret.must("ListID").to_string();
        let (hex, epoch) = id.split_once('-').unwrap();
        assert!(u64::from_str_radix(hex, 16).is_ok(), "{id}");
        assert_eq!(hex, hex.to_uppercase());
        assert_eq!(epoch, t.to_string(), "ListID suffix is the creation time");
        assert_eq!(ret.must("EditSequence"), t.to_string());
        assert_eq!(ret.must("TimeCreated"), fmt(t));
        assert_eq!(ret.must(name_field), name);
        if ret.get("IsActive").is_some() {
            assert_eq!(ret.must("IsActive"), "true");
        }

        // The same name again, in other case: 3100.
        let dup = sim.one(&add_request(kind, name_el, &name.to_uppercase(), fields));
        assert_eq!(dup.code, 3100, "{kind}: {}", dup.message);
        assert_eq!(dup.severity, "Error");
        assert_eq!(
            dup.message,
            format!(
                "The name \"{}\" of the list element is already in use.",
                name.to_uppercase()
            )
        );
        assert!(dup.items.is_empty());

        // Query by ListID and by FullName (case-insensitive).
        let q = sim.one(&query(kind, "ListID", &id));
        q.ok();
        assert_eq!(q.items.len(), 1);
        assert_eq!(q.item().must("ListID"), id);
        let q = sim.one(&query(kind, "FullName", &name.to_lowercase()));
        assert_eq!(q.code, 0, "{kind} by FullName: {}", q.message);
        assert_eq!(q.item().must("ListID"), id);

        // Mod, where the schema has one.
        sim.clock.advance(10);
        let mut current_seq = t.to_string();
        let mut current_name = name.clone();
        if !modify.is_empty() {
            let rename = if kind == "Employee" {
                "<FirstName>Renamed</FirstName>".to_string()
            } else {
                format!("<{name_field}>{renamed}</{name_field}>")
            };
            let stale = format!(
                "<{kind}ModRq><{kind}Mod><ListID>{id}</ListID><EditSequence>1</EditSequence>{rename}</{kind}Mod></{kind}ModRq>"
            );
            let rs = sim.one(&stale);
            assert_eq!(rs.code, 3200, "{kind}: {}", rs.message);
            assert_eq!(
                rs.message,
                "The provided edit sequence \"1\" is out-of-date. "
            );
            let missing = format!(
                "<{kind}ModRq><{kind}Mod><ListID>7777-1</ListID><EditSequence>{t}</EditSequence>{rename}</{kind}Mod></{kind}ModRq>"
            );
            let rs = sim.one(&missing);
            assert_eq!(rs.code, 3120, "{kind}: {}", rs.message);
            assert_eq!(
                rs.message,
                "Object \"7777-1\" specified in the request cannot be found.  QuickBooks error message: Invalid argument.  The specified record does not exist in the list."
            );
            let good = format!(
                "<{kind}ModRq><{kind}Mod><ListID>{id}</ListID><EditSequence>{t}</EditSequence>{rename}{modify}</{kind}Mod></{kind}ModRq>"
            );
            let rs = sim.one(&good);
            assert_eq!(rs.code, 0, "{kind} mod: {}", rs.message);
            let ret = rs.item();
            assert_eq!(ret.must("ListID"), id, "ListID never changes");
            assert_eq!(ret.must("EditSequence"), (t + 10).to_string());
            assert_eq!(ret.must("TimeCreated"), fmt(t));
            assert_eq!(ret.must("TimeModified"), fmt(t + 10));
            current_seq = (t + 10).to_string();
            current_name = if kind == "Employee" {
                "Renamed Employee".to_string()
            } else {
                renamed.clone()
            };
            assert_eq!(ret.must(name_field), current_name, "{kind}");
            // A Mod's sub-aggregate (`SalesOrPurchaseMod`) changes what the
            // Add's (`SalesOrPurchase`) gave.
            if kind == "ItemService" {
                let text = sim.send_text(&query(kind, "ListID", &id));
                assert!(text.contains("<Price>60.00</Price>"), "{text}");
            }
            // The old name is gone: a query by it is a 500 warning.
            let q = sim.one(&query(kind, "FullName", &name));
            assert_eq!(q.code, 500, "{kind}");
            assert_eq!(q.severity, "Warn");
            assert!(q.items.is_empty());
            // The stale sequence is now the one we held before.
            let again = format!(
                "<{kind}ModRq><{kind}Mod><ListID>{id}</ListID><EditSequence>{t}</EditSequence></{kind}Mod></{kind}ModRq>"
            );
            assert_eq!(sim.one(&again).code, 3200);
        }
        let q = sim.one(&format!(
            "<{kind}QueryRq><ListID>{id}</ListID></{kind}QueryRq>"
        ));
        assert_eq!(q.item().must("EditSequence"), current_seq);
        assert_eq!(q.item().must(name_field), current_name);

        // ListDel, then it is gone.
        let del = format!(
            "<ListDelRq><ListDelType>{kind}</ListDelType><ListID>{id}</ListID></ListDelRq>"
        );
        let rs = sim.one(&del);
        assert_eq!(rs.code, 0, "{kind} del: {}", rs.message);
        let f = &rs.items;
        let leaf = |n: &str| {
            f.iter()
                .find(|i| i.name == n)
                .map(|i| i.fields[0].1.clone())
        };
        assert_eq!(leaf("ListDelType").as_deref(), Some(kind));
        assert_eq!(leaf("ListID").as_deref(), Some(id.as_str()));
        assert_eq!(leaf("TimeDeleted").as_deref(), Some(fmt(t + 10).as_str()));
        assert!(leaf("FullName").is_some());
        assert_eq!(sim.one(&del).code, 3120, "{kind}: deleting twice");
        let q = sim.one(&query(kind, "ListID", &id));
        assert_eq!(q.code, 500, "{kind}: query of a deleted ID");
        assert_eq!(
            q.message,
            format!("The query request has not been fully completed. There was a required element (\"{id}\") that could not be found in QuickBooks.")
        );
        let q = sim.one(&format!(
            "<{kind}QueryRq><NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>{current_name}</Name></NameFilter></{kind}QueryRq>"
        ));
        assert_eq!(q.code, 1, "{kind}: a filter that matches nothing");
        assert_eq!(
            q.message,
            "A query request did not find a matching object in QuickBooks"
        );
        let deleted = sim.one(&format!(
            "<ListDeletedQueryRq><ListDelType>{kind}</ListDelType></ListDeletedQueryRq>"
        ));
        deleted.ok();
        assert!(deleted
            .items
            .iter()
            .any(|i| i.get("ListID") == Some(id.as_str())));
        // The name is free again.
        sim.one(&add_request(kind, name_el, &name, fields)).ok();
    }
    sim.check_schema();
}

#[test]
fn invalid_references_and_too_long_values() {
    let sim = Sim::new();
    let rs = sim.one("<CustomerAddRq><CustomerAdd><Name>A</Name><TermsRef><FullName>Net 99</FullName></TermsRef></CustomerAdd></CustomerAddRq>");
    assert_eq!(rs.code, 3140);
    assert_eq!(
        rs.message,
        "There is an invalid reference to QuickBooks Terms \"Net 99\" in the Customer.  QuickBooks error message: Invalid argument.  The specified record does not exist in the list."
    );
    // Nothing was saved.
    assert_eq!(
        sim.one("<CustomerQueryRq><FullName>A</FullName></CustomerQueryRq>")
            .code,
        500
    );
    // ListID wins over FullName.
    let t = sim.one("<StandardTermsAddRq><StandardTermsAdd><Name>Net 30</Name></StandardTermsAdd></StandardTermsAddRq>");
    let tid = t.item().must("ListID").to_string();
    let rs = sim.one(&format!("<CustomerAddRq><CustomerAdd><Name>B</Name><TermsRef><ListID>{tid}</ListID><FullName>Nonsense</FullName></TermsRef></CustomerAdd></CustomerAddRq>"));
    rs.ok();
    assert_eq!(rs.item().must("TermsRef.FullName"), "Net 30");
    let rs = sim.one("<CustomerAddRq><CustomerAdd><Name>C</Name><TermsRef><ListID>1-1</ListID><FullName>Net 30</FullName></TermsRef></CustomerAdd></CustomerAddRq>");
    assert_eq!(rs.code, 3140);
    assert!(rs
        .message
        .contains("QuickBooks Terms \"1-1\" in the Customer"));
    // A reference into the wrong list is invalid too.
    let rs = sim.one("<CustomerAddRq><CustomerAdd><Name>D</Name><SalesRepRef><FullName>N30</FullName></SalesRepRef></CustomerAdd></CustomerAddRq>");
    assert_eq!(rs.code, 3140);
    // 42 characters: QuickBooks refuses, it does not truncate.
    let long = "x".repeat(42);
    let rs = sim.one(&format!(
        "<CustomerAddRq><CustomerAdd><Name>{long}</Name></CustomerAdd></CustomerAddRq>"
    ));
    assert_eq!(rs.code, 3070);
    assert_eq!(
        rs.message,
        format!("The string \"{long}\" in the field \"Name\" is too long.")
    );
    // A field QuickBooks Desktop does not support: saved without it, 530.
    let rs = sim.one("<CustomerAddRq><CustomerAdd><Name>E</Name><SalesTaxCountry>US</SalesTaxCountry></CustomerAdd></CustomerAddRq>");
    assert_eq!(rs.code, 530);
    assert_eq!(rs.severity, "Warn");
    assert_eq!(
        rs.message,
        "The field \"SalesTaxCountry\" is not supported by this implementation."
    );
    assert!(rs.item().get("SalesTaxCountry").is_none());
    // A part given empty stores nothing, and an aggregate that cannot be
    // without it is not stored either (the Ret must still validate).
    let set = sim.send("<CustomerAddRq><CustomerAdd><Name>F</Name><AdditionalContactRef><ContactName>Pager</ContactName><ContactValue></ContactValue></AdditionalContactRef><AdditionalContactRef><ContactName>Fax</ContactName><ContactValue>555-0199</ContactValue></AdditionalContactRef></CustomerAdd></CustomerAddRq>");
    let r = set.responses().next().unwrap();
    assert_eq!(r.status_code(), 0);
    let contacts: Vec<(String, String)> = r
        .items()
        .next()
        .unwrap()
        .children()
        .filter(|c| c.name() == "AdditionalContactRef")
        .map(|c| {
            let text = |n| c.child_text(n).unwrap_or("-").to_string();
            (text("ContactName"), text("ContactValue"))
        })
        .collect();
    assert_eq!(contacts, [("Fax".to_string(), "555-0199".to_string())]);
    // Names are unique across customers, vendors, employees, other names.
    let rs = sim.one("<VendorAddRq><VendorAdd><Name>b</Name></VendorAdd></VendorAddRq>");
    assert_eq!(rs.code, 3100);
    // Request types QuickBooks Desktop does not have (the ops file: "not
    // in QBD") are refused per request.
    let rs = sim.one("<SalesTaxReturnQueryRq/>");
    assert_eq!(rs.code, 1030);
    assert_eq!(
        rs.message,
        "This request is not supported by this implementation."
    );
    sim.check_schema();
}

#[test]
fn hierarchy_names_balances_and_in_use() {
    let sim = Sim::new();
    sim.send(
        "<CustomerAddRq><CustomerAdd><Name>Parent</Name><OpenBalance>100.00</OpenBalance></CustomerAdd></CustomerAddRq>\
         <CustomerAddRq><CustomerAdd><Name>Job</Name><ParentRef><FullName>Parent</FullName></ParentRef><OpenBalance>20.50</OpenBalance></CustomerAdd></CustomerAddRq>\
         <CustomerAddRq><CustomerAdd><Name>Phase</Name><ParentRef><FullName>parent:job</FullName></ParentRef><OpenBalance>1.25</OpenBalance></CustomerAdd></CustomerAddRq>\
         <CustomerAddRq><CustomerAdd><Name>Other</Name></CustomerAdd></CustomerAddRq>\
         <CustomerAddRq><CustomerAdd><Name>Job</Name><ParentRef><FullName>Other</FullName></ParentRef></CustomerAdd></CustomerAddRq>",
    );
    let all = sim.one("<CustomerQueryRq/>");
    all.ok();
    let got: Vec<(String, String, String, String)> = all
        .items
        .iter()
        .map(|i| {
            (
                i.must("FullName").to_string(),
                i.must("Sublevel").to_string(),
                i.must("Balance").to_string(),
                i.must("TotalBalance").to_string(),
            )
        })
        .collect();
    let want = [
        ("Other", "0", "0.00", "0.00"),
        ("Other:Job", "1", "0.00", "0.00"),
        ("Parent", "0", "100.00", "121.75"),
        ("Parent:Job", "1", "20.50", "21.75"),
        ("Parent:Job:Phase", "2", "1.25", "1.25"),
    ];
    let want: Vec<(String, String, String, String)> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(
        got, want,
        "list order: alphabetical, jobs right after their parent"
    );
    let job = &all.items[3];
    assert_eq!(job.must("ParentRef.FullName"), "Parent");
    assert!(all.items[0].get("ParentRef.FullName").is_none());

    // Rename the parent: the children's FullName follows.
    let p = &all.items[2];
    let rs = sim.one(&format!(
        "<CustomerModRq><CustomerMod><ListID>{}</ListID><EditSequence>{}</EditSequence><Name>Zeta</Name></CustomerMod></CustomerModRq>",
        p.must("ListID"),
        p.must("EditSequence")
    ));
    rs.ok();
    let all = sim.one("<CustomerQueryRq/>");
    let full: Vec<&str> = all.items.iter().map(|i| i.must("FullName")).collect();
    assert_eq!(
        full,
        ["Other", "Other:Job", "Zeta", "Zeta:Job", "Zeta:Job:Phase"]
    );
    assert_eq!(all.items[4].must("ParentRef.FullName"), "Zeta:Job");

    // A parent and a referenced record are in use.
    let rs = sim.one(&format!(
        "<ListDelRq><ListDelType>Customer</ListDelType><ListID>{}</ListID></ListDelRq>",
        all.items[2].must("ListID")
    ));
    assert_eq!(rs.code, 3176);
    assert_eq!(
        rs.message,
        "There was an error when deleting the Customer list element \"Zeta\".  QuickBooks error message: This list element is in use."
    );
    sim.one("<StandardTermsAddRq><StandardTermsAdd><Name>Net 10</Name></StandardTermsAdd></StandardTermsAddRq>").ok();
    let c = sim.one("<CustomerAddRq><CustomerAdd><Name>T</Name><TermsRef><FullName>Net 10</FullName></TermsRef></CustomerAdd></CustomerAddRq>");
    let terms = sim.one("<TermsQueryRq><FullName>Net 10</FullName></TermsQueryRq>");
    let tid = terms.item().must("ListID").to_string();
    let del = format!(
        "<ListDelRq><ListDelType>StandardTerms</ListDelType><ListID>{tid}</ListID></ListDelRq>"
    );
    assert_eq!(sim.one(&del).code, 3176);
    // Clear the reference with an empty element: then it can go.
    let ci = c.item();
    sim.one(&format!(
        "<CustomerModRq><CustomerMod><ListID>{}</ListID><EditSequence>{}</EditSequence><TermsRef><FullName></FullName></TermsRef></CustomerMod></CustomerModRq>",
        ci.must("ListID"),
        ci.must("EditSequence")
    ));
    let after = sim.one("<CustomerQueryRq><FullName>T</FullName></CustomerQueryRq>");
    assert!(after.item().get("TermsRef.FullName").is_none(), "cleared");
    sim.one(&del).ok();

    // A record cannot become its own descendant's child.
    let all = sim.one("<CustomerQueryRq/>");
    let zeta = all
        .items
        .iter()
        .find(|i| i.must("FullName") == "Zeta")
        .unwrap();
    let rs = sim.one(&format!(
        "<CustomerModRq><CustomerMod><ListID>{}</ListID><EditSequence>{}</EditSequence><ParentRef><FullName>Zeta:Job</FullName></ParentRef></CustomerMod></CustomerModRq>",
        zeta.must("ListID"),
        zeta.must("EditSequence")
    ));
    assert_eq!(rs.code, 3140);

    // A job with an opening balance has a transaction behind it (the
    // ledger's opening entry): it is in use and cannot be deleted, and
    // nothing moves.
    let all = sim.one("<CustomerQueryRq/>");
    let phase = all
        .items
        .iter()
        .find(|i| i.must("FullName") == "Zeta:Job:Phase")
        .unwrap();
    let rs = sim.one(&format!(
        "<ListDelRq><ListDelType>Customer</ListDelType><ListID>{}</ListID></ListDelRq>",
        phase.must("ListID")
    ));
    assert_eq!(rs.code, 3176);
    let z = sim.one("<CustomerQueryRq><FullName>Zeta</FullName></CustomerQueryRq>");
    assert_eq!(z.item().must("TotalBalance"), "121.75");
    sim.check_schema();
}

#[test]
fn accounts_in_chart_order() {
    let sim = Sim::new();
    sim.send(
        "<AccountAddRq><AccountAdd><Name>Rent</Name><AccountType>Expense</AccountType><AccountNumber>63900</AccountNumber></AccountAdd></AccountAddRq>\
         <AccountAddRq><AccountAdd><Name>Savings</Name><AccountType>Bank</AccountType><AccountNumber>10300</AccountNumber></AccountAdd></AccountAddRq>\
         <AccountAddRq><AccountAdd><Name>Checking</Name><AccountType>Bank</AccountType><AccountNumber>10100</AccountNumber></AccountAdd></AccountAddRq>\
         <AccountAddRq><AccountAdd><Name>Vehicles</Name><AccountType>FixedAsset</AccountType><AccountNumber>15100</AccountNumber></AccountAdd></AccountAddRq>\
         <AccountAddRq><AccountAdd><Name>Depreciation</Name><ParentRef><FullName>Vehicles</FullName></ParentRef><AccountType>FixedAsset</AccountType><AccountNumber>1520</AccountNumber></AccountAdd></AccountAddRq>\
         <AccountAddRq><AccountAdd><Name>Buildings</Name><AccountType>FixedAsset</AccountType><AccountNumber>15200</AccountNumber></AccountAdd></AccountAddRq>\
         <AccountAddRq><AccountAdd><Name>Payables</Name><AccountType>AccountsPayable</AccountType><AccountNumber>20000</AccountNumber></AccountAdd></AccountAddRq>",
    );
    let rs = sim.one("<AccountQueryRq/>");
    let order: Vec<&str> = rs.items.iter().map(|i| i.must("FullName")).collect();
    assert_eq!(
        order,
        [
            "Checking",
            "Savings",
            "Vehicles",
            "Vehicles:Depreciation",
            "Buildings",
            "Payables",
            "Rent"
        ]
    );
    let rs = sim.one("<AccountQueryRq><AccountType>Bank</AccountType></AccountQueryRq>");
    assert_eq!(rs.items.len(), 2);
    // Renumbering a parent moves it with its subaccounts.
    let v = sim.one("<AccountQueryRq><FullName>Vehicles</FullName></AccountQueryRq>");
    let v = v.item();
    sim.one(&format!(
        "<AccountModRq><AccountMod><ListID>{}</ListID><EditSequence>{}</EditSequence><AccountNumber>19000</AccountNumber></AccountMod></AccountModRq>",
        v.must("ListID"),
        v.must("EditSequence")
    ))
    .ok();
    let rs = sim.one("<AccountQueryRq/>");
    let order: Vec<&str> = rs.items.iter().map(|i| i.must("FullName")).collect();
    assert_eq!(
        order,
        [
            "Checking",
            "Savings",
            "Buildings",
            "Vehicles",
            "Vehicles:Depreciation",
            "Payables",
            "Rent"
        ]
    );
    let cash: Vec<&str> = rs
        .items
        .iter()
        .map(|i| i.must("CashFlowClassification"))
        .collect();
    assert_eq!(cash[..3], ["NotApplicable", "NotApplicable", "Investing"]);
    sim.check_schema();
}

#[test]
fn query_filters() {
    let sim = Sim::new();
    sim.send(
        "<ClassAddRq><ClassAdd><Name>East</Name></ClassAdd></ClassAddRq>\
         <ClassAddRq><ClassAdd><Name>North</Name><ParentRef><FullName>East</FullName></ParentRef></ClassAdd></ClassAddRq>\
         <CustomerAddRq><CustomerAdd><Name>Alpha</Name><OpenBalance>50.00</OpenBalance></CustomerAdd></CustomerAddRq>\
         <CustomerAddRq><CustomerAdd><Name>Beta</Name><IsActive>false</IsActive></CustomerAdd></CustomerAddRq>\
         <CustomerAddRq><CustomerAdd><Name>Gamma</Name><ClassRef><FullName>East:North</FullName></ClassRef><OpenBalance>500.00</OpenBalance></CustomerAdd></CustomerAddRq>\
         <CustomerAddRq><CustomerAdd><Name>Alphabet</Name></CustomerAdd></CustomerAddRq>",
    );
    let names = |rs: &common::Rs| -> Vec<String> {
        rs.items
            .iter()
            .map(|i| i.must("FullName").to_string())
            .collect()
    };
    let q = |body: &str| sim.one(&format!("<CustomerQueryRq>{body}</CustomerQueryRq>"));
    assert_eq!(
        names(&q("")),
        ["Alpha", "Alphabet", "Gamma"],
        "ActiveOnly by default"
    );
    assert_eq!(names(&q("<ActiveStatus>All</ActiveStatus>")).len(), 4);
    assert_eq!(
        names(&q("<ActiveStatus>InactiveOnly</ActiveStatus>")),
        ["Beta"]
    );
    assert_eq!(
        names(&q("<MaxReturned>2</MaxReturned>")),
        ["Alpha", "Alphabet"]
    );
    let nf = |how: &str, n: &str| {
        names(&q(&format!(
            "<NameFilter><MatchCriterion>{how}</MatchCriterion><Name>{n}</Name></NameFilter>"
        )))
    };
    assert_eq!(nf("StartsWith", "alpha"), ["Alpha", "Alphabet"]);
    assert_eq!(nf("Contains", "MM"), ["Gamma"]);
    assert_eq!(nf("EndsWith", "bet"), ["Alphabet"]);
    assert_eq!(
        names(&q("<NameRangeFilter><FromName>Alphabet</FromName><ToName>Gamma</ToName></NameRangeFilter>")),
        ["Alphabet", "Gamma"]
    );
    assert_eq!(
        names(&q(
            "<NameRangeFilter><FromName>Alpha</FromName><ToName>Alpha</ToName></NameRangeFilter>"
        )),
        ["Alpha", "Alphabet"],
        "ToName includes names it begins"
    );
    assert_eq!(
        names(&q("<TotalBalanceFilter><Operator>GreaterThan</Operator><Amount>49.99</Amount></TotalBalanceFilter>")),
        ["Alpha", "Gamma"]
    );
    assert_eq!(
        names(&q(
            "<TotalBalanceFilter><Operator>Equal</Operator><Amount>0</Amount></TotalBalanceFilter>"
        )),
        ["Alphabet"]
    );
    assert_eq!(
        names(&q(
            "<ClassFilter><FullName>East:North</FullName></ClassFilter>"
        )),
        ["Gamma"]
    );
    assert_eq!(
        names(&q(
            "<ClassFilter><FullNameWithChildren>East</FullNameWithChildren></ClassFilter>"
        )),
        ["Gamma"]
    );
    assert!(names(&q("<ClassFilter><FullName>East</FullName></ClassFilter>")).is_empty());
    // Modified-date range: nothing was modified after now.
    assert_eq!(q("<FromModifiedDate>2023-11-15</FromModifiedDate>").code, 1);
    assert_eq!(
        names(&q("<ToModifiedDate>2023-11-14</ToModifiedDate>")).len(),
        3
    );
    // IncludeRetElement keeps only what is named, in schema order.
    let rs = q("<IncludeRetElement>TotalBalance</IncludeRetElement><IncludeRetElement>Name</IncludeRetElement>");
    assert_eq!(rs.item().children, ["Name", "TotalBalance"]);
    // metaData.
    let rs = sim.one("<CustomerQueryRq metaData=\"MetaDataOnly\"></CustomerQueryRq>");
    assert_eq!(rs.ret_count, Some(3));
    assert!(rs.items.is_empty());
    let rs = sim.one("<CustomerQueryRq metaData=\"MetaDataAndResponseData\"><MaxReturned>1</MaxReturned></CustomerQueryRq>");
    assert_eq!((rs.ret_count, rs.items.len()), (Some(1), 1));
    // ListID/FullName lists: in the order named, missing ones → 500 with the rest.
    let rs = sim.one("<CustomerQueryRq><FullName>Gamma</FullName><FullName>Nope</FullName><FullName>beta</FullName></CustomerQueryRq>");
    assert_eq!(rs.code, 500);
    assert_eq!(
        names(&rs),
        ["Gamma", "Beta"],
        "ActiveStatus does not apply to named records"
    );
    // EntityQuery and ItemQuery span lists.
    sim.one("<VendorAddRq><VendorAdd><Name>Zed Supply</Name></VendorAdd></VendorAddRq>")
        .ok();
    let rs = sim.one("<EntityQueryRq/>");
    let kinds: Vec<&str> = rs.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        kinds,
        ["CustomerRet", "CustomerRet", "CustomerRet", "VendorRet"]
    );
    sim.check_schema();
}

#[test]
fn custom_fields() {
    let sim = Sim::new();
    sim.one("<CustomerAddRq><CustomerAdd><Name>Acme</Name></CustomerAdd></CustomerAddRq>")
        .ok();
    let rs = sim.one("<DataExtDefAddRq><DataExtDefAdd><OwnerID>0</OwnerID><DataExtName>Color</DataExtName><DataExtType>STR255TYPE</DataExtType><AssignToObject>Customer</AssignToObject></DataExtDefAdd></DataExtDefAddRq>");
    rs.ok();
    assert_eq!(rs.item().must("DataExtName"), "Color");
    let dup = sim.one("<DataExtDefAddRq><DataExtDefAdd><OwnerID>0</OwnerID><DataExtName>color</DataExtName><DataExtType>STR255TYPE</DataExtType><AssignToObject>Customer</AssignToObject></DataExtDefAdd></DataExtDefAddRq>");
    assert_eq!(dup.code, 3100);
    let set = |verb: &str, v: &str| {
        sim.one(&format!("<DataExt{verb}Rq><DataExt{verb}><OwnerID>0</OwnerID><DataExtName>Color</DataExtName><ListDataExtType>Customer</ListDataExtType><ListObjRef><FullName>Acme</FullName></ListObjRef><DataExtValue>{v}</DataExtValue></DataExt{verb}></DataExt{verb}Rq>"))
    };
    assert_eq!(set("Mod", "Red").code, 3120, "Mod before Add");
    let rs = set("Add", "Red");
    rs.ok();
    assert_eq!(rs.item().must("DataExtValue"), "Red");
    assert_eq!(set("Add", "Red").code, 3100);
    set("Mod", "Blue").ok();
    let rs =
        sim.one("<CustomerQueryRq><FullName>Acme</FullName><OwnerID>0</OwnerID></CustomerQueryRq>");
    assert!(rs.item().children.contains(&"DataExtRet".to_string()));
    let rs = sim.one("<CustomerQueryRq><FullName>Acme</FullName></CustomerQueryRq>");
    assert!(
        !rs.item().children.contains(&"DataExtRet".to_string()),
        "only when OwnerID is asked"
    );
    let defs = sim.one("<DataExtDefQueryRq><OwnerID>0</OwnerID></DataExtDefQueryRq>");
    assert_eq!(defs.items.len(), 1);
    let del = sim.one("<DataExtDelRq><DataExtDel><OwnerID>0</OwnerID><DataExtName>Color</DataExtName><ListDataExtType>Customer</ListDataExtType><ListObjRef><FullName>Acme</FullName></ListObjRef></DataExtDel></DataExtDelRq>");
    del.ok();
    assert_eq!(del.item().name, "DataExtDelRet");
    let rs =
        sim.one("<CustomerQueryRq><FullName>Acme</FullName><OwnerID>0</OwnerID></CustomerQueryRq>");
    assert!(!rs.item().children.contains(&"DataExtRet".to_string()));
    // Company-level values, private to an application (an OwnerID GUID).
    let owner = "{6B063959-81B0-4A1F-8F5E-1E0F5B4DF1A2}";
    sim.one(&format!("<DataExtDefAddRq><DataExtDefAdd><OwnerID>{owner}</OwnerID><DataExtName>AppLock</DataExtName><DataExtType>STR255TYPE</DataExtType><AssignToObject>Company</AssignToObject></DataExtDefAdd></DataExtDefAddRq>")).ok();
    sim.one(&format!("<DataExtAddRq><DataExtAdd><OwnerID>{owner}</OwnerID><DataExtName>AppLock</DataExtName><OtherDataExtType>Company</OtherDataExtType><DataExtValue>LOCKED</DataExtValue></DataExtAdd></DataExtAddRq>")).ok();
    let c = sim.one(&format!(
        "<CompanyQueryRq><OwnerID>{owner}</OwnerID></CompanyQueryRq>"
    ));
    assert!(c.item().children.contains(&"DataExtRet".to_string()));
    let c = sim.one("<CompanyQueryRq><OwnerID>0</OwnerID></CompanyQueryRq>");
    assert!(
        !c.item().children.contains(&"DataExtRet".to_string()),
        "private to its owner"
    );
    let d = sim.one(&format!("<DataExtDelRq><DataExtDel><OwnerID>{owner}</OwnerID><DataExtName>AppLock</DataExtName><OtherDataExtType>Company</OtherDataExtType></DataExtDel></DataExtDelRq>"));
    d.ok();
    assert_eq!(d.item().must("OtherDataExtType"), "Company");
    let rs = sim.one("<DataExtAddRq><DataExtAdd><OwnerID>0</OwnerID><DataExtName>Size</DataExtName><ListDataExtType>Customer</ListDataExtType><ListObjRef><FullName>Acme</FullName></ListObjRef><DataExtValue>L</DataExtValue></DataExtAdd></DataExtAddRq>");
    assert_eq!(rs.code, 3120, "no such definition");
    sim.check_schema();
}

#[test]
fn host_company_preferences() {
    let sim = Sim::new();
    let set = sim.send("<HostQueryRq/><CompanyQueryRq/><PreferencesQueryRq/>");
    let all: Vec<common::Rs> = set.responses().map(|r| common::Rs::of(&r)).collect();
    for r in &all {
        r.ok();
    }
    let host = all[0].item();
    assert_eq!(host.must("Country"), "US");
    let versions: Vec<&str> = host
        .fields
        .iter()
        .filter(|(k, _)| k == "SupportedQBXMLVersion")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(versions.first(), Some(&"1.0"));
    assert_eq!(versions.last(), Some(&"16.0"));
    assert_eq!(all[1].item().must("CompanyName"), "test");
    assert!(all[2]
        .item()
        .children
        .contains(&"AccountingPreferences".to_string()));
    // Never restored nor condensed: an empty CompanyActivityRet.
    let activity = sim.one("<CompanyActivityQueryRq/>");
    activity.ok();
    assert_eq!(activity.item().name, "CompanyActivityRet");
    assert!(activity.item().children.is_empty());
    // Built-in lists of a new file.
    let codes = sim.one("<SalesTaxCodeQueryRq/>");
    let n: Vec<&str> = codes.items.iter().map(|i| i.must("Name")).collect();
    assert_eq!(n, ["Non", "Tax"]);
    sim.one("<CurrencyQueryRq/>").ok();
    sim.one("<TemplateQueryRq/>").ok();
    assert_eq!(sim.one("<PriceLevelQueryRq/>").code, 1);
    assert_eq!(sim.one("<ItemGroupQueryRq/>").code, 1);
    // Price levels are clients' to add; the Ret says which kind it is.
    let pl = sim.one(
        "<PriceLevelAddRq><PriceLevelAdd><Name>X</Name>\
         <PriceLevelFixedPercentage>-5</PriceLevelFixedPercentage></PriceLevelAdd></PriceLevelAddRq>",
    );
    pl.ok();
    assert_eq!(pl.item().must("PriceLevelType"), "FixedPercentage");
    sim.check_schema();
}

/// A customer message added by a client is one an invoice may name.
#[test]
fn an_invoice_names_a_customer_message() {
    let sim = Sim::new();
    setup(&sim);
    sim.one(&add_request("CustomerMsg", "Name", "Thank you!", ""))
        .ok();
    sim.one("<CustomerAddRq><CustomerAdd><Name>Dana</Name></CustomerAdd></CustomerAddRq>")
        .ok();
    sim.one(&add_request(
        "ItemService",
        "Name",
        "Labor",
        "<SalesOrPurchase><Price>55.00</Price><AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase>",
    ))
    .ok();
    let rs = sim.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Dana</FullName></CustomerRef>\
         <CustomerMsgRef><FullName>Thank you!</FullName></CustomerMsgRef>\
         <InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>\
         </InvoiceAdd></InvoiceAddRq>",
    );
    rs.ok();
    assert_eq!(rs.item().get("CustomerMsgRef.FullName"), Some("Thank you!"));
    let rs = sim.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Dana</FullName></CustomerRef>\
         <CustomerMsgRef><FullName>No such message</FullName></CustomerMsgRef>\
         <InvoiceLineAdd><ItemRef><FullName>Labor</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>\
         </InvoiceAdd></InvoiceAddRq>",
    );
    assert_eq!(rs.code, 3140, "{}", rs.message);
    sim.check_schema();
}

/// What QuickBooks works out for the lists that hold rates (rates.rs) and
/// for sales tax groups and assemblies.
#[test]
fn rates_groups_and_assemblies() {
    let sim = Sim::new();
    setup(&sim);
    // A workers' comp code: the rate in effect today and the next one.
    let wc = sim.one(
        "<WorkersCompCodeAddRq><WorkersCompCodeAdd><Name>8810</Name>\
         <RateEntry><Rate>0.50</Rate><EffectiveDate>2001-01-01</EffectiveDate></RateEntry>\
         <RateEntry><Rate>0.75</Rate><EffectiveDate>2000-01-01</EffectiveDate></RateEntry>\
         <RateEntry><Rate>0.90</Rate><EffectiveDate>2999-01-01</EffectiveDate></RateEntry>\
         </WorkersCompCodeAdd></WorkersCompCodeAddRq>",
    );
    wc.ok();
    let r = wc.item();
    assert_eq!(r.must("CurrentRate"), "0.50");
    assert_eq!(r.must("CurrentEffectiveDate"), "2001-01-01");
    assert_eq!(r.must("NextRate"), "0.90");
    assert_eq!(r.must("NextEffectiveDate"), "2999-01-01");
    assert_eq!(r.children.iter().filter(|c| *c == "RateHistory").count(), 3);
    // A Mod adds a rate; one for a date already there replaces it.
    let (id, seq) = (r.must("ListID"), r.must("EditSequence"));
    let m = sim.one(&format!(
        "<WorkersCompCodeModRq><WorkersCompCodeMod><ListID>{id}</ListID><EditSequence>{seq}</EditSequence>\
         <RateEntry><Rate>0.60</Rate><EffectiveDate>2001-01-01</EffectiveDate></RateEntry>\
         </WorkersCompCodeMod></WorkersCompCodeModRq>"
    ));
    m.ok();
    assert_eq!(m.item().must("CurrentRate"), "0.60");
    assert_eq!(
        m.item()
            .children
            .iter()
            .filter(|c| *c == "RateHistory")
            .count(),
        3
    );

    // Items to price.
    sim.one(&add_request(
        "ItemInventory",
        "Name",
        "Widget",
        "<SalesPrice>10.00</SalesPrice><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><PurchaseCost>4.00</PurchaseCost><COGSAccountRef><FullName>COGS</FullName></COGSAccountRef><AssetAccountRef><FullName>Stock</FullName></AssetAccountRef><QuantityOnHand>10</QuantityOnHand>",
    ))
    .ok();
    // A billing rate per item, given as an adjustment: kept as the custom
    // percentage it comes to.
    let br = sim.one(
        "<BillingRateAddRq><BillingRateAdd><Name>Senior</Name><BillingRatePerItem>\
         <ItemRef><FullName>Widget</FullName></ItemRef><AdjustPercentage>20</AdjustPercentage>\
         <AdjustBillingRateRelativeTo>StandardRate</AdjustBillingRateRelativeTo>\
         </BillingRatePerItem></BillingRateAdd></BillingRateAddRq>",
    );
    br.ok();
    assert_eq!(br.item().must("BillingRateType"), "PerItem");
    assert!(br.item().get("FixedBillingRate").is_none());
    // A price level relative to cost: the custom price it comes to.
    let pl = sim.one(
        "<PriceLevelAddRq><PriceLevelAdd><Name>Cost plus</Name><PriceLevelPerItem>\
         <ItemRef><FullName>Widget</FullName></ItemRef><AdjustPercentage>50</AdjustPercentage>\
         <AdjustRelativeTo>Cost</AdjustRelativeTo></PriceLevelPerItem></PriceLevelAdd></PriceLevelAddRq>",
    );
    pl.ok();
    assert_eq!(pl.item().must("PriceLevelType"), "PerItem");
    let text =
        sim.send_text("<PriceLevelQueryRq><FullName>Cost plus</FullName></PriceLevelQueryRq>");
    assert!(text.contains("<CustomPrice>6.00</CustomPrice>"), "{text}");

    // A sales tax group charges the sum of its items' rates.
    for (n, rate) in [("County", "1.25"), ("City", "0.50")] {
        sim.one(&add_request(
            "ItemSalesTax",
            "Name",
            n,
            &format!("<TaxRate>{rate}</TaxRate>"),
        ))
        .ok();
    }
    sim.one(&add_request(
        "ItemSalesTaxGroup",
        "Name",
        "County and city",
        "<ItemSalesTaxRef><FullName>County</FullName></ItemSalesTaxRef><ItemSalesTaxRef><FullName>City</FullName></ItemSalesTaxRef>",
    ))
    .ok();
    sim.one("<CustomerAddRq><CustomerAdd><Name>Dana</Name></CustomerAdd></CustomerAddRq>")
        .ok();
    let inv = sim.one(
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Dana</FullName></CustomerRef>\
         <ItemSalesTaxRef><FullName>County and city</FullName></ItemSalesTaxRef>\
         <InvoiceLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>10</Quantity>\
         <SalesTaxCodeRef><FullName>Tax</FullName></SalesTaxCodeRef></InvoiceLineAdd>\
         </InvoiceAdd></InvoiceAddRq>",
    );
    inv.ok();
    assert_eq!(inv.item().must("SalesTaxPercentage"), "1.75");
    assert_eq!(inv.item().must("SalesTaxTotal"), "1.75");

    // An assembly keeps stock like an inventory part.
    let asm = sim.one(&add_request(
        "ItemInventoryAssembly",
        "Name",
        "Kit",
        "<IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef><PurchaseCost>9.00</PurchaseCost><COGSAccountRef><FullName>COGS</FullName></COGSAccountRef><AssetAccountRef><FullName>Stock</FullName></AssetAccountRef><QuantityOnHand>3</QuantityOnHand><ItemInventoryAssemblyLine><ItemInventoryRef><FullName>Widget</FullName></ItemInventoryRef><Quantity>2</Quantity></ItemInventoryAssemblyLine>",
    ));
    asm.ok();
    assert_eq!(asm.item().must("QuantityOnHand"), "3");
    assert_eq!(asm.item().must("AverageCost"), "9.00");
    sim.check_schema();
}

/// Leads are named by their full name (unique); to-dos by their notes
/// (not unique), and a to-do query lists what is not done unless asked.
#[test]
fn leads_and_to_dos() {
    let sim = Sim::new();
    let lead = sim.one(
        "<LeadAddRq><LeadAdd><FullName>Casey Rivers</FullName><Status>Warm</Status>\
         <CompanyName>Rivers Bakery</CompanyName></LeadAdd></LeadAddRq>",
    );
    lead.ok();
    assert_eq!(lead.item().must("FullName"), "Casey Rivers");
    assert_eq!(
        lead.item()
            .children
            .iter()
            .filter(|c| *c == "FullName")
            .count(),
        1
    );
    let again =
        sim.one("<LeadAddRq><LeadAdd><FullName>casey rivers</FullName></LeadAdd></LeadAddRq>");
    assert_eq!(again.code, 3100);
    let q = sim.one("<LeadQueryRq><Name>Casey Rivers</Name></LeadQueryRq>");
    assert_eq!(q.ok().item().must("CompanyName"), "Rivers Bakery");
    let id = lead.item().must("ListID").to_string();
    let m = sim.one(&format!(
        "<LeadModRq><LeadMod><ListID>{id}</ListID><EditSequence>{}</EditSequence><FullName>Casey Rivers</FullName><Status>Hot</Status></LeadMod></LeadModRq>",
        lead.item().must("EditSequence")
    ));
    assert_eq!(m.ok().item().must("Status"), "Hot");
    // To-dos: two with the same notes, one about the lead.
    let todo = |extra: &str| {
        sim.one(&format!(
            "<ToDoAddRq><ToDoAdd><Notes>Call back</Notes>{extra}</ToDoAdd></ToDoAddRq>"
        ))
    };
    let t1 = todo("<LeadRef><FullName>Casey Rivers</FullName></LeadRef>");
    t1.ok();
    assert_eq!(t1.item().must("IsDone"), "false");
    assert_eq!(t1.item().get("LeadRef.FullName"), Some("Casey Rivers"));
    assert!(t1.item().get("ReminderDate").is_some());
    let t2 = todo("<IsDone>true</IsDone><ReminderDate>2023-12-01</ReminderDate>");
    t2.ok();
    assert_eq!(
        sim.send("<ToDoQueryRq/>")
            .responses()
            .next()
            .unwrap()
            .items()
            .count(),
        1
    );
    let done = sim.send("<ToDoQueryRq><DoneStatus>DoneOnly</DoneStatus></ToDoQueryRq>");
    assert_eq!(done.responses().next().unwrap().items().count(), 1);
    let all = sim.send("<ToDoQueryRq><DoneStatus>All</DoneStatus></ToDoQueryRq>");
    assert_eq!(all.responses().next().unwrap().items().count(), 2);
    // Marking it done.
    let m = sim.one(&format!(
        "<ToDoModRq><ToDoMod><ListID>{}</ListID><EditSequence>{}</EditSequence><IsDone>true</IsDone></ToDoMod></ToDoModRq>",
        t1.item().must("ListID"),
        t1.item().must("EditSequence")
    ));
    m.ok();
    assert_eq!(sim.one("<ToDoQueryRq/>").code, 1);
    // A to-do can be deleted; the lead it named is then free to go too.
    sim.one(&format!(
        "<ListDelRq><ListDelType>ToDo</ListDelType><ListID>{}</ListID></ListDelRq>",
        t1.item().must("ListID")
    ))
    .ok();
    sim.check_schema();
}
