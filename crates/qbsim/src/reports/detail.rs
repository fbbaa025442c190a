//! Detail reports: `GeneralDetailReportQuery` (all 34 of its types) and
//! `CustomDetailReportQuery`, as rows of postings, of transactions or of
//! transaction lines, grouped the way QuickBooks groups each report.
//!
//! Each report type is a row of [`SPECS`]: where its rows come from (the
//! ledger's postings, the transactions, their item lines, or what is still
//! open), which ones it keeps (accounts of a class, transaction types),
//! how it groups them (per transaction, account, customer or vendor,
//! item, sales rep), its columns and the sign its amounts are shown with.
//! One engine ([`run`]) writes them all; nothing here knows a report by
//! name beyond its row.
//!
//! The request's filters narrow any of them (ReportAccountFilter,
//! ReportEntityFilter, ReportItemFilter, ReportTxnTypeFilter), and its
//! `IncludeColumn`s replace the row's columns. A custom detail report is
//! the engine over postings with the columns the request asks for,
//! grouped by `SummarizeRowsBy` where it names an account, a name or an
//! item [I].

use super::{answer, chart, is_pl, money, period, period_text, Report};
use crate::body::{self, leaf};
use crate::ledger::{debit_normal, qty_text};
use crate::store::{self, TxnRow};
use crate::{status, Res};
use crate::{Answer, Ctx};
use qbxml::{Element, Request};
use std::collections::{HashMap, HashSet};

/// Where a report's rows come from.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Source {
    /// One row per posting in the period.
    Postings,
    /// One row per transaction in the period.
    Txns,
    /// One row per item line of the transactions in the period.
    Lines,
    /// One row per transaction still open (unpaid, unused) today.
    Open,
}

/// How rows are grouped: a heading and a "Total …" row per group.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Group {
    None,
    /// Per transaction, totalled (the journal).
    Txn,
    Account,
    /// The customer, vendor or other name.
    Name,
    Item,
    /// The transaction's sales rep.
    Rep,
}

/// Which accounts a postings report keeps.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Accounts {
    All,
    ProfitAndLoss,
    BalanceSheet,
    Receivable,
    Payable,
    /// Cost of goods sold, expense, other expense.
    Expense,
    /// Accounts with a tax line.
    TaxLine,
}

/// The sign amounts are shown with.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Sign {
    /// The account's own: debit-normal accounts debit-positive, the
    /// others credit-positive (what the account's balance shows).
    Natural,
    Debit,
    Credit,
}

/// Extra conditions a few reports put on their rows.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Only {
    Any,
    /// Names that are vendors eligible for a 1099.
    Vendor1099,
    /// Transactions marked pending.
    Pending,
    /// Lines billable to a customer and not billed yet.
    Unbilled,
    /// Postings that move an item's stock.
    Stock,
}

pub(super) struct Spec {
    pub(super) ty: &'static str,
    pub(super) title: &'static str,
    pub(super) source: Source,
    pub(super) group: Group,
    pub(super) accounts: Accounts,
    /// Transaction types kept (empty: all).
    pub(super) types: &'static [&'static str],
    pub(super) cols: &'static [&'static str],
    pub(super) sign: Sign,
    pub(super) only: Only,
}

pub(super) const fn spec(
    ty: &'static str,
    title: &'static str,
    source: Source,
    group: Group,
    cols: &'static [&'static str],
) -> Spec {
    Spec {
        ty,
        title,
        source,
        group,
        accounts: Accounts::All,
        types: &[],
        cols,
        sign: Sign::Natural,
        only: Only::Any,
    }
}

pub(super) const SALES: &[&str] = &["Invoice", "SalesReceipt", "CreditMemo"];
pub(super) const PURCHASES: &[&str] = &[
    "Bill",
    "Check",
    "CreditCardCharge",
    "CreditCardCredit",
    "ItemReceipt",
    "VendorCredit",
];
const CHECKS: &[&str] = &["Check", "BillPaymentCheck", "SalesTaxPaymentCheck"];

const POSTING_COLS: &[&str] = &[
    "TxnType",
    "Date",
    "RefNumber",
    "Name",
    "Memo",
    "SplitAccount",
    "Amount",
    "RunningBalance",
];
const TXN_COLS: &[&str] = &[
    "TxnType",
    "Date",
    "RefNumber",
    "Name",
    "Memo",
    "Account",
    "SplitAccount",
    "Amount",
];
const LINE_COLS: &[&str] = &[
    "TxnType",
    "Date",
    "RefNumber",
    "Name",
    "Memo",
    "Item",
    "Quantity",
    "UnitPrice",
    "Amount",
];
const OPEN_COLS: &[&str] = &[
    "TxnType",
    "Date",
    "RefNumber",
    "Memo",
    "DueDate",
    "Aging",
    "OpenBalance",
];

/// Every `GeneralDetailReportType`, as QuickBooks titles and lays it out.
/// Where QuickBooks' own layout is not documented the columns are its
/// report's usual ones [I].
static SPECS: &[Spec] = &[
    Spec {
        only: Only::Vendor1099,
        accounts: Accounts::Expense,
        sign: Sign::Debit,
        ..spec(
            "1099Detail",
            "1099 Detail",
            Source::Postings,
            Group::Name,
            POSTING_COLS,
        )
    },
    spec(
        "AuditTrail",
        "Audit Trail",
        Source::Txns,
        Group::None,
        &[
            "TxnNumber",
            "TxnType",
            "ModifiedTime",
            "Date",
            "RefNumber",
            "Name",
            "Account",
            "Amount",
        ],
    ),
    Spec {
        accounts: Accounts::BalanceSheet,
        ..spec(
            "BalanceSheetDetail",
            "Balance Sheet Detail",
            Source::Postings,
            Group::Account,
            POSTING_COLS,
        )
    },
    Spec {
        types: CHECKS,
        sign: Sign::Debit,
        ..spec(
            "CheckDetail",
            "Check Detail",
            Source::Postings,
            Group::Txn,
            &["TxnType", "Date", "RefNumber", "Name", "Account", "Amount"],
        )
    },
    Spec {
        accounts: Accounts::Receivable,
        sign: Sign::Debit,
        ..spec(
            "CustomerBalanceDetail",
            "Customer Balance Detail",
            Source::Postings,
            Group::Name,
            POSTING_COLS,
        )
    },
    Spec {
        types: &["Deposit"],
        sign: Sign::Debit,
        ..spec(
            "DepositDetail",
            "Deposit Detail",
            Source::Postings,
            Group::Txn,
            &["TxnType", "Date", "RefNumber", "Name", "Account", "Amount"],
        )
    },
    Spec {
        types: &["Estimate"],
        ..spec(
            "EstimatesByJob",
            "Estimates by Job",
            Source::Txns,
            Group::Name,
            TXN_COLS,
        )
    },
    Spec {
        accounts: Accounts::Expense,
        sign: Sign::Debit,
        ..spec(
            "ExpenseByVendorDetail",
            "Expenses by Vendor Detail",
            Source::Postings,
            Group::Name,
            POSTING_COLS,
        )
    },
    spec(
        "GeneralLedger",
        "General Ledger",
        Source::Postings,
        Group::Account,
        POSTING_COLS,
    ),
    Spec {
        accounts: Accounts::ProfitAndLoss,
        sign: Sign::Credit,
        ..spec(
            "IncomeByCustomerDetail",
            "Income by Customer Detail",
            Source::Postings,
            Group::Name,
            POSTING_COLS,
        )
    },
    Spec {
        accounts: Accounts::TaxLine,
        ..spec(
            "IncomeTaxDetail",
            "Income Tax Detail",
            Source::Postings,
            Group::Account,
            POSTING_COLS,
        )
    },
    Spec {
        sign: Sign::Debit,
        only: Only::Stock,
        ..spec(
            "InventoryValuationDetail",
            "Inventory Valuation Detail",
            Source::Postings,
            Group::Item,
            &[
                "TxnType",
                "Date",
                "RefNumber",
                "Name",
                "Quantity",
                "Amount",
                "RunningBalance",
            ],
        )
    },
    Spec {
        types: &["Estimate", "Invoice"],
        ..spec(
            "JobProgressInvoicesVsEstimates",
            "Job Progress Invoices vs. Estimates",
            Source::Txns,
            Group::Name,
            TXN_COLS,
        )
    },
    Spec {
        sign: Sign::Debit,
        ..spec(
            "Journal",
            "Journal",
            Source::Postings,
            Group::Txn,
            &[
                "TxnNumber",
                "TxnType",
                "Date",
                "RefNumber",
                "Name",
                "Memo",
                "Account",
                "Debit",
                "Credit",
            ],
        )
    },
    Spec {
        types: &["Check", "BillPaymentCheck"],
        ..spec(
            "MissingChecks",
            "Missing Checks",
            Source::Txns,
            Group::None,
            TXN_COLS,
        )
    },
    Spec {
        types: &["Invoice", "Charge", "CreditMemo", "ReceivePayment"],
        ..spec(
            "OpenInvoices",
            "Open Invoices",
            Source::Open,
            Group::Name,
            OPEN_COLS,
        )
    },
    Spec {
        types: &["PurchaseOrder"],
        ..spec(
            "OpenPOs",
            "Open Purchase Orders",
            Source::Txns,
            Group::None,
            TXN_COLS,
        )
    },
    Spec {
        types: &["PurchaseOrder"],
        ..spec(
            "OpenPOsByJob",
            "Open Purchase Orders by Job",
            Source::Lines,
            Group::Name,
            LINE_COLS,
        )
    },
    Spec {
        types: &["SalesOrder"],
        ..spec(
            "OpenSalesOrderByCustomer",
            "Open Sales Orders by Customer",
            Source::Txns,
            Group::Name,
            TXN_COLS,
        )
    },
    Spec {
        types: &["SalesOrder"],
        ..spec(
            "OpenSalesOrderByItem",
            "Open Sales Orders by Item",
            Source::Lines,
            Group::Item,
            LINE_COLS,
        )
    },
    Spec {
        only: Only::Pending,
        types: &["Invoice", "SalesReceipt", "CreditMemo"],
        ..spec(
            "PendingSales",
            "Pending Sales",
            Source::Txns,
            Group::None,
            TXN_COLS,
        )
    },
    Spec {
        accounts: Accounts::ProfitAndLoss,
        ..spec(
            "ProfitAndLossDetail",
            "Profit & Loss Detail",
            Source::Postings,
            Group::Account,
            POSTING_COLS,
        )
    },
    Spec {
        types: PURCHASES,
        ..spec(
            "PurchaseByItemDetail",
            "Purchases by Item Detail",
            Source::Lines,
            Group::Item,
            LINE_COLS,
        )
    },
    Spec {
        types: PURCHASES,
        ..spec(
            "PurchaseByVendorDetail",
            "Purchases by Vendor Detail",
            Source::Lines,
            Group::Name,
            LINE_COLS,
        )
    },
    Spec {
        types: SALES,
        ..spec(
            "SalesByCustomerDetail",
            "Sales by Customer Detail",
            Source::Lines,
            Group::Name,
            LINE_COLS,
        )
    },
    Spec {
        types: SALES,
        ..spec(
            "SalesByItemDetail",
            "Sales by Item Detail",
            Source::Lines,
            Group::Item,
            LINE_COLS,
        )
    },
    Spec {
        types: SALES,
        ..spec(
            "SalesByRepDetail",
            "Sales by Rep Detail",
            Source::Lines,
            Group::Rep,
            LINE_COLS,
        )
    },
    Spec {
        ..spec(
            "TxnDetailByAccount",
            "Transaction Detail by Account",
            Source::Postings,
            Group::Account,
            &[
                "TxnType",
                "Date",
                "RefNumber",
                "Name",
                "Memo",
                "SplitAccount",
                "Debit",
                "Credit",
                "RunningBalance",
            ],
        )
    },
    spec(
        "TxnListByCustomer",
        "Transaction List by Customer",
        Source::Txns,
        Group::Name,
        TXN_COLS,
    ),
    spec(
        "TxnListByDate",
        "Transaction List by Date",
        Source::Txns,
        Group::None,
        TXN_COLS,
    ),
    spec(
        "TxnListByVendor",
        "Transaction List by Vendor",
        Source::Txns,
        Group::Name,
        TXN_COLS,
    ),
    Spec {
        types: &["Bill", "VendorCredit"],
        ..spec(
            "UnpaidBillsDetail",
            "Unpaid Bills Detail",
            Source::Open,
            Group::Name,
            OPEN_COLS,
        )
    },
    Spec {
        only: Only::Unbilled,
        types: PURCHASES,
        ..spec(
            "UnbilledCostsByJob",
            "Unbilled Costs by Job",
            Source::Lines,
            Group::Name,
            LINE_COLS,
        )
    },
    Spec {
        accounts: Accounts::Payable,
        sign: Sign::Credit,
        ..spec(
            "VendorBalanceDetail",
            "Vendor Balance Detail",
            Source::Postings,
            Group::Name,
            POSTING_COLS,
        )
    },
];

/// A column: its title, data type and ColType.
fn column(col: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match col {
        "TxnNumber" => ("Trans #", "INTTYPE", "TxnNumber"),
        "TxnType" => ("Type", "STRTYPE", "TxnType"),
        "Date" => ("Date", "DATETYPE", "Date"),
        "ModifiedTime" => ("Last modified", "DATETIMETYPE", "ModifiedTime"),
        "CreateDate" => ("Entered", "DATETIMETYPE", "CreateDate"),
        "RefNumber" => ("Num", "STRTYPE", "RefNumber"),
        "Name" => ("Name", "STRTYPE", "Name"),
        "Memo" => ("Memo", "STRTYPE", "Memo"),
        "Account" => ("Account", "STRTYPE", "Account"),
        "SplitAccount" => ("Split", "STRTYPE", "SplitAccount"),
        "Debit" => ("Debit", "AMTTYPE", "Debit"),
        "Credit" => ("Credit", "AMTTYPE", "Credit"),
        "Amount" => ("Amount", "AMTTYPE", "Amount"),
        "RunningBalance" => ("Balance", "AMTTYPE", "RunningBalance"),
        "Item" => ("Item", "STRTYPE", "Item"),
        "Quantity" => ("Qty", "QUANTYPE", "Quantity"),
        "UnitPrice" => ("Sales Price", "PRICETYPE", "UnitPrice"),
        "DueDate" => ("Due Date", "DATETYPE", "DueDate"),
        "Aging" => ("Aging", "INTTYPE", "Aging"),
        "OpenBalance" => ("Open Balance", "AMTTYPE", "OpenBalance"),
        "TxnID" => ("Txn ID", "IDTYPE", "TxnID"),
        "SalesRep" => ("Rep", "STRTYPE", "SalesRep"),
        "Class" => ("Class", "STRTYPE", "Class"),
        "ClearedStatus" => ("Clr", "STRTYPE", "ClearedStatus"),
        _ => return None,
    })
}

/// Columns whose subtotal is the sum of their rows.
fn summed(col: &str) -> bool {
    matches!(
        col,
        "Debit" | "Credit" | "Amount" | "OpenBalance" | "Quantity"
    )
}

/// How QuickBooks' reports name a transaction type (its forms' names).
pub(super) fn type_label(kind: &str) -> &str {
    match kind {
        "ReceivePayment" => "Payment",
        "JournalEntry" | "open" => "General Journal",
        "CreditMemo" => "Credit Memo",
        "SalesReceipt" => "Sales Receipt",
        "SalesOrder" => "Sales Order",
        "PurchaseOrder" => "Purchase Order",
        "BillPaymentCheck" => "Bill Pmt -Check",
        "BillPaymentCreditCard" => "Bill Pmt -CCard",
        "CreditCardCharge" => "Credit Card Charge",
        "CreditCardCredit" => "Credit Card Credit",
        "ItemReceipt" => "Item Receipt",
        "InventoryAdjustment" => "Inventory Adjust",
        "VendorCredit" => "Credit",
        "SalesTaxPaymentCheck" => "Sales Tax Payment",
        "Charge" => "Statement Charge",
        "ARRefundCreditCard" => "Credit Card Refund",
        "BuildAssembly" => "Build Assembly",
        "TransferInventory" => "Transfer Inventory",
        other => other,
    }
}

/// One row before grouping.
#[derive(Default, Clone)]
pub(super) struct Entry {
    pub(super) txn: String,
    pub(super) kind: String,
    pub(super) number: Option<i64>,
    pub(super) date: String,
    pub(super) ref_number: Option<String>,
    pub(super) name: Option<String>,
    pub(super) rep: Option<String>,
    pub(super) account: Option<String>,
    pub(super) split: Option<String>,
    pub(super) item: Option<String>,
    pub(super) qty: Option<i64>,
    pub(super) price: Option<String>,
    /// Cents, signed for the report.
    pub(super) amount: i64,
    /// Cents, debit-positive (what the grand total adds up).
    pub(super) raw: i64,
    pub(super) open: i64,
    pub(super) due: Option<String>,
    pub(super) memo: Option<String>,
    pub(super) created: i64,
    pub(super) modified: i64,
    /// The transaction is marked pending.
    pub(super) pending: bool,
    /// The posting's own name where it differs from the row's (a purchase
    /// line's customer): what a by-customer summary files it under.
    pub(super) own: Option<String>,
}

/// The request's own filters (ReportAccountFilter, ReportEntityFilter,
/// ReportItemFilter, ReportTxnTypeFilter): records named (with their
/// subrecords when asked `…WithChildren`), or kinds of them.
#[derive(Default)]
pub(super) struct Filters {
    pub(super) accounts: Option<HashSet<String>>,
    pub(super) account_types: Option<Vec<String>>,
    pub(super) names: Option<HashSet<String>>,
    /// EntityTypeFilter: Customer, Vendor, Employee or OtherName.
    pub(super) name_kind: Option<String>,
    pub(super) items: Option<HashSet<String>>,
    /// ItemTypeFilter: the item kinds it stands for.
    pub(super) item_kinds: Option<Vec<&'static str>>,
    pub(super) types: Option<Vec<String>>,
    /// Kinds of the names and items rows name, read once.
    kinds: Kinds,
}

/// The records a filter names, in the lists `kinds` (every kind of the
/// namespace).
fn named(ctx: &Ctx<'_>, f: Element<'_>, kinds: &[&str]) -> Res<HashSet<String>> {
    let mut set = HashSet::new();
    for k in kinds {
        set.extend(crate::query::ref_set(ctx, f, k)?);
    }
    Ok(set)
}

/// The item kinds an `ItemTypeFilter` value stands for.
fn item_kinds(t: &str) -> Vec<&'static str> {
    let v: &[&'static str] = match t {
        "Assembly" => &["ItemInventoryAssembly"],
        "Discount" => &["ItemDiscount"],
        "FixedAsset" => &["ItemFixedAsset"],
        "Inventory" => &["ItemInventory"],
        "InventoryAndAssembly" => &["ItemInventory", "ItemInventoryAssembly"],
        "NonInventory" => &["ItemNonInventory"],
        "OtherCharge" => &["ItemOtherCharge"],
        "Payment" => &["ItemPayment"],
        "SalesTax" => &["ItemSalesTax", "ItemSalesTaxGroup"],
        "Service" => &["ItemService"],
        // Sales, AllExceptFixedAsset: every item but fixed assets.
        _ => {
            return crate::kinds::KINDS
                .iter()
                .filter(|k| k.namespace == "Item" && k.name != "ItemFixedAsset")
                .map(|k| k.name)
                .collect()
        }
    };
    v.to_vec()
}

pub(super) fn filters(ctx: &Ctx<'_>, e: Element<'_>) -> Res<Filters> {
    let mut f = Filters::default();
    if let Some(a) = e.child("ReportAccountFilter") {
        if let Some(t) = a.child_text("AccountTypeFilter") {
            f.account_types = Some(account_types(t));
        } else {
            f.accounts = Some(named(ctx, a, &["Account"])?);
        }
    }
    if let Some(n) = e.child("ReportEntityFilter") {
        match n.child_text("EntityTypeFilter") {
            Some(t) => f.name_kind = Some(t.to_string()),
            None => {
                f.names = Some(named(
                    ctx,
                    n,
                    &["Customer", "Vendor", "Employee", "OtherName"],
                )?)
            }
        }
    }
    if let Some(i) = e.child("ReportItemFilter") {
        match i.child_text("ItemTypeFilter") {
            Some(t) => f.item_kinds = Some(item_kinds(t)),
            None => {
                let all: Vec<&str> = crate::kinds::KINDS
                    .iter()
                    .filter(|k| k.namespace == "Item")
                    .map(|k| k.name)
                    .collect();
                f.items = Some(named(ctx, i, &all)?);
            }
        }
    }
    if let Some(t) = e.child("ReportTxnTypeFilter") {
        let v: Vec<String> = t
            .children_named("TxnTypeFilter")
            .map(|x| x.text().to_string())
            .collect();
        if !v.iter().any(|x| x == "All") {
            f.types = Some(v);
        }
    }
    Ok(f)
}

impl Filters {
    /// Whether a row passes every filter the request gave.
    pub(super) fn keeps(&mut self, ctx: &Ctx<'_>, chart: &Chart, r: &Entry) -> Res<bool> {
        let has = |set: &Option<HashSet<String>>, id: &Option<String>| match set {
            Some(s) => id.as_ref().is_some_and(|x| s.contains(x)),
            None => true,
        };
        // A row is a name's when it is the transaction's or the
        // posting's own (a purchase line's customer).
        let named = has(&self.names, &r.name) || (r.own.is_some() && has(&self.names, &r.own));
        if !has(&self.accounts, &r.account) || !named || !has(&self.items, &r.item) {
            return Ok(false);
        }
        if let Some(tys) = &self.account_types {
            let t = r.account.as_deref().map(|a| chart.ty(a)).unwrap_or("");
            if !tys.iter().any(|x| x == t) {
                return Ok(false);
            }
        }
        if let Some(tys) = &self.types {
            if !tys.contains(&r.kind) {
                return Ok(false);
            }
        }
        if let Some(want) = self.name_kind.clone() {
            let mut any = false;
            for n in [r.name.clone(), r.own.clone()].into_iter().flatten() {
                any |= self.kinds.of(ctx, "Name", &n)? == want;
            }
            if !any {
                return Ok(false);
            }
        }
        if let Some(kinds) = self.item_kinds.clone() {
            let Some(i) = r.item.clone() else {
                return Ok(false);
            };
            let k = self.kinds.of(ctx, "Item", &i)?;
            if !kinds.contains(&k.as_str()) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The account types an `AccountTypeFilter` value stands for (the
/// groups are cut from the chart's order of types).
fn account_types(t: &str) -> Vec<String> {
    use crate::kinds::ACCOUNT_TYPES;
    let keep = |f: &dyn Fn(&str) -> bool| -> Vec<String> {
        ACCOUNT_TYPES
            .iter()
            .filter(|t| f(t))
            .map(|t| t.to_string())
            .collect()
    };
    let balance_sheet = |t: &str| !is_pl(t) && t != "NonPosting";
    match t {
        "BalanceSheet" => keep(&balance_sheet),
        "IncomeAndExpense" => keep(&|t| is_pl(t)),
        "AssetAndLiability" | "AssetsAndLiabilities" => {
            keep(&|t| balance_sheet(t) && t != "Equity")
        }
        "OrdinaryIncomeAndExpense" => {
            keep(&|t| matches!(t, "Income" | "CostOfGoodsSold" | "Expense"))
        }
        "OrdinaryIncomeAndCOGS" => keep(&|t| matches!(t, "Income" | "CostOfGoodsSold")),
        "OrdinaryExpense" => keep(&|t| t == "Expense"),
        "OtherIncomeAndExpense" => keep(&|t| matches!(t, "OtherIncome" | "OtherExpense")),
        "AllowedFor1099" => keep(&|t| matches!(t, "Expense" | "OtherExpense" | "CostOfGoodsSold")),
        other => vec![other.to_string()],
    }
}

/// What a report needs to know of each account.
pub(super) struct Chart {
    /// ListID → (FullName, type, position in the chart).
    pub(super) by_id: HashMap<String, (String, String, usize)>,
    /// Accounts with a tax line.
    pub(super) tax_line: Vec<String>,
}

pub(super) fn load_chart(ctx: &Ctx<'_>) -> Res<Chart> {
    let mut by_id = HashMap::new();
    let mut tax_line = Vec::new();
    for (i, a) in chart(ctx)?.into_iter().enumerate() {
        if let Some(r) = store::get(ctx.db, "Account", &a.id)? {
            if r.body.contains("TaxLineInfoRet") {
                tax_line.push(a.id.clone());
            }
        }
        by_id.insert(a.id, (a.full_name, a.ty, i));
    }
    Ok(Chart { by_id, tax_line })
}

impl Chart {
    pub(super) fn ty(&self, id: &str) -> &str {
        self.by_id.get(id).map(|a| a.1.as_str()).unwrap_or("")
    }
    pub(super) fn name(&self, id: &str) -> String {
        self.by_id.get(id).map(|a| a.0.clone()).unwrap_or_default()
    }
    pub(super) fn keeps(&self, which: Accounts, id: &str) -> bool {
        let ty = self.ty(id);
        match which {
            Accounts::All => true,
            Accounts::ProfitAndLoss => is_pl(ty),
            Accounts::BalanceSheet => !is_pl(ty) && ty != "NonPosting",
            Accounts::Receivable => ty == "AccountsReceivable",
            Accounts::Payable => ty == "AccountsPayable",
            Accounts::Expense => matches!(ty, "CostOfGoodsSold" | "Expense" | "OtherExpense"),
            Accounts::TaxLine => self.tax_line.iter().any(|t| t == id),
        }
    }
}

/// The kinds of the records a report's rows name (a name is a customer
/// or a vendor, an item a subtotal or a part), each read once per report.
#[derive(Default)]
pub(super) struct Kinds(HashMap<(&'static str, String), String>);

impl Kinds {
    /// The kind of record `id` of namespace `ns` ("" when there is none).
    pub(super) fn of(&mut self, ctx: &Ctx<'_>, ns: &'static str, id: &str) -> Res<String> {
        if let Some(k) = self.0.get(&(ns, id.to_string())) {
            return Ok(k.clone());
        }
        let k = store::get(ctx.db, ns, id)?
            .map(|r| r.kind)
            .unwrap_or_default();
        self.0.insert((ns, id.to_string()), k.clone());
        Ok(k)
    }

    /// Whether a form's line is part of what was sold or bought: not a
    /// subtotal (its amount repeats the lines above), not sales tax, not a
    /// payment item. Lines without an item (expenses) are.
    pub(super) fn counts(&mut self, ctx: &Ctx<'_>, line: &[qbxml::Elem]) -> Res<bool> {
        let Some(id) = crate::ledger::ref_id(line, "ItemRef") else {
            return Ok(true);
        };
        let kind = self.of(ctx, "Item", &id)?;
        Ok(!matches!(
            kind.as_str(),
            "ItemSubtotal" | "ItemSalesTax" | "ItemSalesTaxGroup" | "ItemPayment"
        ))
    }
}

/// Names looked up once per report.
#[derive(Default)]
pub(super) struct Names(HashMap<(&'static str, String), Option<String>>);

impl Names {
    pub(super) fn get(&mut self, ctx: &Ctx<'_>, ns: &'static str, id: &str) -> Res<Option<String>> {
        if let Some(v) = self.0.get(&(ns, id.to_string())) {
            return Ok(v.clone());
        }
        let v = store::full_name(ctx.db, ns, id)?;
        self.0.insert((ns, id.to_string()), v.clone());
        Ok(v)
    }
}

/// The transactions of the period (all of them for `Open`), by date.
pub(super) fn txns_in(
    ctx: &Ctx<'_>,
    from: Option<i64>,
    to: i64,
    types: &[&str],
    open_only: bool,
) -> Res<Vec<TxnRow>> {
    let from_s = from.map(crate::clock::date_text).unwrap_or_default();
    let to_s = crate::clock::date_text(to);
    let mut st = ctx.db.prepare_cached(
        "SELECT id, type, open FROM txn WHERE voided=0 AND date>=?1 AND date<=?2 \
         ORDER BY date, number",
    )?;
    let rows = st.query_map([&from_s, &to_s], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut ids = Vec::new();
    for r in rows {
        let (id, ty, open) = r?;
        if (types.is_empty() || types.contains(&ty.as_str())) && (!open_only || open != 0) {
            ids.push(id);
        }
    }
    Ok(store::get_txns(ctx.db, &ids)?)
}

/// The signs a document's open amount has on an open-items report:
/// credits and unused payments reduce what is owed.
fn open_sign(kind: &str) -> i64 {
    match kind {
        "CreditMemo" | "ReceivePayment" | "VendorCredit" => -1,
        _ => 1,
    }
}

/// Read the rows of `spec` for the period.
pub(super) fn entries(
    ctx: &Ctx<'_>,
    spec: &Spec,
    from: Option<i64>,
    to: i64,
    chart: &Chart,
) -> Res<Vec<Entry>> {
    let mut out = Vec::new();
    match spec.source {
        Source::Postings => {
            let from_s = from.map(crate::clock::date_text).unwrap_or_default();
            let to_s = crate::clock::date_text(to);
            let mut st = ctx.db.prepare_cached(
                "SELECT p.txn, p.account, p.amount, p.entity, p.item, p.qty, p.date, \
                 t.type, t.number, t.ref, t.entity, t.created, t.modified \
                 FROM posting p LEFT JOIN txn t ON t.id = p.txn \
                 WHERE p.date >= ?1 AND p.date <= ?2 ORDER BY p.date, t.number, p.txn, p.seq",
            )?;
            let rows = st.query_map([&from_s, &to_s], |r| {
                let item: Option<String> = r.get(4)?;
                let qty: i64 = r.get(5)?;
                // On A/R and A/P a posting names its customer or vendor;
                // elsewhere the row is the transaction's customer or vendor
                // (a purchase line's customer is who it is billable to),
                // else the posting's own name (a journal line's).
                let account: String = r.get(1)?;
                let own: Option<String> = r.get(3)?;
                let txn_entity: Option<String> = r.get(10)?;
                let (name, own) =
                    if matches!(chart.ty(&account), "AccountsReceivable" | "AccountsPayable") {
                        (own.or(txn_entity), None)
                    } else {
                        (txn_entity.or(own.clone()), own)
                    };
                Ok(Entry {
                    txn: r.get(0)?,
                    own,
                    account: Some(account),
                    amount: r.get(2)?,
                    name,
                    qty: item.as_ref().map(|_| qty),
                    item,
                    date: r.get(6)?,
                    // Opening balances have no transaction row.
                    kind: r
                        .get::<_, Option<String>>(7)?
                        .unwrap_or_else(|| "open".into()),
                    number: r.get(8)?,
                    ref_number: r.get(9)?,
                    created: r.get::<_, Option<i64>>(11)?.unwrap_or_default(),
                    modified: r.get::<_, Option<i64>>(12)?.unwrap_or_default(),
                    ..Entry::default()
                })
            })?;
            for r in rows {
                out.push(r?);
            }
            splits(&mut out, chart);
        }
        Source::Txns | Source::Open => {
            let open = spec.source == Source::Open;
            for t in txns_in(ctx, if open { None } else { from }, to, spec.types, open)? {
                let b = body::decode(&t.body);
                let amount = if open {
                    open_sign(&t.kind) * t.open
                } else {
                    t.amount
                };
                out.push(Entry {
                    txn: t.id.clone(),
                    kind: t.kind.clone(),
                    number: Some(t.number),
                    date: t.date.clone(),
                    ref_number: t.ref_number.clone(),
                    name: t.entity.clone(),
                    rep: crate::ledger::ref_id(&b, "SalesRepRef"),
                    account: t.account.clone(),
                    amount,
                    open: open_sign(&t.kind) * t.open,
                    due: leaf(&b, "DueDate").map(str::to_string),
                    memo: leaf(&b, "Memo").map(str::to_string),
                    created: t.created,
                    modified: t.modified,
                    pending: leaf(&b, "IsPending") == Some("true"),
                    ..Entry::default()
                });
            }
        }
        Source::Lines => {
            let mut item_kinds = Kinds::default();
            for t in txns_in(ctx, from, to, spec.types, false)? {
                let b = body::decode(&t.body);
                let sign = if matches!(
                    t.kind.as_str(),
                    "CreditMemo" | "VendorCredit" | "CreditCardCredit"
                ) {
                    -1
                } else {
                    1
                };
                let rep = crate::ledger::ref_id(&b, "SalesRepRef");
                for l in b.iter().filter(|e| e.name.ends_with("LineRet")) {
                    let c = &l.children;
                    let Some(item) = crate::ledger::ref_id(c, "ItemRef") else {
                        continue;
                    };
                    if !item_kinds.counts(ctx, c)? {
                        continue;
                    }
                    if spec.only == Only::Unbilled && leaf(c, "BillableStatus") != Some("Billable")
                    {
                        continue;
                    }
                    let customer = crate::ledger::ref_id(c, "CustomerRef");
                    let name = if matches!(spec.only, Only::Unbilled) || spec.ty == "OpenPOsByJob" {
                        customer
                    } else {
                        t.entity.clone()
                    };
                    if name.is_none() && spec.only == Only::Unbilled {
                        continue;
                    }
                    out.push(Entry {
                        txn: t.id.clone(),
                        kind: t.kind.clone(),
                        number: Some(t.number),
                        date: t.date.clone(),
                        ref_number: t.ref_number.clone(),
                        name,
                        rep: rep.clone(),
                        account: t.account.clone(),
                        item: Some(item),
                        qty: leaf(c, "Quantity")
                            .and_then(|q| q.trim().parse::<f64>().ok())
                            .map(|q| sign * crate::ledger::qty_units(q)),
                        price: leaf(c, "Rate")
                            .or_else(|| leaf(c, "Cost"))
                            .map(str::to_string),
                        amount: sign * leaf(c, "Amount").map(store::cents).unwrap_or(0),
                        memo: leaf(c, "Desc").map(str::to_string),
                        created: t.created,
                        modified: t.modified,
                        ..Entry::default()
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Each posting's split: the other account of a two-account transaction,
/// `-SPLIT-` when there are more (QuickBooks' word).
fn splits(rows: &mut [Entry], chart: &Chart) {
    let mut by_txn: HashMap<String, Vec<String>> = HashMap::new();
    for r in rows.iter() {
        if let Some(a) = &r.account {
            let v = by_txn.entry(r.txn.clone()).or_default();
            if !v.contains(a) {
                v.push(a.clone());
            }
        }
    }
    for r in rows.iter_mut() {
        let Some(accounts) = by_txn.get(&r.txn) else {
            continue;
        };
        let others: Vec<&String> = accounts
            .iter()
            .filter(|a| Some(*a) != r.account.as_ref())
            .collect();
        r.split = match others.as_slice() {
            [one] => Some(chart.name(one)),
            [] => None,
            _ => Some("-SPLIT-".into()),
        };
    }
}

/// Fill in what the columns need that the rows were read without.
fn complete(ctx: &Ctx<'_>, rows: &mut [Entry], cols: &[&str]) -> Res<()> {
    if !cols.contains(&"Memo") {
        return Ok(());
    }
    let mut memos: HashMap<String, Option<String>> = HashMap::new();
    for r in rows.iter_mut().filter(|r| r.memo.is_none()) {
        if let Some(m) = memos.get(&r.txn) {
            r.memo = m.clone();
            continue;
        }
        let m = match store::get_txn(ctx.db, &r.txn)? {
            Some(t) => leaf(&body::decode(&t.body), "Memo").map(str::to_string),
            None => None,
        };
        memos.insert(r.txn.clone(), m.clone());
        r.memo = m;
    }
    Ok(())
}

/// A row's value in a column (None: left empty).
fn cell(
    ctx: &Ctx<'_>,
    names: &mut Names,
    chart: &Chart,
    r: &Entry,
    col: &str,
    balance: i64,
    today: i64,
) -> Res<Option<String>> {
    Ok(match col {
        "TxnNumber" => r.number.map(|n| n.to_string()),
        "TxnType" => Some(type_label(&r.kind).to_string()),
        "Date" => Some(r.date.clone()),
        "ModifiedTime" => Some(ctx.tz.format(r.modified)),
        "CreateDate" => Some(ctx.tz.format(r.created)),
        "RefNumber" => r.ref_number.clone(),
        "Name" => match &r.name {
            Some(n) => names.get(ctx, "Name", n)?,
            None => None,
        },
        "Memo" => r.memo.clone(),
        "Account" => r.account.as_ref().map(|a| chart.name(a)),
        "SplitAccount" => r.split.clone(),
        // Debits and credits are what they are, whatever the sign the
        // report shows amounts with.
        "Debit" => (r.raw > 0).then(|| store::money(r.raw)),
        "Credit" => (r.raw < 0).then(|| store::money(-r.raw)),
        "Amount" => Some(store::money(r.amount)),
        "RunningBalance" => Some(store::money(balance)),
        "Item" => match &r.item {
            Some(i) => names.get(ctx, "Item", i)?,
            None => None,
        },
        "Quantity" => r.qty.map(qty_text),
        "UnitPrice" => r.price.clone(),
        "DueDate" => r.due.clone(),
        "Aging" => r
            .due
            .as_deref()
            .and_then(crate::clock::parse_date)
            .map(|d| today - d)
            .filter(|d| *d > 0)
            .map(|d| d.to_string()),
        "OpenBalance" => Some(store::money(r.open)),
        "TxnID" => Some(r.txn.clone()).filter(|t| !t.starts_with("open:")),
        "ClearedStatus" => Some(crate::cleared::of(ctx, &r.txn)?),
        "SalesRep" => match &r.rep {
            Some(n) => names.get(ctx, "SalesRep", n)?,
            None => None,
        },
        _ => None,
    })
}

/// The group a row falls in: (sort key, label, RowData type).
fn group_of(
    ctx: &Ctx<'_>,
    names: &mut Names,
    chart: &Chart,
    group: Group,
    r: &Entry,
) -> Res<Option<(String, String)>> {
    Ok(match group {
        Group::None => None,
        Group::Txn => Some((r.txn.clone(), String::new())),
        Group::Account => r.account.as_ref().map(|a| {
            let pos = chart.by_id.get(a).map(|x| x.2).unwrap_or(usize::MAX);
            (format!("{pos:08}"), chart.name(a))
        }),
        Group::Name | Group::Item | Group::Rep => {
            let (id, ns) = match group {
                Group::Name => (&r.name, "Name"),
                Group::Item => (&r.item, "Item"),
                _ => (&r.rep, "SalesRep"),
            };
            let label = match id {
                Some(i) => names.get(ctx, ns, i)?.unwrap_or_default(),
                None => String::new(),
            };
            let label = if label.is_empty() {
                "No name".to_string()
            } else {
                label
            };
            Some((label.to_lowercase(), label))
        }
    })
}

fn row_type(group: Group) -> Option<&'static str> {
    match group {
        Group::Account => Some("account"),
        Group::Name => Some("name"),
        Group::Item => Some("item"),
        Group::Rep => Some("salesRep"),
        _ => None,
    }
}

/// Write a detail report.
fn run(ctx: &Ctx<'_>, rq: &Request<'_>, spec: &Spec, cols: &[&str], title: &str) -> Res<Answer> {
    let e = rq.element();
    let (from, to) = period(ctx, rq, "ThisMonthToDate")?;
    let today = crate::clock::parse_date(&ctx.tz.date(ctx.now)).unwrap_or(to);
    let mut f = filters(ctx, e)?;
    let chart = load_chart(ctx)?;
    let mut rows = entries(ctx, spec, from, to, &chart)?;
    let mut names = Names::default();
    // Keep what the report and the request keep.
    let mut vendors_1099: HashMap<String, bool> = HashMap::new();
    let mut kept = Vec::with_capacity(rows.len());
    for mut r in rows.drain(..) {
        r.raw = r.amount;
        if spec.source == Source::Postings {
            let a = r.account.as_deref().unwrap_or("");
            if !chart.keeps(spec.accounts, a) {
                continue;
            }
            r.amount = match spec.sign {
                Sign::Debit => r.amount,
                Sign::Credit => -r.amount,
                Sign::Natural if debit_normal(chart.ty(a)) => r.amount,
                Sign::Natural => -r.amount,
            };
        }
        if !spec.types.is_empty() && !spec.types.contains(&r.kind.as_str()) {
            continue;
        }
        match spec.only {
            Only::Any | Only::Unbilled => {}
            Only::Stock => {
                if r.item.is_none() {
                    continue;
                }
            }
            Only::Pending => {
                if !r.pending {
                    continue;
                }
            }
            Only::Vendor1099 => {
                let Some(n) = r.name.clone() else { continue };
                let eligible = match vendors_1099.get(&n) {
                    Some(v) => *v,
                    None => {
                        let v = store::get(ctx.db, "Name", &n)?.is_some_and(|row| {
                            row.kind == "Vendor"
                                && row.body.contains("IsVendorEligibleFor1099:4:true")
                        });
                        vendors_1099.insert(n, v);
                        v
                    }
                };
                if !eligible {
                    continue;
                }
            }
        }
        if !f.keeps(ctx, &chart, &r)? {
            continue;
        }
        kept.push(r);
    }
    complete(ctx, &mut kept, cols)?;
    // Group, in the report's order (stable: rows keep their date order).
    let mut keyed = Vec::with_capacity(kept.len());
    for r in kept {
        let g = group_of(ctx, &mut names, &chart, spec.group, &r)?;
        keyed.push((g, r));
    }
    keyed.sort_by(|a, b| a.0.as_ref().map(|g| &g.0).cmp(&b.0.as_ref().map(|g| &g.0)));
    if spec.group == Group::Txn {
        // Transactions in date order, not by ID.
        keyed.sort_by(|a, b| (&a.1.date, a.1.number).cmp(&(&b.1.date, b.1.number)));
    }
    // Columns: a label column, then the report's.
    let mut desc = vec![("", "STRTYPE", "Blank")];
    for c in cols {
        if let Some(d) = column(c) {
            desc.push(d);
        }
    }
    let cols: Vec<&str> = cols
        .iter()
        .copied()
        .filter(|c| column(c).is_some())
        .collect();
    let mut r = Report::new(title, period_text(from, to), &desc);
    let mut totals = vec![0i64; cols.len()];
    let mut i = 0;
    while i < keyed.len() {
        let key = keyed[i].0.clone();
        let mut j = i;
        while j < keyed.len() && keyed[j].0 == key {
            j += 1;
        }
        let group_label = key.as_ref().map(|k| k.1.clone()).unwrap_or_default();
        let headed = matches!(
            spec.group,
            Group::Account | Group::Name | Group::Item | Group::Rep
        );
        if headed {
            r.text(&group_label);
        }
        // A ledger's balance starts from what the account held before.
        let mut balance = match (spec.group, &keyed[i].1.account, from) {
            (Group::Account, Some(a), Some(f)) if !is_pl(chart.ty(a)) => {
                let before = balance_before(ctx, a, f)?;
                if debit_normal(chart.ty(a)) {
                    before
                } else {
                    -before
                }
            }
            _ => 0,
        };
        let mut sub = vec![0i64; cols.len()];
        for (_, e) in &keyed[i..j] {
            balance += e.amount;
            let mut vals = Vec::with_capacity(cols.len());
            for (k, c) in cols.iter().enumerate() {
                let v = cell(ctx, &mut names, &chart, e, c, balance, today)?;
                if summed(c) {
                    sub[k] += match *c {
                        "Debit" => e.raw.max(0),
                        "Credit" => (-e.raw).max(0),
                        "OpenBalance" => e.open,
                        "Quantity" => e.qty.unwrap_or(0),
                        _ => e.amount,
                    };
                }
                vals.push(v);
            }
            r.row("DataRow", None, "", &vals);
            // The label column is blank on data rows.
            if let Some(last) = r.rows.last_mut() {
                last.children.retain(|c| {
                    !(c.name == "ColData" && c.attrs.iter().any(|(k, v)| k == "colID" && v == "1"))
                });
            }
        }
        for (k, c) in cols.iter().enumerate() {
            // Amounts in each account's own sign do not add up across
            // accounts: the grand total is the net of debits and credits
            // (zero for a whole ledger; for the P&L, net income).
            totals[k] += if spec.sign == Sign::Natural && *c == "Amount" {
                let net: i64 = keyed[i..j].iter().map(|(_, e)| e.raw).sum();
                if spec.accounts == Accounts::ProfitAndLoss {
                    -net
                } else {
                    net
                }
            } else {
                sub[k]
            };
        }
        if spec.group != Group::None {
            let vals = sums_row(&cols, &sub, Some(balance));
            let label = if headed {
                format!("Total {group_label}")
            } else {
                String::new()
            };
            r.row_with(
                "SubtotalRow",
                row_type(spec.group).map(|t| (t, group_label.as_str())),
                &label,
                &vals,
            );
        }
        i = j;
    }
    let vals = sums_row(&cols, &totals, None);
    let label = if spec.accounts == Accounts::ProfitAndLoss && spec.sign == Sign::Natural {
        "Net Income"
    } else {
        "TOTAL"
    };
    r.row("TotalRow", None, label, &vals);
    answer(ctx, r.finish())
}

/// A subtotal or total row's values: sums in the summed columns, the last
/// balance in the balance column.
fn sums_row(cols: &[&str], sums: &[i64], balance: Option<i64>) -> Vec<Option<String>> {
    cols.iter()
        .zip(sums)
        .map(|(c, s)| match *c {
            "Quantity" => Some(qty_text(*s)),
            c if summed(c) => money(*s),
            "RunningBalance" => balance.and_then(money),
            _ => None,
        })
        .collect()
}

/// An account's balance (debit-positive) before a day.
fn balance_before(ctx: &Ctx<'_>, account: &str, day: i64) -> Res<i64> {
    let d = crate::clock::date_text(day);
    let mut st = ctx.db.prepare_cached(
        "SELECT COALESCE(SUM(amount),0) FROM posting WHERE account=?1 AND date<?2",
    )?;
    Ok(st.query_row([account, &d], |r| r.get(0))?)
}

/// The columns a request names with IncludeColumn, if any.
fn included(e: Element<'_>) -> Vec<&str> {
    e.children_named("IncludeColumn")
        .map(|c| c.text())
        .collect()
}

/// `GeneralDetailReportQuery`.
pub fn general(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e.child_text("GeneralDetailReportType").unwrap_or("");
    let Some(spec) = SPECS.iter().find(|s| s.ty == ty) else {
        return Err(status(3250, &[]));
    };
    let asked = included(e);
    let cols = if asked.is_empty() {
        spec.cols.to_vec()
    } else {
        asked
    };
    run(ctx, rq, spec, &cols, spec.title)
}

/// `CustomDetailReportQuery` (CustomTxnDetail): postings with the columns
/// asked for, grouped by `SummarizeRowsBy` when it is an account, a
/// customer, vendor, employee or other name, or an item; otherwise in
/// date order [I].
pub fn custom(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let group = match e.child_text("SummarizeRowsBy").unwrap_or("TotalOnly") {
        "Account" | "BalanceSheet" | "IncomeStatement" => Group::Account,
        "Customer" | "Vendor" | "Employee" | "Payee" => Group::Name,
        "ItemDetail" | "ItemType" => Group::Item,
        _ => Group::None,
    };
    let custom = Spec {
        group,
        ..spec(
            "CustomTxnDetail",
            "Custom Transaction Detail Report",
            Source::Postings,
            group,
            &[],
        )
    };
    let cols = included(e);
    run(ctx, rq, &custom, &cols, custom.title)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every detail report type of the schema has its row, and every
    /// column a row names is one the engine writes.
    #[test]
    fn every_type_has_a_spec() {
        let s = qbxml::schema::Schema::for_version(qbxml::Version::LATEST);
        let values: Vec<&str> = s
            .request("GeneralDetailReportQueryRq")
            .and_then(|p| p.decl().child("GeneralDetailReportType"))
            .and_then(|p| p.decl().simple_type())
            .map(|t| t.values().collect())
            .unwrap_or_default();
        assert!(values.len() > 30);
        for v in values {
            assert!(SPECS.iter().any(|s| s.ty == v), "{v}");
        }
        for s in SPECS {
            for c in s.cols {
                assert!(column(c).is_some(), "{}: {c}", s.ty);
            }
        }
    }
}
