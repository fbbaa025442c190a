//! The lists the simulator keeps, as data.
//!
//! Everything regular about a list (its request and response names, the
//! namespace its names must be unique in, the counter its ListIDs come
//! from, whether it nests, where it sorts) is a row here; the generic code
//! in `lists.rs` and `query.rs` reads these rows. Only what is genuinely
//! different (Employee names, SalesRep initials, account types) is code.

/// One list type (`ListDelType` spelling).
#[derive(Debug)]
pub struct Kind {
    /// `Customer`, `StandardTerms`, `ItemService`: the prefix of
    /// `…Add`, `…Mod`, `…Ret` and the `ListDelType` value.
    pub name: &'static str,
    /// Names are unique case-insensitively within a namespace, per parent
    /// (FACTS §5). Customers, vendors, employees and other names share
    /// one, as do all items.
    pub namespace: &'static str,
    /// ListID counter family (FACTS §5 "IDs": per list family).
    pub counter: &'static str,
    /// Has `ParentRef`/`Sublevel`.
    pub nested: bool,
    /// Clients may Add/Mod/ListDel it (the rest are query-only here and
    /// seeded by the sample company).
    pub writable: bool,
    /// Position among the kinds of one query (ItemQuery, EntityQuery),
    /// in QuickBooks' list order.
    pub rank: u8,
    /// The element that holds the unique name (`Name`; SalesRep: `Initial`).
    pub name_field: &'static str,
    /// Balance kept in columns (`Balance`/`TotalBalance` in the Ret).
    pub balance: bool,
    /// Names are unique (3100); a to-do's notes need not be.
    pub unique: bool,
}

const fn k(
    name: &'static str,
    namespace: &'static str,
    nested: bool,
    writable: bool,
    rank: u8,
) -> Kind {
    Kind {
        name,
        namespace,
        counter: namespace,
        nested,
        writable,
        rank,
        name_field: "Name",
        balance: false,
        unique: true,
    }
}

const fn with_balance(mut kind: Kind) -> Kind {
    kind.balance = true;
    kind
}

const fn named_by(mut kind: Kind, field: &'static str) -> Kind {
    kind.name_field = field;
    kind
}

const fn not_unique(mut kind: Kind) -> Kind {
    kind.unique = false;
    kind
}

pub static KINDS: &[Kind] = &[
    with_balance(k("Account", "Account", true, true, 0)),
    with_balance(k("Customer", "Name", true, true, 0)),
    with_balance(k("Vendor", "Name", false, true, 1)),
    k("Employee", "Name", false, true, 2),
    k("OtherName", "Name", false, true, 3),
    k("Class", "Class", true, true, 0),
    k("StandardTerms", "Terms", false, true, 0),
    k("DateDrivenTerms", "Terms", false, true, 1),
    k("PaymentMethod", "PaymentMethod", false, true, 0),
    k("SalesTaxCode", "SalesTaxCode", false, true, 0),
    k("ShipMethod", "ShipMethod", false, true, 0),
    k("CustomerType", "CustomerType", true, true, 0),
    k("VendorType", "VendorType", true, true, 0),
    k("JobType", "JobType", true, true, 0),
    named_by(k("SalesRep", "SalesRep", false, true, 0), "Initial"),
    // Items in the order of QuickBooks' item list.
    k("ItemService", "Item", true, true, 0),
    k("ItemInventory", "Item", true, true, 1),
    k("ItemNonInventory", "Item", true, true, 3),
    k("ItemOtherCharge", "Item", true, true, 4),
    k("ItemInventoryAssembly", "Item", true, true, 2),
    k("ItemSubtotal", "Item", false, true, 5),
    k("ItemGroup", "Item", false, true, 6),
    k("ItemDiscount", "Item", true, true, 7),
    k("ItemPayment", "Item", false, true, 8),
    k("ItemSalesTax", "Item", false, true, 9),
    k("ItemFixedAsset", "Item", false, true, 10),
    k("ItemSalesTaxGroup", "Item", false, true, 11),
    k("PriceLevel", "PriceLevel", false, true, 0),
    // Plain lists: a name, active or not, a description (Vehicle).
    k("CustomerMsg", "CustomerMsg", false, true, 0),
    k("Vehicle", "Vehicle", false, true, 0),
    // Payroll items exist as list records in a company without a payroll
    // subscription (QuickBooks keeps them; payroll itself is not
    // simulated). Wage items may be added; the others are QuickBooks'.
    k("PayrollItemWage", "PayrollItem", false, true, 0),
    k("PayrollItemNonWage", "PayrollItem", false, false, 1),
    // qbXML 16.0's payroll items, queried together with wage items by
    // PayrollItemQuery (in its order).
    k("PayrollItemAddition", "PayrollItem", false, true, 2),
    k("PayrollItemDeduction", "PayrollItem", false, true, 3),
    k(
        "PayrollItemCompanyContribution",
        "PayrollItem",
        false,
        true,
        4,
    ),
    k(
        "PayrollItemWorkersCompensation",
        "PayrollItem",
        false,
        true,
        5,
    ),
    k("PayrollItemDirectDeposit", "PayrollItem", false, true, 6),
    k("PayrollItemTax", "PayrollItem", false, true, 7),
    k("Currency", "Currency", false, true, 0),
    k("BillingRate", "BillingRate", false, true, 0),
    k("WorkersCompCode", "WorkersCompCode", false, true, 0),
    k("InventorySite", "InventorySite", false, true, 0),
    k("UnitOfMeasureSet", "UnitOfMeasureSet", false, true, 0),
    k("Template", "Template", false, false, 0),
    // Leads are named by their full name; to-dos by their notes, which
    // need not be unique.
    named_by(k("Lead", "Lead", false, true, 0), "FullName"),
    not_unique(named_by(k("ToDo", "ToDo", false, true, 0), "Notes")),
];

/// Items QuickBooks keeps stock of: quantity on hand and value at
/// average cost, moved by the ledger.
pub fn is_stocked(kind: &str) -> bool {
    matches!(kind, "ItemInventory" | "ItemInventoryAssembly")
}

/// The list named `name` (a hash lookup: every list record written asks,
/// `store` among others).
pub fn kind(name: &str) -> Option<&'static Kind> {
    use std::sync::OnceLock;
    static BY_NAME: OnceLock<std::collections::HashMap<&'static str, &'static Kind>> =
        OnceLock::new();
    BY_NAME
        .get_or_init(|| KINDS.iter().map(|k| (k.name, k)).collect())
        .get(name)
        .copied()
}

/// The kinds a `…QueryRq` returns, in response order.
pub fn query_kinds(query: &str) -> Option<Vec<&'static Kind>> {
    let base = query.strip_suffix("QueryRq")?;
    let list = |names: &[&str]| names.iter().filter_map(|n| kind(n)).collect::<Vec<_>>();
    Some(match base {
        "Terms" => list(&["StandardTerms", "DateDrivenTerms"]),
        "Entity" => list(&["Customer", "Vendor", "Employee", "OtherName"]),
        "PayrollItem" => list(&[
            "PayrollItemWage",
            "PayrollItemAddition",
            "PayrollItemDeduction",
            "PayrollItemCompanyContribution",
            "PayrollItemWorkersCompensation",
            "PayrollItemDirectDeposit",
            "PayrollItemTax",
        ]),
        "Item" => {
            let mut v: Vec<_> = KINDS.iter().filter(|k| k.namespace == "Item").collect();
            v.sort_by_key(|k| k.rank);
            v
        }
        _ => vec![kind(base)?],
    })
}

/// The kinds a reference element may point at: `CustomerRef` → Customer,
/// `IncomeAccountRef` → Account, `TermsRef` → both terms lists.
/// `None` for references to lists the simulator does not keep (they can
/// only be invalid here, 3140).
pub fn ref_targets(ref_name: &str) -> Option<Vec<&'static Kind>> {
    let base = ref_name.strip_suffix("Ref")?;
    if base.ends_with("Account") {
        return Some(vec![kind("Account")?]);
    }
    let names: &[&str] = match base {
        "Parent" => return None, // resolved by the caller: same kind
        "Terms" => &["StandardTerms", "DateDrivenTerms"],
        "ItemSalesTax" => &["ItemSalesTax", "ItemSalesTaxGroup"],
        "Item" | "SalesTaxItem" => {
            return Some(KINDS.iter().filter(|k| k.namespace == "Item").collect())
        }
        "PreferredPaymentMethod" | "PaymentMethod" => &["PaymentMethod"],
        "TaxVendor" | "PrefVendor" | "Vendor" => &["Vendor"],
        "Entity" | "Payee" | "PayeeEntity" | "SalesRepEntity" => {
            &["Customer", "Vendor", "Employee", "OtherName"]
        }
        "Supervisor" | "Employee" => &["Employee"],
        "ItemSalesTaxGroup" => &["ItemSalesTaxGroup"],
        "ItemInventory" => &["ItemInventory", "ItemInventoryAssembly"],
        "ItemService" => &["ItemService"],
        "InventorySite" | "Site" | "ParentSite" | "FromInventorySite" | "ToInventorySite" => {
            &["InventorySite"]
        }
        "Customer"
        | "Class"
        | "SalesTaxCode"
        | "ShipMethod"
        | "CustomerType"
        | "VendorType"
        | "JobType"
        | "SalesRep"
        | "PriceLevel"
        | "Currency"
        | "Template"
        | "OtherName"
        | "CustomerMsg"
        | "Vehicle"
        | "PayrollItemWage"
        | "BillingRate"
        | "WorkersCompCode"
        | "UnitOfMeasureSet"
        | "ItemInventoryAssembly"
        | "Lead" => {
            return kind(base).map(|k| vec![k]);
        }
        "CustomerSalesTaxCode" | "SalesTaxCodeForSale" | "SalesTaxCodeForPurchase" => {
            &["SalesTaxCode"]
        }
        _ => &[],
    };
    Some(names.iter().filter_map(|n| kind(n)).collect())
}

/// A row's namespace as the table spells it (a `'static` str).
pub fn namespace_of(ns: &str) -> Option<&'static str> {
    KINDS.iter().map(|k| k.namespace).find(|n| *n == ns)
}

/// The namespace a reference points into (each reference targets one):
/// worked out once for every `…Ref` name of the schema, as writing any
/// Ret asks it for each of its references.
pub fn ref_namespace(ref_name: &str) -> Option<&'static str> {
    use std::sync::OnceLock;
    static TABLE: OnceLock<qbxml::schema::NameMap<&'static str, &'static str>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            qbxml::schema::names()
                .filter(|n| n.ends_with("Ref"))
                .filter_map(|n| Some((n, ref_targets(n)?.first()?.namespace)))
                .collect()
        })
        .get(ref_name)
        .copied()
}

/// Chart-of-accounts order (FACTS §5 "Sort order").
pub const ACCOUNT_TYPES: &[&str] = &[
    "Bank",
    "AccountsReceivable",
    "OtherCurrentAsset",
    "FixedAsset",
    "OtherAsset",
    "AccountsPayable",
    "CreditCard",
    "OtherCurrentLiability",
    "LongTermLiability",
    "Equity",
    "Income",
    "CostOfGoodsSold",
    "Expense",
    "OtherIncome",
    "OtherExpense",
    "NonPosting",
];

/// QuickBooks' cash-flow classification of an account type (observed in
/// the Rock Castle chart: one per type; Undeposited Funds is the exception).
pub fn cash_flow_classification(account_type: &str) -> &'static str {
    match account_type {
        "AccountsReceivable"
        | "OtherCurrentAsset"
        | "AccountsPayable"
        | "CreditCard"
        | "OtherCurrentLiability" => "Operating",
        "FixedAsset" | "OtherAsset" => "Investing",
        "LongTermLiability" | "Equity" => "Financing",
        "Income" | "CostOfGoodsSold" | "Expense" | "OtherIncome" | "OtherExpense" => "None",
        _ => "NotApplicable",
    }
}

pub fn account_type_rank(t: &str) -> usize {
    ACCOUNT_TYPES
        .iter()
        .position(|x| *x == t)
        .unwrap_or(ACCOUNT_TYPES.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbxml::schema::Schema;
    use qbxml::Version;

    /// Every row names messages the 13.0 schema has (16.0's payroll
    /// items: 16.0's, queried by PayrollItemQuery).
    #[test]
    fn rows_match_the_schema() {
        for k in KINDS {
            let ret = format!("{}Ret", k.name);
            let query = format!("{}QueryRq", k.name);
            let s = if Schema::for_version(Version::V13_0)
                .request(&format!("{}AddRq", k.name))
                .is_some()
                || Schema::for_version(Version::V13_0)
                    .request(&query)
                    .is_some()
            {
                Schema::for_version(Version::V13_0)
            } else {
                Schema::for_version(Version::V16_0)
            };
            let (query, rs) = match s.request(&query) {
                Some(_) => (query, format!("{}QueryRs", k.name)),
                None => (
                    "PayrollItemQueryRq".to_string(),
                    "PayrollItemQueryRs".to_string(),
                ),
            };
            assert!(s.request(&query).is_some(), "{query}");
            assert!(
                query_kinds(&query).is_some_and(|ks| ks.iter().any(|x| x.name == k.name)),
                "{query}"
            );
            let rs = s.response(&rs);
            assert!(rs.is_some_and(|p| p.decl().child(&ret).is_some()), "{ret}");
            if k.writable {
                assert!(
                    s.request(&format!("{}AddRq", k.name)).is_some(),
                    "{}",
                    k.name
                );
            }
        }
        for q in ["ItemQueryRq", "EntityQueryRq", "TermsQueryRq"] {
            assert!(query_kinds(q).is_some_and(|v| v.len() >= 2));
        }
    }
}
